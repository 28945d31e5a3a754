/**
 * Functions over range vectors (rate, increase, *_over_time, deriv, ...). Each gets one
 * series' samples in the window (indices lo..hi-1 of ts/vs, timestamps in ms) and the
 * window bounds (rangeStart exclusive, rangeEnd inclusive), and returns the value or
 * undefined for "no output". Formulas follow Prometheus's promql/functions.go.
 */
import { MeanAccumulator, kahanSumInc, linearRegression, quantileOf, varianceOf } from './mathx.ts';

export interface RangeWindow {
  readonly ts: ArrayLike<number>;
  readonly vs: ArrayLike<number>;
  readonly lo: number;
  readonly hi: number;
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** Step time of the evaluation (ms). */
  readonly t: number;
}

export type RangeFunction = (w: RangeWindow, params: readonly number[]) => number | undefined;

export interface RangeFunctionDef {
  readonly fn: RangeFunction;
  /** Index of the range-vector argument. */
  readonly rangeArg: number;
  readonly keepName?: boolean;
}

function extrapolatedRate(w: RangeWindow, isCounter: boolean, isRate: boolean): number | undefined {
  const { ts, vs, lo, hi } = w;
  const n = hi - lo;
  if (n < 2) return undefined;
  const first = vs[lo]!;
  let result = vs[hi - 1]! - first;
  if (isCounter) {
    let prev = first;
    for (let i = lo + 1; i < hi; i++) {
      const cur = vs[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  const sampledInterval = (ts[hi - 1]! - ts[lo]!) / 1000;
  const avg = sampledInterval / (n - 1);
  const threshold = avg * 1.1;
  let durationToStart = (ts[lo]! - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - ts[hi - 1]!) / 1000;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (w.rangeEnd - w.rangeStart) / 1000;
  return result * factor;
}

function instantValue(w: RangeWindow, isRate: boolean): number | undefined {
  const { ts, vs, hi } = w;
  if (hi - w.lo < 2) return undefined;
  const last = vs[hi - 1]!;
  const prev = vs[hi - 2]!;
  const dt = ts[hi - 1]! - ts[hi - 2]!;
  if (dt === 0) return undefined;
  const result = isRate && last < prev ? last : last - prev;
  return isRate ? result / (dt / 1000) : result;
}

function sumOver(w: RangeWindow): number {
  let s = 0, c = 0;
  for (let i = w.lo; i < w.hi; i++) [s, c] = kahanSumInc(w.vs[i]!, s, c);
  return s + c;
}

function windowValues(w: RangeWindow): number[] {
  const out: number[] = new Array(w.hi - w.lo);
  for (let i = w.lo; i < w.hi; i++) out[i - w.lo] = w.vs[i]!;
  return out;
}

export const RANGE_FUNCTIONS: ReadonlyMap<string, RangeFunctionDef> = new Map<string, RangeFunctionDef>([
  ['rate', { rangeArg: 0, fn: (w) => extrapolatedRate(w, true, true) }],
  ['increase', { rangeArg: 0, fn: (w) => extrapolatedRate(w, true, false) }],
  ['delta', { rangeArg: 0, fn: (w) => extrapolatedRate(w, false, false) }],
  ['irate', { rangeArg: 0, fn: (w) => instantValue(w, true) }],
  ['idelta', { rangeArg: 0, fn: (w) => instantValue(w, false) }],
  ['sum_over_time', { rangeArg: 0, fn: sumOver }],
  ['count_over_time', { rangeArg: 0, fn: (w) => w.hi - w.lo }],
  ['present_over_time', { rangeArg: 0, fn: () => 1 }],
  ['last_over_time', { rangeArg: 0, keepName: true, fn: (w) => w.vs[w.hi - 1]! }],
  ['avg_over_time', {
    rangeArg: 0,
    fn: (w) => {
      const m = new MeanAccumulator();
      for (let i = w.lo; i < w.hi; i++) m.add(w.vs[i]!);
      return m.value();
    },
  }],
  ['min_over_time', {
    rangeArg: 0,
    fn: (w) => {
      let m = w.vs[w.lo]!;
      for (let i = w.lo + 1; i < w.hi; i++) { const v = w.vs[i]!; if (v < m || Number.isNaN(m)) m = v; }
      return m;
    },
  }],
  ['max_over_time', {
    rangeArg: 0,
    fn: (w) => {
      let m = w.vs[w.lo]!;
      for (let i = w.lo + 1; i < w.hi; i++) { const v = w.vs[i]!; if (v > m || Number.isNaN(m)) m = v; }
      return m;
    },
  }],
  ['stdvar_over_time', { rangeArg: 0, fn: (w) => varianceOf(w.vs, w.lo, w.hi) }],
  ['stddev_over_time', { rangeArg: 0, fn: (w) => Math.sqrt(varianceOf(w.vs, w.lo, w.hi)) }],
  ['quantile_over_time', { rangeArg: 1, fn: (w, p) => quantileOf(p[0]!, windowValues(w)) }],
  ['changes', {
    rangeArg: 0,
    fn: (w) => {
      let n = 0;
      let prev = w.vs[w.lo]!;
      for (let i = w.lo + 1; i < w.hi; i++) {
        const cur = w.vs[i]!;
        if (!(cur === prev || (Number.isNaN(cur) && Number.isNaN(prev)))) n++;
        prev = cur;
      }
      return n;
    },
  }],
  ['resets', {
    rangeArg: 0,
    fn: (w) => {
      let n = 0;
      for (let i = w.lo + 1; i < w.hi; i++) if (w.vs[i]! < w.vs[i - 1]!) n++;
      return n;
    },
  }],
  ['deriv', {
    rangeArg: 0,
    fn: (w) => (w.hi - w.lo < 2 ? undefined : linearRegression(w.ts, w.vs, w.lo, w.hi, w.ts[w.lo]!)[0]),
  }],
  ['predict_linear', {
    rangeArg: 0,
    fn: (w, p) => {
      if (w.hi - w.lo < 2) return undefined;
      const [slope, intercept] = linearRegression(w.ts, w.vs, w.lo, w.hi, w.t);
      return slope * p[0]! + intercept;
    },
  }],
]);
