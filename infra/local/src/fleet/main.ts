/**
 * `pnpm fleet`: the operator CLI over the operator API (edge/src/control, docs/control-plane.md).
 * It talks to the gateway `pnpm start` runs, or to MERIDIAN_EDGE_URL with MERIDIAN_OPERATOR_KEY.
 */
import { parseArgs } from 'node:util'
import { connection, OperatorApiError, OperatorClient } from './client.ts'
import { type MoveOutcome, runMove } from './moves.ts'
import { printStatus, type Status } from './status.ts'

const usage = `usage: pnpm fleet <command> [options]
  status [--json]                                   regions, health, replication lag, merchants, epochs
  merchant create --name <name> --home <region> [--residency <global|us|eu|in>]
  merchant list [--json]
  keys create --merchant <id> [--mode test|live]    a new key, shown once
  keys list --merchant <id>
  keys roll --merchant <id> [--key <key id>] [--overlap <seconds>]   new key; the old one works --overlap more (default 3600)
  keys revoke --merchant <id> [--key <key id>]
  move <merchant> --to <region>                     planned move; run it again to resume after a crash
  move <merchant> --abort                           give up a move stuck fencing or draining: the merchant stays, at the next epoch
  evacuate <region>                                 move every merchant homed there to its first failover region
  restore <region>                                  bring back what evacuate moved off it
  audit [--limit <n>]                               who changed what, newest first
  operator-key create --name <name>                 another operator key, shown once`

class UsageError extends Error {}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    name: { type: 'string' },
    home: { type: 'string' },
    residency: { type: 'string', default: 'global' },
    merchant: { type: 'string' },
    mode: { type: 'string', default: 'test' },
    key: { type: 'string' },
    overlap: { type: 'string' },
    to: { type: 'string' },
    abort: { type: 'boolean', default: false },
    limit: { type: 'string', default: '20' },
    help: { type: 'boolean', default: false },
  },
})

const out = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`)
  return value
}

interface KeyView {
  id: string
  merchantId: string
  mode: string
  status: string
  last4: string
  createdMs: number
  expiresAtMs?: number
}

/** The key a roll or revoke is about: --key, else the merchant's one active key that does not expire. */
async function keyOf(
  client: OperatorClient,
  merchant: string,
  key: string | undefined,
): Promise<string> {
  if (key) return key
  const { data } = await client.call<{ data: KeyView[] }>('GET', `/merchants/${merchant}/keys`)
  const live = data.filter((k) => k.status === 'active' && k.expiresAtMs === undefined)
  if (live.length === 1 && live[0]) return live[0].id
  throw new UsageError(
    `${merchant} has ${live.length} active keys without an expiry; name one with --key (${live.map((k) => `${k.id} …${k.last4}`).join(', ') || 'none'})`,
  )
}

function showKey(k: KeyView & { secret?: string }): string {
  const expiry = k.expiresAtMs ? ` expires ${new Date(k.expiresAtMs).toISOString()}` : ''
  return `${k.id}  ${k.mode}  ${k.status}  …${k.last4}${expiry}${k.secret ? `\n  secret (shown once): ${k.secret}` : ''}`
}

/** Run moves at most this many at a time: each is mostly waiting on replication. */
const movesInFlightMax = 4

async function runPlan(
  client: OperatorClient,
  plan: readonly ({ merchantId: string; to: string } | { merchantId: string; skipped: string })[],
): Promise<MoveOutcome[]> {
  const queue = plan.flatMap((p) => ('to' in p ? [p] : []))
  for (const p of plan) if ('skipped' in p) out(`skipped ${p.merchantId}: ${p.skipped}`)
  const outcomes: MoveOutcome[] = []
  await Promise.all(
    Array.from({ length: Math.min(movesInFlightMax, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const m = next.merchantId
        outcomes.push(await runMove(client, m, next.to, (line) => out(`[${m}] ${line}`)))
      }
    }),
  )
  const moved = outcomes.filter((o) => !o.alreadyHome)
  out(
    `summary: ${moved.length} moved, ${outcomes.length - moved.length} already in place, ${plan.length - outcomes.length} skipped`,
  )
  for (const o of moved)
    out(
      `  ${o.merchantId} → ${o.to}  epoch ${o.move?.toEpoch}  ${(o.move?.finishedMs ?? 0) - (o.move?.startedMs ?? 0)} ms`,
    )
  return outcomes
}

async function main(): Promise<void> {
  const [command, sub, arg] = positionals
  if (values.help || !command) {
    out(usage)
    return
  }
  const client = new OperatorClient(connection())
  if (command === 'status') {
    const status = await client.call<Status>('GET', '/status')
    if (values.json) out(JSON.stringify(status, null, 2))
    else printStatus(status, out)
    return
  }
  if (command === 'merchant' && sub === 'create') {
    const created = await client.call<{
      merchant: { id: string; placement: unknown }
      key: KeyView & { secret: string }
      unreachable: string[]
    }>('POST', '/merchants', {
      name: need(values.name, '--name'),
      home: need(values.home, '--home'),
      residency: values.residency,
    })
    if (values.json) return out(JSON.stringify(created, null, 2))
    out(`merchant ${created.merchant.id}  ${JSON.stringify(created.merchant.placement)}`)
    out(`test key ${showKey(created.key)}`)
    for (const u of created.unreachable) out(`warning: region without its placement yet: ${u}`)
    return
  }
  if (command === 'merchant' && sub === 'list') {
    const { data } = await client.call<{
      data: { id: string; placement: { home: string; epoch: number; residency: string } }[]
    }>('GET', '/merchants')
    if (values.json) return out(JSON.stringify(data, null, 2))
    for (const m of data)
      out(
        `${m.id.padEnd(24)} home ${m.placement.home.padEnd(9)} epoch ${m.placement.epoch}  residency ${m.placement.residency}`,
      )
    return
  }
  if (command === 'keys') {
    const merchant = need(values.merchant, '--merchant')
    if (sub === 'create')
      return out(
        showKey(await client.call('POST', `/merchants/${merchant}/keys`, { mode: values.mode })),
      )
    if (sub === 'list') {
      const { data } = await client.call<{ data: KeyView[] }>('GET', `/merchants/${merchant}/keys`)
      for (const k of data) out(showKey(k))
      return
    }
    if (sub === 'roll') {
      const id = await keyOf(client, merchant, values.key)
      const overlap = values.overlap === undefined ? {} : { overlapSec: Number(values.overlap) }
      const rolled = await client.call<{ key: KeyView & { secret: string }; rolled: KeyView }>(
        'POST',
        `/keys/${id}/roll`,
        overlap,
      )
      out(`rolled ${showKey(rolled.rolled)}`)
      return out(`new    ${showKey(rolled.key)}`)
    }
    if (sub === 'revoke') {
      const id = await keyOf(client, merchant, values.key)
      return out(`revoked ${showKey(await client.call('POST', `/keys/${id}/revoke`))}`)
    }
  }
  if (command === 'move') {
    const merchant = need(sub, '<merchant>')
    if (values.abort) {
      const aborted = await client.call<{ to: string }>('POST', `/moves/${merchant}/abort`)
      out(`aborted: ${merchant} stays in ${aborted.to}`)
      await runMove(client, merchant, aborted.to, out)
      return
    }
    await runMove(client, merchant, need(values.to, '--to'), out)
    return
  }
  if (command === 'evacuate' || command === 'restore') {
    const region = need(sub, '<region>')
    const { plan } = await client.call<{ plan: Parameters<typeof runPlan>[1] }>(
      'POST',
      `/regions/${region}/${command}`,
    )
    out(`${command} ${region}: ${plan.length} merchant(s)`)
    await runPlan(client, plan)
    return
  }
  if (command === 'audit') {
    const { data } = await client.call<{
      data: { atMs: number; operator: string; action: string; target: string; detail: unknown }[]
    }>('GET', `/audit?limit=${Number(values.limit)}`)
    for (const e of data)
      out(
        `${new Date(e.atMs).toISOString()}  ${e.operator.padEnd(24)} ${e.action.padEnd(18)} ${e.target}  ${JSON.stringify(e.detail)}`,
      )
    return
  }
  if (command === 'operator-key' && sub === 'create') {
    const made = await client.call<{ id: string; secret: string }>('POST', '/operator_keys', {
      name: need(values.name, '--name'),
    })
    return out(`${made.id}\n  secret (shown once): ${made.secret}`)
  }
  void arg
  throw new UsageError(`unknown command: ${positionals.join(' ')}`)
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`fleet: ${error.message}\n${usage}\n`)
    process.exit(2)
  }
  if (error instanceof OperatorApiError) {
    process.stderr.write(`fleet: ${error.code}: ${error.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`fleet: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
