import { defineConfig } from 'vitest/config';

const timeouts = { testTimeout: 120_000, hookTimeout: 120_000 };
// Test-only fault injection is on in what the tests load from src/ (src/core/lifecycle/test-hooks.ts).
const setupFiles = ['test/helpers/test-build.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // What the production-kernel lane runs under TCG (scripts/vm/test-vm.sh --tags-filter=kernel): the
    // tests that take a path only a stock kernel offers; the other files are the same on any kernel.
    tags: [{ name: 'kernel', description: 'needs what a stock kernel has and a test kernel may lack (modules, SysRq, kcore, RTC, partition parsers, BFQ, pure cgroup v2)' }],
    reporters: ['default'],
    projects: [
      // Pure logic: files run in parallel, and no leak check (they make no kernel object).
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles, ...timeouts } },
      {
        test: {
          name: 'integration',
          setupFiles,
          include: ['test/integration/**/*.test.ts'],
          // The last word on leaks: runs after every file, even when tests failed; holds the prefix's lock.
          globalSetup: ['test/helpers/global-setup.ts'],
          // Integration tests share one kernel; one file at a time keeps them from tripping each other.
          fileParallelism: false,
          ...timeouts,
        },
      },
    ],
  },
});
