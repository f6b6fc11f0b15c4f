import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fleet, parseRegistry, type RegionRegistry } from '@meridian/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { bundleEdgeWorker } from '../src/bundle.ts'
import { readWranglerSettings } from '../src/edge-settings.ts'
import type { EdgeBundle } from '../src/edge-stack.ts'
import { subnetCidr } from '../src/naming.ts'
import { controlPlaneWrangler, only, referencedPath, resources, synthesize } from './synth.ts'

interface Binding {
  readonly type: string
  readonly name: string
  readonly text?: string
  readonly namespace_id?: string
  readonly class_name?: string
}

/** The fleet plus one registry entry: the whole of what "adding a region" takes. */
const fourRegions: RegionRegistry = parseRegistry({
  ...fleet,
  regions: [
    ...fleet.regions,
    {
      id: 'sa-east',
      displayName: 'SA East (São Paulo)',
      awsRegion: 'sa-east-1',
      origin: 'https://sa-east.api.meridian.example',
      cidr: '10.40.0.0/16',
      jurisdiction: 'us',
    },
  ],
})

let bundle: EdgeBundle
beforeAll(() => {
  bundle = bundleEdgeWorker(mkdtempSync(join(tmpdir(), 'meridian-edge-')))
}, 60_000)

describe.each([
  ['three regions (the fleet)', fleet],
  ['four regions (one registry entry added)', fourRegions],
])('%s', (_, registry) => {
  const n = registry.regions.length

  it('grows a region stack per region, an edge pool per region and n·(n−1) replication links', () => {
    const synth = synthesize(registry, bundle, controlPlaneWrangler())
    console.log(`${n} regions synthesized in ${Math.round(synth.ms)} ms`)
    expect(Object.keys(synth.stacks).sort()).toEqual(
      [...registry.regions.map((r) => `region-${r.id}`), 'edge', 'replication'].sort(),
    )

    const edge = synth.stack('edge')
    const pools = resources(edge, 'cloudflare_load_balancer_pool').map(([, p]) => p)
    expect(pools).toHaveLength(n)
    for (const region of registry.regions) {
      const pool = pools.find((p) => p.name === `meridian-${region.id}`)
      const [origin] = (pool?.origins ?? []) as { address: string; header: { host: string[] } }[]
      expect(origin?.header.host, region.id).toEqual([new URL(region.origin).hostname])
      expect(origin?.address).toContain(`region_load_balancers["${region.id}"]`)
      expect(referencedPath(edge, pool?.monitor)).toBe('edge/readyz')
    }
    expect(
      resources(edge, 'cloudflare_load_balancer')
        .map(([, lb]) => lb.name)
        .sort(),
    ).toEqual(registry.regions.map((r) => new URL(r.origin).hostname).sort())

    // The control plane is one for the fleet: its namespace, object and key do not grow per region.
    expect(resources(edge, 'cloudflare_workers_script')).toHaveLength(1)
    expect(
      resources(edge, 'cloudflare_workers_kv_namespace')
        .map(([path]) => path)
        .sort(),
    ).toEqual(['edge/api-keys', 'edge/placements'])
    const bindings = only(edge, 'cloudflare_workers_script').bindings as Binding[]
    for (const name of ['PLACEMENTS', 'FLEET_CONTROL', 'OPERATOR_KEY_SHA256'])
      expect(bindings.filter((b) => b.name === name).map((b) => b.name)).toEqual([name])
    expect(bindings.filter((b) => b.type === 'durable_object_namespace')).toHaveLength(1)
    expect(Object.keys(edge.variable ?? {}).filter((v) => v.startsWith('operator_key'))).toEqual([
      'operator_key_sha256',
    ])

    const replication = synth.stack('replication')
    expect(resources(replication, 'aws_vpc_peering_connection')).toHaveLength((n * (n - 1)) / 2)
    expect(resources(replication, 'aws_vpc_peering_connection_accepter')).toHaveLength(
      (n * (n - 1)) / 2,
    )
    expect(resources(replication, 'aws_route')).toHaveLength(n * (n - 1) * 3)
    const grants = resources(replication, 'aws_iam_role_policy').map(
      ([, p]) => `${p.provider}:${p.role}:${p.name}`,
    )
    expect(grants).toHaveLength(n * (n - 1))
    const ingress = resources(replication, 'aws_vpc_security_group_ingress_rule').map(([, r]) => r)
    expect(ingress).toHaveLength(n * (n - 1) * 3)
    for (const origin of registry.regions)
      for (const destination of registry.regions.filter((d) => d !== origin)) {
        expect(grants).toContain(
          `aws.${destination.id}:meridian-${destination.id}-replication-task:read-${origin.id}-kafka`,
        )
        const admitted = ingress.filter(
          (r) =>
            r.provider === `aws.${origin.id}` &&
            String(r.description).startsWith(`${destination.id} `),
        )
        expect(admitted.map((r) => r.cidr_ipv4).sort(), `${destination.id} → ${origin.id}`).toEqual(
          [0, 1, 2].map((i) => subnetCidr(destination, 'app', i)).sort(),
        )
        expect(admitted.every((r) => r.from_port === 9098 && r.to_port === 9098)).toBe(true)
      }
    for (const destination of registry.regions) {
      const parameter = resources(replication, 'aws_ssm_parameter').find(([path]) =>
        path.endsWith(`peer-kafka-${destination.id}`),
      )?.[1]
      const others = registry.regions.filter((r) => r !== destination).map((r) => `"${r.id}=%s"`)
      for (const o of others) expect(String(parameter?.value)).toContain(o)
      expect(String(parameter?.value)).not.toContain(`"${destination.id}=%s"`)
    }
  })
})

describe('EdgeStack', () => {
  it('deploys the bundled worker with the bindings and cron of wrangler.toml, variables from its settings', () => {
    const synth = synthesize(fleet, bundle)
    const edge = synth.stack('edge')
    const script = only(edge, 'cloudflare_workers_script')
    const wrangler = readWranglerSettings()
    const bindings = script.bindings as Binding[]
    const kv = bindings.filter((b) => b.type === 'kv_namespace').map((b) => b.name)
    expect(kv).toEqual([...wrangler.kvBindings])
    expect(kv).toContain('API_KEYS')
    expect(
      bindings
        .filter((b) => b.type === 'secret_text')
        .map((b) => b.name)
        .sort(),
    ).toEqual(['EDGE_SECRET', 'OPERATOR_KEY_SHA256', 'UPSTASH_REDIS_REST_TOKEN'])
    // Everything else keeps its default in core/src/edge-settings.ts; wrangler.toml has no [vars].
    expect(bindings.filter((b) => b.type === 'plain_text').map((b) => b.name)).toEqual([
      'UPSTASH_REDIS_REST_URL',
    ])
    expect(() => readWranglerSettings(`name = "x"\n[vars]\nRATE_LIMIT_PER_SEC = "5"\n`)).toThrow(
      /no \[vars\]/,
    )
    expect(script.compatibility_date).toBe(wrangler.compatibilityDate)
    expect(only(edge, 'cloudflare_workers_cron_trigger').schedules).toEqual(
      wrangler.crons.map((cron) => ({ cron })),
    )
    expect(only(edge, 'cloudflare_workers_route').pattern).toBe('api.meridian.example/*')
    // The content path resolves from the stack's directory to the very bytes that were hashed.
    const file = resolve(synth.outdir, 'stacks', 'edge', String(script.content_file))
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(
      script.content_sha256,
    )
    expect(edge.variable?.edge_signing_secret).toMatchObject({ sensitive: true })
    expect(edge.variable?.upstash_redis_rest_token).toMatchObject({ sensitive: true })
  })

  it('provisions the control plane: PLACEMENTS in a namespace of its own, FleetControl with its SQLite migration, the operator key hash as a secret', () => {
    const edge = synthesize(fleet, bundle, controlPlaneWrangler()).stack('edge')
    const script = only(edge, 'cloudflare_workers_script')
    const bindings = script.bindings as Binding[]
    const namespaceOf = (name: string) =>
      referencedPath(
        edge,
        bindings.find((b) => b.type === 'kv_namespace' && b.name === name)?.namespace_id,
      )
    // Each binding its own namespace: placements never land in the API keys' namespace.
    expect(namespaceOf('PLACEMENTS')).toBe('edge/placements')
    expect(namespaceOf('API_KEYS')).toBe('edge/api-keys')
    expect(
      resources(edge, 'cloudflare_workers_kv_namespace')
        .map(([, ns]) => ns.title)
        .sort(),
    ).toEqual(['meridian-edge-api-keys', 'meridian-edge-placements'])

    expect(bindings.filter((b) => b.type === 'durable_object_namespace')).toEqual([
      { type: 'durable_object_namespace', name: 'FLEET_CONTROL', class_name: 'FleetControl' },
    ])
    expect(script.migrations).toEqual({ new_tag: 'v1', new_sqlite_classes: ['FleetControl'] })

    // The hash comes in as a sensitive input with no default; Terraform generates no secret.
    expect(bindings.filter((b) => b.name === 'OPERATOR_KEY_SHA256')).toEqual([
      {
        type: 'secret_text',
        name: 'OPERATOR_KEY_SHA256',
        text: expect.stringMatching(/^\$\{var\.operator_key_sha256\}$/),
      },
    ])
    const variable = edge.variable?.operator_key_sha256
    expect(variable).toMatchObject({ type: 'string', sensitive: true, nullable: false })
    expect(variable).not.toHaveProperty('default')
    expect(Object.keys(edge.terraform?.required_providers ?? {})).toEqual(['cloudflare'])
    // …and goes nowhere else: not into an output, a plain variable or any other resource.
    expect(variable?.validation).toEqual([
      expect.objectContaining({ condition: expect.stringContaining('[0-9a-f]{64}') }),
    ])
    expect(JSON.stringify(edge).split('var.operator_key_sha256')).toHaveLength(3) // binding, check
    expect(JSON.stringify(edge.output ?? {})).not.toMatch(/operator/i)
    expect(bindings.filter((b) => b.type === 'plain_text').map((b) => b.name)).not.toContain(
      'OPERATOR_KEY_SHA256',
    )
  })

  it('refuses Durable Objects it cannot deploy: no migration for the class, a class of another worker, a second migration', () => {
    const head = 'name = "x"\nmain = "a.ts"\ncompatibility_date = "2026-01-01"\n'
    const object =
      '[[durable_objects.bindings]]\nname = "FLEET_CONTROL"\nclass_name = "FleetControl"\n'
    const migration = (tag: string) =>
      `[[migrations]]\ntag = "${tag}"\nnew_sqlite_classes = ["FleetControl"]\n`
    expect(readWranglerSettings(head + object + migration('v1')).migration).toEqual({
      tag: 'v1',
      newSqliteClasses: ['FleetControl'],
    })
    expect(() => readWranglerSettings(head + object)).toThrow(
      /no \[\[migrations\]\] creates FleetControl/,
    )
    expect(() =>
      readWranglerSettings(`${head + object}script_name = "other"\n${migration('v1')}`),
    ).toThrow(/script_name/)
    expect(() => readWranglerSettings(head + object + migration('v1') + migration('v2'))).toThrow(
      /one \[\[migrations\]\] entry at most/,
    )
    expect(() =>
      readWranglerSettings(
        `${head}[[kv_namespaces]]\nbinding = "FLEET_CONTROL"\n${object}${migration('v1')}`,
      ),
    ).toThrow(/binding FLEET_CONTROL declared more than once/)
  })

  it('reads wrangler.toml strictly: a line it cannot read is an error, not a silent default', () => {
    expect(() =>
      readWranglerSettings(
        'name = "x"\nmain = "a.ts"\ncompatibility_date = "2026-01-01"\nthis is not toml\n',
      ),
    ).toThrow(/wrangler.toml: not TOML/)
    expect(() => readWranglerSettings('name = "x"\n')).toThrow(
      /expected string, received undefined; +→ at main/,
    )
    // TOML that parses but is not what wrangler means: a flag list written as one string.
    expect(() =>
      readWranglerSettings(
        'name = "x"\nmain = "a.ts"\ncompatibility_date = "2026-01-01"\ncompatibility_flags = "nodejs_compat"\n',
      ),
    ).toThrow(/expected array, received string; +→ at compatibility_flags/)
  })
})
