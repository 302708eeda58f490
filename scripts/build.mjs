// Bundle the CLI into one file: Node starts it without resolving a tree of modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { SUBHOST_VERSION: JSON.stringify(pkg.version) },
  // A native module: loaded from node_modules at run time, never bundled.
  external: ['better-sqlite3', 'playwright-core'],
};
const entries = { subhost: 'src/cli/index.ts', demo: 'scripts/demo.ts', bench: 'bench/index.ts', soak: 'scripts/soak.ts', screenshot: 'scripts/screenshot.ts' };
await Promise.all(Object.entries(entries).map(([name, src]) => build({ ...common, entryPoints: [src], outfile: `dist/${name}.cjs` })));

// The dashboard's script, with uPlot, for the browser; the daemon serves dist/web/ (nothing from a CDN).
await build({ entryPoints: ['src/web/client/app.ts'], bundle: true, platform: 'browser', target: 'es2020', format: 'iife', minify: true, logLevel: 'warning', outfile: 'dist/web/app.js' });
copyFileSync(new URL('../node_modules/uplot/dist/uPlot.min.css', import.meta.url), new URL('../dist/web/uPlot.min.css', import.meta.url));

// V8 code cache for bin/subhost: made by loading the bundle the way bin/subhost does.
execFileSync(process.execPath, [new URL('./code-cache.cjs', import.meta.url).pathname], { stdio: 'inherit' });
