'use strict';
// Run by the build: load the bundled CLI as bin/subhost does, without running a command, load
// every command module, and save V8's code cache of everything compiled so far. Then check, in
// a new process started as bin/subhost is, that V8 accepts that cache: a cache V8 rejects is
// silently ignored at run time, so a drift (flags, loader, Node) would lose it unnoticed.
const { execFileSync } = require('node:child_process');
const { readdirSync, rmSync, writeFileSync } = require('node:fs');
const { basename, dirname, join, relative } = require('node:path');
const { CACHE, loadBundle } = require('../bin/load-bundle.cjs');

process.env.SUBHOST_WARM_ONLY = '1';

if (process.argv[2] === '--check') {
  const { script, cached } = loadBundle(module, { cache: true });
  process.stdout.write(!cached ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted');
} else {
  // The commands' own caches (bin/load-bundle.cjs) belong to the bundle just replaced.
  const prefix = `${basename(CACHE, '.cache')}.`;
  for (const f of readdirSync(dirname(CACHE))) if (f.startsWith(prefix) && f !== basename(CACHE) && /\.cache(\.tmp-\d+)?$/.test(f)) rmSync(join(dirname(CACHE), f), { force: true });
  const { script, module: mod } = loadBundle(module, { cache: false });
  Promise.resolve(mod.exports.warm?.())
    .then(() => {
      const data = script.createCachedData();
      writeFileSync(CACHE, data);
      const verdict = execFileSync(process.execPath, [__filename, '--check'], { encoding: 'utf8' });
      const what = `${relative(process.cwd(), CACHE)} (${Math.round(data.length / 1024)} KiB, Node ${process.version})`;
      if (verdict !== 'accepted') throw new Error(`V8 ${verdict === 'missing' ? 'found no' : 'rejected the'} code cache ${what}`);
      process.stdout.write(`code cache: ${what}, accepted by V8\n`);
    })
    .catch((err) => {
      process.stderr.write(`code-cache: ${err.message}\n`);
      process.exitCode = 1;
    });
}
