import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'

/** One warning or error a service logged, grouped with its repeats. */
export interface ServiceProblem {
  readonly service: string
  readonly level: string
  readonly msg: string
  /** The `error` field of the first occurrence, if it had one. */
  readonly error: string | undefined
  readonly count: number
  readonly firstAtMs: number
}

/** Problems kept in memory for the summary; the file keeps everything. */
export const problemsKeptMax = 2000
const fieldCharsMax = 240

/**
 * Every line the drill's services print, kept in a file next to the reports, so a failed drill
 * (in CI, where nobody watched) can be explained afterwards. Warnings and errors are also kept
 * in memory for the short summary printed under a FAIL.
 */
export class ServiceLog {
  private readonly out: WriteStream
  private readonly problems: {
    service: string
    level: string
    msg: string
    error?: string
    atMs: number
  }[] = []

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.out = createWriteStream(path, { flags: 'a' })
  }

  /** A line as the topology prints it: `[us-east replication] {"level":"warn","msg":…}`. */
  write(line: string, atMs = Date.now()): void {
    this.out.write(`${new Date(atMs).toISOString()} ${line}\n`)
    const problem = parseProblem(line)
    if (!problem) return
    this.problems.push({ ...problem, atMs })
    if (this.problems.length > problemsKeptMax) this.problems.shift()
  }

  /** Warnings and errors since `sinceMs`, repeats grouped: errors first, then the most frequent. */
  problemsSince(sinceMs: number): ServiceProblem[] {
    const groups = new Map<string, ServiceProblem>()
    for (const p of this.problems) {
      if (p.atMs < sinceMs) continue
      const key = `${p.service}\u0000${p.level}\u0000${p.msg}`
      const seen = groups.get(key)
      groups.set(
        key,
        seen
          ? { ...seen, count: seen.count + 1 }
          : {
              service: p.service,
              level: p.level,
              msg: p.msg,
              error: p.error,
              count: 1,
              firstAtMs: p.atMs,
            },
      )
    }
    const rank = (p: ServiceProblem) => (p.level === 'warn' ? 1 : 0)
    return [...groups.values()].sort(
      (a, b) => rank(a) - rank(b) || b.count - a.count || a.firstAtMs - b.firstAtMs,
    )
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve))
  }
}

export function parseProblem(
  line: string,
): { service: string; level: string; msg: string; error?: string } | undefined {
  const match = /^\[([^\]]+)\] (\{.*\})$/.exec(line)
  if (!match?.[1] || !match[2]) return undefined
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(match[2]) as Record<string, unknown>
  } catch {
    return undefined
  }
  const level = parsed.level
  if (level !== 'warn' && level !== 'error' && level !== 'fatal') return undefined
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, fieldCharsMax) : undefined)
  const error = text(parsed.error)
  return {
    service: match[1],
    level,
    msg: text(parsed.msg) ?? '(no message)',
    ...(error === undefined ? {} : { error }),
  }
}

/** The lines printed under a FAIL: the most frequent problems first, `max` of them. */
export function describeProblems(problems: readonly ServiceProblem[], max: number): string[] {
  const lines = problems
    .slice(0, max)
    .map(
      (p) =>
        `[${p.service}] ${p.level} ×${p.count}: ${p.msg}${p.error && !p.msg.includes(p.error) ? ` — ${p.error}` : ''}`,
    )
  if (problems.length > max) lines.push(`… and ${problems.length - max} other kinds`)
  return lines
}
