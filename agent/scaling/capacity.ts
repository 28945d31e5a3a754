/**
 * The capacity model (DS2-style), per vertex, from one window of statistics:
 * - true processing rate = records in / busy fraction of the busiest subtask; at sources,
 *   whose busy time lies, the rate observed while catching up a backlog unthrottled
 *   (records read / (1 - backpressure)) wins when the busy-time figure is above it;
 * - target rate propagated from the sources (arrival = read rate + backlog growth) through
 *   measured edge ratios (records out of u to v / records in of u), one topological pass;
 * - catch-up rate = backlog / catch-up time, propagated the same way;
 * - key-group and partition balance: a keyed vertex at parallelism p is limited by the
 *   subtask holding ceil(N/p) of N key groups, so its capacity scales with N/ceil(N/p).
 * Pure functions; no policy decisions here beyond the numbers.
 */
import type { JobObservation, VertexObservation } from './observation.ts';
import { isSource, topologicalOrder } from './observation.ts';
import type { WindowStats } from './rates.ts';

export interface VertexRates {
  trueRate: number;
  basis: 'busy-time' | 'observed-catch-up' | 'unknown';
  targetRate: number;
  catchUpRate: number;
  utilization: number;
  busyMax: number;
  busyAvg: number;
  /** share of the window the vertex waited on output credit (average over subtasks) */
  backPressured: number;
  inRate: number;
  pending?: number;
}

export interface ModelInputs {
  catchUpSec: number;
  /** edge ratios remembered from earlier windows, key "u>v" */
  knownRatios: Record<string, number>;
  /** per-vertex true rate remembered for when the window has no flow */
  knownRates: Record<string, number>;
}

/** Vertices whose keyed state or partitions make their load land unevenly at some parallelisms. */
export function balanceUnits(v: VertexObservation): number | undefined {
  if (isSource(v)) return v.partitions && v.partitions > 0 ? v.partitions : undefined;
  return v.inputs.some((i) => i.shipStrategy.toUpperCase() === 'HASH') ? v.maxParallelism : undefined;
}

/** Share of linear capacity reachable at parallelism p with n units (key groups or partitions). */
export function balanceEfficiency(p: number, n: number | undefined): number {
  if (!n) return 1;
  return n / p / Math.ceil(n / p);
}

/** Busy-time capacity above this multiple of a catch-up's observed rate: the source idled, it was not saturated. */
export const IDLE_CATCH_UP_BOUND = 5;

function sourceTrueRate(w: { inRate: number; busyMax: number; backPressuredAvg: number; backPressuredPeak: number; pending?: number; pendingRate: number }): {
  rate: number;
  basis: VertexRates['basis'];
} {
  const busyRate = w.busyMax > 0.001 ? w.inRate / w.busyMax : Number.POSITIVE_INFINITY;
  const backlogged = w.pending !== undefined && (w.pending > w.inRate * 5 || w.pendingRate > 0.05 * Math.max(1, w.inRate));
  // Only a source that was never throttled in the window shows its own capacity.
  if (backlogged && w.backPressuredPeak < 0.1 && w.inRate > 0) {
    const observed = w.inRate / Math.max(0.05, 1 - w.backPressuredAvg);
    // A source that idled through most of its unthrottled time while records waited was held back
    // by something outside its own reading (a starved host, timers firing late), so what it read is
    // not its capacity. Busy time that lies under-reports a saturated source about 2-3x (FLINK-33306:
    // 0.45 of the observed rate in a user's report; our simulator's plant: 0.35); idling past
    // IDLE_CATCH_UP_BOUND x that is no saturation: the window falls back to busy time.
    if (busyRate > observed * IDLE_CATCH_UP_BOUND) return { rate: busyRate, basis: 'busy-time' };
    // Busy time above what the catch-up shows is not trusted; busy time that agrees with it (the
    // source was busy nearly all of its unthrottled time) corroborates a saturated source.
    if (!(busyRate <= observed * 1.15)) return { rate: observed, basis: 'observed-catch-up' };
    if (w.busyMax >= 0.8) return { rate: busyRate, basis: 'observed-catch-up' };
  }
  if (!Number.isFinite(busyRate)) return { rate: 0, basis: 'unknown' };
  return { rate: busyRate, basis: 'busy-time' };
}

/** Measured records-out-of-u-into-v per record into u. */
function edgeRatio(u: VertexObservation, v: VertexObservation, stats: WindowStats, known: Record<string, number>): number {
  const wu = stats.vertices.get(u.id);
  const wv = stats.vertices.get(v.id);
  const key = `${u.id}>${v.id}`;
  if (!wu || !wv || wu.inRate <= 0) return known[key] ?? 1;
  const edge = v.inputs.length === 1 ? wv.inRate : wu.outRate;
  return edge / wu.inRate;
}

export interface ModelOutput {
  vertices: Map<string, VertexRates>;
  ratios: Record<string, number>;
  arrivalRate: number;
  /** the largest backlog among sources in seconds of arrivals */
  lagSeconds: number;
}

export function computeRates(obs: JobObservation, stats: WindowStats, inputs: ModelInputs): ModelOutput {
  const order = topologicalOrder(obs.vertices);
  const byId = new Map(obs.vertices.map((v) => [v.id, v]));
  const out = new Map<string, VertexRates>();
  const ratios: Record<string, number> = {};
  let arrivalRate = 0;
  let lagSeconds = 0;
  for (const v of order) {
    const w = stats.vertices.get(v.id);
    if (!w) continue;
    let target = 0;
    let catchUp = 0;
    let trueRate: number;
    let basis: VertexRates['basis'];
    if (isSource(v)) {
      target = Math.max(0, w.inRate + w.pendingRate);
      catchUp = inputs.catchUpSec > 0 && w.pending ? w.pending / inputs.catchUpSec : 0;
      arrivalRate += target;
      if (w.pending && target > 0) lagSeconds = Math.max(lagSeconds, w.pending / target);
      else if (w.pending && w.pending > 0) lagSeconds = Number.POSITIVE_INFINITY;
      ({ rate: trueRate, basis } = sourceTrueRate(w));
    } else {
      for (const input of v.inputs) {
        const u = byId.get(input.id)!;
        const r = edgeRatio(u, v, stats, inputs.knownRatios);
        ratios[`${u.id}>${v.id}`] = r;
        const ru = out.get(u.id);
        if (!ru) continue;
        target += ru.targetRate * r;
        catchUp += ru.catchUpRate * r;
      }
      trueRate = w.busyMax > 0.001 ? w.inRate / w.busyMax : 0;
      basis = trueRate > 0 ? 'busy-time' : 'unknown';
    }
    if (basis === 'unknown' && inputs.knownRates[v.id]) trueRate = inputs.knownRates[v.id]!;
    const demand = target + catchUp;
    const utilization = trueRate > 0 ? demand / trueRate : demand > 0 ? Number.POSITIVE_INFINITY : 0;
    const r: VertexRates = { trueRate, basis, targetRate: target, catchUpRate: catchUp, utilization, busyMax: w.busyMax, busyAvg: w.busyAvg, backPressured: w.backPressuredAvg, inRate: w.inRate };
    if (w.pending !== undefined) r.pending = w.pending;
    out.set(v.id, r);
  }
  return { vertices: out, ratios, arrivalRate, lagSeconds };
}

/**
 * Capacity at parallelism q, predicted from the measured rate at p with exponent b and the
 * key-group/partition balance at both parallelisms.
 */
export function predictedRate(measured: number, p: number, q: number, b: number, units: number | undefined): number {
  return measured * Math.pow(q / p, b) * (balanceEfficiency(q, units) / balanceEfficiency(p, units));
}

/** Smallest q in [lo, hi] whose predicted capacity reaches `required`; hi if none does. */
export function smallestSufficient(measured: number, p: number, required: number, b: number, units: number | undefined, lo: number, hi: number): number {
  for (let q = Math.max(1, lo); q <= hi; q++) {
    if (predictedRate(measured, p, q, b, units) >= required) return q;
  }
  return hi;
}
