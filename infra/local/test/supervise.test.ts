import { describe, expect, it } from 'vitest'
import { spawnService } from '../src/processes.ts'
import { supervise } from '../src/supervise.ts'

const spawnFixture = () =>
  spawnService({
    name: 'fixture',
    entry: 'infra/local/test/fixtures/ready-service.ts',
    readyEvent: 'fixture.ready',
    env: {},
  })

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('supervise', () => {
  it('starts a service that died on its own again, and stops for good when asked', async () => {
    const lines: string[] = []
    const service = await supervise(spawnFixture, {
      name: 'fixture',
      log: (l) => lines.push(l),
      restartDelayMsMin: 50,
    })
    const first = service.current()?.pid ?? -1
    expect(alive(first)).toBe(true)
    process.kill(first, 'SIGKILL')
    await until(() => (service.current()?.pid ?? first) !== first)
    const second = service.current()?.pid ?? -1
    expect(alive(second)).toBe(true)
    expect(service.restarts()).toBe(1)
    expect(lines.some((l) => l.includes('fixture stopped on its own'))).toBe(true)

    await service.stop()
    expect(alive(second)).toBe(false)
    await new Promise((r) => setTimeout(r, 300))
    expect(service.current()?.pid).toBe(second)
    expect(service.restarts()).toBe(1)
  })

  it('waits longer after each failed start, so a broken service does not spin', async () => {
    const lines: string[] = []
    let attempts = 0
    const service = await supervise(
      async () => {
        attempts += 1
        if (attempts > 1) throw new Error('port already in use')
        return spawnFixture()
      },
      { name: 'broken', log: (l) => lines.push(l), restartDelayMsMin: 20, restartDelayMsMax: 80 },
    )
    process.kill(service.current()?.pid ?? -1, 'SIGKILL')
    await until(() => attempts >= 5)
    await service.stop()
    const delays = lines
      .map((l) => /again in (\d+) ms/.exec(l)?.[1])
      .filter((d) => d !== undefined)
      .map(Number)
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80])
    expect(lines.some((l) => l.includes('did not start again: port already in use'))).toBe(true)
    expect(service.restarts()).toBe(0)
  })
})
