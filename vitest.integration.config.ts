// The integration suite (`npm run test:integration`): the AWS storage backend against the
// emulator that the global setup starts, or against LocalStack or real AWS when FACTUM_TABLE and
// friends are set in the environment (see localstack/README.md).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts', 'test/chaos/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
