import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

// Offline: no metrics, no update checks, no remote fetches from wrangler or miniflare.
process.env.WRANGLER_SEND_METRICS = 'false'
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false'
process.env.WRANGLER_HIDE_BANNER = 'true'

/**
 * The edge worker's tests run inside workerd (the real Workers runtime), against real region
 * processes that the Node-side global setup starts.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const edge = inject('edge')
      return {
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            // The worker's variables, written by the harness with the edge's settings module.
            ...edge.bindings,
            // The tests' own: where they reach the region processes' control endpoints.
            CONTROL_URL: edge.controlUrl,
          },
          kvNamespaces: ['API_KEYS', 'PLACEMENTS'],
        },
      }
    }),
  ],
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    name: 'edge',
    include: ['test/**/*.test.ts'],
    globalSetup: ['setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
