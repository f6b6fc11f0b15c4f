import { backoffDelayMs, noJitter } from '@meridian/platform'
import type { ServiceProcess } from './processes.ts'

export interface SuperviseOptions {
  /** For log lines: `us-east workers`. */
  readonly name: string
  readonly log: (line: string) => void
  /** First pause before starting a crashed service again; doubles per crash in a row. */
  readonly restartDelayMsMin?: number
  readonly restartDelayMsMax?: number
  /** A service that ran this long before crashing starts its backoff over. */
  readonly stableAfterMs?: number
}

export const restartDelayMsMinDefault = 1000
export const restartDelayMsMaxDefault = 30_000
export const stableAfterMsDefault = 60_000

/** A service kept running: started again whenever it exits without being asked to. */
export interface Supervised {
  /** The process now running (undefined between a crash and its restart). */
  current(): ServiceProcess | undefined
  /** How many times it was started again after a crash. */
  restarts(): number
  /** Stop it and stop restarting it; SIGKILL makes the stop a crash, as drills do. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/**
 * Keep `spawn`'s service up, as ECS keeps a task up in the cloud: `pnpm start` runs for hours, and
 * one crashed worker should not leave a region half there until someone notices. Backoff doubles
 * per crash in a row, so a service that cannot start does not spin; every restart is logged.
 */
export async function supervise(
  spawn: () => Promise<ServiceProcess>,
  options: SuperviseOptions,
): Promise<Supervised> {
  const delayMin = options.restartDelayMsMin ?? restartDelayMsMinDefault
  const delayMax = options.restartDelayMsMax ?? restartDelayMsMaxDefault
  const stableAfter = options.stableAfterMs ?? stableAfterMsDefault
  let current: ServiceProcess | undefined
  let stopped = false
  let restarts = 0
  let crashesInARow = 0
  let timer: NodeJS.Timeout | undefined

  const watch = (process: ServiceProcess) => {
    const startedAt = Date.now()
    void process.exited.then(() => {
      if (stopped || current !== process) return
      current = undefined
      crashesInARow = Date.now() - startedAt >= stableAfter ? 1 : crashesInARow + 1
      schedule()
    })
  }
  const schedule = () => {
    const backoff = { delayMsMin: delayMin, delayMsMax: delayMax, jitter: noJitter }
    const delay = backoffDelayMs(crashesInARow - 1, backoff)
    options.log(`[meridian] ${options.name} stopped on its own; starting it again in ${delay} ms`)
    timer = setTimeout(() => void restart(), delay)
  }
  const restart = async () => {
    if (stopped) return
    try {
      const process = await spawn()
      if (stopped) return void (await process.stop())
      current = process
      restarts += 1
      options.log(`[meridian] ${options.name} is running again (pid ${process.pid})`)
      watch(process)
    } catch (error) {
      crashesInARow += 1
      options.log(
        `[meridian] ${options.name} did not start again: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      )
      schedule()
    }
  }

  current = await spawn()
  watch(current)
  return {
    current: () => current,
    restarts: () => restarts,
    async stop(signal = 'SIGTERM') {
      stopped = true
      clearTimeout(timer)
      await current?.stop(signal)
    },
  }
}

/** The same handle over a service nobody restarts (drills: a crash there is a finding). */
export function unsupervised(process: ServiceProcess): Supervised {
  return {
    current: () => process,
    restarts: () => 0,
    stop: (signal) => process.stop(signal),
  }
}
