/**
 * Structured logs: one JSON object per line on stdout, so a local run and a log pipeline read the
 * same thing. Fields are data; anything secret travels as a core `Secret`, which masks itself.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

function errorFields(value: unknown): unknown {
  if (!(value instanceof Error)) return value
  return {
    name: value.name,
    message: value.message,
    stack: value.stack,
    cause: errorFields(value.cause),
  }
}

export function createLogger(
  base: LogFields = {},
  minLevel: LogLevel = parseLevel(process.env.LOG_LEVEL),
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (levelRank[level] < levelRank[minLevel]) return
    const record: Record<string, unknown> = {
      t: new Date().toISOString(),
      level,
      msg: message,
      ...base,
    }
    for (const [k, v] of Object.entries(fields ?? {})) record[k] = errorFields(v)
    write(JSON.stringify(record))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel, write),
  }
}

function parseLevel(text: string | undefined): LogLevel {
  return text === 'debug' || text === 'warn' || text === 'error' ? text : 'info'
}

/** For tests and benchmarks that want quiet output but still see errors. */
export const quietLogger: Logger = createLogger({}, 'error', (line) =>
  process.stderr.write(`${line}\n`),
)
