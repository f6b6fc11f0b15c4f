/**
 * `pnpm start`: the local three-region gateway. Checks prerequisites, starts every component,
 * prints the endpoints and a curl line, and on Ctrl-C (or SIGTERM) stops every child process.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Gateway, startGateway } from './gateway.ts'
import { describeProblems, findProblems } from './prerequisites.ts'
import { repoRoot } from './processes.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const verbose = process.argv.includes('--verbose')
// Prometheus too, over every service, with the alert rules (infra/observability).
const observe = process.argv.includes('--observe')

function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

function printEndpoints(g: Gateway): void {
  log('')
  log('Meridian local topology is up:')
  log(
    `  edge      ${g.edge.url}   (wrangler dev / workerd; Upstash REST stand-in ${g.upstash.url})`,
  )
  for (const region of g.topology.regions) {
    const api = g.services.find((s) => s.region.id === region.id)?.apiUrl ?? '-'
    log(`  ${region.id.padEnd(9)} api ${api}  kafka ${region.kafka.bootstrap}`)
    log(
      `  ${''.padEnd(9)} postgres ${redactUrl(region.databaseUrl)}  redis prefix ${region.redisPrefix}`,
    )
    const status = g.replication.find((r) => r.region === region.id)?.statusUrl
    if (status) log(`  ${''.padEnd(9)} replication ${status}`)
  }
  log(
    `  processors ${Object.entries(g.simulators.urls)
      .map(([n, u]) => `${n} ${u}`)
      .join('  ')}`,
  )
  log('    (faults: POST <url>/_sim/faults, what they did: GET <url>/_sim/stats)')
  const observed = g.observability
  if (observed?.prometheus)
    log(
      `  prometheus ${observed.prometheus.url}   (alerts ${observed.prometheus.url}/alerts, targets ${observed.prometheus.url}/targets)`,
    )
  else if (observed?.problem)
    log(`  prometheus not running (--observe): ${observed.problem.split('\n')[0]}`)
  log('')
  log('Test API keys for this run (stored hashed at the edge; also in .meridian/local.json):')
  for (const [merchant, key] of Object.entries(g.edge.keys)) log(`  ${merchant.padEnd(12)} ${key}`)
  const [merchant, key] = Object.entries(g.edge.keys)[0] ?? ['', '']
  log('')
  log(`Create a payment for ${merchant} through the edge:`)
  log(
    `  curl -s ${g.edge.url}/v1/payments -H "Authorization: Bearer ${key}" -H "Idempotency-Key: demo-$(date +%s%N)" -H "Content-Type: application/json" -d '{"amount":1999,"currency":"usd","payment_method":"pm_card_visa"}'`,
  )
  log('')
  log(
    'Region APIs answer only edge-signed requests; /healthz, /readyz, /metrics and /openapi.json are open.',
  )
  log('Press Ctrl-C to stop everything.')
}

function remember(g: Gateway): void {
  const dir = join(repoRoot, '.meridian')
  mkdirSync(dir, { recursive: true })
  const local = {
    edge: g.edge.url,
    keys: g.edge.keys,
    operatorKey: g.edge.operatorKey,
    regions: Object.fromEntries(
      g.services.map((s) => [
        s.region.id,
        { api: s.apiUrl, kafka: s.region.kafka.bootstrap, database: s.region.databaseUrl },
      ]),
    ),
    simulators: g.simulators.urls,
    ...(g.observability?.prometheus ? { prometheus: g.observability.prometheus.url } : {}),
    pid: process.pid,
  }
  writeFileSync(join(dir, 'local.json'), `${JSON.stringify(local, null, 2)}\n`, { mode: 0o600 })
}

async function main(): Promise<void> {
  const started = Date.now()
  const problems = await findProblems()
  if (problems.length > 0) {
    process.stderr.write(`${describeProblems(problems)}\n`)
    process.exit(1)
  }
  let gateway: Gateway | undefined
  let stopping = false
  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return
    stopping = true
    log(`\n${signal}: stopping every component…`)
    await gateway?.stop()
    log('stopped.')
    process.exit(code)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  gateway = await startGateway({ log, verbose, restartCrashed: true, observe })
  if (stopping) return
  remember(gateway)
  printEndpoints(gateway)
  log(`(started in ${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

main().catch((error: unknown) => {
  process.stderr.write(`meridian: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
