import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { connectRedis, databaseUrl, redisUrl } from '@meridian/platform'
import pg from 'pg'

const run = promisify(execFile)

export interface Problem {
  readonly what: string
  /** One line saying what to install or set. */
  readonly fix: string
}

async function hasCommand(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(command, [...args], { timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

async function postgresProblem(): Promise<Problem | undefined> {
  const url = databaseUrl()
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    return {
      what: `PostgreSQL at ${redact(url)} (${error instanceof Error ? error.message : String(error)})`,
      fix: 'start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set DATABASE_URL',
    }
  } finally {
    await client.end().catch(() => {})
  }
}

async function redisProblem(): Promise<Problem | undefined> {
  const url = redisUrl()
  try {
    const redis = await connectRedis(url)
    redis.disconnect()
    return undefined
  } catch (error) {
    return {
      what: `Redis at ${redact(url)} (${error instanceof Error ? error.message : String(error)})`,
      fix: 'start Redis (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no) or set REDIS_URL',
    }
  }
}

/** The Node.js major every script must run on; the root package.json pins the exact release. */
export const nodeMajorRequired = 24

/**
 * Whether this process runs on the Node the project pins. Under `pnpm start` / `pnpm test` it does,
 * because pnpm puts node_modules/.bin (with the pinned `node`) first on PATH; a script started with
 * a bare `tsx` or `node` from an older system Node would not, and fails here with the fix.
 */
export function nodeProblem(version: string = process.versions.node): Problem | undefined {
  const major = Number(version.split('.')[0])
  if (major === nodeMajorRequired) return undefined
  return {
    what: `Node.js ${nodeMajorRequired} (this is ${version})`,
    fix: 'run it through pnpm (pnpm start, pnpm test, pnpm exec …), which uses the Node 24 that pnpm install put in node_modules/.bin',
  }
}

function redact(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

/** Everything the local topology and the integration tests need, checked up front. */
export async function findProblems(): Promise<Problem[]> {
  const checks = await Promise.all([
    nodeProblem(),
    hasCommand('java', ['-version']).then((ok) =>
      ok
        ? undefined
        : {
            what: 'java',
            fix: 'install a Java 17+ runtime (apt install openjdk-17-jre-headless) so Kafka can run',
          },
    ),
    hasCommand('mvn', ['-v']).then((ok) =>
      ok
        ? undefined
        : {
            what: 'mvn',
            fix: 'install Apache Maven (apt install maven) so the Kafka jars can be resolved',
          },
    ),
    postgresProblem(),
    redisProblem(),
  ])
  return checks.filter((p): p is Problem => p !== undefined)
}

export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `missing prerequisite: ${p.what}: ${p.fix}`).join('\n')
}
