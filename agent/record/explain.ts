/**
 * Renders decisions for people: one block per decision with the outcome, the guard that
 * blocked it, the reasons, and a table of the per-vertex model numbers. Used by
 * `flowpilot scale explain`.
 */
import type { ScaleDecision } from '../scaling/decision.ts';

const n = (x: number): string => (!Number.isFinite(x) ? '-' : Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(2));

export function explainDecision(d: ScaleDecision): string {
  const head = `${new Date(d.time).toISOString()}  job ${d.jobId}  ${d.action === 'rescale' ? `RESCALE (${d.direction ?? ''})` : 'no rescale'}${d.blockedBy ? `  blocked by: ${d.blockedBy}` : ''}`;
  const lines = [head];
  lines.push(`  arrival ${n(d.arrivalRate)} rec/s${d.forecastRate !== undefined ? `, forecast ${n(d.forecastRate)} rec/s` : ''}, restart cost ${n(d.restartCostSec)} s${d.backlogMode ? ', BACKLOG MODE' : ''}`);
  for (const r of d.reasons) lines.push(`  - ${r}`);
  const ids = Object.keys(d.perVertex);
  if (ids.length > 0) {
    lines.push('  vertex            p  -> new   true rate  target rate  catch-up  util  busy max/avg  rec');
    for (const id of ids) {
      const v = d.perVertex[id]!;
      lines.push(
        `  ${id.padEnd(16).slice(0, 16)} ${String(v.parallelism).padStart(3)} -> ${String(d.parallelism[id] ?? v.parallelism).padEnd(4)} ${n(v.trueRate).padStart(10)} ${n(v.targetRate).padStart(12)} ${n(v.catchUpRate).padStart(9)} ${n(v.utilization).padStart(5)}  ${n(v.busyMax)}/${n(v.busyAvg)}  ${String(v.recommended).padStart(4)}`,
      );
      for (const note of v.notes) lines.push(`      ${note}`);
    }
  }
  return lines.join('\n');
}

export function explainDecisions(ds: readonly ScaleDecision[]): string {
  return ds.length === 0 ? 'no decisions recorded yet' : ds.map(explainDecision).join('\n\n');
}
