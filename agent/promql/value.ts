/**
 * Query results, shaped like the `data` object of Prometheus's HTTP API so the server
 * can serialize them directly: timestamps in milliseconds here, seconds on the wire
 * (see toApiData). Sample values are plain numbers.
 */
import type { Labels } from '../tsdb/labels.ts';

export interface VectorSample {
  readonly metric: Labels;
  /** Evaluation timestamp, ms. */
  readonly t: number;
  readonly value: number;
}

export interface MatrixSeries {
  readonly metric: Labels;
  /** Timestamps (ms), ascending, same length as values. */
  readonly timestamps: number[];
  readonly values: number[];
}

export type QueryData =
  | { readonly resultType: 'vector'; readonly result: VectorSample[] }
  | { readonly resultType: 'matrix'; readonly result: MatrixSeries[] }
  | { readonly resultType: 'scalar'; readonly result: { readonly t: number; readonly value: number } }
  | { readonly resultType: 'string'; readonly result: { readonly t: number; readonly value: string } };

/** Annotations render as Prometheus renders them, e.g. `PromQL warning: ... (1:5)`. */
export interface QueryResult {
  readonly data: QueryData;
  readonly warnings: string[];
  readonly infos: string[];
}

/** Formats a sample value as Prometheus's API does (Go strconv 'f', -1; +Inf, -Inf, NaN). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  if (!s.includes('e')) return s;
  // Expand exponent notation into plain decimal digits, as Go's 'f' format does.
  const [mant, expStr] = s.split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return (neg ? '-' : '') + out;
}

type ApiPoint = [number, string];

/** The JSON `data` object of /api/v1/query and /api/v1/query_range. */
export function toApiData(d: QueryData): { resultType: string; result: unknown } {
  switch (d.resultType) {
    case 'vector':
      return { resultType: 'vector', result: d.result.map((s) => ({ metric: s.metric, value: [s.t / 1000, formatValue(s.value)] as ApiPoint })) };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: d.result.map((s) => ({ metric: s.metric, values: s.timestamps.map((t, i) => [t / 1000, formatValue(s.values[i]!)] as ApiPoint) })),
      };
    case 'scalar':
      return { resultType: 'scalar', result: [d.result.t / 1000, formatValue(d.result.value)] };
    case 'string':
      return { resultType: 'string', result: [d.result.t / 1000, d.result.value] };
  }
}
