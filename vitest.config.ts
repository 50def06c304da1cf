import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    // A timeout catches a hang; it is no speed check (tests wait for events, never for a time): the
    // e2e scenarios take 10-25 s alone and must not fail because a loaded CI machine is slower.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add PGlite templates and memory.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
