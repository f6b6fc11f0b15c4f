/**
 * A value that must never reach a log or a response: API keys, signing secrets, card numbers.
 * Printing it in any way (template string, JSON, console.log, util.inspect) shows a mask;
 * the only way to the value is `reveal()`, which is easy to grep for (STYLE.md §13).
 */
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom')
const mask = '[REDACTED]'

export class Secret<T = string> {
  readonly #value: T

  constructor(value: T) {
    this.#value = value
  }

  reveal(): T {
    return this.#value
  }

  toString(): string {
    return mask
  }

  toJSON(): string {
    return mask
  }

  [inspectSymbol](): string {
    return mask
  }
}
