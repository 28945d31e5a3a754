/**
 * histogram_quantile and histogram_fraction over classic histograms: series with an
 * `le` label, grouped by their other labels. Bucket counts that decrease are raised to
 * keep them monotonic (with an info annotation), as Prometheus does.
 */
import { labelsFromRecord, labelsKey, type Labels } from '../tsdb/labels.ts';
import type { StepSample } from './eval-types.ts';

export interface Bucket { upper: number; count: number }

export interface BucketGroup { metric: Labels; buckets: Bucket[] }

/**
 * Groups samples by their labels without `le`. The metric name stays in the group key
 * (and is dropped at the end of the query), so two histograms of different names with
 * otherwise equal labels are not merged but collide, as in Prometheus.
 */
export function groupBuckets(samples: StepSample[]): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const s of samples) {
    const le = s.metric['le'];
    if (le === undefined) continue;
    const upper = le.trim().toLowerCase() === '+inf' || le.trim().toLowerCase() === 'inf' ? Infinity : Number(le);
    if (le.trim() === '' || Number.isNaN(upper)) continue;
    const rec: Record<string, string> = {};
    for (const n in s.metric) if (n !== 'le') rec[n] = s.metric[n]!;
    const metric = labelsFromRecord(rec);
    const key = labelsKey(metric);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { metric, buckets: [] }));
    g.buckets.push({ upper, count: s.v });
  }
  return [...groups.values()];
}

/** Sorts, merges equal bounds and enforces monotonic counts; returns true when a fix was needed. */
function prepare(buckets: Bucket[]): { buckets: Bucket[]; fixed: boolean } {
  buckets.sort((a, b) => a.upper - b.upper);
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.upper === b.upper) last.count += b.count;
    else merged.push({ upper: b.upper, count: b.count });
  }
  let fixed = false;
  let max = -Infinity;
  for (const b of merged) {
    if (b.count > max) max = b.count;
    else if (b.count < max) {
      // Tiny relative differences come from float noise, not from a broken histogram.
      if (Math.abs(max - b.count) > 1e-12 * Math.abs(max)) fixed = true;
      b.count = max;
    }
  }
  return { buckets: merged, fixed };
}

export function bucketQuantile(q: number, input: Bucket[]): { value: number; fixed: boolean } {
  if (Number.isNaN(q)) return { value: NaN, fixed: false };
  if (q < 0) return { value: -Infinity, fixed: false };
  if (q > 1) return { value: Infinity, fixed: false };
  const { buckets, fixed } = prepare(input);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return { value: NaN, fixed };
  if (buckets.length < 2) return { value: NaN, fixed };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0 || Number.isNaN(observations)) return { value: NaN, fixed };
  let rank = q * observations;
  let b = buckets.findIndex((x) => x.count >= rank);
  if (b < 0) b = buckets.length - 1;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upper, fixed };
  if (b === 0 && buckets[0]!.upper <= 0) return { value: buckets[0]!.upper, fixed };
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upper;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upper;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), fixed };
}

/** Estimated cumulative count at x, interpolating linearly inside the bucket holding x. */
function cumulativeAt(x: number, buckets: Bucket[]): number {
  let lowerBound = 0;
  let lowerCount = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (x <= b.upper) {
      if (b.upper === Infinity) return i === 0 ? 0 : lowerCount;
      if (i === 0 && b.upper <= 0) return x < b.upper ? 0 : b.count;
      const start = i === 0 ? Math.min(0, b.upper) : lowerBound;
      if (x <= start) return lowerCount;
      return lowerCount + ((b.count - lowerCount) * (x - start)) / (b.upper - start);
    }
    lowerBound = b.upper;
    lowerCount = b.count;
  }
  return lowerCount;
}

export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const { buckets } = prepare(input);
  if (buckets.length < 2 || buckets[buckets.length - 1]!.upper !== Infinity) return NaN;
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const lo = lower === -Infinity ? 0 : cumulativeAt(lower, buckets);
  const hi = upper === Infinity ? total : cumulativeAt(upper, buckets);
  return (hi - lo) / total;
}
