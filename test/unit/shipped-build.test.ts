import { build } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');

async function bundle(testBuild: boolean): Promise<string> {
  // The build's own options, so that this checks what `npm run build` ships.
  const { bundleOptions } = await import(join(ROOT, 'scripts/build-options.mjs'));
  const r = await build({ ...bundleOptions(testBuild), entryPoints: [join(ROOT, 'src/cli/index.ts')], write: false, sourcemap: false, logLevel: 'silent' });
  return r.outputFiles![0].text;
}

describe('the shipped bundle', () => {
  it('has no fault-injection hook; a test build has them', async () => {
    const hooks = /SUBHOST_TEST_(KILL_AT|KILL_AT_STEP|PAUSE_AT|DEVICES)\b/;
    expect(await bundle(false)).not.toMatch(hooks);
    expect(await bundle(true)).toMatch(hooks);
  });
});
