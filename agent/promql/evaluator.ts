/**
 * The evaluator: walks the typed AST and evaluates every node over all steps of a query
 * at once. Selectors read the store through its inverted index once per node for the
 * whole time span, then walk samples with cursors. Binary operators, aggregations and
 * functions live in binary.ts, aggregate.ts and functions.ts. Evaluation never does I/O;
 * it checks the deadline and abort signal as it goes.
 */
import { METRIC_NAME, type Labels, withoutMetricName } from '../tsdb/labels.ts';
import type { Queryable } from '../tsdb/storage.ts';
import { withoutStale } from '../tsdb/columns.ts';
import type { AtModifier, Call, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from './ast.ts';
import { evalAggregate } from './aggregate.ts';
import { evalBinary } from './binary.ts';
import { type Annotations, type EvalSeries, type EvalValue, type RangeSeries, type StepContext, execError, stepsOf } from './eval-types.ts';
import { COUNTER_FUNCTIONS, type MutableWindow, evalCall, warnNonCounter } from './functions.ts';
import type { OneStepVector } from './aggregate-fast.ts';
import { RANGE_FUNCTIONS } from './range-functions.ts';
import { MAX_POINTS_PER_SERIES, canceledError, resolutionError, timeoutError, tooManySamplesError } from './errors.ts';
import { positionOf } from './parser.ts';
import type { QueryStats } from './stats.ts';

export interface EvalEnv {
  readonly storage: Queryable;
  readonly lookbackMs: number;
  /** Start and end of the top-level query, for `@ start()` / `@ end()`. */
  readonly queryStart: number;
  readonly queryEnd: number;
  readonly defaultSubqueryStepMs: number;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** Polled with the clock: true when the query must stop (a flag another thread sets). */
  readonly canceled: (() => boolean) | undefined;
  readonly maxSamples: number;
  readonly annotations: Annotations;
  readonly text: string;
  /** Set when the query asked for stats (stats.ts); absent, nothing beyond max_samples is counted. */
  readonly stats?: QueryStats | undefined;
}

/** A range-vector argument: series of raw samples and, per step, the window end. */
export interface RangeArg {
  readonly series: RangeSeries[];
  readonly rangeMs: number;
  /** Window end (ms, inclusive) per step; the window start is end - rangeMs (exclusive). */
  readonly windowEnds: Float64Array;
}

export function dropMetricName(l: Labels): Labels {
  return withoutMetricName(l);
}

export class Evaluator {
  readonly env: EvalEnv;
  private ticks = 0;
  private samplesLoaded = 0;
  private readonly positions = new Map<Expr, string>();

  constructor(env: EvalEnv) {
    this.env = env;
  }

  /** Throws FP_PROMQL_TIMEOUT / FP_PROMQL_CANCELED when the query must stop. Cheap: checks the clock every 256 calls. */
  check(): void {
    if ((++this.ticks & 255) !== 0) return;
    this.checkNow();
  }

  checkNow(): void {
    if (this.env.signal?.aborted === true || this.env.canceled?.() === true) throw canceledError();
    if (performance.now() > this.env.deadline) throw timeoutError();
  }

  /** Adds a warning or info annotation positioned at the node, rendered as Prometheus's API does. */
  annotate(kind: 'warning' | 'info', msg: string, node: Expr): void {
    let pos = this.positions.get(node);
    if (pos === undefined) {
      const { line, column } = positionOf(this.env.text, node.pos.start);
      this.positions.set(node, (pos = `${line}:${column}`));
    }
    const text = `PromQL ${kind}: ${msg} (${pos})`;
    (kind === 'warning' ? this.env.annotations.warnings : this.env.annotations.infos).add(text);
  }

  private countSamples(n: number): void {
    this.samplesLoaded += n;
    if (this.samplesLoaded > this.env.maxSamples) throw tooManySamplesError();
    this.env.stats?.held(this.samplesLoaded);
  }

  /**
   * Refuses a step context before anything is allocated for it: more steps than samples a
   * query may load would fail anyway, and typed arrays of that length may not even exist.
   */
  steps(start: number, end: number, interval: number): StepContext {
    const n = Math.floor((end - start) / interval) + 1;
    if (!Number.isFinite(n) || n > this.env.maxSamples) throw tooManySamplesError();
    return stepsOf(start, end, interval);
  }

  atTime(at: AtModifier | null): number | null {
    if (at === null) return null;
    if (at.kind === 'start') return this.env.queryStart;
    if (at.kind === 'end') return this.env.queryEnd;
    return at.ms;
  }

  eval(e: Expr, ctx: StepContext): EvalValue {
    this.checkNow();
    switch (e.kind) {
      case 'number': return { type: 'scalar', vs: new Float64Array(ctx.steps).fill(e.value) };
      case 'string': return { type: 'string', value: e.value };
      case 'paren': return this.eval(e.expr, ctx);
      case 'unary': {
        const v = this.eval(e.expr, ctx);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', vs: v.vs.map((x) => -x) };
        if (v.type !== 'vector') throw execError('unary minus on a non-numeric value');
        return { type: 'vector', series: v.series.map((s) => ({ metric: s.metric, dropName: true, ts: s.ts, vs: s.vs.map((x) => -x) })) };
      }
      case 'vector_selector': return { type: 'vector', series: this.evalVectorSelector(e, ctx, false) };
      case 'matrix_selector': case 'subquery': return this.evalRangeAsMatrix(e, ctx);
      case 'call': return evalCall(this, e, ctx);
      case 'aggregate': return evalAggregate(this, e, ctx);
      case 'binary': return evalBinary(this, e, ctx);
    }
  }

  /**
   * For an aggregation over one step (a rule, an instant query): its argument as parallel arrays
   * of labels and values instead of one EvalSeries (object and arrays) per series, when it is a
   * vector selector or a range function of a matrix selector (rate(x[2m]), ...) read from columns.
   * Null otherwise, or when stats are collected: the caller evaluates the argument as usual.
   * Values, order, sample counting, checks and annotations are those of the general path.
   */
  evalOneStep(e: Expr, ctx: StepContext): OneStepVector | null {
    if (ctx.steps !== 1 || this.env.stats !== undefined || this.env.storage.selectColumns === undefined) return null;
    while (e.kind === 'paren') e = e.expr;
    if (e.kind === 'vector_selector') {
      this.checkNow();
      return this.oneStepSelector(e, ctx);
    }
    if (e.kind === 'call') return this.oneStepRange(e, ctx);
    return null;
  }

  private oneStepSelector(e: VectorSelector, ctx: StepContext): OneStepVector {
    const ref = (this.atTime(e.at) ?? ctx.start) - e.offsetMs;
    const lookback = this.env.lookbackMs;
    // Transient: read here at once, values copied out.
    const c = this.env.storage.selectColumns!(e.matchers, ref - lookback + 1, ref, true, true);
    const metrics: Labels[] = [];
    const values: number[] = [];
    const { t, v, stale } = c;
    for (let i = 0; i < c.series.length; i++) {
      const lo = c.offsets[i]!;
      const hi = c.offsets[i + 1]!;
      if (hi <= lo) continue;
      this.check();
      let j = hi - 1;
      while (j >= lo && t[j]! > ref) j--;
      if (j < lo || t[j]! <= ref - lookback) continue;
      if (stale !== null && stale[j] === 1) continue;
      this.countSamples(1);
      metrics.push(c.series[i]!.labels);
      values.push(v[j]!);
    }
    return { metrics, values, dropName: false };
  }

  /** rate(x[r]) and the other range functions without scalar parameters, over a matrix selector: applyRange's loop at one step. */
  private oneStepRange(e: Call, ctx: StepContext): OneStepVector | null {
    const def = RANGE_FUNCTIONS.get(e.func);
    if (def === undefined || def.rangeArg !== 0 || e.args.length !== 1) return null;
    let a = e.args[0]!;
    while (a.kind === 'paren') a = a.expr;
    if (a.kind !== 'matrix_selector') return null;
    this.checkNow();
    const end = this.windowEnds(ctx, a.vector.at, a.vector.offsetMs)[0]!;
    const start = end - a.rangeMs;
    // Transient: every window is reduced to a value before the next selection.
    const c = this.env.storage.selectColumns!(a.vector.matchers, start + 1, end, false, true);
    const w: MutableWindow = { ts: c.t, vs: c.v, lo: 0, hi: 0, rangeStart: start, rangeEnd: end, t: ctx.start };
    const noParams: number[] = [];
    const metrics: Labels[] = [];
    const values: number[] = [];
    const counterFn = COUNTER_FUNCTIONS.has(e.func);
    let checkedName: string | undefined;
    for (let i = 0; i < c.series.length; i++) {
      this.check();
      let lo = c.offsets[i]!;
      let hi = c.offsets[i + 1]!;
      if (hi === lo) continue;
      this.countSamples(hi - lo);
      let ts: ArrayLike<number> = c.t;
      let vs: ArrayLike<number> = c.v;
      const stale = c.stale;
      let fresh = true;
      if (stale !== null) for (let j = lo; j < hi && fresh; j++) fresh = stale[j] !== 1;
      if (!fresh) {
        // Rare: stale markers inside the window are left out, as evalMatrixSelector does.
        const f = withoutStale(c, lo, hi);
        if (f.ts.length === 0) continue;
        ts = f.ts;
        vs = f.vs;
        lo = 0;
        hi = f.ts.length;
      }
      // applyRange's window at this step, over the series' samples lo..hi-1.
      let wlo = lo;
      let whi = lo;
      while (whi < hi && ts[whi]! <= end) whi++;
      while (wlo < hi && ts[wlo]! <= start) wlo++;
      if (wlo >= whi) continue;
      w.ts = ts;
      w.vs = vs;
      w.lo = wlo;
      w.hi = whi;
      const r = def.fn(w, noParams);
      if (r === undefined) continue;
      const metric = c.series[i]!.labels;
      metrics.push(metric);
      values.push(r);
      if (counterFn && metric[METRIC_NAME] !== checkedName) {
        checkedName = metric[METRIC_NAME];
        warnNonCounter(this, metric, e.args[0]!);
      }
    }
    return { metrics, values, dropName: def.keepName !== true };
  }

  /** Instant-vector selector over all steps; with sampleTime, values are the sample timestamps in seconds. */
  evalVectorSelector(e: VectorSelector, ctx: StepContext, sampleTime: boolean): EvalSeries[] {
    const at = this.atTime(e.at);
    const first = (at ?? ctx.start) - e.offsetMs;
    const last = (at ?? ctx.end) - e.offsetMs;
    const lookback = this.env.lookbackMs;
    const storage = this.env.storage;
    const out: EvalSeries[] = [];
    // One step: every output series has the same single timestamp, so they share its array.
    const oneStep = ctx.steps === 1 ? [ctx.start] : null;
    if (storage.selectColumns !== undefined) {
      // Transient: values are copied into each output series before the next selection.
      const c = storage.selectColumns(e.matchers, first - lookback + 1, last, first === last, true);
      for (let i = 0; i < c.series.length; i++) {
        const lo = c.offsets[i]!;
        const hi = c.offsets[i + 1]!;
        if (hi > lo) this.selectorSeries(e, ctx, sampleTime, at, c.series[i]!.labels, c.t, c.v, c.stale, lo, hi, oneStep, out);
      }
      return out;
    }
    const selected = first === last && storage.selectLatest !== undefined
      ? storage.selectLatest(e.matchers, first - lookback + 1, last)
      : storage.select(e.matchers, first - lookback + 1, last);
    for (const s of selected) this.selectorSeries(e, ctx, sampleTime, at, s.labels, s.t, s.v, s.stale, 0, s.t.length, oneStep, out);
    return out;
  }

  /** One selected series' values at the steps (samples lo..hi-1 of t/v/stale), appended to out when it has any. */
  private selectorSeries(
    e: VectorSelector, ctx: StepContext, sampleTime: boolean, at: number | null, metric: Labels,
    t: ArrayLike<number>, v: ArrayLike<number>, stale: ArrayLike<number> | null, lo: number, hi: number,
    oneStep: number[] | null, out: EvalSeries[],
  ): void {
    this.check();
    const lookback = this.env.lookbackMs;
    const stats = this.env.stats;
    if (oneStep !== null) {
      const ref = (at ?? ctx.start) - e.offsetMs;
      let j = hi - 1;
      while (j >= lo && t[j]! > ref) j--;
      if (j < lo || t[j]! <= ref - lookback) return;
      if (stale !== null && stale[j] === 1) return;
      if (stats !== undefined) stats.add(ctx, 0, 1);
      this.countSamples(1);
      out.push({ metric, dropName: false, ts: oneStep, vs: [sampleTime ? t[j]! / 1000 : v[j]!] });
      return;
    }
    const ts: number[] = [];
    const vs: number[] = [];
    let j = lo - 1;
    for (let k = 0; k < ctx.steps; k++) {
      this.check();
      const stepT = ctx.start + k * ctx.interval;
      const ref = (at ?? stepT) - e.offsetMs;
      while (j + 1 < hi && t[j + 1]! <= ref) j++;
      if (j < lo || t[j]! <= ref - lookback) continue;
      if (stale !== null && stale[j] === 1) continue;
      ts.push(stepT);
      vs.push(sampleTime ? t[j]! / 1000 : v[j]!);
      if (stats !== undefined) stats.add(ctx, k, 1);
    }
    if (ts.length > 0) {
      this.countSamples(ts.length);
      out.push({ metric, dropName: false, ts, vs });
    }
  }

  windowEnds(ctx: StepContext, at: AtModifier | null, offsetMs: number): Float64Array {
    const atT = this.atTime(at);
    const ends = new Float64Array(ctx.steps);
    for (let k = 0; k < ctx.steps; k++) ends[k] = (atT ?? ctx.start + k * ctx.interval) - offsetMs;
    return ends;
  }

  /** Evaluates a matrix selector or subquery into raw series plus per-step windows. */
  evalRangeArg(e: Expr, ctx: StepContext): RangeArg {
    while (e.kind === 'paren') e = e.expr;
    if (e.kind === 'matrix_selector') return this.evalMatrixSelector(e, ctx);
    if (e.kind === 'subquery') return this.evalSubquery(e, ctx);
    throw execError(`expected a range vector, got ${e.kind}`);
  }

  private evalMatrixSelector(e: MatrixSelector, ctx: StepContext): RangeArg {
    const ends = this.windowEnds(ctx, e.vector.at, e.vector.offsetMs);
    const minEnd = Math.min(ends[0]!, ends[ends.length - 1]!);
    const maxEnd = Math.max(ends[0]!, ends[ends.length - 1]!);
    const storage = this.env.storage;
    const series: RangeSeries[] = [];
    if (storage.selectColumns !== undefined) {
      const c = storage.selectColumns(e.vector.matchers, minEnd - e.rangeMs + 1, maxEnd, false);
      const stale = c.stale;
      for (let i = 0; i < c.series.length; i++) {
        this.check();
        const lo = c.offsets[i]!;
        const hi = c.offsets[i + 1]!;
        if (hi === lo) continue;
        this.countSamples(hi - lo);
        const metric = c.series[i]!.labels;
        let fresh = true;
        if (stale !== null) for (let j = lo; j < hi && fresh; j++) fresh = stale[j] !== 1;
        if (fresh) {
          // Views into the selection's columns: no copy per series.
          series.push({ metric, ts: c.t.subarray(lo, hi), vs: c.v.subarray(lo, hi) });
          continue;
        }
        const f = withoutStale(c, lo, hi);
        if (f.ts.length > 0) series.push({ metric, ts: f.ts, vs: f.vs });
      }
      if (this.env.stats !== undefined) this.countWindows(series, e.rangeMs, ends, ctx);
      return { series, rangeMs: e.rangeMs, windowEnds: ends };
    }
    const selected = storage.select(e.vector.matchers, minEnd - e.rangeMs + 1, maxEnd);
    for (const s of selected) {
      this.check();
      if (s.t.length === 0) continue;
      this.countSamples(s.t.length);
      if (s.stale === null) {
        series.push({ metric: s.labels, ts: s.t, vs: s.v });
        continue;
      }
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = 0; i < s.t.length; i++) if (s.stale[i] !== 1) { ts.push(s.t[i]!); vs.push(s.v[i]!); }
      if (ts.length > 0) series.push({ metric: s.labels, ts, vs });
    }
    if (this.env.stats !== undefined) this.countWindows(series, e.rangeMs, ends, ctx);
    return { series, rangeMs: e.rangeMs, windowEnds: ends };
  }

  /** For stats: per step, the samples of each series inside that step's window (end - range, end]. */
  private countWindows(series: readonly RangeSeries[], rangeMs: number, ends: Float64Array, ctx: StepContext): void {
    const stats = this.env.stats!;
    for (const s of series) {
      const ts = s.ts;
      let lo = 0;
      let hi = 0;
      let lastEnd = -Infinity;
      for (let k = 0; k < ends.length; k++) {
        const end = ends[k]!;
        // Window ends only grow with k (or repeat, under @); restart the cursors when they do not.
        if (end < lastEnd) { lo = 0; hi = 0; }
        lastEnd = end;
        while (hi < ts.length && ts[hi]! <= end) hi++;
        while (lo < hi && ts[lo]! <= end - rangeMs) lo++;
        if (hi > lo) stats.add(ctx, k, hi - lo);
      }
    }
  }

  private evalSubquery(e: SubqueryExpr, ctx: StepContext): RangeArg {
    const ends = this.windowEnds(ctx, e.at, e.offsetMs);
    const outerStart = Math.min(ends[0]!, ends[ends.length - 1]!);
    const outerEnd = Math.max(ends[0]!, ends[ends.length - 1]!);
    const step = e.stepMs > 0 ? e.stepMs : this.env.defaultSubqueryStepMs;
    // Prometheus's per-series resolution limit, applied to each subquery window.
    if (!(Math.floor(e.rangeMs / step) <= MAX_POINTS_PER_SERIES)) throw resolutionError();
    let innerStart = step * Math.trunc((outerStart - e.rangeMs) / step);
    if (innerStart <= outerStart - e.rangeMs) innerStart += step;
    if (innerStart > outerEnd) return { series: [], rangeMs: e.rangeMs, windowEnds: ends };
    // As Prometheus: the inner steps are not counted; the points each outer window sees are (below).
    const stats = this.env.stats;
    if (stats !== undefined) stats.suspended++;
    let inner: EvalValue;
    try {
      inner = this.eval(e.expr, this.steps(innerStart, outerEnd, step));
    } finally {
      if (stats !== undefined) stats.suspended--;
    }
    if (inner.type !== 'vector') throw execError('subquery is only allowed on instant vector');
    const series: RangeSeries[] = inner.series.map((s) => ({ metric: s.dropName ? dropMetricName(s.metric) : s.metric, ts: s.ts, vs: s.vs }));
    if (this.env.stats !== undefined) this.countWindows(series, e.rangeMs, ends, ctx);
    return { series, rangeMs: e.rangeMs, windowEnds: ends };
  }

  /** A matrix at the top of an instant query: the raw samples in (t - range, t]. */
  private evalRangeAsMatrix(e: MatrixSelector | SubqueryExpr, ctx: StepContext): EvalValue {
    if (ctx.steps !== 1) throw execError('invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    const arg = this.evalRangeArg(e, ctx);
    const end = arg.windowEnds[0]!;
    const start = end - arg.rangeMs;
    const series: RangeSeries[] = [];
    for (const s of arg.series) {
      this.check();
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = 0; i < s.ts.length; i++) if (s.ts[i]! > start && s.ts[i]! <= end) { ts.push(s.ts[i]!); vs.push(s.vs[i]!); }
      if (ts.length > 0) series.push({ metric: s.metric, ts, vs });
    }
    return { type: 'matrix', series };
  }
}
