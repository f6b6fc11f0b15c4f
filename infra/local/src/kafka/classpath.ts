import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const kafkaDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kafka')
const pomPath = join(kafkaDir, 'pom.xml')

/** How long the first, jar-fetching resolution may take before we give up. */
export const classpathResolveMsMax = 10 * 60_000

export class KafkaSetupError extends Error {
  override readonly name = 'KafkaSetupError'
}

/**
 * The broker's Java classpath, resolved by Maven from infra/local/kafka/pom.xml. Maven keeps the
 * jars in ~/.m2; we cache only the resulting path list, keyed by the pom's hash, and re-resolve
 * when the pom changes or a cached jar has disappeared.
 */
export function kafkaClasspath(log: (line: string) => void = () => {}): Promise<string> {
  // Brokers start in parallel; they share one resolution instead of racing three Mavens.
  resolving ??= resolveClasspath(log).catch((error: unknown) => {
    resolving = undefined
    throw error
  })
  return resolving
}

let resolving: Promise<string> | undefined

async function resolveClasspath(log: (line: string) => void): Promise<string> {
  const pom = readFileSync(pomPath)
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 16)
  const cacheFile = join(kafkaDir, `.classpath-${hash}`)
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim()
    if (cached.split(':').every((jar) => existsSync(jar))) return cached
  }
  log(
    'resolving the Apache Kafka broker jars with Maven (first run fetches them, later runs reuse ~/.m2)…',
  )
  const started = Date.now()
  const outputFile = `${cacheFile}.tmp`
  try {
    await run(
      'mvn',
      ['-B', '-q', '-f', pomPath, 'dependency:build-classpath', `-Dmdep.outputFile=${outputFile}`],
      { timeout: classpathResolveMsMax, maxBuffer: 16 * 1024 * 1024 },
    )
  } catch (error) {
    const detail =
      error instanceof Error && 'stdout' in error ? String(error.stdout).slice(-2000) : ''
    throw new KafkaSetupError(
      `Maven could not resolve the Kafka broker jars from ${pomPath}. Is Maven Central reachable? ${detail}`,
    )
  }
  const classpath = readFileSync(outputFile, 'utf8').trim()
  writeFileSync(cacheFile, classpath)
  log(`Kafka jars resolved in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return classpath
}
