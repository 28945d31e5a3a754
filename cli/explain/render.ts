/**
 * `flowpilot scale explain` for people: one block per decision with its outcome, the reasons,
 * and a table of the per-vertex model numbers in which every vertex says what happened to it:
 * rescaled, held at its parallelism by a guard (which one, and why), or needing no change.
 * Only a decision that did not rescale reads "blocked by"; a guard that held one vertex (say a
 * scale-down delay) while another scaled up is shown on the vertex it held.
 */
import type { Guard, ScaleDecision } from '../../agent/scaling/decision.ts';

const n = (x: number): string => (!Number.isFinite(x) ? '-' : Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(2));

/** The guard named by a per-vertex reason ("vertex <id>: ..."), as decide() and its helpers word them. */
function guardOfReason(text: string): string | null {
  if (/scale-down to \d+ pending|scale-down waits for the window to settle/.test(text)) return 'scale-down-delay';
  if (/no scale-down in backlog mode/.test(text)) return 'backlog-mode';
  if (/scale-up blocked/.test(text)) return 'ineffective-scale-up';
  if (/(floor|ceiling) \d+ from schedule/.test(text)) return 'schedule';
  if (/limited to \d+ \(bounds/.test(text)) return 'bounds';
  return null;
}

export interface VertexOutcome {
  id: string;
  from: number;
  to: number;
  /** what the model alone recommended */
  recommended: number;
  /** "rescaled", "held" (a guard kept it), or "steady" (no change wanted) */
  outcome: 'rescaled' | 'held' | 'steady';
  /** the guard that held or limited the vertex, when one did */
  guard: Guard | string | null;
  /** the reasons that name this vertex, without the "vertex <id>:" prefix */
  notes: string[];
}

/** What happened to each vertex in a decision, and which guard (if any) acted on it. */
export function vertexOutcomes(d: ScaleDecision): VertexOutcome[] {
  return Object.keys(d.perVertex).map((id) => {
    const v = d.perVertex[id]!;
    const from = v.parallelism;
    const to = d.parallelism[id] ?? from;
    const prefix = `vertex ${id}:`;
    const notes = d.reasons.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length).trim());
    const own = notes.map(guardOfReason).find((g) => g !== null) ?? null;
    if (to !== from) return { id, from, to, recommended: v.recommended, outcome: 'rescaled', guard: own, notes };
    const wanted = v.recommended !== from || own !== null;
    if (!wanted) return { id, from, to, recommended: v.recommended, outcome: 'steady', guard: null, notes };
    // Held: its own guard, else the decision's (a decision-wide guard such as cooldown holds every vertex).
    const guard = own ?? (d.action === 'none' ? (d.blockedBy ?? null) : null);
    return { id, from, to, recommended: v.recommended, outcome: 'held', guard, notes };
  });
}

function outcomeText(o: VertexOutcome): string {
  if (o.outcome === 'rescaled') return `rescaled ${o.from}→${o.to}${o.guard ? ` (limited by ${o.guard})` : ''}`;
  if (o.outcome === 'held') return `held at ${o.from} (model: ${o.recommended})${o.guard ? ` by ${o.guard}` : ''}`;
  return 'no change needed';
}

export function explainDecision(d: ScaleDecision): string {
  const job = d.jobName ? `${d.jobName} (${d.jobId})` : d.jobId;
  const outcome =
    d.action === 'rescale'
      ? `RESCALE${d.direction ? ` (${d.direction})` : ''}`
      : `no rescale${d.blockedBy ? `  blocked by: ${d.blockedBy}` : ''}`;
  const lines = [`${new Date(d.time).toISOString()}  job ${job}  ${outcome}`];
  lines.push(`  arrival ${n(d.arrivalRate)} rec/s${d.forecastRate !== undefined ? `, forecast ${n(d.forecastRate)} rec/s` : ''}, restart cost ${n(d.restartCostSec)} s${d.backlogMode ? ', BACKLOG MODE' : ''}`);
  for (const r of d.reasons) lines.push(`  - ${r}`);
  const outcomes = vertexOutcomes(d);
  if (outcomes.length > 0) {
    lines.push('  vertex            p  -> new   true rate  target rate  catch-up  util  busy max/avg  rec  outcome');
    for (const o of outcomes) {
      const v = d.perVertex[o.id]!;
      lines.push(
        `  ${o.id.padEnd(16).slice(0, 16)} ${String(v.parallelism).padStart(3)} -> ${String(o.to).padEnd(4)} ${n(v.trueRate).padStart(10)} ${n(v.targetRate).padStart(12)} ${n(v.catchUpRate).padStart(9)} ${n(v.utilization).padStart(5)}  ${n(v.busyMax)}/${n(v.busyAvg)}  ${String(v.recommended).padStart(4)}  ${outcomeText(o)}`,
      );
      for (const note of v.notes) lines.push(`      ${note}`);
    }
  }
  return lines.join('\n');
}

export function explainDecisions(ds: readonly ScaleDecision[]): string {
  return ds.length === 0 ? 'no decisions recorded yet' : ds.map(explainDecision).join('\n\n');
}
