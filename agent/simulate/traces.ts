/**
 * Arrival-rate traces for the simulator: synthetic shapes (step, ramp, diurnal, spikes), the
 * week-long ones of issue 13 (bursty: Poisson bursts of heavy-tailed length and 2-4x height on
 * a daily cycle; gaps: near-zero periods of 20-40 min; start-at-peak: spikes, the first at the
 * start), and CSV files of `seconds,rate` rows (a header row is allowed; rates are interpolated
 * linearly and held after the last row; bench/scaling/README.md says how to bring a real
 * public workload). Each trace is a function of seconds since the start; the random ones are
 * seeded.
 */
import { readFileSync } from 'node:fs';
import { FlowpilotError } from '../../common/errors.ts';
import { rng } from './plant.ts';

export interface Trace {
  name: string;
  /** records/s arriving at second t */
  rate(t: number): number;
  /** default length of a run */
  hours: number;
  /** the highest rate over the run (for static peak provisioning) */
  peak: number;
}

export const syntheticTraces = ['step', 'ramp', 'diurnal', 'spikes'] as const;
/** The week-long traces of issue 13 (bursty input, quiet gaps, a start at a spike). */
export const weekTraces = ['bursty', 'gaps', 'start-at-peak'] as const;
export const allSyntheticTraces = [...syntheticTraces, ...weekTraces] as const;

const WEEK_H = 7 * 24;

/** A rate function precomputed per second over `hours` (held after the end). */
function tabulate(hours: number, f: (t: number) => number): (t: number) => number {
  const n = Math.ceil(hours * 3600) + 1;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return (t) => a[Math.max(0, Math.min(n - 1, Math.floor(t)))]!;
}

/** A daily cycle between `lo` and `hi`, lowest at 04:00 and highest at 16:00 (t = seconds since midnight). */
function daily(t: number, lo: number, hi: number): number {
  const day = (t % 86400) / 86400;
  return lo + ((hi - lo) * (1 - Math.cos(2 * Math.PI * (day - 4 / 24)))) / 2;
}

/** Pareto-distributed draw >= xm with tail index alpha (heavy-tailed), capped. */
function pareto(r: () => number, xm: number, alpha: number, cap: number): number {
  return Math.min(cap, xm / Math.pow(Math.max(1e-12, 1 - r()), 1 / alpha));
}

function peakOf(rate: (t: number) => number, hours: number): number {
  let peak = 0;
  for (let t = 0; t <= hours * 3600; t += 10) peak = Math.max(peak, rate(t));
  return peak;
}

export function syntheticTrace(kind: string, seed = 1): Trace {
  const base = 4000;
  let rate: (t: number) => number;
  let hours: number;
  switch (kind) {
    case 'step':
      // x4 at 1 h, back down at 5 h.
      hours = 8;
      rate = (t) => (t >= 3600 && t < 5 * 3600 ? base * 4 : base);
      break;
    case 'ramp':
      // up from 2000 to 16000 rec/s over 4 h, then down again.
      hours = 8;
      rate = (t) => {
        const x = t / 3600;
        return x < 4 ? 2000 + (14000 * x) / 4 : Math.max(2000, 16000 - (14000 * (x - 4)) / 4);
      };
      break;
    case 'diurnal':
      // one day of low night, morning rise, afternoon peak at 14:00, repeated.
      hours = 48;
      rate = (t) => {
        const day = ((t / 3600) % 24) / 24;
        return 8000 - 6000 * Math.cos(2 * Math.PI * (day - 14 / 24 + 0.5));
      };
      break;
    case 'spikes': {
      // base load with x3 bursts of 4-8 min at random times, about one per 90 min.
      hours = 8;
      const r = rng(seed * 7919);
      const bursts: Array<[number, number]> = [];
      for (let t = 1800 + r() * 3600; t < hours * 3600; t += 3600 + r() * 3600) bursts.push([t, t + 240 + r() * 240]);
      rate = (t) => (bursts.some(([a, b]) => t >= a && t < b) ? base * 3 : base);
      break;
    }
    case 'bursty': {
      // A week of a daily cycle (2000..6000 rec/s) with Poisson bursts, ~100 a week, more by day
      // (intensity follows the cycle); each 2-4x the rate under it, lasting a heavy-tailed time
      // (Pareto, alpha 1.3, from 3 min, capped at 60 min), with 1-minute ramps.
      hours = WEEK_H;
      const r = rng(seed * 104729 + 11);
      const bursts: Array<{ a: number; b: number; h: number }> = [];
      const perSecMax = (2 * 100) / (WEEK_H * 3600);
      for (let t = 0; t < hours * 3600; ) {
        t += -Math.log(Math.max(1e-12, 1 - r())) / perSecMax; // thinning of a Poisson process
        if (r() < (daily(t, 2000, 6000) - 1000) / 5000) {
          const dur = pareto(r, 180, 1.3, 3600);
          bursts.push({ a: t, b: t + dur, h: 2 + 2 * r() });
        }
      }
      rate = tabulate(hours, (t) => {
        const base = daily(t, 2000, 6000);
        let f = 1;
        for (const x of bursts) {
          if (t < x.a - 60 || t > x.b + 60) continue;
          const ramp = Math.min(1, (t - (x.a - 60)) / 60, (x.b + 60 - t) / 60);
          f = Math.max(f, 1 + (x.h - 1) * Math.max(0, ramp));
        }
        return base * f;
      });
      break;
    }
    case 'gaps': {
      // A week of a daily cycle (2000..8000 rec/s) with one to two near-zero gaps a day
      // (1 % of the rate for 20-40 min, at random times), as a stream that stalls upstream.
      hours = WEEK_H;
      const r = rng(seed * 130363 + 7);
      const gaps: Array<[number, number]> = [];
      for (let d = 0; d < 7; d++) {
        const n = 1 + (r() < 0.5 ? 1 : 0);
        for (let i = 0; i < n; i++) {
          const a = d * 86400 + r() * 86400;
          gaps.push([a, a + 1200 + r() * 1200]);
        }
      }
      rate = tabulate(hours, (t) => daily(t, 2000, 8000) * (gaps.some(([a, b]) => t >= a && t < b) ? 0.01 : 1));
      break;
    }
    case 'start-at-peak': {
      // A week of spikes: 3000 rec/s with 3x spikes of 4-15 min about every 2 h, and the first
      // minutes a spike (the job starts into it).
      hours = WEEK_H;
      const r = rng(seed * 15485863 + 3);
      const spikes: Array<[number, number]> = [[0, 300 + r() * 300]];
      for (let t = 3600 + r() * 3600; t < hours * 3600; t += 3600 + r() * 7200) spikes.push([t, t + 240 + r() * 660]);
      rate = tabulate(hours, (t) => (spikes.some(([a, b]) => t >= a && t < b) ? 9000 : 3000));
      break;
    }
    default:
      throw new FlowpilotError('FP_SIM_TRACE', `unknown synthetic trace "${kind}"; use one of ${allSyntheticTraces.join(', ')}`);
  }
  return { name: `synthetic:${kind}`, rate, hours, peak: peakOf(rate, hours) };
}

export function csvTrace(file: string): Trace {
  const rows: Array<[number, number]> = [];
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const s = line.trim();
    if (!s || s.startsWith('#')) return;
    const [a, b] = s.split(',').map((x) => Number(x.trim()));
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (rows.length === 0 && i === 0) return; // header
      throw new FlowpilotError('FP_SIM_TRACE', `${file}:${i + 1}: expected "seconds,rate", got "${s}"`);
    }
    rows.push([a!, b!]);
  });
  if (rows.length === 0) throw new FlowpilotError('FP_SIM_TRACE', `${file}: no rows; expected lines of "seconds,rate"`);
  rows.sort((x, y) => x[0] - y[0]);
  const rate = (t: number): number => {
    if (t <= rows[0]![0]) return rows[0]![1];
    if (t >= rows[rows.length - 1]![0]) return rows[rows.length - 1]![1];
    // The first row at or after t (binary search: week-long traces have 10 000+ rows).
    let lo = 1;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid]![0] < t) lo = mid + 1;
      else hi = mid;
    }
    const [t0, r0] = rows[lo - 1]!;
    const [t1, r1] = rows[lo]!;
    return r0 + ((r1 - r0) * (t - t0)) / Math.max(1e-9, t1 - t0);
  };
  const hours = Math.max(1 / 60, rows[rows.length - 1]![0] / 3600);
  return { name: file, rate, hours, peak: Math.max(...rows.map((r) => r[1])) };
}

export function loadTrace(spec: string, seed = 1): Trace {
  return spec.startsWith('synthetic:') ? syntheticTrace(spec.slice('synthetic:'.length), seed) : csvTrace(spec);
}
