import { backoffDelayMs, noJitter, sleep } from '../backoff.ts'
import type { Logger } from '../log.ts'
import type { KafkaBus, TopicSpec } from './bus.ts'

const topicsBackoff = { delayMsMin: 200, delayMsMax: 5000, jitter: noJitter }

/** Create the topics a service needs if they are missing; retries while the broker starts. */
export async function ensureTopics(
  bus: KafkaBus,
  topics: readonly TopicSpec[],
  log: Logger,
): Promise<void> {
  const attemptsMax = 20
  for (let attempt = 1; ; attempt++) {
    try {
      const admin = await bus.admin()
      try {
        const existing = new Set(await admin.listTopics())
        const missing = topics.filter((t) => !existing.has(t.topic))
        if (missing.length > 0) await admin.createTopics(missing)
      } finally {
        await admin.close()
      }
      return
    } catch (error) {
      if (attempt >= attemptsMax) throw error
      log.warn('could not ensure Kafka topics yet; retrying', { error, attempt })
      await sleep(backoffDelayMs(attempt, topicsBackoff))
    }
  }
}
