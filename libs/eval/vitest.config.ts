import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    // The realistic-size fixtures are built in hooks; on a loaded CI machine that takes longer than vitest's 10 s default.
    hookTimeout: 120_000,
  },
});
