import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['client/**/*.test.ts', 'nodes/**/*.test.ts', 'test/**/*.test.ts', 'infra/**/*.test.ts', 'ions/**/*.test.ts', 'localstack/**/*.test.ts'],
    exclude: ['node_modules/**', 'test/integration/**', 'test/chaos/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
