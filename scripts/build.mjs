// Bundle the CLI into one file: Node starts it without resolving a tree of modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { bundleOptions } from './build-options.mjs';

// Fault injection exists only in a test build: npm test makes one (SUBHOST_TEST_BUILD=1).
const common = bundleOptions(process.env.SUBHOST_TEST_BUILD === '1');
const entries = { subhost: 'src/cli/index.ts', demo: 'scripts/demo.ts', bench: 'bench/index.ts', soak: 'scripts/soak.ts' };
await Promise.all(Object.entries(entries).map(([name, src]) => build({ ...common, entryPoints: [src], outfile: `dist/${name}.cjs` })));

// V8 code cache for bin/subhost: made by loading the bundle the way bin/subhost does.
execFileSync(process.execPath, [new URL('./code-cache.cjs', import.meta.url).pathname], { stdio: 'inherit' });
