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
/** The CommonJS wrapper the build puts around the bundle (scripts/build.mjs), so that V8 compiles the file's text as read. */
const WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
/** Where src/host/bpf-addon.ts finds the addon once this has opened it. */
const ADDON_SLOT = Symbol.for('subhost.bpf-addon');
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

let addonMissing = false;

/** The addon beside the bundle (every command uses it: its end is the addon's _exit), or undefined where it is not built (tried once). */
function addon() {
  if (!globalThis[ADDON_SLOT] && !addonMissing) {
    try {
      const mod = { exports: {} };
      process.dlopen(mod, join(DIST, 'subhost_bpf.node'));
      globalThis[ADDON_SLOT] = mod.exports;
    } catch {
      addonMissing = true;
    }
  }
  return globalThis[ADDON_SLOT];
}

/**
 * The bundle's text, and what a cache must belong to: V8 checks only the source's length, so a
 * cache made for another build of the same length would be taken; a rebuild writes the bundle anew
 * (its mtime). By the addon where it can (native/bpf/read-file.c: read into memory faulted in at
 * once, given to V8 as an external string, not copied onto its heap: 3 ms of every start here).
 */
function readBundle() {
  const calls = addon();
  if (typeof calls?.readAscii === 'function') {
    try {
      const read = calls.readAscii(FILE);
      if (read) return { source: read[0], head: `${MAGIC} ${read[1]}\n` };
    } catch {
      // Changed while it was read (a rebuild), or not readable: as below, which says why.
    }
  }
  const fd = openSync(FILE, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    return { source: readFileSync(fd, 'utf8'), head: `${MAGIC} ${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}\n` };
  } finally {
    closeSync(fd);
  }
}

/** A file's bytes, by the addon where it can (as readBundle), else undefined when it cannot be read. */
function readBytes(file) {
  const calls = addon();
  try {
    return typeof calls?.readBytes === 'function' ? calls.readBytes(file) : readFileSync(file);
  } catch {
    return undefined;
  }
}

/** A command's cache, if it is this build's. */
function readTrained(command, head) {
  const data = readBytes(trainedCache(command));
  return data && data.length > head.length && data.toString('latin1', 0, head.length) === head ? data.subarray(head.length) : undefined;
}

/**
 * Once the command has succeeded (before the CLI's own end, src/cli/fast-exit.ts, which comes
 * later in the same event), its cache: what V8 compiled during the run, written beside the bundle
 * (temp file and rename, for another command may read it) by whoever may write the bundle itself;
 * V8's data is made only once the temp file could be created.
 */
function trainAtEnd(script, command, head) {
  process.once('beforeExit', (code) => {
    if ((typeof code === 'number' && code !== 0) || process.execArgv.length > 0) return;
    const file = trainedCache(command);
    const tmp = `${file}.tmp-${process.pid}`;
    let fd;
    try {
      // The file first: where dist/ cannot be written (a read-only install), no run pays for the data.
      fd = openSync(tmp, 'wx', 0o644);
    } catch {
      return;
    }
    try {
      writeFileSync(fd, Buffer.concat([Buffer.from(head, 'latin1'), script.createCachedData()]));
      closeSync(fd);
      fd = undefined;
      renameSync(tmp, file);
    } catch {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // Gone already.
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
  const { source, head } = readBundle();
  const command = cache ? commandOf(args) : undefined;
  let cachedData = command ? readTrained(command, head) : undefined;
  const trained = cachedData !== undefined;
  // None: compiled as usual.
  if (cache && !trained) cachedData = readBytes(CACHE);
  // A bundle built without the wrapper (an older build script) is wrapped here, as Node would.
  const script = new Script(source.startsWith(WRAPPER) ? source : Module.wrap(source), { filename: FILE, cachedData });
  if (command && (!trained || script.cachedDataRejected)) trainAtEnd(script, command, head);
  const mod = new Module(FILE, parent);
  mod.filename = FILE;
  mod.paths = Module._nodeModulePaths(DIST);
  script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, FILE, DIST);
  return { script, module: mod, cached: cachedData !== undefined };
}

module.exports = { CACHE, WRAPPER, commandOf, loadBundle };
