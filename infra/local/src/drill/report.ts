import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chartSvg } from './chart.ts'
import type { DrillResult } from './run.ts'

const sec = (ms: number | null) => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(2)} s`)
const pct = (x: number) => `${(x * 100).toFixed(2)}%`
const ms = (x: number) => `${Math.round(x)} ms`

/** The report an SRE reads: verdict first, then what happened when, then the evidence. */
export function reportMarkdown(r: DrillResult, chartFile: string): string {
  const c = r.checker.counts
  const lines = [
    `# Drill ${r.scenario}: ${r.verdict.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${r.description}.`,
    '',
    `Run ${r.runId}, started ${r.startedAt}; load ${r.options.ratePerSec} payments/s through the edge (open loop, Idempotency-Key per payment, client retries), seed ${r.options.seed}; baseline ${r.options.warmupSec} s, fault held ${r.options.holdSec} s, recovery ${r.options.recoverySec} s.${r.options.sabotage ? ` **Sabotaged on purpose: ${r.options.sabotage}.**` : ''}`,
    '',
    ...(r.verdict.pass ? [] : ['Failed on:', '', ...r.verdict.failures.map((f) => `- ${f}`), '']),
    '| measure | value | limit |',
    '| --- | --- | --- |',
    `| detection | ${sec(r.detection.ms)} (${r.detection.by}) | |`,
    `| RTO (fault → success ≥ 99%) | ${sec(r.rtoMs)} | ≤ ${r.limits.rtoSecMax} s |`,
    `| error rate during fault | ${pct(r.duringFault.errorRate)} of ${r.duringFault.attempts} attempts | ≤ ${pct(r.limits.errorRateDuringFaultMax)} |`,
    `| p99 during fault (baseline) | ${ms(r.duringFault.p99Ms)} (${ms(r.baseline.p99Ms)}) | |`,
    `| RPO: acknowledged, not yet everywhere at fault | ${r.rpo.unreplicatedAtFault} payment${r.rpo.unreplicatedAtFault === 1 ? '' : 's'}, oldest ${ms(r.rpo.windowMs)} (${r.rpo.exposedRegions.join(', ') || 'no region exposed'}) | |`,
    `| RPO: recovered after heal | ${r.rpo.recovered ? 'yes, all of them' : 'NO'} | |`,
    `| convergence (heal done → everything acknowledged so far in every region, settled) | ${sec(r.convergenceMs)} | ≤ ${r.limits.convergenceSecMax} s |`,
    `| quiet (load stopped → identical state digests) | ${r.timeline.quiescedAfterLoadSec === null ? 'never' : `${r.timeline.quiescedAfterLoadSec.toFixed(2)} s`} | |`,
    `| lost | ${c.lost} | ≤ ${r.limits.lostMax} |`,
    `| duplicated | ${c.duplicated} | ≤ ${r.limits.duplicatedMax} |`,
    `| unbalanced | ${c.unbalanced} | ≤ ${r.limits.unbalancedMax} |`,
    `| diverged | ${c.diverged} | ≤ ${r.limits.divergedMax} |`,
    `| stuck | ${c.stuck} | ≤ ${r.limits.stuckMax} |`,
    `| mismatched (amounts shown ≠ what the processors did) | ${c.mismatched} | ≤ ${r.limits.mismatchedMax} |`,
    `| services crashed | ${r.crashes.length === 0 ? 0 : r.crashes.map((x) => `${x.name} (${x.exit}, at ${x.atSec.toFixed(1)} s)`).join(', ')} | ≤ ${r.limits.crashesMax} |`,
    '',
    `Timeline (seconds from load start): fault ${r.timeline.faultAtSec.toFixed(1)}, heal ${r.timeline.healAtSec.toFixed(1)} (done ${r.timeline.healedAtSec.toFixed(1)}), load end ${r.timeline.loadEndSec.toFixed(1)}.`,
    '',
    `Load: ${r.load.orders} payments started, ${r.load.acknowledged} acknowledged (${r.load.failovers} by a region other than the merchant's home), ${r.load.rejected} rejected, ${r.load.gaveUp} given up, ${r.load.attempts} HTTP attempts, ${r.load.skipped} not sent (client saturated). After heal: error rate ${pct(r.afterHeal.errorRate)}, p99 ${ms(r.afterHeal.p99Ms)}.`,
    '',
    ...errorLines(r),
    ...planLines(r),
    `Checker: ${r.checker.acknowledged} acknowledged payments looked up in every region; ${r.checker.payments} keys seen in the databases; ${r.checker.authorizations} authorizations at the processor simulators. State digests: ${Object.entries(
      r.checker.digests,
    )
      .map(([region, d]) => `${region} ${d.slice(0, 12)}`)
      .join(', ')}.`,
    '',
    ...Object.entries(r.checker.examples).flatMap(([kind, examples]) =>
      examples.length === 0 ? [] : [`${kind}:`, ...examples.map((e) => `- ${e}`), ''],
    ),
    `![throughput, error rate and p99](${chartFile})`,
    '',
  ]
  return lines.join('\n')
}

/** What the merchants got when attempts failed: the first thing to read when RTO or error rate fails. */
function errorLines(r: Pick<DrillResult, 'errors'>): string[] {
  if (r.errors.length === 0) return ['Errors the merchants saw: none.', '']
  return [
    'Errors the merchants saw (status 0: no answer; seconds from load start):',
    '',
    '| status | error | attempts | first | last |',
    '| --- | --- | --- | --- | --- |',
    ...r.errors.map(
      (e) =>
        `| ${e.status} | ${e.error} | ${e.count} | ${e.firstSec.toFixed(1)} s | ${e.lastSec.toFixed(1)} s |`,
    ),
    '',
  ]
}

/** evacuate: every planned move of the evacuation and the restore, timed, and what failed. */
function planLines(r: Pick<DrillResult, 'plans'>): string[] {
  if (r.plans.length === 0) return []
  const phase = (p: Readonly<Record<string, number>>, name: string) =>
    p[name] === undefined ? '–' : ms(p[name])
  return [
    'Planned moves (took: start → published, as the control plane timed it; phases as runMove saw them):',
    '',
    '| plan | merchant | from → to | epoch | took | fencing | draining | publishing | not in the new home at handover |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.plans.flatMap((p) =>
      p.moves.map(
        (m) =>
          `| ${p.action} ${p.region} | ${m.merchantId} | ${m.from} → ${m.to} | ${m.fromEpoch} → ${m.toEpoch} | ${ms(m.ms)} | ${phase(m.phasesMs, 'fencing')} | ${phase(m.phasesMs, 'draining')} | ${phase(m.phasesMs, 'publishing')} | ${m.missingAtHandover} |`,
      ),
    ),
    '',
    ...r.plans.map(
      (p) =>
        `- ${p.action} ${p.region}: ${p.moves.length} moved, ${p.skipped.length} skipped${p.skipped.map((s) => ` (${s.merchantId}: ${s.reason})`).join('')}, ${p.failures.length} failed, in ${sec(p.finishedMs - p.startedMs)}; the moved merchants' attempts meanwhile: ${p.movedMerchants.attempts}, error rate ${pct(p.movedMerchants.errorRate)}, p99 ${ms(p.movedMerchants.p99Ms)}`,
    ),
    ...r.plans.flatMap((p) => p.failures.map((f) => `- **not completed:** ${f}`)),
    '',
  ]
}

/** `drills/reports/<time>-<scenario>.{json,md,svg}`; returns the paths. */
export function writeReport(
  dir: string,
  r: DrillResult,
): { json: string; md: string; svg: string } {
  mkdirSync(dir, { recursive: true })
  const base = `${r.startedAt.replace(/[:.]/g, '-')}-${r.scenario}${r.options.sabotage ? '-sabotaged' : ''}`
  const paths = {
    json: join(dir, `${base}.json`),
    md: join(dir, `${base}.md`),
    svg: join(dir, `${base}.svg`),
  }
  writeFileSync(paths.json, `${JSON.stringify(r, null, 2)}\n`)
  writeFileSync(
    paths.svg,
    chartSvg(`${r.scenario} — ${r.verdict.pass ? 'PASS' : 'FAIL'}`, r.series, {
      faultSec: r.timeline.faultAtSec,
      healSec: r.timeline.healAtSec,
    }),
  )
  writeFileSync(paths.md, reportMarkdown(r, `${base}.svg`))
  return paths
}
