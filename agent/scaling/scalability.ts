/**
 * Sublinear scaling, fitted per vertex: rate(p) = a * p^b by least squares on
 * (ln p, ln rate) over the (parallelism, true rate) points the vertex has shown. Rates are
 * first divided by the key-group balance at their parallelism, so the fit sees the per-subtask
 * cost of coordination and contention, not the unevenness of key groups (modelled apart).
 * b = 1 is linear; the Flink autoscaler assumes it unless its optional 3-point fit is on.
 */
import { linearRegression } from 'simple-statistics';

export interface ScalingPoint {
  p: number;
  /** balance-normalized true rate, mean of the samples at p */
  rate: number;
  n: number;
}

export interface ScalingFit {
  a: number;
  b: number;
  points: number;
}

/** Fits a*p^b; undefined with fewer than `minPoints` distinct parallelisms. */
export function fitScaling(points: readonly ScalingPoint[], minPoints: number): ScalingFit | undefined {
  const usable = points.filter((x) => x.p > 0 && x.rate > 0);
  if (usable.length < minPoints) return undefined;
  const { m, b } = linearRegression(usable.map((x) => [Math.log(x.p), Math.log(x.rate)]));
  if (!Number.isFinite(m) || !Number.isFinite(b)) return undefined;
  return { a: Math.exp(b), b: m, points: usable.length };
}

/** Adds one sample to the per-parallelism running means (returns a new array). */
export function addPoint(points: readonly ScalingPoint[], p: number, rate: number, maxPoints = 32): ScalingPoint[] {
  const out = points.map((x) => ({ ...x }));
  const hit = out.find((x) => x.p === p);
  if (hit) {
    // Recent samples count more: a bounded running mean forgets old regimes.
    const n = Math.min(hit.n + 1, 20);
    hit.rate += (rate - hit.rate) / n;
    hit.n = n;
  } else {
    out.push({ p, rate, n: 1 });
    if (out.length > maxPoints) out.shift();
  }
  return out;
}
