'use strict';
// The bundled CLI, compiled through vm.Script so that V8's code cache can be given to it: start-up
// then skips most of the compilation. Used by bin/subhost to run the CLI and by
// scripts/code-cache.cjs to make and check the build's cache.
const { closeSync, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');

const DIST = join(__dirname, '..', 'dist');
const FILE = join(DIST, 'subhost.cjs');
/** The build's cache (`npm run build`): the top level and every command module, no function they call. */
const CACHE = `${FILE}.cache`;
/** A command's first successful run leaves a cache with the functions it compiled, for its next runs. */
const COMMAND_RE = /^_?[a-z][a-z0-9-]{0,31}$/;
const MAGIC = 'subhost-code-cache';

/** The command in argv (after Node's and the script's): the first word that is not an option or --root's value. */
function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root') i++;
    else if (!args[i].startsWith('-')) return COMMAND_RE.test(args[i]) ? args[i] : undefined;
  }
  return undefined;
}

function trainedCache(command) {
  return `${FILE}.${command}.cache`;
}

/**
 * What the cache must belong to: V8 checks only the source's length, so a cache made for another
 * build of the same length would be taken. A rebuild writes the bundle anew (its mtime).
 */
function identity(fd) {
  const st = fstatSync(fd, { bigint: true });
  return `${MAGIC} ${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}\n`;
}

/** A command's cache, if it is this build's. */
function readTrained(command, head) {
  try {
    const data = readFileSync(trainedCache(command));
    if (data.length > head.length && data.toString('latin1', 0, head.length) === head) return data.subarray(head.length);
  } catch {
    // None yet.
  }
  return undefined;
}

/**
 * Once the command has succeeded (before the CLI's own end, src/cli/fast-exit.ts, which comes
 * later in the same event), its cache: what V8 compiled during the run, written beside the bundle
 * (temp file and rename, for another command may read it) by whoever may write the bundle itself.
 */
function trainAtEnd(script, command, head) {
  process.once('beforeExit', (code) => {
    if ((typeof code === 'number' && code !== 0) || process.execArgv.length > 0) return;
    const file = trainedCache(command);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, Buffer.concat([Buffer.from(head, 'latin1'), script.createCachedData()]), { mode: 0o644 });
      renameSync(tmp, file);
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // Never written (a read-only install): the build's cache goes on serving.
      }
    }
  });
}

/**
 * Compile and run dist/subhost.cjs as a CommonJS module child of `parent`. With `cache`, V8 is
 * given this command's cache (args: the CLI's arguments) or else the build's; one from another
 * Node version or flags is rejected by V8 (script.cachedDataRejected) and simply not used, and a
 * command without a usable one of its own leaves one when it succeeds.
 */
function loadBundle(parent, { cache, args = [] }) {
  const fd = openSync(FILE, 'r');
  let source;
  let head;
  try {
    head = identity(fd);
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const command = cache ? commandOf(args) : undefined;
  let cachedData = command ? readTrained(command, head) : undefined;
  const trained = cachedData !== undefined;
  if (cache && !trained) {
    try {
      cachedData = readFileSync(CACHE);
    } catch {
      // No cache: compile as usual.
    }
  }
  const script = new Script(Module.wrap(source), { filename: FILE, cachedData });
  if (command && (!trained || script.cachedDataRejected)) trainAtEnd(script, command, head);
  const mod = new Module(FILE, parent);
  mod.filename = FILE;
  mod.paths = Module._nodeModulePaths(DIST);
  script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, FILE, DIST);
  return { script, module: mod, cached: cachedData !== undefined, trained };
}

module.exports = { CACHE, commandOf, loadBundle, trainedCache };
