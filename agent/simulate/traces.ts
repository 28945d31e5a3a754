/**
 * Arrival-rate traces for the simulator: synthetic shapes (step, ramp, diurnal, spikes) and
 * CSV files of `seconds,rate` rows (a header row is allowed; rates are interpolated linearly
 * and held after the last row). Each trace is a function of seconds since the start; the
 * random ones are seeded.
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
    default:
      throw new FlowpilotError('FP_SIM_TRACE', `unknown synthetic trace "${kind}"; use one of ${syntheticTraces.join(', ')}`);
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
    for (let i = 1; i < rows.length; i++) {
      const [t1, r1] = rows[i]!;
      if (t <= t1) {
        const [t0, r0] = rows[i - 1]!;
        return r0 + ((r1 - r0) * (t - t0)) / Math.max(1e-9, t1 - t0);
      }
    }
    return rows[rows.length - 1]![1];
  };
  const hours = Math.max(1 / 60, rows[rows.length - 1]![0] / 3600);
  return { name: file, rate, hours, peak: Math.max(...rows.map((r) => r[1])) };
}

export function loadTrace(spec: string, seed = 1): Trace {
  return spec.startsWith('synthetic:') ? syntheticTrace(spec.slice('synthetic:'.length), seed) : csvTrace(spec);
}
