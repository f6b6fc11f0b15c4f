/**
 * A broken invariant is a programmer error, never an operating error: crash loudly rather than
 * carry on with state we no longer understand (TigerBeetle style, STYLE.md §7).
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation'
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message)
}

/** Exhaustiveness check for closed unions: the compiler proves this is unreachable. */
export function unreachable(value: never): never {
  throw new InvariantViolation(`unreachable: ${JSON.stringify(value)}`)
}
