import { checkNames, fleet, type Spec, secretNames } from '@meridian/core'
import * as edgeSettings from '@meridian/core/edge-settings'
import {
  drillEdgeSettings,
  drillRegionSettings,
  drillReplicationSettings,
  localEdgeVars,
  type RegionAddress,
  type RegionRole,
  regionEnv,
  regionRoles,
  replicationEnv,
  simulatorEnv,
  upstashSettings,
} from '@meridian/local'
import { simulatorSettings } from '@meridian/processor-sim'
import { newKeyRingText, regionSettings } from '@meridian/regions'
import { replicationSettings } from '@meridian/replication'
import { beforeAll, describe, expect, it } from 'vitest'
import { workerVariables } from '../src/edge-settings.ts'
import { resources, type Synthesized, synthesize } from './synth.ts'

/**
 * Every environment infra builds, against the settings module of the service it is for: nothing
 * set that the service does not read, nothing it requires left out, and no credential as plain
 * text where the cloud hands credentials over by reference. One line per problem.
 */
function problems(
  where: string,
  spec: Spec,
  env: { plain: readonly string[]; secret?: readonly string[] },
): string[] {
  const { unread, missing } = checkNames(spec, [...env.plain, ...(env.secret ?? [])])
  const exposed = env.secret ? env.plain.filter((n) => secretNames(spec).includes(n)) : []
  return [
    ...unread.map((n) => `${where}: sets ${n}, which the service does not read`),
    ...missing.map((n) => `${where}: leaves out ${n}, which the service requires`),
    ...exposed.map((n) => `${where}: hands over the credential ${n} as plain text`),
  ]
}

const plain = (env: Record<string, string>) => ({ plain: Object.keys(env) })

describe('the local topology', () => {
  // Addresses as the topology makes them; only their names are checked here.
  const regions: RegionAddress[] = fleet.regions.map((r, i) => ({
    id: r.id,
    databaseUrl: `postgres://postgres@127.0.0.1:5432/meridian_${i}`,
    redisPrefix: `meridian:${r.id}:`,
    kafka: { bootstrap: `127.0.0.1:${19_092 + i}` },
  }))
  const services = {
    edgeSecret: 'e'.repeat(64),
    webhookSecretKeys: newKeyRingText(),
    processorPins: {
      url: 'http://127.0.0.1:4300',
      token: 't'.repeat(32),
      prefix: 'meridian:pins:',
    },
    processorUrls: { 'acquirer-rest': 'http://127.0.0.1:4201' },
  }
  const edge = {
    edgeSecret: services.edgeSecret,
    regionOrigins: Object.fromEntries(regions.map((r) => [r.id, 'http://127.0.0.1:4101'])),
    upstash: { url: services.processorPins.url, token: services.processorPins.token },
  }
  const variants = { 'pnpm start': {}, drill: 'drill' } as const

  it('gives every service exactly what its settings module reads', () => {
    const found: string[] = []
    for (const [variant, drill] of Object.entries(variants)) {
      for (const region of regions) {
        for (const role of Object.keys(regionRoles) as RegionRole[])
          found.push(
            ...problems(
              `${variant}: ${region.id} ${role}`,
              regionSettings.variables,
              plain(
                regionEnv(region, role, {
                  ...services,
                  ...(drill ? { regionSettings: drillRegionSettings } : {}),
                }),
              ),
            ),
          )
        const peers = regions.filter((r) => r !== region)
        found.push(
          ...problems(
            `${variant}: ${region.id} replication`,
            replicationSettings.variables,
            plain(
              replicationEnv(region, peers, {
                ...(drill ? { replicationSettings: drillReplicationSettings } : {}),
              }),
            ),
          ),
        )
      }
      found.push(
        ...problems(
          `${variant}: simulators`,
          simulatorSettings.variables,
          plain(simulatorEnv(drill ? { seed: 7 } : {})),
        ),
        ...problems(
          `${variant}: edge`,
          edgeSettings.variables,
          plain(localEdgeVars({ ...edge, ...(drill ? { settings: drillEdgeSettings } : {}) })),
        ),
      )
    }
    found.push(
      ...problems(
        'benchmark: upstash stand-in',
        upstashSettings.variables,
        plain(upstashSettings.toEnv({ token: 'x' })),
      ),
    )
    expect(found).toEqual([])
  })
})

describe('the cloud stacks', () => {
  let synth: Synthesized
  beforeAll(() => {
    // The worker's bytes do not matter here, only its bindings: no bundle is built.
    synth = synthesize(fleet, { file: '/nonexistent/index.js', sha256: '0'.repeat(64) })
  }, 60_000)

  it('give every task exactly what its process reads, credentials by reference', () => {
    const found: string[] = []
    for (const region of fleet.regions) {
      const tasks = resources(synth.stack(`region-${region.id}`), 'aws_ecs_task_definition')
      expect(tasks.length).toBeGreaterThan(0)
      for (const [path, task] of tasks) {
        const [container] = JSON.parse(String(task.container_definitions)) as {
          name: string
          environment: { name: string; value: string }[]
          secrets: { name: string; valueFrom: string }[]
        }[]
        if (!container) throw new Error(`${path}: no container`)
        const replication = container.name === 'replicator' || container.name === 'applier'
        found.push(
          ...problems(
            path,
            replication ? replicationSettings.variables : regionSettings.variables,
            {
              plain: container.environment.map((e) => e.name),
              secret: container.secrets.map((s) => s.name),
            },
          ),
        )
      }
    }
    const script = resources(synth.stack('edge'), 'cloudflare_workers_script')[0]?.[1]
    const bindings = (script?.bindings ?? []) as { name: string; type: string }[]
    found.push(
      ...problems('edge worker', workerVariables, {
        plain: bindings.filter((b) => b.type === 'plain_text').map((b) => b.name),
        secret: bindings.filter((b) => b.type === 'secret_text').map((b) => b.name),
      }),
    )
    expect(found).toEqual([])
  })
})
