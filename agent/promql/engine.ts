/**
 * PromQLEngine: runs instant and range queries over a Queryable store and returns
 * results shaped for Prometheus's HTTP API (value.ts). It owns the query-level concerns:
 * parsing when given text, the timeout and abort signal, `@ start()/end()`, and the
 * final removal of metric names flagged for dropping (delayed name removal), which is
 * where two series ending up with the same labels is an error.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { FlowpilotError } from '../../common/errors.ts';
import { labelsKey } from '../tsdb/labels.ts';
import type { Queryable } from '../tsdb/storage.ts';
import type { Expr } from './ast.ts';
import { type EvalSeries, type EvalValue, execError } from './eval-types.ts';
import { Evaluator, dropMetricName } from './evaluator.ts';
import {
  DEFAULT_LOOKBACK_DELTA_MS, DEFAULT_MAX_SAMPLES, DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_SUBQUERY_STEP_MS, type EngineOptions, type QueryOptions,
} from './options.ts';
import { parseExpr } from './parser.ts';
import { canceledError, promErrorType, timeoutError, toQueryError } from './errors.ts';
import { exprType } from './typecheck.ts';
import type { MatrixSeries, QueryData, QueryResult, VectorSample } from './value.ts';
import { timedStorage } from './stats.ts';

/** Steps evaluated per chunk by the async rangeQuery before yielding to the event loop. */
const RANGE_CHUNK_STEPS = 120;

/** The whole query a chunk belongs to (for `@ start()`/`@ end()` and annotation positions). */
interface QueryFrame { start: number; end: number; text: string }

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

  /**
   * Registers flowpilot_promql_query_duration_seconds{kind} and
   * flowpilot_promql_queries_total{kind,result} in a prom-client registry.
   */
  registerMetrics(registry: Registry): void {
    const duration = new Histogram({
      name: 'flowpilot_promql_query_duration_seconds',
      help: 'Wall time of PromQL queries.',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    });
    const total = new Counter({ name: 'flowpilot_promql_queries_total', help: 'PromQL queries by outcome.', labelNames: ['kind', 'result'], registers: [registry] });
    this.observe = (kind, seconds, result) => {
      duration.observe({ kind }, seconds);
      total.inc({ kind, result });
    };
  }

  private observe: ((kind: 'instant' | 'range', seconds: number, result: string) => void) | null = null;

  private measured<T>(kind: 'instant' | 'range', fn: () => T): T {
    if (this.observe === null) return fn();
    const t0 = performance.now();
    let result = 'success';
    try {
      return fn();
    } catch (err) {
      result = outcomeOf(err);
      throw err;
    } finally {
      this.observe(kind, (performance.now() - t0) / 1000, result);
    }
  }

  /** Evaluates at one instant. Returns a vector, scalar, string, or (for a range expression) a matrix. */
  instantQuerySync(query: string | Expr, timeMs: number, opts: QueryOptions = {}): QueryResult {
    return this.measured('instant', () => this.instant(query, timeMs, opts));
  }

  private instant(query: string | Expr, timeMs: number, opts: QueryOptions): QueryResult {
    const { expr, text } = this.prepare(query);
    opts.stats?.initSteps(timeMs, timeMs, 1);
    const { value, warnings, infos } = this.run(expr, text, timeMs, timeMs, 1, opts);
    const sortStarted = opts.stats !== undefined ? performance.now() : 0;
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
    if (opts.stats !== undefined) opts.stats.sortMs += performance.now() - sortStarted;
    return { data, warnings, infos };
  }

  /** Evaluates at every step from start to end (inclusive); the result is always a matrix. */
  rangeQuerySync(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): QueryResult {
    return this.measured('range', () => this.rangeChunk(query, startMs, endMs, stepMs, opts, undefined));
  }

  private rangeChunk(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions, whole: QueryFrame | undefined): QueryResult {
    if (!(stepMs > 0)) throw new FlowpilotError('FP_PROMQL_RESOLUTION', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (endMs < startMs) throw new FlowpilotError('FP_PROMQL_RESOLUTION', 'end timestamp must not be before start time');
    const prepared = this.prepare(query);
    const expr = prepared.expr;
    const text = whole?.text ?? prepared.text;
    const t = exprType(expr);
    if (t !== 'vector' && t !== 'scalar') {
      throw new FlowpilotError('FP_PROMQL_EXEC', `invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`);
    }
    opts.stats?.initSteps(startMs, endMs, stepMs);
    const { value, warnings, infos } = this.run(expr, text, startMs, endMs, stepMs, opts, whole);
    const sortStarted = opts.stats !== undefined ? performance.now() : 0;
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
    if (opts.stats !== undefined) opts.stats.sortMs += performance.now() - sortStarted;
    return { data: { resultType: 'matrix', result }, warnings, infos };
  }

  async instantQuery(query: string | Expr, timeMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.instantQuerySync(query, timeMs, opts);
  }

  /**
   * Like rangeQuerySync, but evaluates long queries in chunks of steps and yields to the
   * event loop between chunks, so other requests proceed and an aborted signal or the
   * timeout stops the query between chunks too. Steps are independent, so chunking does
   * not change the result (`@ start()`/`@ end()` still refer to the whole range).
   */
  async rangeQuery(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const steps = stepMs > 0 && endMs >= startMs ? Math.floor((endMs - startMs) / stepMs) + 1 : 0;
    if (steps <= RANGE_CHUNK_STEPS) return this.rangeQuerySync(query, startMs, endMs, stepMs, opts);
    const t0 = performance.now();
    try {
      const r = await this.rangeChunked(query, startMs, endMs, stepMs, steps, opts);
      this.observe?.('range', (performance.now() - t0) / 1000, 'success');
      return r;
    } catch (err) {
      this.observe?.('range', (performance.now() - t0) / 1000, outcomeOf(err));
      throw err;
    }
  }

  private async rangeChunked(query: string | Expr, startMs: number, endMs: number, stepMs: number, steps: number, opts: QueryOptions): Promise<QueryResult> {
    const { expr, text } = this.prepare(query);
    const deadline = performance.now() + (opts.timeoutMs ?? this.options.timeoutMs);
    const merged = new Map<string, MatrixSeries>();
    const warnings = new Set<string>();
    const infos = new Set<string>();
    const stats = opts.stats;
    stats?.initSteps(startMs, endMs, stepMs);
    let mergedPoints = 0;
    for (let first = 0; first < steps; first += RANGE_CHUNK_STEPS) {
      if (first > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw timeoutError();
      if (opts.signal?.aborted === true || opts.canceled?.() === true) throw canceledError();
      const cs = startMs + first * stepMs;
      const ce = startMs + Math.min(steps - 1, first + RANGE_CHUNK_STEPS - 1) * stepMs;
      // The points merged so far are held beside what the chunk loads.
      if (stats !== undefined) stats.peakBase = mergedPoints;
      const part = this.rangeChunk(expr, cs, ce, stepMs, { ...opts, timeoutMs: remaining }, { start: startMs, end: endMs, text });
      part.warnings.forEach((w) => warnings.add(w));
      part.infos.forEach((i) => infos.add(i));
      if (part.data.resultType !== 'matrix') continue;
      const mergeStarted = stats !== undefined ? performance.now() : 0;
      for (const s of part.data.result) {
        mergedPoints += s.timestamps.length;
        const key = labelsKey(s.metric);
        const prev = merged.get(key);
        if (prev === undefined) merged.set(key, { metric: s.metric, timestamps: [...s.timestamps], values: [...s.values] });
        else { prev.timestamps.push(...s.timestamps); prev.values.push(...s.values); }
      }
      if (stats !== undefined) stats.sortMs += performance.now() - mergeStarted;
    }
    const sortStarted = stats !== undefined ? performance.now() : 0;
    const result = [...merged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
    if (stats !== undefined) stats.sortMs += performance.now() - sortStarted;
    return { data: { resultType: 'matrix', result }, warnings: [...warnings], infos: [...infos] };
  }

  private prepare(query: string | Expr): { expr: Expr; text: string } {
    if (typeof query !== 'string') return { expr: query, text: '' };
    try {
      return { expr: parseExpr(query), text: query };
    } catch (err) {
      throw toQueryError(err, 'parse');
    }
  }

  private run(expr: Expr, text: string, start: number, end: number, step: number, opts: QueryOptions, whole?: QueryFrame): { value: EvalValue; warnings: string[]; infos: string[] } {
    if (opts.signal?.aborted === true) throw canceledError();
    const annotations = { warnings: new Set<string>(), infos: new Set<string>() };
    const stats = opts.stats;
    const ev = new Evaluator({
      storage: stats !== undefined ? timedStorage(this.storage, stats) : this.storage,
      lookbackMs: opts.lookbackDeltaMs ?? this.options.lookbackDeltaMs,
      queryStart: whole?.start ?? start,
      queryEnd: whole?.end ?? end,
      defaultSubqueryStepMs: this.options.defaultSubqueryStepMs,
      deadline: performance.now() + (opts.timeoutMs ?? this.options.timeoutMs),
      signal: opts.signal,
      canceled: opts.canceled,
      maxSamples: opts.maxSamples ?? this.options.maxSamples,
      annotations,
      text,
      stats,
    });
    let value: EvalValue;
    const evalStarted = stats !== undefined ? performance.now() : 0;
    try {
      const ctx = ev.steps(start, end, step);
      stats?.enter(ctx);
      value = ev.eval(expr, ctx);
    } catch (err) {
      throw toQueryError(err, 'eval');
    } finally {
      if (stats !== undefined) stats.evalMs += performance.now() - evalStarted;
    }
    return { value, warnings: [...annotations.warnings], infos: [...annotations.infos] };
  }
}

function outcomeOf(err: unknown): string {
  const t = promErrorType(err);
  return t === 'timeout' || t === 'canceled' ? t : 'error';
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
