/**
 * One JSON object per line, the shape the region services log (`level`, `msg`, fields): Workers
 * Logs indexes the fields, and the local topology files the edge's warnings beside the regions'.
 */
export type EdgeLogLevel = 'info' | 'warn' | 'error'

export function edgeLog(
  level: EdgeLogLevel,
  msg: string,
  fields: Readonly<Record<string, unknown>> = {},
): void {
  const line = JSON.stringify({ level, msg, ...fields }, (_key, value: unknown) =>
    value instanceof Error ? `${value.name}: ${value.message}` : value,
  )
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}
