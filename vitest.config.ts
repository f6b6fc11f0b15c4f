import { defineConfig } from 'vitest/config'

/**
 * Projects: `unit` is pure code and needs nothing running; `infra` synthesizes Terraform; `observability` runs promtool
 * over the alert rules; `integration` talks to the real Postgres, Redis and Kafka brokers that its global setup starts
 * (and stops).
 */
export default defineConfig({
  test: {
    projects: [
      'edge/vitest.config.ts',
      {
        test: {
          name: 'unit',
          include: [
            '{core,platform,processor-sim,regions,replication,edge,infra/local}/src/**/*.test.ts',
            // The benches' own helpers (their HTTP client, their saved-run comparison).
            'test/bench/**/*.test.ts',
            'sdk/{src,scripts}/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        // Terraform CDK synthesis (and terraform validate where the providers are on this machine).
        test: {
          name: 'infra',
          include: ['infra/cloud/test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Alert rules under promtool (skipped, loudly, without Debian's prometheus package), and
        // the dashboard's and rules' metric names against what the services export.
        test: {
          name: 'observability',
          include: ['infra/observability/{src,test}/**/*.test.ts'],
          environment: 'node',
          // promtool evaluates every test group's series over hours of rule time: ~5 s here.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/src/**/*.test.ts', 'infra/local/test/**/*.test.ts'],
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
