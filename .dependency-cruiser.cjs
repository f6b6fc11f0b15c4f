/**
 * The layering, enforced in `pnpm test` (docs/ARCHITECTURE.md, "Layout and dependency rule"):
 *
 *   core ← platform ← regions ← replication ← infra/local
 *   core ← platform ← processor-sim   (stand-ins: tests, local runs, the money-path model)
 *   core ← edge/src                   (the worker runs on workerd: nothing of Node's)
 *   sdk/src                           (merchants' client: imports nothing of ours, nothing of Node's)
 *   infra/observability ← infra/local (alert rules and Prometheus configuration for --observe;
 *                                      the rules' tests read regions' and replication's metrics)
 *
 * An arrow points at what may be imported. test/ and infra/cloud may import any layer; nothing
 * imports infra/cloud or test/ (except their own files), and nothing has cycles.
 */
const layer = (name, from, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: forbidden },
})

module.exports = {
  forbidden: [
    {
      name: 'resolvable',
      comment:
        'An import that does not resolve (a package not declared where it is used) hides a layer breach.',
      severity: 'error',
      from: {},
      // cloudflare:test is the Workers test pool's virtual module.
      to: { couldNotResolve: true, pathNot: '^cloudflare:' },
    },
    {
      name: 'declared',
      comment:
        "Every package a file imports is in its own package.json, not borrowed from a neighbour's.",
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: neither can be read, tested or moved alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer(
      'core-is-pure',
      '^core/',
      '^(platform|processor-sim|regions|replication|edge|infra|test)/',
      'core is the domain: money, ids, statuses, rules. It imports nothing of ours.',
    ),
    {
      name: 'core-does-no-io',
      comment: 'core runs on Node and on workerd alike: no Node built-ins (node:fs, node:crypto…).',
      severity: 'error',
      from: { path: '^core/src/(?!.*\\.test\\.ts$)' },
      to: { dependencyTypes: ['core'] },
    },
    layer(
      'platform-knows-no-feature',
      '^platform/',
      '^(processor-sim|regions|replication|edge|infra|test)/',
      'platform is shared infrastructure (Postgres, Redis, Kafka, logs): it knows no feature.',
    ),
    layer(
      'processor-sim-stands-alone',
      '^processor-sim/',
      '^(regions|replication|edge|infra|test)/',
      'The processor stand-ins know only the domain and the platform.',
    ),
    layer(
      'regions-below-replication',
      '^regions/',
      '^(processor-sim|replication|edge|infra|test)/',
      'A region runs without replication, and never on a stand-in: it imports neither.',
    ),
    layer(
      'replication-below-infra',
      '^replication/',
      '^(edge|infra|test)/',
      'Replication is a service; the local topology and the tests sit above it.',
    ),
    layer(
      'replication-uses-regions-by-its-api',
      '^replication/',
      '^regions/(?!src/replication-api\\.ts$)',
      'Replication uses regions only through @meridian/regions/replication (regions/src/replication-api.ts), a small named API.',
    ),
    layer(
      'only-the-model-runs-stand-ins',
      '^replication/src/(?!sim/)',
      '^processor-sim/',
      'The replication service never runs a processor stand-in; only its money-path model does.',
    ),
    layer(
      'dev-helpers-stay-out-of-services',
      '^(core|platform|processor-sim|regions|replication|edge)/',
      '^platform/src/dev\\.ts$',
      'platform/dev drops databases and deletes keys: only infra/local and tests may call it.',
    ),
    layer(
      'edge-imports-only-core',
      '^edge/src/',
      '^(platform|processor-sim|regions|replication|infra|test)/|^edge/(?!src/)',
      'The edge worker runs on workerd: it imports core and its own files, nothing else of ours.',
    ),
    layer(
      'sdk-stands-alone',
      '^sdk/src/',
      '^(core|platform|processor-sim|regions|replication|edge|infra|test)/|^sdk/(?!src/)',
      'The SDK ships to merchants on its own: it imports its own files, nothing else of ours (its types come from the generated contract).',
    ),
    {
      name: 'sdk-runs-everywhere',
      comment:
        'The SDK runs on Node, workerd and browsers: fetch and WebCrypto, no Node built-ins (node:crypto, node:http…).',
      severity: 'error',
      from: { path: '^sdk/src/(?!.*\\.test\\.ts$)' },
      to: { dependencyTypes: ['core'] },
    },
    layer(
      'services-do-not-call-the-sdk',
      '^(core|platform|processor-sim|regions|replication|edge/src)/',
      '^sdk/',
      'The SDK is how merchants, the drills and the tests call the API; the services are the API.',
    ),
    layer(
      'observability-imports-nothing-of-ours',
      '^infra/observability/src/',
      '^(core|platform|processor-sim|regions|replication|edge|infra/(local|cloud)|test)/',
      'The rules, the dashboard and the Prometheus configuration stand alone; only their tests read the services (for the metric names).',
    ),
    layer(
      'services-know-no-observability',
      '^(core|platform|processor-sim|regions|replication|edge)/',
      '^infra/observability/',
      'Services export metrics; which alerts and panels read them is operations, above them (pnpm start --observe loads it).',
    ),
    layer(
      'nothing-imports-infra-cloud',
      '^(?!infra/cloud/)',
      '^infra/cloud/',
      'infra/cloud describes deployments; no service or tool depends on it.',
    ),
    layer(
      'nothing-imports-tests',
      '^(core|platform|processor-sim|regions|replication|edge/src|infra|sdk)/',
      '^test/',
      'Test harnesses stay out of shipped code.',
    ),
    layer(
      'nothing-imports-observability-tests',
      '^(?!infra/observability/test/)',
      '^infra/observability/test/',
      'Test harnesses stay out of shipped code.',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|\\.wrangler|cdktf\\.out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
}
