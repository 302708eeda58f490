'use strict';
// Run by the build: load the bundled CLI as bin/subhost does, without running a command, load
// every command module, and save V8's code cache of everything compiled so far.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');

const file = join(__dirname, '..', 'dist', 'subhost.cjs');
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(join(__dirname, '..', 'dist'));
process.env.SUBHOST_WARM_ONLY = '1';
script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, file, join(__dirname, '..', 'dist'));
Promise.resolve(mod.exports.warm?.()).then(() => {
  writeFileSync(`${file}.cache`, script.createCachedData());
});
