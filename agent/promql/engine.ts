/**
 * PromQLEngine: runs instant and range queries over a Queryable store and returns
 * results shaped for Prometheus's HTTP API (value.ts). It owns the query-level concerns:
 * parsing when given text, the timeout and abort signal, `@ start()/end()`, and the
 * final removal of metric names flagged for dropping (delayed name removal), which is
 * where two series ending up with the same labels is an error.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { labelsKey } from '../tsdb/labels.ts';
import type { Queryable } from '../tsdb/storage.ts';
import type { Expr } from './ast.ts';
import { type EvalSeries, type EvalValue, execError, stepsOf } from './eval-types.ts';
import { Evaluator, dropMetricName } from './evaluator.ts';
import {
  DEFAULT_LOOKBACK_DELTA_MS, DEFAULT_MAX_SAMPLES, DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_SUBQUERY_STEP_MS, type EngineOptions, type QueryOptions,
} from './options.ts';
import { parseExpr } from './parser.ts';
import { exprType } from './typecheck.ts';
import type { MatrixSeries, QueryData, QueryResult, VectorSample } from './value.ts';

export class PromQLEngine {
  readonly storage: Queryable;
  readonly options: Required<EngineOptions>;

  constructor(storage: Queryable, opts: EngineOptions = {}) {
    this.storage = storage;
    this.options = {
      lookbackDeltaMs: opts.lookbackDeltaMs ?? DEFAULT_LOOKBACK_DELTA_MS,
      timeoutMs: opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      defaultSubqueryStepMs: opts.defaultSubqueryStepMs ?? DEFAULT_SUBQUERY_STEP_MS,
      maxSamples: opts.maxSamples ?? DEFAULT_MAX_SAMPLES,
    };
  }

  /** Evaluates at one instant. Returns a vector, scalar, string, or (for a range expression) a matrix. */
  instantQuerySync(query: string | Expr, timeMs: number, opts: QueryOptions = {}): QueryResult {
    const { expr, text } = this.prepare(query);
    const { value, warnings, infos } = this.run(expr, text, timeMs, timeMs, 1, opts);
    let data: QueryData;
    switch (value.type) {
      case 'scalar': data = { resultType: 'scalar', result: { t: timeMs, value: value.vs[0]! } }; break;
      case 'string': data = { resultType: 'string', result: { t: timeMs, value: value.value } }; break;
      case 'matrix':
        data = { resultType: 'matrix', result: value.series.map((s) => ({ metric: s.metric, timestamps: Array.from(s.ts), values: Array.from(s.vs) })) };
        break;
      case 'vector': {
        const result: VectorSample[] = finalizeSeries(value.series).map((s) => ({ metric: s.metric, t: timeMs, value: s.vs[0]! }));
        data = { resultType: 'vector', result };
        break;
      }
    }
    return { data, warnings, infos };
  }

  /** Evaluates at every step from start to end (inclusive); the result is always a matrix. */
  rangeQuerySync(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): QueryResult {
    if (!(stepMs > 0)) throw new FlowpilotError('FP_PROMQL_EXEC', 'zero or negative query resolution step widths are not accepted');
    if (endMs < startMs) throw new FlowpilotError('FP_PROMQL_EXEC', 'end timestamp must not be before start time');
    const { expr, text } = this.prepare(query);
    const t = exprType(expr);
    if (t !== 'vector' && t !== 'scalar') {
      throw new FlowpilotError('FP_PROMQL_EXEC', `invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`);
    }
    const { value, warnings, infos } = this.run(expr, text, startMs, endMs, stepMs, opts);
    let result: MatrixSeries[];
    if (value.type === 'scalar') {
      const timestamps: number[] = [];
      const values: number[] = [];
      for (let k = 0; k < value.vs.length; k++) { timestamps.push(startMs + k * stepMs); values.push(value.vs[k]!); }
      result = [{ metric: Object.freeze({}), timestamps, values }];
    } else if (value.type === 'vector') {
      result = finalizeSeries(value.series)
        .map((s) => ({ metric: s.metric, timestamps: s.ts, values: s.vs }))
        .sort((a, b) => { const ka = labelsKey(a.metric), kb = labelsKey(b.metric); return ka < kb ? -1 : ka > kb ? 1 : 0; });
    } else throw execError('unexpected result type for range query');
    return { data: { resultType: 'matrix', result }, warnings, infos };
  }

  async instantQuery(query: string | Expr, timeMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.instantQuerySync(query, timeMs, opts);
  }

  async rangeQuery(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.rangeQuerySync(query, startMs, endMs, stepMs, opts);
  }

  private prepare(query: string | Expr): { expr: Expr; text: string } {
    if (typeof query === 'string') return { expr: parseExpr(query), text: query };
    return { expr: query, text: '' };
  }

  private run(expr: Expr, text: string, start: number, end: number, step: number, opts: QueryOptions): { value: EvalValue; warnings: string[]; infos: string[] } {
    if (opts.signal?.aborted === true) throw new FlowpilotError('FP_PROMQL_CANCELED', 'query was canceled');
    const annotations = { warnings: new Set<string>(), infos: new Set<string>() };
    const ev = new Evaluator({
      storage: this.storage,
      lookbackMs: opts.lookbackDeltaMs ?? this.options.lookbackDeltaMs,
      queryStart: start,
      queryEnd: end,
      defaultSubqueryStepMs: this.options.defaultSubqueryStepMs,
      deadline: performance.now() + (opts.timeoutMs ?? this.options.timeoutMs),
      signal: opts.signal,
      maxSamples: this.options.maxSamples,
      annotations,
      text,
    });
    const value = ev.eval(expr, stepsOf(start, end, step));
    return { value, warnings: [...annotations.warnings], infos: [...annotations.infos] };
  }
}

/**
 * Drops flagged metric names. Series that end up with equal labels are merged when
 * their timestamps do not overlap; otherwise the query fails as in Prometheus.
 */
function finalizeSeries(series: EvalSeries[]): EvalSeries[] {
  if (!series.some((s) => s.dropName)) return series;
  const byKey = new Map<string, EvalSeries>();
  const out: EvalSeries[] = [];
  for (const s of series) {
    const metric = s.dropName ? dropMetricName(s.metric) : s.metric;
    const key = labelsKey(metric);
    const prev = byKey.get(key);
    if (prev === undefined) {
      const ser = { metric, dropName: false, ts: s.ts, vs: s.vs };
      byKey.set(key, ser);
      out.push(ser);
      continue;
    }
    const seen = new Set(prev.ts);
    if (s.ts.some((t) => seen.has(t))) throw execError('vector cannot contain metrics with the same labelset');
    const merged = prev.ts.map((t, i) => [t, prev.vs[i]!] as const).concat(s.ts.map((t, i) => [t, s.vs[i]!] as const)).sort((a, b) => a[0] - b[0]);
    prev.ts = merged.map((m) => m[0]);
    prev.vs = merged.map((m) => m[1]);
  }
  return out;
}
