import { newId } from '@meridian/core'
import { freePort } from '@meridian/local'
import { dialects, type RunningSimulator, simNames, startSimulator } from '@meridian/processor-sim'
import { type ProcessorAdapter, ProcessorError, ProcessorSet } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * One contract, every processor adapter, each against its simulator over real HTTP
 * (STYLE.md §2): the same operations must mean the same results whatever the wire format.
 */
describe.each(simNames)('processor adapter contract: %s', (name) => {
  let sim: RunningSimulator
  let adapter: ProcessorAdapter
  beforeAll(async () => {
    sim = await startSimulator(name, dialects[name], {
      faults: { latencyMsMin: 0, latencyMsMax: 2 },
    })
    const routed = new ProcessorSet({ [name]: sim.url }, { timeoutMs: 300 }).get(name)
    if (!routed) throw new Error('no adapter')
    adapter = routed.adapter
  })
  afterAll(async () => {
    await sim?.close()
  })

  const authorize = (card = 'pm_card_visa', id = newId('payment')) =>
    adapter.authorize({
      reference: id,
      amount: 1000,
      currency: 'USD',
      cardToken: card,
      idempotencyKey: `${id}:authorize`,
    })

  it('reads a key reused with other parameters as unknown (another version acted), never a refusal', async () => {
    const id = newId('payment')
    const auth = await authorize('pm_card_visa', id)
    if (auth.status !== 'approved') throw new Error('not authorized')
    await adapter.capture({
      reference: id,
      processorRef: auth.processorRef,
      amount: 1000,
      idempotencyKey: `${id}:capture`,
    })
    const refundId = newId('refund')
    const refund = (amount: number) =>
      adapter.refund({
        reference: refundId,
        processorRef: auth.processorRef,
        amount,
        idempotencyKey: `${refundId}:refund`,
      })
    expect((await refund(600)).status).toBe('approved')
    // Another region's version of the same refund: not its outcome, so not final here.
    expect((await refund(900)).status).toBe('unknown')
    // The same version again is the first answer, replayed.
    expect((await refund(600)).status).toBe('approved')
  })

  it('authorizes, captures and refunds, and lookups follow the state', async () => {
    const id = newId('payment')
    const auth = await authorize('pm_card_visa', id)
    expect(auth.status).toBe('approved')
    if (auth.status !== 'approved') return
    expect(await adapter.lookup(id, 'payment')).toMatchObject({ status: 'authorized' })
    expect(
      (
        await adapter.capture({
          reference: id,
          processorRef: auth.processorRef,
          amount: 800,
          idempotencyKey: `${id}:capture`,
        })
      ).status,
    ).toBe('approved')
    expect(await adapter.lookup(id, 'payment')).toMatchObject({ status: 'captured' })
    const refundId = newId('refund')
    expect(
      (
        await adapter.refund({
          reference: refundId,
          processorRef: auth.processorRef,
          amount: 300,
          idempotencyKey: `${refundId}:refund`,
        })
      ).status,
    ).toBe('approved')
    expect(await adapter.lookup(refundId, 'refund')).toMatchObject({ status: 'refunded' })
  })

  it('voids an authorization', async () => {
    const id = newId('payment')
    const auth = await authorize('pm_card_visa', id)
    if (auth.status !== 'approved') throw new Error('not approved')
    expect(
      (
        await adapter.void({
          reference: id,
          processorRef: auth.processorRef,
          idempotencyKey: `${id}:void`,
        })
      ).status,
    ).toBe('approved')
    expect(await adapter.lookup(id, 'payment')).toMatchObject({ status: 'voided' })
  })

  it('reports declines with a reason, and lookups agree', async () => {
    const id = newId('payment')
    const result = await authorize('pm_card_chargeDeclinedInsufficientFunds', id)
    expect(result.status).toBe('declined')
    expect(await adapter.lookup(id, 'payment')).toMatchObject({ status: 'declined' })
    expect(await adapter.lookup(newId('payment'), 'payment')).toEqual({ status: 'not_found' })
  })

  it('honours its idempotency key: the same request twice authorizes once', async () => {
    const id = newId('payment')
    const [a, b] = [await authorize('pm_card_visa', id), await authorize('pm_card_visa', id)]
    expect(a).toEqual(b)
    expect(sim.engine.stats.authorizations.get(id)).toBe(1)
  })

  it('classifies transport failures by whether the processor may have acted', async () => {
    Object.assign(sim.faults, { errorRate: 1 })
    const refused = await authorize().catch((e: unknown) => e)
    Object.assign(sim.faults, { errorRate: 0, lostResponseRate: 1 })
    const lost = await authorize().catch((e: unknown) => e)
    Object.assign(sim.faults, { lostResponseRate: 0, timeoutRate: 1, hangMs: 1000 })
    const slow = await authorize().catch((e: unknown) => e)
    Object.assign(sim.faults, { timeoutRate: 0 })
    expect(refused).toMatchObject({ name: 'ProcessorError', maybeApplied: false, retriable: true })
    expect(lost).toMatchObject({ name: 'ProcessorError', maybeApplied: true })
    expect(slow).toMatchObject({ name: 'ProcessorError', maybeApplied: true })
    const closed = new ProcessorSet({ [name]: `http://127.0.0.1:${await freePort()}` }).get(
      name,
    )?.adapter
    const unreachable = await closed
      ?.authorize({
        reference: 'pay_x',
        amount: 1,
        currency: 'USD',
        cardToken: 'tok_x',
        idempotencyKey: 'k',
      })
      .catch((e: unknown) => e)
    expect(unreachable).toBeInstanceOf(ProcessorError)
    expect(unreachable).toMatchObject({ maybeApplied: false })
  })
})
