'use strict';
// The bundled CLI, compiled through vm.Script so that V8's code cache (dist/subhost.cjs.cache,
// made by `npm run build`) can be given to it: start-up then skips most of the compilation.
// Used by bin/subhost to run the CLI and by scripts/code-cache.cjs to make and check the cache.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');

const DIST = join(__dirname, '..', 'dist');
const FILE = join(DIST, 'subhost.cjs');
const CACHE = `${FILE}.cache`;

/**
 * Compile and run dist/subhost.cjs as a CommonJS module child of `parent`. With `cache`, V8 is
 * given the code cache if there is one; a cache from another Node version or build is rejected
 * by V8 (script.cachedDataRejected) and simply not used.
 */
function loadBundle(parent, { cache }) {
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(CACHE);
    } catch {
      // No cache: compile as usual.
    }
  }
  const script = new Script(Module.wrap(readFileSync(FILE, 'utf8')), { filename: FILE, cachedData });
  const mod = new Module(FILE, parent);
  mod.filename = FILE;
  mod.paths = Module._nodeModulePaths(DIST);
  script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, FILE, DIST);
  return { script, module: mod, cached: cachedData !== undefined };
}

module.exports = { CACHE, loadBundle };
