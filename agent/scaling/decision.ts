/**
 * The ScaleDecision value: what the decision engine returns for one observation of one job,
 * with the per-vertex model numbers and the reasons. Actuators read `action`, `parallelism`
 * and `taskManagers`; the explain API, gauges and logs read the rest. A decision is plain
 * data (JSON-serializable) so it can be recorded and replayed.
 */

/** The guard that stopped a rescale the model asked for (or why none could be computed). */
export type Guard =
  | 'job-not-running'
  | 'rescale-in-progress'
  | 'warming-up'
  | 'within-band'
  | 'cooldown'
  | 'scale-down-delay'
  | 'not-worth-restart'
  | 'blackout'
  | 'alert-veto'
  | 'memory-pressure'
  | 'quota'
  | 'ineffective-scale-up'
  | 'absorbing-short-overload'
  | 'limits'
  | 'disabled';

export interface VertexModel {
  parallelism: number;
  maxParallelism: number;
  /** records/s the vertex could process at its current parallelism */
  trueRate: number;
  trueRateBasis: 'busy-time' | 'observed-catch-up' | 'unknown';
  /** records/s arriving for this vertex (propagated from the sources) */
  targetRate: number;
  /** capacity at the current parallelism that sizing used, when not trueRate (a source sized on the lower bound of what it delivered) */
  sizingRate?: number;
  /** records/s the vertex actually read over the long window (sources: records read) */
  deliveredRate?: number;
  /** extra records/s needed to consume the backlog within the catch-up time */
  catchUpRate: number;
  /** (targetRate + catchUpRate) / trueRate over the window */
  utilization: number;
  /** the same over each of the most recent intervals, newest last */
  recentUtilization: number[];
  busyMax: number;
  busyAvg: number;
  /** share of the long window spent waiting on output credit */
  backPressured?: number;
  /** busyMax / busyAvg */
  skew: number;
  skewedByKeys: boolean;
  /** capacity the vertex is sized for (records/s) */
  requiredRate: number;
  /** fitted scaling exponent b of rate(p) = a*p^b (1 = linear) */
  scalingExponent: number;
  recommended: number;
  /** the recommendation for the arrival rate alone (no catch-up), used by the scale-down sliding max */
  steadyRecommended: number;
  /** the same over the most recent intervals only: shows a load that is still moving */
  recentNeed: number;
  /** records/s expected at the recommended parallelism */
  expectedRate: number;
  pendingRecords?: number;
  notes: string[];
}

export interface ScaleDecision {
  time: number;
  jobId: string;
  jobName?: string;
  /** the policy's utilization band for this job: scale up above max, down below min, size for target */
  utilizationBand?: { min: number; target: number; max: number };
  action: 'none' | 'rescale';
  /** the parallelism per vertex to run (the current one when action is none) */
  parallelism: Record<string, number>;
  taskManagers?: number;
  direction?: 'up' | 'down' | 'mixed';
  reasons: string[];
  blockedBy?: Guard;
  /** what the model alone would run, before guards */
  recommended: Record<string, number>;
  perVertex: Record<string, VertexModel>;
  backlogMode: boolean;
  restartCostSec: number;
  forecastRate?: number;
  arrivalRate: number;
  /** arrivals over the most recent intervals (the scale-up window) */
  recentArrivalRate: number;
  /** records/s (at the sources) the job sustains at its current parallelism (its bottleneck), over the recent intervals */
  capacityRate: number;
  /** backlog in seconds of arrivals (largest over sources) */
  lagSeconds: number;
  /** measured edge ratios "u>v" (records into v per record into u) */
  edgeRatios?: Record<string, number>;
  /** vertices whose last scale-up was found ineffective in this evaluation, with why */
  ineffective?: Record<string, string>;
  /** vertices whose last scale-up was judged (effective or not) in this evaluation */
  effectivenessChecked?: string[];
}

/** The compact form `scale replay` prints, one per line. */
export function replayLine(d: ScaleDecision): string {
  const out: Record<string, unknown> = { time: d.time, action: d.action, parallelism: d.parallelism, reasons: d.reasons };
  if (d.blockedBy) out.blockedBy = d.blockedBy;
  return JSON.stringify(out);
}

/**
 * Slots a job needs, as Flink counts them: with slot sharing (Flink's default) one slot holds a
 * subtask of every vertex of its slot-sharing group, so a group needs its highest parallelism and
 * the job the sum over groups; without it, every subtask takes a slot.
 */
export function slotsFor(parallelism: Record<string, number>, slotSharing: boolean, groups?: Readonly<Record<string, string | undefined>>): number {
  const entries = Object.entries(parallelism);
  if (!slotSharing) return entries.reduce((a, [, p]) => a + p, 0);
  const perGroup = new Map<string, number>();
  for (const [id, p] of entries) {
    const g = groups?.[id] ?? 'default';
    perGroup.set(g, Math.max(perGroup.get(g) ?? 0, p));
  }
  let total = 0;
  for (const p of perGroup.values()) total += p;
  return total;
}

/** The slot-sharing group of each vertex of an observation (undefined: the default group). */
export function slotGroups(vertices: ReadonlyArray<{ id: string; slotSharingGroup?: string | undefined }>): Record<string, string | undefined> {
  return Object.fromEntries(vertices.map((v) => [v.id, v.slotSharingGroup]));
}
