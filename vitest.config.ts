import { defineConfig } from 'vitest/config'

/**
 * Two projects: `unit` is pure code and needs nothing running; `integration` talks to the real
 * Postgres, Redis and Kafka brokers that its global setup starts (and stops).
 */
export default defineConfig({
  test: {
    projects: [
      'edge/vitest.config.ts',
      {
        test: {
          name: 'unit',
          include: ['{core,regions,replication,edge}/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/src/**/*.test.ts', 'infra/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          globalSetup: ['test/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
