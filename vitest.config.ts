import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Lists missing prerequisites (nginx, Chromium, Redis, optional packages) with install commands; fails the run under CI=true.
    globalSetup: ['test/fixtures/prerequisites-setup.ts'],
    // Timeouts catch hangs, not slowness: generous, so a busy machine (8 workers, CPU burners) passes too.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
