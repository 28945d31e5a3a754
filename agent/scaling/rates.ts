/**
 * Turns a run of observations of one job "epoch" (same RUNNING start, same parallelism) into
 * per-vertex window statistics: rates from cumulative counters (endpoint deltas, robust to
 * bursty per-second gauges), busy and backpressure fractions (from the cumulative times when
 * the observations carry them, as the Flink autoscaler does since FLINK-34266: exact over the
 * window, where the per-second gauges average the last 60 s and lag a step; else the gauges
 * averaged over the samples), and
 * the sources' backlog and its growth. Counters reset on restart, so a window never spans
 * two epochs: `epochSamples` cuts the history at the last restart or rescale.
 */
import type { JobObservation } from './observation.ts';

export interface VertexWindow {
  inRate: number;
  outRate: number;
  busyAvg: number;
  busyMax: number;
  backPressuredAvg: number;
  /** the highest per-sample backpressure in the window */
  backPressuredPeak: number;
  pending?: number;
  pendingRate: number;
}

export interface WindowStats {
  from: number;
  to: number;
  seconds: number;
  vertices: Map<string, VertexWindow>;
}

export function epochKey(o: JobObservation): string {
  const ps = o.vertices.map((v) => `${v.id}=${v.parallelism}`).join(',');
  return `${o.runningSince ?? ''}|${o.restarts}|${ps}`;
}

/**
 * The samples of the current epoch usable for rates: same epoch as the newest one, and taken
 * after `ignoreUntil` (the measured restart transient).
 */
export function epochSamples(recent: readonly JobObservation[], current: JobObservation, ignoreUntil: number): JobObservation[] {
  const key = epochKey(current);
  const out: JobObservation[] = [current];
  for (let i = recent.length - 1; i >= 0; i--) {
    const o = recent[i]!;
    if (o.time >= current.time) continue;
    if (epochKey(o) !== key) break;
    out.push(o);
  }
  out.reverse();
  return out.filter((o) => o.time >= ignoreUntil || o === current);
}

/** Stats between the first and last of `samples` (at least two). */
export function windowStats(samples: readonly JobObservation[]): WindowStats {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const dt = Math.max(0.001, (last.time - first.time) / 1000);
  const firstById = new Map(first.vertices.map((v) => [v.id, v]));
  const vertices = new Map<string, VertexWindow>();
  const n = samples.length - 1;
  for (const v of last.vertices) {
    const f = firstById.get(v.id);
    if (!f) continue;
    let busyAvg = 0;
    let busyMax = 0;
    let bp = 0;
    let bpPeak = 0;
    for (let i = 1; i < samples.length; i++) {
      const sv = samples[i]!.vertices.find((x) => x.id === v.id);
      if (!sv) continue;
      busyAvg += sv.busyMsPerSecond.avg;
      busyMax += sv.busyMsPerSecond.max;
      bp += sv.backPressuredMsPerSecond.avg;
      bpPeak = Math.max(bpPeak, sv.backPressuredMsPerSecond.avg);
    }
    const acc = accumulatedFractions(samples, v.id, v.parallelism);
    const gaugeBusyAvg = Math.min(1, busyAvg / n / 1000);
    const gaugeBusyMax = Math.min(1, busyMax / n / 1000);
    const w: VertexWindow = {
      inRate: Math.max(0, (v.recordsIn - f.recordsIn) / dt),
      outRate: Math.max(0, (v.recordsOut - f.recordsOut) / dt),
      busyAvg: acc ? acc.busy : gaugeBusyAvg,
      // The busiest subtask: the fresh average times the skew the gauges show.
      busyMax: acc ? Math.min(1, acc.busy * (gaugeBusyAvg > 0.001 ? Math.max(1, gaugeBusyMax / gaugeBusyAvg) : 1)) : gaugeBusyMax,
      backPressuredAvg: acc ? acc.backPressured : Math.min(1, bp / n / 1000),
      backPressuredPeak: acc ? acc.backPressuredPeak : Math.min(1, bpPeak / 1000),
      pendingRate: v.pendingRecords !== undefined && f.pendingRecords !== undefined ? (v.pendingRecords - f.pendingRecords) / dt : 0,
    };
    if (v.pendingRecords !== undefined) w.pending = v.pendingRecords;
    vertices.set(v.id, w);
  }
  return { from: first.time, to: last.time, seconds: dt, vertices };
}

/**
 * Busy and backpressured fractions of one vertex from the cumulative times (summed over its
 * subtasks) between the first and last samples, and the highest backpressure between two
 * consecutive samples; null unless every sample carries them.
 */
function accumulatedFractions(samples: readonly JobObservation[], id: string, parallelism: number): { busy: number; backPressured: number; backPressuredPeak: number } | null {
  const points: Array<{ time: number; busy: number; bp: number }> = [];
  for (const o of samples) {
    const v = o.vertices.find((x) => x.id === id);
    if (v?.accumulatedBusyMs === undefined || v.accumulatedBackPressuredMs === undefined) return null;
    points.push({ time: o.time, busy: v.accumulatedBusyMs, bp: v.accumulatedBackPressuredMs });
  }
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const span = (last.time - first.time) * parallelism;
  if (points.length < 2 || span <= 0 || last.busy < first.busy || last.bp < first.bp) return null;
  let peak = 0;
  for (let i = 1; i < points.length; i++) {
    const dt = (points[i]!.time - points[i - 1]!.time) * parallelism;
    if (dt > 0) peak = Math.max(peak, (points[i]!.bp - points[i - 1]!.bp) / dt);
  }
  const frac = (x: number) => Math.max(0, Math.min(1, x));
  return { busy: frac((last.busy - first.busy) / span), backPressured: frac((last.bp - first.bp) / span), backPressuredPeak: frac(peak) };
}

/** The median gap between consecutive samples, in seconds (the metric interval). */
export function metricInterval(samples: readonly JobObservation[], fallback = 15): number {
  const gaps: number[] = [];
  for (let i = 1; i < samples.length; i++) gaps.push((samples[i]!.time - samples[i - 1]!.time) / 1000);
  if (gaps.length === 0) return fallback;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}
