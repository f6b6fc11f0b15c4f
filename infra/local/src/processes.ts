import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export const serviceStartMsMax = 60_000

export interface ServiceOptions {
  /** For logs: `us-east api`. */
  readonly name: string
  /**
   * The file to run: a service's `entryPoint` (absolute), or a path relative to the repository
   * root (a test's fixture).
   */
  readonly entry: string
  readonly env: Readonly<Record<string, string>>
  /** The JSON line the service prints when ready, matched by its `event` field. */
  readonly readyEvent: string
  /** Extra Node.js flags, e.g. `--cpu-prof` when profiling. */
  readonly nodeArgs?: readonly string[]
  /** Where the service's own output goes; default: dropped after start-up. */
  readonly onLine?: (line: string) => void
}

export interface ServiceProcess {
  readonly name: string
  readonly pid: number
  /** The ready line's fields, e.g. `{ url }`. */
  readonly ready: Readonly<Record<string, unknown>>
  readonly exited: Promise<number | null>
  /** SIGTERM and wait (graceful), or SIGKILL (a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/** A service that exited without being asked to (a crash), for whoever watches the topology. */
export interface Crash {
  readonly name: string
  /** The signal, or `code <n>`. */
  readonly exit: string
  readonly atMs: number
}

const crashes: Crash[] = []

/** Every crash of a service this process started, oldest first. */
export function serviceCrashes(): readonly Crash[] {
  return crashes
}

/**
 * Run one service as a real child process (the drills and durability tests kill them). Resolves
 * when the service prints its ready line; rejects with its output if it exits or stalls first.
 */
export function spawnService(options: ServiceOptions): Promise<ServiceProcess> {
  // `--import tsx` runs TypeScript in this one process (the tsx CLI would add a wrapper process
  // that a SIGKILL would not reach through).
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', resolve(repoRoot, options.entry)],
    {
      cwd: repoRoot,
      // The child exits if this process dies, even by SIGKILL: no service outlives its topology.
      env: { ...process.env, ...options.env, MERIDIAN_EXIT_WITH_PARENT: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  let readyOnce = false
  let stopping = false
  const recent: string[] = []
  const remember = (line: string) => {
    recent.push(line)
    if (recent.length > 40) recent.shift()
    options.onLine?.(line)
  }
  if (child.stderr) createInterface({ input: child.stderr }).on('line', remember)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(`${options.name} not ready in ${serviceStartMsMax} ms:\n${recent.join('\n')}`),
      )
    }, serviceStartMsMax)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(
        new Error(`${options.name} exited (${code}) before it was ready:\n${recent.join('\n')}`),
      )
    })
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line)
      if (!line.startsWith('{')) return
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      if (parsed.event !== options.readyEvent || readyOnce) return
      readyOnce = true
      clearTimeout(timer)
      // A service that dies on its own is news to whoever runs the topology: say so, with its last words.
      child.once('exit', (code, signal) => {
        if (stopping) return
        crashes.push({ name: options.name, exit: signal ?? `code ${code}`, atMs: Date.now() })
        process.stderr.write(
          `[meridian] ${options.name} exited unexpectedly (${signal ?? `code ${code}`}); its last output:\n${recent.slice(-40).join('\n')}\n`,
        )
      })
      resolve({
        name: options.name,
        pid: child.pid ?? -1,
        ready: parsed,
        exited,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null || child.signalCode !== null) return
          stopping = true
          child.kill(signal)
          await exited
        },
      })
    })
  })
}

/**
 * Which of a service's lines reach the log: all when verbose, else its errors (and, with
 * `warnings`, its warnings): the JSON objects whose level says so, cut from whatever a runner
 * wrapped them in (wrangler dev prints a worker's warning inside a coloured `▲ [WARNING]`).
 */
export function serviceLines(
  options: { readonly verbose?: boolean; readonly warnings?: boolean },
  onLine: (line: string) => void,
): (line: string) => void {
  if (options.verbose) return onLine
  const wanted = options.warnings ? /"level":"(warn|error|fatal)"/ : /"level":"(error|fatal)"/
  return (line) => {
    if (!wanted.test(line)) return
    const text = line.replace(ansiColors, '')
    onLine(text.slice(Math.max(0, text.indexOf('{')), text.lastIndexOf('}') + 1))
  }
}

/** Terminal colour codes, as wrangler dev wraps a worker's console.warn in them. */
const ansiColors = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')
