import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fleet } from '@meridian/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { bundleEdgeWorker } from '../src/bundle.ts'
import { cloudflareIpv4, subnetCidr } from '../src/naming.ts'
import { services } from '../src/sizing.ts'
import { only, referencedPath, resources, type Synthesized, synthesize } from './synth.ts'

let synth: Synthesized
beforeAll(() => {
  synth = synthesize(fleet, bundleEdgeWorker(mkdtempSync(join(tmpdir(), 'meridian-edge-'))))
  console.log(
    `synth of ${fleet.regions.length} regions + replication + edge: ${Math.round(synth.ms)} ms`,
  )
}, 60_000)

describe.each(fleet.regions.map((r) => [r.id, r] as const))('RegionStack %s', (id, region) => {
  const stack = () => synth.stack(`region-${id}`)

  it('spreads public, app and data subnets over three zones, none handing out public IPs', () => {
    const subnets = resources(stack(), 'aws_subnet').map(([, s]) => s)
    expect(subnets).toHaveLength(9)
    expect(new Set(subnets.map((s) => s.availability_zone))).toEqual(
      new Set(['a', 'b', 'c'].map((z) => `${region.awsRegion}${z}`)),
    )
    expect(subnets.every((s) => s.map_public_ip_on_launch === false)).toBe(true)
    expect(subnets.map((s) => s.cidr_block).sort()).toEqual(
      (['public', 'app', 'data'] as const)
        .flatMap((tier) => [0, 1, 2].map((i) => subnetCidr(region, tier, i)))
        .sort(),
    )
    expect(resources(stack(), 'aws_nat_gateway')).toHaveLength(3)
  })

  it('runs Postgres Multi-AZ, encrypted, private, backed up, TLS-only, password never in Terraform', () => {
    const db = only(stack(), 'aws_db_instance')
    expect(db).toMatchObject({
      engine: 'postgres',
      multi_az: true,
      storage_encrypted: true,
      publicly_accessible: false,
      deletion_protection: true,
      skip_final_snapshot: false,
      manage_master_user_password: true,
    })
    expect(db.backup_retention_period).toBeGreaterThanOrEqual(7)
    expect(referencedPath(stack(), db.kms_key_id)).toBe(`region-${id}/data/key`)
    expect(db).not.toHaveProperty('password')
    const subnetGroup = only(stack(), 'aws_db_subnet_group')
    expect((subnetGroup.subnet_ids as string[]).map((s) => referencedPath(stack(), s))).toEqual(
      [0, 1, 2].map((i) => `region-${id}/network/data-${i}`),
    )
    const parameters = only(stack(), 'aws_db_parameter_group').parameter as {
      name: string
      value: string
    }[]
    expect(parameters).toContainEqual({ name: 'rds.force_ssl', value: '1' })
  })

  it('runs Redis with TLS, AUTH and encryption at rest, failing over across zones', () => {
    const redis = only(stack(), 'aws_elasticache_replication_group')
    expect(redis).toMatchObject({
      transit_encryption_enabled: true,
      at_rest_encryption_enabled: 'true',
      automatic_failover_enabled: true,
      multi_az_enabled: true,
    })
    expect(String(redis.auth_token)).toMatch(/secretsmanager_random_password/)
    expect(redis.num_cache_clusters).toBeGreaterThanOrEqual(2)
  })

  it('runs Kafka with TLS everywhere and IAM clients only', () => {
    const kafka = only(stack(), 'aws_msk_cluster')
    expect(kafka.encryption_info).toMatchObject({
      encryption_in_transit: { client_broker: 'TLS', in_cluster: true },
    })
    expect(kafka.client_authentication).toEqual({ sasl: { iam: true }, unauthenticated: false })
    expect(kafka.number_of_broker_nodes).toBe(3)
    const properties = String(only(stack(), 'aws_msk_configuration').server_properties)
    expect(properties).toContain('min.insync.replicas=2')
    expect(properties).toContain('unclean.leader.election.enable=false')
  })

  it('admits traffic only where the design needs it', () => {
    const rules = resources(stack(), 'aws_vpc_security_group_ingress_rule').map(([, r]) => ({
      to: referencedPath(stack(), r.security_group_id).split('/').pop(),
      from: r.cidr_ipv4 ?? referencedPath(stack(), r.referenced_security_group_id).split('/').pop(),
      port: `${r.from_port}-${r.to_port}`,
    }))
    const expected = [
      ...cloudflareIpv4.map((cidr) => ({ to: 'alb-sg', from: cidr, port: '443-443' })),
      { to: 'app-sg', from: 'alb-sg', port: '8080-8080' },
      { to: 'db-sg', from: 'app-sg', port: '5432-5432' },
      { to: 'redis-sg', from: 'app-sg', port: '6379-6379' },
      { to: 'kafka-sg', from: 'app-sg', port: '9098-9098' },
    ]
    expect(rules).toHaveLength(expected.length)
    expect(rules).toEqual(expect.arrayContaining(expected))
    // No security group carries inline rules that could widen this.
    expect(resources(stack(), 'aws_security_group').every(([, g]) => !('ingress' in g))).toBe(true)
  })

  it('puts every service on Fargate in the private app subnets, the API behind the HTTPS load balancer', () => {
    const svc = Object.fromEntries(
      resources(stack(), 'aws_ecs_service').map(([, s]) => [String(s.name), s] as const),
    )
    expect(Object.keys(svc).sort()).toEqual(Object.keys(services).sort())
    for (const s of Object.values(svc)) {
      const network = s.network_configuration as { subnets: string[]; assign_public_ip: boolean }
      expect(s.launch_type).toBe('FARGATE')
      expect(network.assign_public_ip).toBe(false)
      expect(network.subnets.map((x) => referencedPath(stack(), x))).toEqual(
        [0, 1, 2].map((i) => `region-${id}/network/app-${i}`),
      )
    }
    expect(svc.api?.load_balancer).toHaveLength(1)
    const listeners = resources(stack(), 'aws_lb_listener').map(([, l]) => l)
    expect(listeners.map((l) => [l.port, l.protocol])).toEqual([[443, 'HTTPS']])
    expect(String(listeners[0]?.ssl_policy)).toMatch(/TLS13/)
    expect(only(stack(), 'aws_lb_target_group').health_check).toMatchObject({ path: '/readyz' })
    const scaled = resources(stack(), 'aws_appautoscaling_target').map(
      ([, t]) => /aws_ecs_service\.services_([a-z]+)-service/.exec(String(t.resource_id))?.[1],
    )
    expect(scaled.sort()).toEqual(
      Object.entries(services)
        .filter(([, s]) => s.tasksMax > s.tasksMin)
        .map(([n]) => n)
        .sort(),
    )
  })

  it('hands tasks their credentials from Secrets Manager, never as plain environment', () => {
    // That each task sets exactly what its process reads: settings.test.ts.
    for (const [path, task] of resources(stack(), 'aws_ecs_task_definition')) {
      const [container] = JSON.parse(String(task.container_definitions)) as {
        environment: { name: string; value: string }[]
        secrets: { name: string; valueFrom: string }[]
      }[]
      if (!container) throw new Error(`${path}: no container`)
      const env = Object.fromEntries(container.environment.map((e) => [e.name, e.value]))
      const secrets = container.secrets.map((s) => s.name)
      // Replication reads no Redis: only the region's processes get its password.
      const isReplication = 'REPLICATION_ROLES' in env
      expect(secrets, path).toEqual(
        expect.arrayContaining(isReplication ? ['PGPASSWORD'] : ['PGPASSWORD', 'REDIS_PASSWORD']),
      )
      expect(JSON.stringify(env), path).not.toMatch(/edge_signing_secret|password/i)
      expect(env.KAFKA_AUTH).toBe('aws-msk-iam')
    }
    const edgeSecret = resources(stack(), 'aws_secretsmanager_secret_version').find(([p]) =>
      p.endsWith('/edge-secret-value'),
    )
    expect(edgeSecret?.[1].secret_string).toBe(`\${var.edge_signing_secret}`)
    expect(stack().variable?.edge_signing_secret).toMatchObject({ sensitive: true })
  })

  it('hands every region process the webhook secret keys from the secret store, never as plain environment', () => {
    for (const [path, task] of resources(stack(), 'aws_ecs_task_definition')) {
      const [container] = JSON.parse(String(task.container_definitions)) as {
        environment: { name: string; value: string }[]
        secrets: { name: string; valueFrom: string }[]
      }[]
      if (!container) throw new Error(`${path}: no container`)
      expect(container.environment.map((e) => e.name)).not.toContain('WEBHOOK_SECRET_KEYS')
      const isReplication = container.environment.some((e) => e.name === 'REPLICATION_ROLES')
      const keys = container.secrets.find((s) => s.name === 'WEBHOOK_SECRET_KEYS')
      // Replication ships sealed secrets without opening them: it gets no key.
      if (isReplication) expect(keys, path).toBeUndefined()
      else expect(keys?.valueFrom, path).toMatch(/webhook-secret-keys/)
    }
    const value = resources(stack(), 'aws_secretsmanager_secret_version').find(([p]) =>
      p.endsWith('/webhook-secret-keys-value'),
    )
    expect(value?.[1].secret_string).toBe(`\${var.webhook_secret_keys}`)
    expect(stack().variable?.webhook_secret_keys).toMatchObject({ sensitive: true })
  })

  it('never opts in to loopback webhook URLs (a local-development setting only)', () => {
    // The synthesized stack as a whole: no task environment, secret or variable may carry it.
    expect(JSON.stringify(stack())).not.toContain('WEBHOOK_ALLOW_LOOPBACK')
    for (const [path, task] of resources(stack(), 'aws_ecs_task_definition')) {
      const [container] = JSON.parse(String(task.container_definitions)) as {
        environment: { name: string; value: string }[]
      }[]
      const names = (container?.environment ?? []).map((e) => e.name)
      expect(names, path).not.toContain('WEBHOOK_ALLOW_LOOPBACK')
    }
  })

  it('encrypts with a rotating key and pages on the API, the data tier and every service floor', () => {
    expect(only(stack(), 'aws_kms_key').enable_key_rotation).toBe(true)
    const alarms = resources(stack(), 'aws_cloudwatch_metric_alarm').map(([, a]) => a)
    const metrics = alarms.map((a) => a.metric_name)
    expect(metrics).toEqual(
      expect.arrayContaining([
        'HTTPCode_Target_5XX_Count',
        'TargetResponseTime',
        'CPUUtilization',
        'FreeStorageSpace',
        'KafkaDataLogsDiskUsed',
      ]),
    )
    expect(alarms.filter((a) => a.metric_name === 'RunningTaskCount')).toHaveLength(
      Object.keys(services).length,
    )
    expect(alarms.every((a) => (a.alarm_actions as string[]).length === 1)).toBe(true)
  })
})
