import { describeProblems, findProblems, KafkaBroker, startUpstashStandIn } from '@meridian/local'
import type { TestProject } from 'vitest/node'
import { prepareTestDatabase } from './harness/pg.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: Record<string, string>
    kafkaBrokerLogs: Record<string, string>
    /** The Upstash stand-in regions agree on processors through (the edge's global Redis). */
    upstash: { url: string; token: string; run: string }
  }
}

/** One broker per region, as in the local topology; every test makes its own topics on them. */
const regions = ['us-east', 'eu-west', 'ap-south'] as const

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const problems = await findProblems()
  if (problems.length > 0) throw new Error(describeProblems(problems))
  await prepareTestDatabase()
  const log = (line: string) => process.stdout.write(`[global-setup] ${line}\n`)
  const started = Date.now()
  const results = await Promise.allSettled(regions.map((name) => KafkaBroker.start({ name, log })))
  const brokers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.all(brokers.map((b) => b.destroy()))
    throw failed.reason
  }
  log(`${brokers.length} Kafka brokers ready in ${Date.now() - started} ms`)
  project.provide('kafkaBrokers', Object.fromEntries(brokers.map((b) => [b.name, b.bootstrap])))
  project.provide('kafkaBrokerLogs', Object.fromEntries(brokers.map((b) => [b.name, b.logFile])))
  const upstash = await startUpstashStandIn({ token: `test-${Date.now()}` })
  project.provide('upstash', { url: upstash.url, token: upstash.token, run: String(Date.now()) })
  return async () => {
    await upstash.close()
    await Promise.all(brokers.map((b) => b.destroy()))
  }
}
