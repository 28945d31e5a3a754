/**
 * Flink's metric endpoints over plain metric maps. Non-aggregating endpoints answer a bare
 * array: without `get`, the available ids (`[{"id":…}]`); with `get=a,b`, the values that exist
 * as strings (`[{"id":"a","value":"34"}]`), unknown ids silently left out. Aggregating
 * endpoints (`/subtasks/metrics`, `/taskmanagers/metrics`, `/jobs/metrics`) answer
 * `[{"id","min","max","avg","sum","skew"}]` with only the requested aggregations; without
 * `agg`, all of them. Flink's quirk is kept: when any requested id is missing from any selected
 * component, the whole answer is `[]`. Non-numeric values are skipped.
 */
import type { MetricValue, MetricValues } from './backend.ts';
import { badParameter } from './errors.ts';

export const AGGREGATIONS = ['min', 'max', 'avg', 'sum', 'skew'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** The text Flink's MetricStore holds for a value (String.valueOf in Java). */
export function formatMetricValue(v: MetricValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return String(v);
}

/** Splits a comma-separated query value (`get=a,b` or repeated `get=a&get=b`) into names. */
export function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

export function parseAggregations(values: string[]): Aggregation[] {
  const names = splitList(values);
  if (names.length === 0) return [...AGGREGATIONS];
  const out: Aggregation[] = [];
  for (const n of names) {
    const lower = n.toLowerCase();
    if (!(AGGREGATIONS as readonly string[]).includes(lower)) {
      throw badParameter('query', 'agg', values.join(','), `Allowed values: ${AGGREGATIONS.join(', ')}.`);
    }
    if (!out.includes(lower as Aggregation)) out.push(lower as Aggregation);
  }
  return out;
}

/** Parses Flink's `subtasks=0-3,7` filter into indices (sorted, unique). */
export function parseIndexRanges(name: string, values: string[]): number[] {
  const out = new Set<number>();
  for (const part of splitList(values)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw badParameter('query', name, values.join(','));
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw badParameter('query', name, values.join(','));
    for (let i = from; i <= to && i - from < 100_000; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export type MetricListEntry = { id: string } | { id: string; value: string };

/** The non-aggregating answer for one component (undefined component → `[]`, as Flink). */
export function listOrGet(values: MetricValues | undefined, get: string[]): MetricListEntry[] {
  if (values === undefined) return [];
  if (get.length === 0) return Object.keys(values).map((id) => ({ id }));
  const out: MetricListEntry[] = [];
  for (const id of get) {
    const v = values[id];
    if (v !== undefined) out.push({ id, value: formatMetricValue(v) });
  }
  return out;
}

export interface AggregatedMetric {
  id: string;
  min?: number;
  max?: number;
  avg?: number;
  sum?: number;
  skew?: number;
}

/**
 * The aggregating answer over components. Without `get`, the union of available ids
 * (`[{"id"}]`); with `get`, one entry per requested id.
 */
export function aggregate(components: MetricValues[], get: string[], aggs: Aggregation[]): Array<{ id: string } | AggregatedMetric> {
  if (get.length === 0) {
    const ids = new Set<string>();
    for (const c of components) for (const id of Object.keys(c)) ids.add(id);
    return [...ids].map((id) => ({ id }));
  }
  if (components.length === 0) return [];
  const out: AggregatedMetric[] = [];
  for (const id of get) {
    const numbers: number[] = [];
    for (const c of components) {
      const v = c[id];
      if (v === undefined) return []; // Flink: any missing value empties the whole answer
      const n = typeof v === 'number' ? v : Number(formatMetricValue(v));
      if (typeof v === 'boolean' || Number.isNaN(n)) continue; // non-numeric: skipped
      numbers.push(n);
    }
    const entry: AggregatedMetric = { id };
    const stats = summarize(numbers);
    for (const a of AGGREGATIONS) if (aggs.includes(a)) entry[a] = stats[a]; // Flink's field order
    out.push(entry);
  }
  return out;
}

function summarize(xs: number[]): Record<Aggregation, number> {
  if (xs.length === 0) return { min: 0, max: 0, avg: 0, sum: 0, skew: 0 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const avg = sum / xs.length;
  return { min, max, avg, sum, skew: skewPercent(xs, avg) };
}

/**
 * Data skew in percent: the coefficient of variation (population standard deviation over the
 * mean) times 100, capped at 100; 0 when the mean is 0. (Flink ≥ 1.20's `skew`; the exact
 * formula was not checked against Flink's source, see docs/reference/engine-rest.md.)
 */
export function skewPercent(xs: number[], avg: number): number {
  if (xs.length === 0 || avg === 0) return 0;
  let sq = 0;
  for (const x of xs) sq += (x - avg) ** 2;
  const cv = Math.sqrt(sq / xs.length) / Math.abs(avg);
  return Math.min(100, cv * 100);
}
