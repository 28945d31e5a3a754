/**
 * ScalingHistory: everything decide() remembers between evaluations of one job, as plain
 * bounded data: the recent observations (one metrics window), past rescales with their
 * measured downtime, the learned restart cost (EWMA), per-vertex (parallelism, rate) points
 * for the scalability fit, pending scale-down triggers and recommendations for the sliding
 * max, ineffective-scale-up blocks and the forecast state. `updateHistory` is the only
 * writer: (history, observation, decision) -> new history, so replay is deterministic.
 */
import type { JobObservation } from './observation.ts';
import type { ScaleDecision } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';
import { addPoint, type ScalingPoint } from './scalability.ts';
import { addArrival, emptyForecast, type ForecastState } from './forecast.ts';
import { balanceEfficiency, balanceUnits } from './capacity.ts';

export interface RescaleRecord {
  time: number;
  from: Record<string, number>;
  to: Record<string, number>;
  direction: 'up' | 'down' | 'mixed';
  before: Record<string, number>;
  expected: Record<string, number>;
  completedAt?: number;
  downtimeSec?: number;
  /** The actuator did not carry it out (rejected, failed, an error): the job never moved; retried after a back-off. */
  notCarriedOut?: string;
  checked: string[];
}

export interface ScalingHistory {
  jobId: string;
  recent: JobObservation[];
  rescales: RescaleRecord[];
  restartCostSec?: number;
  restartSamples: number;
  points: Record<string, ScalingPoint[]>;
  ratios: Record<string, number>;
  knownRates: Record<string, number>;
  pendingDown: Record<string, number>;
  recommendations: Array<{ time: number; rec: Record<string, number> }>;
  ineffective: Record<string, { until: number; reason: string }>;
  forecast: ForecastState;
  lastArrivalSample: number;
  /** sources: the last capacity observed while catching up unthrottled (busy time lies at sources) */
  sourceObserved: Record<string, { p: number; rate: number }>;
  /** the overload in progress: arrivals above what the job sustained when it began */
  episode?: { start: number; capacity: number };
  /** lengths in seconds of past overload episodes, newest last */
  episodes: number[];
  /** the highest recent arrival rate (source records/s) per 5-minute bucket, oldest first, over the last day */
  peaks?: Array<{ time: number; rate: number }>;
  /** sources: the highest rate delivered at each parallelism (lower bounds of capacity, observed without catching up); older states kept one point */
  sourceDelivered?: Record<string, Array<{ p: number; rate: number }> | { p: number; rate: number }>;
}

export const PEAK_BUCKET_MS = 300_000;

/** The delivered-rate points of a source (a state from before kept a single point). */
export function deliveredPoints(x: Array<{ p: number; rate: number }> | { p: number; rate: number } | undefined): Array<{ p: number; rate: number }> {
  if (!x) return [];
  return Array.isArray(x) ? x : [x];
}
export const PEAK_KEEP_MS = 24 * 3600_000;

export function emptyHistory(jobId: string, policy: ScalingPolicy): ScalingHistory {
  return {
    jobId,
    recent: [],
    rescales: [],
    restartSamples: 0,
    points: {},
    ratios: {},
    knownRates: {},
    pendingDown: {},
    recommendations: [],
    ineffective: {},
    forecast: emptyForecast(seconds(policy.forecast.bucket), seconds(policy.forecast.season), policy.forecast.timeZone),
    lastArrivalSample: Number.NEGATIVE_INFINITY,
    sourceObserved: {},
    episodes: [],
    peaks: [],
    sourceDelivered: {},
  };
}

function sameParallelism(o: JobObservation, to: Record<string, number>): boolean {
  return o.vertices.every((v) => to[v.id] === undefined || to[v.id] === v.parallelism);
}

export function lastRescale(h: ScalingHistory): RescaleRecord | undefined {
  return h.rescales[h.rescales.length - 1];
}

export function updateHistory(h: ScalingHistory, obs: JobObservation, d: ScaleDecision, policy: ScalingPolicy): ScalingHistory {
  const keepMs = Math.max(seconds(policy.metricsWindow), 60) * 1000 * 2;
  const recent = h.recent.filter((o) => o.time >= obs.time - keepMs);
  recent.push(obs);
  while (recent.length > 400) recent.shift();
  const maxAgeMs = seconds(policy.history.maxAge) * 1000;
  const kept = h.rescales.filter((r, i) => i === h.rescales.length - 1 || r.time >= obs.time - maxAgeMs);
  const next: ScalingHistory = { ...h, recent, rescales: kept.map((r) => ({ ...r, checked: [...r.checked] })) };

  // A rescale completes at the first RUNNING observation at its target parallelism. Its downtime
  // is what Flink reports: from the request to the job's RUNNING timestamp, plus the restore
  // duration when the job reports one for this restart. Never "until records flow again": an
  // idle source (a quiet gap) is not downtime.
  const last = next.rescales[next.rescales.length - 1];
  if (last && last.downtimeSec === undefined && obs.state === 'RUNNING' && sameParallelism(obs, last.to)) {
    last.completedAt ??= obs.time;
    let runningAt: number;
    if (obs.runningSince !== undefined && obs.runningSince >= last.time) runningAt = obs.runningSince;
    else {
      // No RUNNING timestamp: it turned RUNNING between the previous observation and this one.
      const prev = h.recent[h.recent.length - 1];
      runningAt = prev && prev.time > last.time ? (prev.time + obs.time) / 2 : obs.time;
    }
    const restored = obs.checkpoints?.lastRestoreTime !== undefined && obs.checkpoints.lastRestoreTime >= last.time && obs.checkpoints.lastRestoreMs !== undefined;
    const downMs = runningAt - last.time + (restored ? obs.checkpoints!.lastRestoreMs! : 0);
    last.downtimeSec = Math.max(0, downMs / 1000);
    const a = policy.restart.ewmaAlpha;
    next.restartCostSec = next.restartCostSec === undefined ? last.downtimeSec : a * last.downtimeSec + (1 - a) * next.restartCostSec;
    next.restartSamples = h.restartSamples + 1;
  }
  if (last) for (const v of d.effectivenessChecked ?? []) if (!last.checked.includes(v)) last.checked.push(v);

  next.ineffective = Object.fromEntries(Object.entries(h.ineffective).filter(([, x]) => x.until > d.time));
  for (const [v, reason] of Object.entries(d.ineffective ?? {})) {
    next.ineffective[v] = { until: d.time + seconds(policy.effectiveness.blockFor) * 1000, reason };
  }

  next.points = { ...h.points };
  next.knownRates = { ...h.knownRates };
  next.sourceObserved = { ...h.sourceObserved };
  next.sourceDelivered = { ...(h.sourceDelivered ?? {}) };
  const byId = new Map(obs.vertices.map((v) => [v.id, v]));
  for (const [v, m] of Object.entries(d.perVertex)) {
    if (m.trueRateBasis === 'unknown' || !(m.trueRate > 0)) continue;
    const vo = byId.get(v);
    if (vo && vo.inputs.length === 0) {
      // What a source delivered is a lower bound of its capacity at that parallelism (per subtask).
      // The records it read, not the arrivals: while lag grows the source reads less than arrives.
      const delivered = Math.min(m.targetRate, m.deliveredRate ?? m.targetRate);
      if (!d.backlogMode && d.lagSeconds < 30 && delivered > 0) {
        const list = deliveredPoints(next.sourceDelivered[v]);
        const at = list.find((e) => e.p === m.parallelism);
        if (!at || delivered > at.rate) next.sourceDelivered[v] = [...list.filter((e) => e.p !== m.parallelism), { p: m.parallelism, rate: delivered }].sort((a, b) => a.p - b.p).slice(-16);
      }
      // At sources only rates observed while catching up are capacities; busy time lies.
      if (m.trueRateBasis === 'observed-catch-up' && !m.notes.some((n) => n.startsWith('remembered'))) next.sourceObserved[v] = { p: m.parallelism, rate: m.trueRate };
      continue;
    }
    next.knownRates[v] = m.trueRate;
    // Only loaded vertices give a trustworthy rate: at low busy time the ratio is mostly noise.
    if (vo && m.busyMax >= 0.25) {
      next.points[v] = addPoint(next.points[v] ?? [], m.parallelism, m.trueRate / balanceEfficiency(m.parallelism, balanceUnits(vo)));
    }
  }
  next.ratios = { ...h.ratios, ...(d.edgeRatios ?? {}) };

  const delayMs = seconds(policy.scaleDown.delay) * 1000;
  if (d.action === 'rescale') {
    const before: Record<string, number> = {};
    const expected: Record<string, number> = {};
    for (const [v, m] of Object.entries(d.perVertex)) {
      before[v] = m.trueRate;
      expected[v] = m.expectedRate;
    }
    const from = Object.fromEntries(obs.vertices.map((v) => [v.id, v.parallelism]));
    next.rescales.push({ time: d.time, from, to: { ...d.parallelism }, direction: d.direction ?? 'mixed', before, expected, checked: [] });
    while (next.rescales.length > 50) next.rescales.shift();
    next.pendingDown = {};
    next.recommendations = [];
  } else if (Object.keys(d.perVertex).length > 0) {
    next.recommendations = h.recommendations.filter((r) => r.time > d.time - delayMs);
    const steady = Object.fromEntries(Object.entries(d.perVertex).map(([v, m]) => [v, Math.max(m.steadyRecommended, d.forecastRate !== undefined ? m.recommended : 0)]));
    next.recommendations.push({ time: d.time, rec: steady });
    next.pendingDown = {};
    for (const [v, rec] of Object.entries(d.recommended)) {
      if (rec < (d.parallelism[v] ?? rec)) next.pendingDown[v] = h.pendingDown[v] ?? d.time;
    }
  }

  trackEpisode(next, d);
  if (d.recentArrivalRate > 0 && Object.keys(d.perVertex).length > 0) next.peaks = addPeak(h.peaks ?? [], d.time, d.recentArrivalRate);

  if (d.arrivalRate > 0 && Object.keys(d.perVertex).length > 0 && d.time - h.lastArrivalSample >= 60_000) {
    next.forecast = addArrival(h.forecast, d.time, d.arrivalRate, seconds(policy.forecast.trendWindow));
    next.lastArrivalSample = d.time;
  }
  return next;
}

/** Keeps the highest arrival rate per 5-minute bucket over the last day. */
function addPeak(peaks: ReadonlyArray<{ time: number; rate: number }>, time: number, rate: number): Array<{ time: number; rate: number }> {
  const out = peaks.filter((p) => p.time >= time - PEAK_KEEP_MS);
  const lastP = out[out.length - 1];
  if (lastP && Math.floor(lastP.time / PEAK_BUCKET_MS) === Math.floor(time / PEAK_BUCKET_MS)) {
    if (rate >= lastP.rate) out[out.length - 1] = { time, rate };
  } else out.push({ time, rate });
  return out;
}

/**
 * Overload episodes, measured on the load rather than on our reaction: one opens when arrivals
 * exceed what the job sustained, and closes when arrivals fall back within that capacity (or
 * after 6 h: then it was a new level, not an episode).
 */
function trackEpisode(h: ScalingHistory, d: ScaleDecision): void {
  if (Object.keys(d.perVertex).length === 0 || !(d.capacityRate > 0)) return;
  const ep = h.episode;
  if (!ep) {
    if (d.recentArrivalRate > d.capacityRate * 1.02) h.episode = { start: d.time, capacity: d.capacityRate };
    return;
  }
  const age = (d.time - ep.start) / 1000;
  if (d.recentArrivalRate <= ep.capacity || age > 6 * 3600) {
    h.episodes = [...h.episodes, age].slice(-10);
    delete h.episode;
  }
}
