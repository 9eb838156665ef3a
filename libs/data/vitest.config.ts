import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Real-data and training tests: generous limits so a loaded CI machine does not fail them on time alone.
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
});
