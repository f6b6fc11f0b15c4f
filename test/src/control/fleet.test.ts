import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { edgeSignatureHeader, signEdgeRequest } from '@meridian/core'
import type { Gateway } from '@meridian/local'
import { CardError, Meridian, MeridianError, type WithResponse } from '@meridian/sdk'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The control plane end to end, as an operator meets it: `pnpm fleet` (a real CLI process) against
 * a whole local gateway (edge on workerd with its Durable Object and KV, three regions, Kafka,
 * replication). The "done when" of issue 20: create a merchant, pay with its key, move it away and
 * back with its payments readable throughout, roll and revoke keys, residency, a killed CLI resumed.
 */
let gateway: Gateway
const cliEntry = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'infra',
  'local',
  'src',
  'fleet',
  'main.ts',
)

beforeAll(async () => {
  process.env.MERIDIAN_PORT_BASE = '14700'
  const { freePort, startGateway } = await import('@meridian/local')
  gateway = await startGateway({
    log: () => undefined,
    edgeRuntime: 'workerd',
    edgePort: await freePort(),
    prefix: 'fleet_test',
    replicationSettings: { control: true },
  })
}, 300_000)
afterAll(async () => {
  await gateway?.stop()
}, 120_000)

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], onLine?: (line: string, child: ChildProcess) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], {
    env: {
      ...process.env,
      MERIDIAN_EDGE_URL: gateway.edge.url,
      MERIDIAN_OPERATOR_KEY: gateway.edge.operatorKey,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line) onLine?.(line, child)
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

interface Answer {
  readonly status: number
  readonly region: string | undefined
  readonly id: string | undefined
  /** The refusal, as `CODE: message`, for the failure lists. */
  readonly error: string | undefined
}

/**
 * One call through the edge with the merchant's key, as the SDK sends it but once: the test
 * counts every refusal a merchant would see, so nothing may retry it away.
 */
async function edge(
  key: string,
  call: (m: Meridian) => Promise<WithResponse<{ readonly id?: string }>>,
): Promise<Answer> {
  const meridian = new Meridian(key, { baseUrl: gateway.edge.url, maxRetries: 0 })
  try {
    const answer = await call(meridian)
    const { status, region } = answer.lastResponse
    return { status, region, id: answer.id, error: undefined }
  } catch (e) {
    // Declined at once (the card's velocity rule: these merchants pay with one test card) is
    // still an accepted write, as the 202 says.
    if (e instanceof CardError) {
      const { status, region } = e.payment.lastResponse
      return { status, region, id: e.payment.id, error: undefined }
    }
    if (!(e instanceof MeridianError)) throw e
    return {
      status: e.status ?? 0,
      region: undefined,
      id: undefined,
      error: `${e.code}: ${e.message}`,
    }
  }
}

const pay = (key: string) => edge(key, (m) => m.payments.create(payment))
const read = (key: string, id: string) => edge(key, (m) => m.payments.retrieve(id))
const list = (key: string) => edge(key, (m) => m.payments.list().firstPage())

const payment = { amount: 1250, currency: 'eur', payment_method: 'pm_card_visa' } as const

/** The merchant id and first key `pnpm fleet merchant create` printed. */
async function createMerchant(name: string, home: string, residency = 'global') {
  const run = await cli([
    'merchant',
    'create',
    '--name',
    name,
    '--home',
    home,
    '--residency',
    residency,
  ])
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  const id = /^merchant (mer_\w+)/m.exec(run.stdout)?.[1]
  const key = /secret \(shown once\): (sk_test_\w+)/.exec(run.stdout)?.[1]
  if (!id || !key) throw new Error(`no id or key in:\n${run.stdout}`)
  return { id, key, keyId: /^test key (key_\w+)/m.exec(run.stdout)?.[1] ?? '' }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('pnpm fleet against a running gateway', () => {
  it('creates a merchant whose new key pays through the edge at once, in its home region', async () => {
    const m = await createMerchant('Fleet Shop', 'eu-west')
    expect(m.id).toBe('mer_fleet_shop')
    const paid = await pay(m.key)
    expect(paid.status).toBe(202)
    expect(paid.region).toBe('eu-west')
    const status = await cli(['status', '--json'])
    const parsed = JSON.parse(status.stdout) as {
      regions: { id: string; reachable: boolean }[]
      merchants: { id: string; placement: { home: string; epoch: number } }[]
    }
    expect(parsed.regions.map((r) => [r.id, r.reachable])).toEqual([
      ['us-east', true],
      ['eu-west', true],
      ['ap-south', true],
    ])
    expect(parsed.merchants.find((x) => x.id === m.id)?.placement).toMatchObject({
      home: 'eu-west',
      epoch: 1,
    })
  })

  it('moves a merchant away and back under traffic: every write lands, every payment stays readable', async () => {
    const m = await createMerchant('Mover', 'us-east')
    const first = await pay(m.key)
    expect(first.status).toBe(202)
    const acknowledged: string[] = [String(first.id)]
    const failures: string[] = []
    const regionsSeen = new Set<string>()
    let traffic = true
    const load = (async () => {
      while (traffic) {
        const paid = await pay(m.key)
        if (paid.status === 202 && paid.id) acknowledged.push(paid.id)
        else failures.push(`POST ${paid.status} ${paid.error}`)
        const got = await read(m.key, acknowledged[0] ?? '')
        if (got.status !== 200) failures.push(`GET ${got.status} ${got.error}`)
        if (paid.region) regionsSeen.add(paid.region)
      }
    })()
    const away = await cli(['move', m.id, '--to', 'ap-south'])
    expect(away.code, away.stderr).toBe(0)
    expect(away.stdout).toMatch(/moved mer_mover to ap-south at epoch 2 in \d+ ms/)
    const back = await cli(['move', m.id, '--to', 'us-east'])
    expect(back.code, back.stderr).toBe(0)
    expect(back.stdout).toMatch(/at epoch 3/)
    traffic = false
    await load
    expect(failures).toEqual([])
    expect(regionsSeen).toContain('ap-south')
    // Moving where it already lives changes nothing.
    const again = await cli(['move', m.id, '--to', 'us-east'])
    expect(again.stdout).toMatch(/homed in us-east already/)
    // Every acknowledged payment is there in the home it came back to.
    for (const id of acknowledged) {
      const got = await read(m.key, id)
      expect(got.status).toBe(200)
      expect(got.region).toBe('us-east')
    }
    process.stdout.write(
      `moved under load: ${acknowledged.length} payments acknowledged, regions ${[...regionsSeen].join(', ')}\n`,
    )
  })

  it('refuses, at the region, a write routed by the epoch a move left behind', async () => {
    const m = await createMerchant('Stale', 'us-east')
    expect((await cli(['move', m.id, '--to', 'eu-west'])).code).toBe(0)
    const body = JSON.stringify(payment)
    const origin = gateway.services.find((s) => s.region.id === 'eu-west')?.apiUrl
    const signed = (epoch: number) =>
      signEdgeRequest(gateway.secrets.edgeSecret, {
        method: 'POST',
        path: '/v1/payments',
        merchantId: m.id,
        epoch,
        region: 'eu-west',
        body,
      })
    const send = async (epoch: number) =>
      fetch(`${origin}/v1/payments`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `stale-${epoch}`,
          [edgeSignatureHeader]: await signed(epoch),
        },
        body,
      })
    const stale = await send(1)
    expect(stale.status).toBe(503)
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('merchant_moving')
    const current = await send(2)
    expect(current.status).toBe(202)
  })

  it('rolls and revokes keys, effective at the edge within seconds', async () => {
    const m = await createMerchant('Keys', 'ap-south')
    const rolled = await cli(['keys', 'roll', '--merchant', m.id, '--overlap', '2'])
    expect(rolled.code, rolled.stderr).toBe(0)
    const fresh = /new .*\n {2}secret \(shown once\): (sk_test_\w+)/.exec(rolled.stdout)?.[1] ?? ''
    expect((await list(fresh)).status).toBe(200)
    expect((await list(m.key)).status).toBe(200)
    const rollStarted = Date.now()
    await until('the rolled key refused', async () =>
      (await list(m.key)).status === 401 ? true : undefined,
    )
    const rollMs = Date.now() - rollStarted
    const revoked = await cli(['keys', 'revoke', '--merchant', m.id])
    expect(revoked.code, revoked.stderr).toBe(0)
    const revokeStarted = Date.now()
    await until('the revoked key refused', async () =>
      (await list(fresh)).status === 401 ? true : undefined,
    )
    const revokeMs = Date.now() - revokeStarted
    process.stdout.write(
      `rolled key (2 s overlap) refused after ${rollMs} ms; revoked key refused after ${revokeMs} ms\n`,
    )
    const audit = await cli(['audit', '--limit', '5'])
    expect(audit.stdout).toMatch(/key\.revoke/)
    expect(audit.stdout).toMatch(/key\.roll/)
  })

  it('keeps an eu-resident merchant in the eu: refused elsewhere, and its payments never leave', async () => {
    const refused = await cli([
      'merchant',
      'create',
      '--name',
      'Outside',
      '--home',
      'us-east',
      '--residency',
      'eu',
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/placement_invalid: .*residency eu; us-east is outside/)
    const m = await createMerchant('Resident', 'eu-west', 'eu')
    const moved = await cli(['move', m.id, '--to', 'us-east'])
    expect(moved.code).toBe(1)
    expect(moved.stderr).toMatch(/placement_invalid/)
    const paid = await pay(m.key)
    expect(paid.status).toBe(202)
    // A payment of a global merchant made after it reaches every region: by then the resident one
    // would have too, had it been shipped.
    const global = await createMerchant('Witness', 'eu-west')
    const witness = await pay(global.key)
    for (const region of ['us-east', 'ap-south']) {
      const url = gateway.services.find((s) => s.region.id === region)?.region.databaseUrl
      const pool = new pg.Pool({ connectionString: url, max: 1 })
      try {
        const rows = async (sql: string, id: unknown) => (await pool.query(sql, [id])).rows
        await until(`${region} has the witness payment`, async () =>
          (await rows('select 1 from payments where id = $1', witness.id)).length > 0
            ? true
            : undefined,
        )
        expect(await rows('select 1 from payments where merchant_id = $1', m.id)).toEqual([])
        expect(
          await rows('select 1 from merchant_placements where merchant_id = $1', m.id),
        ).toHaveLength(1)
      } finally {
        await pool.end()
      }
    }
  })

  it('resumes a move whose CLI was killed mid-way, from where it stopped', async () => {
    const m = await createMerchant('Crash', 'us-east')
    expect((await pay(m.key)).status).toBe(202)
    // eu-west stops applying us-east's events: the move must wait in draining.
    const links = gateway.replication
      .find((r) => r.region === 'eu-west')
      ?.statusUrl.replace(/\/replication\/status$/, '')
    await fetch(`${links}/replication/links/us-east/pause`, { method: 'POST' })
    try {
      const killed = await cli(['move', m.id, '--to', 'eu-west'], (line, child) => {
        if (/draining:/.test(line)) child.kill('SIGKILL')
      })
      expect(killed.code).toBeNull()
      expect(killed.stdout).toMatch(/fencing done → draining/)
    } finally {
      await fetch(`${links}/replication/links/us-east/resume`, { method: 'POST' })
    }
    const resumed = await cli(['move', m.id, '--to', 'eu-west'])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(
      /resuming mer_crash us-east → eu-west \(epoch 1 → 2\), at draining/,
    )
    expect(resumed.stdout).toMatch(/moved mer_crash to eu-west at epoch 2/)
    const after = await pay(m.key)
    expect(after.status).toBe(202)
    expect(after.region).toBe('eu-west')
  })

  it('gives up a move that cannot drain: the merchant stays home at the next epoch and writes again', async () => {
    const m = await createMerchant('Abort', 'us-east')
    const links = gateway.replication
      .find((r) => r.region === 'ap-south')
      ?.statusUrl.replace(/\/replication\/status$/, '')
    await fetch(`${links}/replication/links/us-east/pause`, { method: 'POST' })
    try {
      const stuck = await cli(['move', m.id, '--to', 'ap-south'], (line, child) => {
        if (/draining:/.test(line)) child.kill('SIGKILL')
      })
      expect(stuck.stdout).toMatch(/fencing done → draining/)
      // Fenced everywhere at epoch 1: the merchant's writes are refused while the move hangs.
      const refused = await pay(m.key)
      expect(refused.status).toBe(503)
      const aborted = await cli(['move', m.id, '--abort'])
      expect(aborted.code, aborted.stderr).toBe(0)
      expect(aborted.stdout).toMatch(/aborted: mer_abort stays in us-east/)
      expect(aborted.stdout).toMatch(/moved mer_abort to us-east at epoch 2/)
      const paid = await pay(m.key)
      expect(paid.status).toBe(202)
      expect(paid.region).toBe('us-east')
    } finally {
      await fetch(`${links}/replication/links/us-east/resume`, { method: 'POST' })
    }
    const audit = await cli(['audit', '--limit', '3'])
    expect(audit.stdout).toMatch(/move\.abort/)
  })
})
