import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record/index.js'
import { LoadBalancer } from '@cdktf/provider-cloudflare/lib/load-balancer/index.js'
import { LoadBalancerMonitor } from '@cdktf/provider-cloudflare/lib/load-balancer-monitor/index.js'
import { LoadBalancerPool } from '@cdktf/provider-cloudflare/lib/load-balancer-pool/index.js'
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider/index.js'
import { WorkersCronTrigger } from '@cdktf/provider-cloudflare/lib/workers-cron-trigger/index.js'
import { WorkersKvNamespace } from '@cdktf/provider-cloudflare/lib/workers-kv-namespace/index.js'
import { WorkersRoute } from '@cdktf/provider-cloudflare/lib/workers-route/index.js'
import { WorkersScript } from '@cdktf/provider-cloudflare/lib/workers-script/index.js'
import { invariant, type Region, type RegionRegistry, secretNames } from '@meridian/core'
import { toEnv } from '@meridian/core/edge-settings'
import { Fn, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktn'
import type { Construct } from 'constructs'
import { type WranglerSettings, workerVariables } from './edge-settings.ts'

export interface EdgeBundle {
  /** The worker as `wrangler deploy --dry-run --outdir` wrote it. */
  readonly file: string
  readonly sha256: string
}

export interface EdgeOptions {
  /** Where merchants call: the worker's route. */
  readonly apiHostname: string
  readonly wrangler: WranglerSettings
  readonly bundle: EdgeBundle
}

/** Cloudflare checks each region from several locations; a region is out after this many misses. */
export const monitorSettings = {
  intervalSec: 15,
  timeoutSec: 5,
  retries: 2,
  consecutiveDown: 2,
  consecutiveUp: 3,
} as const

/**
 * The edge: the worker and its route, cron and bindings (a KV namespace each, Durable Objects with
 * their migration, variables and secrets), and per region a Cloudflare pool, monitor and load
 * balancer on the region's origin hostname.
 *
 * The worker is the first line of failover: per request, per merchant, re-signed for the next
 * region (fencing forbids anything else from moving a signed request). The Cloudflare monitors are
 * the second line, independent of any one isolate: they probe /readyz from many locations, and
 * when a region fails them its origin hostname answers at once instead of hanging, so the worker's
 * forward fails in milliseconds rather than at REGION_TIMEOUT_MS and its failover takes over.
 */
export class EdgeStack extends TerraformStack {
  readonly script: WorkersScript
  /** One per KV binding of wrangler.toml, in its order. */
  readonly kvNamespaces: WorkersKvNamespace[]
  readonly pools: LoadBalancerPool[] = []
  readonly loadBalancers: LoadBalancer[] = []

  constructor(scope: Construct, registry: RegionRegistry, options: EdgeOptions) {
    super(scope, 'edge')
    new CloudflareProvider(this, 'cloudflare', {}) // CLOUDFLARE_API_TOKEN from the environment
    const variable = (name: string, description: string, sensitive = false) =>
      new TerraformVariable(this, name, { type: 'string', description, sensitive, nullable: false })
        .stringValue
    const accountId = variable('cloudflare_account_id', 'Cloudflare account of the edge')
    const zoneId = variable(
      'cloudflare_zone_id',
      `Zone holding ${options.apiHostname} and the region origins`,
    )
    const edgeSecret = variable(
      'edge_signing_secret',
      'Shared with every region (same value in every stack)',
      true,
    )
    const upstashUrl = variable(
      'upstash_redis_rest_url',
      'Upstash Redis REST endpoint for rate limits',
    )
    const upstashToken = variable('upstash_redis_rest_token', 'Upstash Redis REST token', true)
    const balancers = new TerraformVariable(this, 'region_load_balancers', {
      type: 'map(string)',
      description: 'Region id → its ALB DNS name (`load_balancer_dns` output of each region stack)',
      nullable: false,
    })

    // Only its hash: Terraform never holds the operator key, so neither state nor plan can leak
    // it. A value that is not a hash (the key pasted by mistake) fails the plan, before any state.
    const operatorKeySha256 = new TerraformVariable(this, 'operator_key_sha256', {
      type: 'string',
      description:
        'Hex SHA-256 of the first operator key (docs/infrastructure.md: "Control plane")',
      sensitive: true,
      nullable: false,
      validation: [
        {
          condition: 'can(regex("^[0-9a-f]{64}$", var.operator_key_sha256))',
          errorMessage:
            'operator_key_sha256 is the hex SHA-256 of the operator key (64 lowercase hex digits), never the key itself',
        },
      ],
    }).stringValue

    const wrangler = options.wrangler
    // The worker's variables, written by its settings module; every other one keeps the default
    // there. Credentials are secret bindings.
    const env = {
      ...toEnv({
        edgeSecret,
        upstash: { url: upstashUrl, token: upstashToken },
        operatorKeySha256,
      }),
    }
    const taken = [...wrangler.kvBindings, ...wrangler.durableObjects.map((d) => d.name)]
    invariant(
      Object.keys(env).every((name) => !taken.includes(name)),
      `a variable of the edge has the name of a wrangler.toml binding (${taken.join(', ')})`,
    )
    // A namespace per binding (API_KEYS → api-keys): each keeps its Terraform address when
    // another is added, so adding one never replaces (and empties) the others.
    const kv = wrangler.kvBindings.map((binding) => ({
      binding,
      namespace: new WorkersKvNamespace(this, kvNamespaceId(binding), {
        accountId,
        title: `${wrangler.name}-${kvNamespaceId(binding)}`,
      }),
    }))
    this.kvNamespaces = kv.map((k) => k.namespace)
    this.script = new WorkersScript(this, 'worker', {
      accountId,
      scriptName: wrangler.name,
      contentFile: options.bundle.file,
      contentSha256: options.bundle.sha256,
      mainModule: 'index.js',
      compatibilityDate: wrangler.compatibilityDate,
      compatibilityFlags: [...wrangler.compatibilityFlags],
      bindings: [
        ...kv.map(({ binding, namespace }) => ({
          type: 'kv_namespace',
          name: binding,
          namespaceId: namespace.id,
        })),
        // Classes the worker exports: Cloudflare keeps one namespace per class, so there is no
        // namespace resource, only the binding and the migration that created the class.
        ...wrangler.durableObjects.map((d) => ({
          type: 'durable_object_namespace',
          name: d.name,
          className: d.className,
        })),
        ...Object.entries(env).map(([name, text]) => ({
          type: secretNames(workerVariables).includes(name) ? 'secret_text' : 'plain_text',
          name,
          text,
        })),
      ],
      ...(wrangler.migration
        ? {
            migrations: {
              newTag: wrangler.migration.tag,
              newSqliteClasses: [...wrangler.migration.newSqliteClasses],
            },
          }
        : {}),
    })
    new WorkersCronTrigger(this, 'probe-cron', {
      accountId,
      scriptName: this.script.scriptName,
      schedules: wrangler.crons.map((cron) => ({ cron })),
    })
    // A proxied record with a placeholder address: the hostname exists only for the worker route.
    new DnsRecord(this, 'api-hostname', {
      zoneId,
      name: options.apiHostname,
      type: 'AAAA',
      content: '100::',
      proxied: true,
      ttl: 1,
      comment: 'Meridian edge: served by the worker route',
    })
    new WorkersRoute(this, 'route', {
      zoneId,
      pattern: `${options.apiHostname}/*`,
      script: this.script.scriptName,
    })

    const monitor = new LoadBalancerMonitor(this, 'readyz', {
      accountId,
      type: 'https',
      method: 'GET',
      path: '/readyz',
      expectedCodes: '200',
      interval: monitorSettings.intervalSec,
      timeout: monitorSettings.timeoutSec,
      retries: monitorSettings.retries,
      consecutiveDown: monitorSettings.consecutiveDown,
      consecutiveUp: monitorSettings.consecutiveUp,
      description: 'Meridian region readiness (Postgres, Redis, Kafka reachable)',
    })
    for (const region of registry.regions)
      this.addRegion(region, accountId, zoneId, monitor, Fn.lookup(balancers.value, region.id))

    new TerraformOutput(this, 'api_url', { value: `https://${options.apiHostname}` })
  }

  private addRegion(
    region: Region,
    accountId: string,
    zoneId: string,
    monitor: LoadBalancerMonitor,
    albDns: string,
  ): void {
    const host = new URL(region.origin).hostname
    const pool = new LoadBalancerPool(this, `pool-${region.id}`, {
      accountId,
      name: `meridian-${region.id}`,
      description: `${region.displayName}: the region's load balancer`,
      monitor: monitor.id,
      minimumOrigins: 1,
      // The ALB's certificate is for the origin hostname, and the API routes by it.
      origins: [
        {
          name: `${region.id}-alb`,
          address: albDns,
          enabled: true,
          weight: 1,
          header: { host: [host] },
        },
      ],
    })
    this.pools.push(pool)
    this.loadBalancers.push(
      new LoadBalancer(this, `lb-${region.id}`, {
        zoneId,
        name: host,
        description: `${region.displayName} origin, health-checked by Cloudflare`,
        defaultPools: [pool.id],
        fallbackPool: pool.id,
        proxied: true,
        steeringPolicy: 'off',
      }),
    )
  }
}

/** `API_KEYS` → `api-keys`: the construct id and title suffix of a binding's KV namespace. */
function kvNamespaceId(binding: string): string {
  return binding.toLowerCase().replaceAll('_', '-')
}
