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
export function groupBuckets(samples: StepSample[], onBadBucketLabel?: (metricName: string, le: string) => void): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const s of samples) {
    // As strconv.ParseFloat reads `le`: a missing or unreadable bound skips the series, with a warning.
    const le = s.metric['le'] ?? '';
    const t = le.trim().toLowerCase();
    const upper = t === '+inf' || t === 'inf' ? Infinity : t === '-inf' ? -Infinity : Number(le);
    if (t === '' || Number.isNaN(upper)) {
      onBadBucketLabel?.(s.metric['__name__'] ?? '', le);
      continue;
    }
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

/**
 * The fraction of observations between lower and upper, as Prometheus's BucketFraction
 * computes it for classic histograms: a single +Inf bucket is a valid histogram; the
 * first bucket's lower bound is 0 when its upper bound is above 0 and -Inf otherwise;
 * inside a bucket the cumulative count is interpolated linearly, except in a bucket
 * starting at -Inf, which counts whole (there is nothing to interpolate against).
 */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const { buckets } = prepare(input);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return NaN;
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let below = 0; // cumulative count at the current bucket's lower bound
  let lowerRank: number | null = null;
  let upperRank: number | null = null;
  for (let i = 0; i < buckets.length && (lowerRank === null || upperRank === null); i++) {
    const b = buckets[i]!;
    const from = i > 0 ? buckets[i - 1]!.upper : b.upper > 0 ? 0 : -Infinity;
    const at = (x: number): number => (from === -Infinity ? b.count : below + ((b.count - below) * (x - from)) / (b.upper - from));
    if (lowerRank === null && from >= lower) lowerRank = below;
    if (upperRank === null && from >= upper) upperRank = below;
    if (lowerRank === null && from < lower && b.upper > lower) lowerRank = at(lower);
    if (upperRank === null && from < upper && b.upper > upper) upperRank = at(upper);
    below = b.count;
  }
  const lo = lowerRank === null || lowerRank > total ? total : lowerRank;
  const hi = upperRank === null || upperRank > total ? total : upperRank;
  return (hi - lo) / total;
}
