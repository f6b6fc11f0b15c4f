import { backoffDelayMs, noJitter, sleep } from '../backoff.ts'
import type { Logger } from '../log.ts'
import type { KafkaBus, TopicSpec } from './bus.ts'

/**
 * 200 ms doubling to 5 s, 12 attempts: about 36 s for a broker to come up before the service
 * gives up (the linear 200·n ms of before gave it 38 s).
 */
const topicsBackoff = { delayMsMin: 200, delayMsMax: 5000, jitter: noJitter }
const attemptsMax = 12

/** Create the topics a service needs if they are missing; retries while the broker starts. */
export async function ensureTopics(
  bus: KafkaBus,
  topics: readonly TopicSpec[],
  log: Logger,
): Promise<void> {
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
      await sleep(backoffDelayMs(attempt - 1, topicsBackoff))
    }
  }
}
