// The esbuild options of every bundle (scripts/build.mjs), shared with the test that checks a shipped build.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/**
 * commander requires node:child_process at its load, for subcommands run as executables, which
 * subhost has none of: it becomes a require at first use, so that a command that spawns nothing
 * (stop, --version) never loads child_process (with net, dgram and stream: 4-5 ms of its start).
 */
const lazyChildProcessInCommander = {
  name: 'lazy-child-process-in-commander',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`${args.path}: no \`${eager}\` to make lazy (a new commander?)`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

/** testBuild: compile in the fault-injection hooks (src/test-hooks.ts), as npm test does. */
export function bundleOptions(testBuild) {
  return {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Drops the dead branches of defines (the test hooks of a shipped build).
    minifySyntax: true,
    // 552 -> 409 KB: every command reads and decodes the whole file at its start (5 ms of 99 for
    // --version, alternated 30 times). Stack traces then give columns of line 1: the .map beside it
    // maps them back (identifiers are kept: minifying them as well made the start no faster).
    minifyWhitespace: true,
    // Loaded from node_modules at run time, never bundled: a native module, and the browser driver.
    external: ['better-sqlite3', 'playwright-core'],
    plugins: [lazyChildProcessInCommander],
    define: { SUBHOST_VERSION: JSON.stringify(pkg.version), SUBHOST_TEST_HOOKS: String(Boolean(testBuild)) },
  };
}
