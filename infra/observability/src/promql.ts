/**
 * The metric names a PromQL expression reads: what the tests compare with the names the code
 * exports. Not a parser: it removes what cannot be a metric name (strings, label matchers, range
 * and subquery brackets, grouping label lists, Grafana's $variables) and keeps each identifier
 * that is not called as a function and is not a keyword. Good enough for the rules and panels
 * here; promql.test.ts shows what it handles.
 */

const keywords = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
])

export function metricNames(expr: string): string[] {
  const bare = expr
    // Strings first: a label value may hold braces, brackets or words.
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Grafana's variables ($__rate_interval, ${region}) are not metrics.
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, ' ')
  const names = new Set<string>()
  // A name starts where no identifier or number goes on (so `5m` and `1e3` are skipped).
  for (const m of bare.matchAll(/(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m
    if (name === undefined || call !== undefined || keywords.has(name.toLowerCase())) continue
    names.add(name)
  }
  return [...names].sort()
}
