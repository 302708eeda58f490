// Bundle the CLI into one file: Node starts it without resolving a tree of modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { bundleOptions } from './build-options.mjs';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';

// Fault injection exists only in a test build: npm test makes one (SUBHOST_TEST_BUILD=1).
const common = bundleOptions(process.env.SUBHOST_TEST_BUILD === '1');
const entries = { subhost: 'src/cli/index.ts', demo: 'scripts/demo.ts', bench: 'bench/index.ts', soak: 'scripts/soak.ts', screenshot: 'scripts/screenshot.ts' };
// The CLI's bundle carries its CommonJS wrapper (bin/load-bundle.cjs compiles the text as read, with no copy to wrap it).
const { WRAPPER } = createRequire(import.meta.url)('../bin/load-bundle.cjs');
const wrapped = { banner: { js: WRAPPER }, footer: { js: '})' } };
await Promise.all(Object.entries(entries).map(([name, src]) => build({ ...common, ...(name === 'subhost' ? wrapped : {}), entryPoints: [src], outfile: `dist/${name}.cjs` })));

// The bpf(2) addon (native/bpf), PID 1's pivot-exec and the supervisor beside the bundle, which finds them in its own folder.
for (const file of ['subhost_bpf.node', 'pivot-exec', 'supervisor']) {
  const built = `native/bpf/build/Release/${file}`;
  if (!existsSync(built)) {
    console.error(`build: ${built} is missing: run \`npm run build:native\` (npm ci does it)`);
    process.exit(1);
  }
  // A new file renamed over the old: a running subhost's supervisor executes dist/supervisor, and
  // writing into a file being executed fails (ETXTBSY); the running ones keep the old inode.
  copyFileSync(built, `dist/${file}.tmp`);
  renameSync(`dist/${file}.tmp`, `dist/${file}`);
}

// The dashboard's script, with uPlot, for the browser; the daemon serves dist/web/ (nothing from a CDN).
await build({ entryPoints: ['src/web/client/app.ts'], bundle: true, platform: 'browser', target: 'es2020', format: 'iife', minify: true, logLevel: 'warning', outfile: 'dist/web/app.js' });
copyFileSync(new URL('../node_modules/uplot/dist/uPlot.min.css', import.meta.url), new URL('../dist/web/uPlot.min.css', import.meta.url));

// V8 code cache for bin/subhost: made by loading the bundle the way bin/subhost does.
execFileSync(process.execPath, [new URL('./code-cache.cjs', import.meta.url).pathname], { stdio: 'inherit' });
