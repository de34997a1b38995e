import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    globalSetup: ['testkit/src/global-setup.ts'],
    exclude: ['**/node_modules/**', '**/.data/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real services are shared by the test files; keep file concurrency modest on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
