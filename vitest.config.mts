import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The last word on leaks: runs after every file, even when tests failed.
    globalSetup: ['test/helpers/global-setup.ts'],
    // Integration tests share one kernel; one file at a time keeps them from tripping each other.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
