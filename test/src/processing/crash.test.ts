import { type ServiceProcess, spawnService } from '@meridian/local'
import { keyRingFromText, regionSettings } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { brokerFor, testBus } from '../harness/kafka.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { testWebhookSecretKeysText } from '../harness/region.ts'
import { createPayment, expectBalancedLedger, statusIs, waitFor } from './helpers.ts'

let region: ProcessingRegion

beforeAll(async () => {
  // In this process: API and relay only. Workers run as a separate, killable process.
  region = await startProcessingRegion('crash', {
    faults: { latencyMsMin: 150, latencyMsMax: 300 },
    overrides: {
      roles: { api: true, relay: true, workers: false, webhooks: false, reconciler: false },
    },
  })
})
afterAll(async () => {
  await region?.stop()
})

function workerProcess(): Promise<ServiceProcess> {
  const c = region.config
  return spawnService({
    name: 'crash worker',
    entry: regionSettings.entryPoint,
    readyEvent: 'region.ready',
    // This region's own settings, as the process in this test runs them, but only the workers.
    env: regionSettings.toEnv({
      region: c.region,
      databaseUrl: c.databaseUrl,
      ...(c.databaseSchema ? { databaseSchema: c.databaseSchema } : {}),
      poolSizeMax: 4,
      redisPrefix: c.redisPrefix,
      kafkaBrokers: [brokerFor('us-east')],
      eventsTopic: c.eventsTopic,
      edgeSecret: c.edgeSecret,
      webhookSecretKeys: keyRingFromText(testWebhookSecretKeysText),
      ...(c.processorPins ? { processorPins: c.processorPins } : {}),
      roles: { workers: true },
      processorUrls: c.processorUrls,
      processorTimeoutMs: 2000,
      logLevel: 'error',
    }),
  })
}

describe('a worker killed mid-payment', () => {
  it('leaves nothing half done: a new worker finishes every payment, one authorization each', async () => {
    const client = region.client('mer_crash')
    const ids: string[] = []
    for (let i = 0; i < 15; i++) ids.push((await createPayment(client, { amount: 500 + i })).id)
    const first = await workerProcess()
    // Kill it while processor calls are in flight: some payments authorized, others not yet.
    await eventually(
      () => expect(ids.some((id) => region.authorizations(id) > 0)).toBe(true),
      30_000,
    )
    await first.stop('SIGKILL')
    const inFlight = ids.filter((id) => region.authorizations(id) === 0).length
    const second = await workerProcess()
    try {
      for (const id of ids) {
        await waitFor(client, id, statusIs('captured'), 60_000)
        expect(region.authorizations(id), id).toBe(1)
      }
      expect(inFlight).toBeGreaterThanOrEqual(0)
      await expectBalancedLedger(region.db)
    } finally {
      await second.stop()
    }
  })
})

describe('the same Kafka message delivered twice', () => {
  it('changes nothing the second time', async () => {
    const client = region.client('mer_dupes')
    const created = await createPayment(client, { amount: 1234 })
    const worker = await workerProcess()
    try {
      await waitFor(client, created.id, statusIs('captured'), 30_000)
      const entries = async () =>
        (
          await region.db.pool.query(
            'select id from journal_entries where payment_id = $1 order by id',
            [created.id],
          )
        ).rows
      const before = {
        entries: await entries(),
        version: (
          await region.db.pool.query('select version from payments where id = $1', [created.id])
        ).rows,
      }
      // Publish every event of this payment again, as an at-least-once relay or a rebalance might.
      const { rows } = await region.db.pool.query<{ envelope: string; merchant_id: string }>(
        "select envelope::text as envelope, merchant_id from outbox where envelope->'payload'->'payment'->>'id' = $1 order by seq",
        [created.id],
      )
      expect(rows.length).toBeGreaterThanOrEqual(3)
      const producer = await testBus('us-east').producer()
      await producer.send(
        region.config.eventsTopic,
        rows.map((r) => ({ key: r.merchant_id, value: r.envelope })),
      )
      await producer.close()
      // Wait until the workers' group has consumed past the duplicates.
      const groupId = `${region.config.eventsTopic}.${region.config.databaseSchema}.workers`
      await eventually(async () => {
        const ends = await region.admin.endOffsets(region.config.eventsTopic)
        const committed = await region.admin.groupOffsets(groupId, region.config.eventsTopic)
        // '-1' means never committed: fine for a partition that is still empty.
        for (const [partition, end] of ends) {
          expect(
            committed.get(partition) === '-1' ? '0' : committed.get(partition),
            `partition ${partition}`,
          ).toBe(end)
        }
      }, 30_000)
      expect(await entries()).toEqual(before.entries)
      expect(
        (await region.db.pool.query('select version from payments where id = $1', [created.id]))
          .rows,
      ).toEqual(before.version)
      expect(region.authorizations(created.id)).toBe(1)
      await expectBalancedLedger(region.db)
    } finally {
      await worker.stop()
    }
  })
})
