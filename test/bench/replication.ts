/**
 * `pnpm bench:replication`: replication lag from us-east to eu-west at a steady 1,000 events/s
 * (BENCH_RATE), through the real replicator (us-east cluster → eu-west cluster) and applier
 * (merge into eu-west's Postgres, effectively once). Each event is a payment.created as the fast
 * path writes it. Lag = applied in eu-west (the start of the applier's transaction, as
 * replication_applied records it; its commit follows within milliseconds) minus produced in
 * us-east. Prints p50/p99/max, then the same split at the copy in eu-west's cluster: how long the
 * replicator took, and how long the applier took after it.
 */

import { HybridClock, topicsFor } from '@meridian/core'
import { KafkaBroker } from '@meridian/local'
import {
  createKafkaBus,
  createPool,
  databaseUrl,
  ensureDatabase,
  ensureSchema,
  ensureTopics,
  migrate,
  quietLogger,
  withDatabase,
} from '@meridian/platform'
import { regionDatabaseMigrations, replicatedTopic, startReplication } from '@meridian/replication'
import { paymentCreated } from '../src/harness/events.ts'
import { benchKafkaClient, ownCpuSec } from './cpu.ts'
import { percentile } from './load.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const rate = Number(process.env.BENCH_RATE ?? 1000)
const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const partitions = 16

async function main(): Promise<void> {
  const [east, west] = await Promise.all([
    KafkaBroker.start({ name: 'bench-us-east', log }),
    KafkaBroker.start({ name: 'bench-eu-west', log }),
  ])
  const url = withDatabase(databaseUrl(), 'meridian_bench')
  await ensureDatabase(url)
  const schema = `replbench_${Date.now().toString(36)}`
  const pool = createPool({ url, schema, poolSizeMax: 2 })
  await ensureSchema(pool, schema)
  await migrate(pool, regionDatabaseMigrations, schema)
  const eastBus = createKafkaBus({
    brokers: [east.bootstrap],
    clientId: 'bench-origin',
    log: quietLogger,
  })
  const topics = topicsFor('')
  await ensureTopics(eastBus, [{ topic: topics.events, partitions }], quietLogger)
  const replication = await startReplication(
    {
      region: 'eu-west',
      databaseUrl: url,
      databaseSchema: schema,
      kafkaBrokers: [west.bootstrap],
      peers: { 'us-east': [east.bootstrap] },
      topicNamespace: '',
      eventsPartitions: partitions,
      heartbeatIntervalMs: 1000,
    },
    quietLogger,
  )
  const producer = await eastBus.producer({ idempotent: true })
  const clock = new HybridClock('us-east')
  const sentAt = new Map<string, number>()
  try {
    log(
      `producing ${rate} events/s for ${seconds} s into us-east; replicating to eu-west… (Kafka client: ${benchKafkaClient()})`,
    )
    // Producer, replicator and applier all run in this process: its CPU time is theirs.
    const cpuStart = process.cpuUsage()
    const start = performance.now()
    const startWall = Date.now()
    let sent = 0
    while (sent < rate * seconds) {
      const due = Math.floor(((performance.now() - start) * rate) / 1000)
      const batch = []
      for (; sent < due && sent < rate * seconds; sent++) {
        const { event, message } = paymentCreated(clock, `mer_bench_${sent % 200}`, sent)
        sentAt.set(event.id, Date.now())
        batch.push(message)
      }
      if (batch.length > 0) await producer.send(topics.events, batch)
      await new Promise((r) => setTimeout(r, 5))
    }
    const elapsed = (performance.now() - start) / 1000
    log(
      `produced ${sent} events in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s); waiting for eu-west to apply them…`,
    )
    const deadline = Date.now() + 120_000
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from replication_applied where origin_region = 'us-east'",
      )
      if ((rows[0]?.n ?? 0) >= sent || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const cpuSec = ownCpuSec(cpuStart)
    const wallSec = (performance.now() - start) / 1000
    const { rows } = await pool.query<{ event_id: string; applied_ms: string }>(
      "select event_id, (extract(epoch from applied_at) * 1000)::bigint as applied_ms from replication_applied where origin_region = 'us-east'",
    )
    const lags = Float64Array.from(
      rows
        .map((r) => Number(r.applied_ms) - (sentAt.get(r.event_id) ?? Number.NaN))
        .filter(Number.isFinite),
    ).sort()
    log('')
    log(
      `applied ${rows.length} of ${sent} events in eu-west (started ${new Date(startWall).toISOString()})`,
    )
    log(
      `replication lag at ${rate} events/s: p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms, max ${(lags.at(-1) ?? Number.NaN).toFixed(0)} ms (target p99 ≤ 250 ms)`,
    )
    log(
      `Kafka client ${benchKafkaClient()}: CPU ${cpuSec.toFixed(2)} s over ${wallSec.toFixed(1)} s (producer, replicator and applier in this process)`,
    )
    // Where the time goes: produced → copied into eu-west by the replicator (the copy's
    // timestamp), then copied → applied by the applier.
    const copiedAt = await copyTimes(
      west.bootstrap,
      replicatedTopic('us-east', topics.events),
      sent,
    )
    const applied = new Map(rows.map((r) => [r.event_id, Number(r.applied_ms)]))
    const hop1: number[] = []
    const hop2: number[] = []
    for (const [id, copied] of copiedAt) {
      const sentMs = sentAt.get(id)
      const appliedMs = applied.get(id)
      if (sentMs !== undefined) hop1.push(copied - sentMs)
      if (appliedMs !== undefined) hop2.push(appliedMs - copied)
    }
    log(`  replicator (us-east → copy in eu-west): ${summary(hop1)}`)
    log(`  applier (copy → applied in Postgres): ${summary(hop2)}`)
  } finally {
    await producer.close()
    await replication.stop()
    await pool.query(`drop schema if exists ${schema} cascade`)
    await pool.end()
    await Promise.all([east.destroy(), west.destroy()])
  }
}

function summary(values: number[]): string {
  const sorted = Float64Array.from(values).sort()
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`
}

/** When each event's copy was written into `topic` (its Kafka timestamp), by event id. */
async function copyTimes(bootstrap: string, topic: string, count: number) {
  const bus = createKafkaBus({ brokers: [bootstrap], clientId: 'bench-reader', log: quietLogger })
  const consumer = bus.consumer({ groupId: `bench-reader-${Date.now()}`, topics: [topic] })
  const times = new Map<string, number>()
  await consumer.start(async (batch) => {
    for (const m of batch.messages) {
      const id = m.headers['event-id']
      if (id) times.set(id, m.timestampMs)
    }
  })
  const deadline = Date.now() + 60_000
  while (times.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
  await consumer.stop()
  return times
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:replication: ${error instanceof Error ? error.stack : String(error)}\n`,
  )
  process.exit(1)
})
