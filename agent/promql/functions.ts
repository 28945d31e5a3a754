/**
 * The function table (name -> implementation), in the spirit of Prometheus's
 * functions.go: range-vector functions come from range-functions.ts, element-wise math
 * from SIMPLE below, and the few with their own shape (absent, label_replace, sort,
 * histogram_quantile, ...) are handled here. Functions that drop the metric name only
 * flag it (delayed name removal); the engine removes it at the end of the query.
 */
import { METRIC_NAME, labelsFromRecord, type Labels } from '../tsdb/labels.ts';
import { compileAnchoredRegex, type RegexGroups } from '../tsdb/matchers.ts';
import type { Call, Expr, VectorSelector } from './ast.ts';
import { type EvalSeries, type EvalValue, type StepContext, type StepSample, execError } from './eval-types.ts';
import { type Evaluator, type RangeArg } from './evaluator.ts';
import { bucketFraction, bucketQuantile, groupBuckets } from './histogram.ts';
import { isValidLabelName } from './lexical.ts';
import { RANGE_FUNCTIONS, type RangeWindow } from './range-functions.ts';
import { StepAccumulator, StepCursor, stepTime } from './steps.ts';

type Simple = (v: number, p: readonly number[]) => number;

export type MutableWindow = { -readonly [K in keyof RangeWindow]: RangeWindow[K] };

function dateOf(v: number): Date {
  return new Date(Math.trunc(v) * 1000);
}

const SIMPLE: ReadonlyMap<string, Simple> = new Map<string, Simple>([
  ['abs', Math.abs], ['ceil', Math.ceil], ['floor', Math.floor], ['exp', Math.exp], ['sqrt', Math.sqrt],
  ['ln', Math.log], ['log2', Math.log2], ['log10', Math.log10],
  ['sin', Math.sin], ['cos', Math.cos], ['tan', Math.tan], ['asin', Math.asin], ['acos', Math.acos], ['atan', Math.atan],
  ['sinh', Math.sinh], ['cosh', Math.cosh], ['tanh', Math.tanh], ['asinh', Math.asinh], ['acosh', Math.acosh], ['atanh', Math.atanh],
  ['deg', (v) => (v * 180) / Math.PI], ['rad', (v) => (v * Math.PI) / 180],
  ['sgn', (v) => (v < 0 ? -1 : v > 0 ? 1 : v)],
  ['clamp', (v, p) => (p[1]! < p[0]! ? NaN : Math.max(p[0]!, Math.min(p[1]!, v)))],
  ['clamp_min', (v, p) => Math.max(p[0]!, v)],
  ['clamp_max', (v, p) => Math.min(p[0]!, v)],
  ['round', (v, p) => {
    const inv = 1 / (p[0] ?? 1);
    return Math.floor(v * inv + 0.5) / inv;
  }],
  ['day_of_month', (v) => dateOf(v).getUTCDate()],
  ['day_of_week', (v) => dateOf(v).getUTCDay()],
  ['day_of_year', (v) => {
    const d = dateOf(v);
    return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  }],
  ['days_in_month', (v) => {
    const d = dateOf(v);
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  }],
  ['hour', (v) => dateOf(v).getUTCHours()],
  ['minute', (v) => dateOf(v).getUTCMinutes()],
  ['month', (v) => dateOf(v).getUTCMonth() + 1],
  ['year', (v) => dateOf(v).getUTCFullYear()],
]);

function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.expr;
  return e;
}

function scalarArgs(ev: Evaluator, args: readonly Expr[], ctx: StepContext): Float64Array[] {
  return args.map((a) => {
    const v = ev.eval(a, ctx);
    if (v.type !== 'scalar') throw execError('expected a scalar argument');
    return v.vs;
  });
}

function timeVector(ctx: StepContext): EvalSeries {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let k = 0; k < ctx.steps; k++) { ts.push(stepTime(ctx, k)); vs.push(stepTime(ctx, k) / 1000); }
  return { metric: labelsFromRecord({}), dropName: false, ts, vs };
}

function applySimple(ev: Evaluator, e: Call, fn: Simple, ctx: StepContext): EvalValue {
  let series: EvalSeries[];
  if (e.args.length === 0) series = [timeVector(ctx)];
  else {
    const v = ev.eval(e.args[0]!, ctx);
    if (v.type !== 'vector') throw execError(`expected an instant vector in call to ${e.func}`);
    series = v.series;
  }
  const params = scalarArgs(ev, e.args.slice(1), ctx);
  const out: EvalSeries[] = [];
  const p: number[] = new Array(params.length);
  for (const s of series) {
    ev.check();
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < s.ts.length; i++) {
      const k = Math.round((s.ts[i]! - ctx.start) / ctx.interval);
      for (let j = 0; j < params.length; j++) p[j] = params[j]![k]!;
      if (e.func === 'clamp' && p[1]! < p[0]!) continue;
      ts.push(s.ts[i]!);
      vs.push(fn(s.vs[i]!, p));
    }
    if (ts.length > 0) out.push({ metric: s.metric, dropName: true, ts, vs });
  }
  return { type: 'vector', series: out };
}

function applyRange(ev: Evaluator, e: Call, ctx: StepContext): EvalValue {
  const def = RANGE_FUNCTIONS.get(e.func)!;
  const arg = ev.evalRangeArg(e.args[def.rangeArg]!, ctx);
  const params = scalarArgs(ev, e.args.filter((_, i) => i !== def.rangeArg), ctx);
  const p: number[] = new Array(params.length);
  const out: EvalSeries[] = [];
  // One window object, refilled for every series and step (functions read it and return a number).
  const w: MutableWindow = { ts: [], vs: [], lo: 0, hi: 0, rangeStart: 0, rangeEnd: 0, t: 0 };
  // One step: every output series has the same single timestamp, so they share its array.
  const oneStep = ctx.steps === 1 ? [stepTime(ctx, 0)] : null;
  const counterFn = COUNTER_FUNCTIONS.has(e.func);
  let checkedName: string | undefined;
  for (const s of arg.series) {
    ev.check();
    const n = s.ts.length;
    let lo = 0;
    let hi = 0;
    let ts: number[] | null = null;
    let vs: number[] | null = null;
    w.ts = s.ts;
    w.vs = s.vs;
    for (let k = 0; k < ctx.steps; k++) {
      ev.check();
      const end = arg.windowEnds[k]!;
      const start = end - arg.rangeMs;
      if (k > 0 && end < arg.windowEnds[k - 1]!) { lo = 0; hi = 0; }
      while (hi < n && s.ts[hi]! <= end) hi++;
      while (lo < n && s.ts[lo]! <= start) lo++;
      if (lo >= hi) continue;
      for (let j = 0; j < params.length; j++) p[j] = params[j]![k]!;
      const t = stepTime(ctx, k);
      w.lo = lo;
      w.hi = hi;
      w.rangeStart = start;
      w.rangeEnd = end;
      w.t = t;
      const v = def.fn(w, p);
      if (v === undefined) continue;
      if (oneStep !== null) {
        ts = oneStep;
        vs = [v];
        continue;
      }
      (ts ??= []).push(t);
      (vs ??= []).push(v);
    }
    if (ts === null || vs === null) continue;
    out.push({ metric: s.metric, dropName: def.keepName !== true, ts, vs });
    // The hint depends on the metric name only: checked once per run of series with the same name.
    if (counterFn && s.metric[METRIC_NAME] !== checkedName) {
      checkedName = s.metric[METRIC_NAME];
      warnNonCounter(ev, s.metric, e.args[0]!);
    }
  }
  if (e.func === 'quantile_over_time') warnQuantile(ev, e.args[0]!, params[0]!);
  return { type: 'vector', series: out };
}

export const COUNTER_FUNCTIONS: ReadonlySet<string> = new Set(['rate', 'increase']);
const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];

/** Prometheus's hint that rate()/increase() may be applied to something that is not a counter. */
export function warnNonCounter(ev: Evaluator, metric: Labels, node: Expr): void {
  const name = metric[METRIC_NAME];
  if (name === undefined || COUNTER_SUFFIXES.some((x) => name.endsWith(x))) return;
  ev.annotate('info', `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`, node);
}

function warnQuantile(ev: Evaluator, node: Expr, qs: Float64Array): void {
  for (const q of qs) {
    if (Number.isNaN(q) || q < 0 || q > 1) {
      ev.annotate('warning', `quantile value should be between 0 and 1, got ${String(q).replace('Infinity', 'Inf')}`, node);
      return;
    }
  }
}

/** Labels absent() and absent_over_time() give their output: the selector's equality matchers. */
function absentLabels(e: Expr): Labels {
  const inner = unparen(e);
  let vs: VectorSelector | null = null;
  if (inner.kind === 'vector_selector') vs = inner;
  else if (inner.kind === 'matrix_selector') vs = inner.vector;
  if (vs === null) return labelsFromRecord({});
  const rec: Record<string, string> = {};
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (seen.has(m.name)) dup.add(m.name);
    seen.add(m.name);
    if (m.type === '=') rec[m.name] = m.value;
  }
  for (const d of dup) delete rec[d];
  return labelsFromRecord(rec);
}

function absentSeries(labels: Labels, present: boolean[], ctx: StepContext): EvalSeries[] {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let k = 0; k < ctx.steps; k++) if (!present[k]) { ts.push(stepTime(ctx, k)); vs.push(1); }
  return ts.length === 0 ? [] : [{ metric: labels, dropName: false, ts, vs }];
}

function vectorArg(ev: Evaluator, e: Expr, ctx: StepContext): EvalSeries[] {
  const v = ev.eval(e, ctx);
  if (v.type !== 'vector') throw execError('expected an instant vector');
  return v.series;
}

function stringArg(ev: Evaluator, e: Expr, ctx: StepContext): string {
  const v = ev.eval(e, ctx);
  if (v.type !== 'string') throw execError('expected a string');
  return v.value;
}

/** Go regexp.Expand-style template expansion ($1, ${1}, $name, $$). */
function expandTemplate(tpl: string, m: RegexGroups): string {
  return tpl.replace(/\$(\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))/g, (_all, d: string, braced?: string, bare?: string) => {
    if (d === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups[name] ?? '';
  });
}

function relabel(series: EvalSeries[], fn: (l: Labels) => Labels, dst: string): EvalSeries[] {
  return series.map((s) => {
    const metric = fn(s.metric);
    return { metric, dropName: dst === METRIC_NAME ? false : s.dropName, ts: s.ts, vs: s.vs };
  });
}

/** Re-checks that no two series share labels at a step after relabelling. */
function checkUnique(ev: Evaluator, series: EvalSeries[], ctx: StepContext): EvalSeries[] {
  const acc = new StepAccumulator(true);
  const cursor = new StepCursor(series);
  for (let k = 0; k < ctx.steps; k++) {
    ev.check();
    const t = stepTime(ctx, k);
    acc.add(t, cursor.at(t));
  }
  return acc.result();
}

function evalSpecial(ev: Evaluator, e: Call, ctx: StepContext): EvalValue | null {
  switch (e.func) {
    case 'time': {
      const vs = new Float64Array(ctx.steps);
      for (let k = 0; k < ctx.steps; k++) vs[k] = stepTime(ctx, k) / 1000;
      return { type: 'scalar', vs };
    }
    case 'pi': return { type: 'scalar', vs: new Float64Array(ctx.steps).fill(Math.PI) };
    case 'vector': {
      const [s] = scalarArgs(ev, e.args, ctx);
      const series = timeVector(ctx);
      series.vs = Array.from(s!);
      return { type: 'vector', series: [series] };
    }
    case 'scalar': {
      const cursor = new StepCursor(vectorArg(ev, e.args[0]!, ctx));
      const vs = new Float64Array(ctx.steps);
      for (let k = 0; k < ctx.steps; k++) {
        ev.check();
        const samples = cursor.at(stepTime(ctx, k));
        vs[k] = samples.length === 1 ? samples[0]!.v : NaN;
      }
      return { type: 'scalar', vs };
    }
    case 'timestamp': {
      const arg = unparen(e.args[0]!);
      if (arg.kind === 'vector_selector') {
        return { type: 'vector', series: ev.evalVectorSelector(arg, ctx, true).map((s) => ({ ...s, dropName: true })) };
      }
      const series = vectorArg(ev, arg, ctx).map((s) => ({ metric: s.metric, dropName: true, ts: s.ts, vs: s.ts.map((t) => t / 1000) }));
      return { type: 'vector', series };
    }
    case 'absent': {
      const series = vectorArg(ev, e.args[0]!, ctx);
      const present: boolean[] = new Array(ctx.steps).fill(false);
      for (const s of series) for (const t of s.ts) present[Math.round((t - ctx.start) / ctx.interval)] = true;
      return { type: 'vector', series: absentSeries(absentLabels(e.args[0]!), present, ctx) };
    }
    case 'absent_over_time': {
      const arg: RangeArg = ev.evalRangeArg(e.args[0]!, ctx);
      const present: boolean[] = new Array(ctx.steps).fill(false);
      for (const s of arg.series) {
        ev.check();
        for (let k = 0; k < ctx.steps; k++) {
          if (present[k]) continue;
          const end = arg.windowEnds[k]!;
          const start = end - arg.rangeMs;
          for (let i = 0; i < s.ts.length; i++) if (s.ts[i]! > start && s.ts[i]! <= end) { present[k] = true; break; }
        }
      }
      return { type: 'vector', series: absentSeries(absentLabels(e.args[0]!), present, ctx) };
    }
    case 'label_replace': {
      const series = vectorArg(ev, e.args[0]!, ctx);
      const [dst, repl, src, regex] = e.args.slice(1).map((a) => stringArg(ev, a, ctx)) as [string, string, string, string];
      const re = compileAnchoredRegex(regex);
      if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
      const out = relabel(series, (l) => {
        const m = re.exec(l[src] ?? '');
        if (m === null) return l;
        const value = expandTemplate(repl, m);
        return labelsFromRecord({ ...l, [dst]: value });
      }, dst);
      return { type: 'vector', series: checkUnique(ev, out, ctx) };
    }
    case 'label_join': {
      const series = vectorArg(ev, e.args[0]!, ctx);
      const [dst, sep, ...srcs] = e.args.slice(1).map((a) => stringArg(ev, a, ctx)) as [string, string, ...string[]];
      if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
      for (const s of srcs) if (!isValidLabelName(s)) throw execError(`invalid source label name in label_join(): ${s}`);
      const out = relabel(series, (l) => labelsFromRecord({ ...l, [dst]: srcs.map((n) => l[n] ?? '').join(sep) }), dst);
      return { type: 'vector', series: checkUnique(ev, out, ctx) };
    }
    case 'sort': case 'sort_desc': {
      if (ev.env.queryStart !== ev.env.queryEnd) ev.annotate('warning', 'sort is ineffective for range queries since results are always ordered by labels', e);
      const series = [...vectorArg(ev, e.args[0]!, ctx)];
      const desc = e.func === 'sort_desc';
      series.sort((a, b) => {
        const av = a.vs[0]!, bv = b.vs[0]!;
        const an = Number.isNaN(av), bn = Number.isNaN(bv);
        if (an || bn) return an === bn ? 0 : an ? 1 : -1;
        return desc ? bv - av : av - bv;
      });
      return { type: 'vector', series };
    }
    case 'histogram_count': case 'histogram_sum': case 'histogram_avg': case 'histogram_stddev': case 'histogram_stdvar':
      // These read native histograms only; float samples give no output, as in Prometheus.
      vectorArg(ev, e.args[0]!, ctx);
      return { type: 'vector', series: [] };
    case 'histogram_quantile': return histogramFn(ev, e, ctx, 'quantile');
    case 'histogram_fraction': return histogramFn(ev, e, ctx, 'fraction');
    default: return null;
  }
}

function histogramFn(ev: Evaluator, e: Call, ctx: StepContext, kind: 'quantile' | 'fraction'): EvalValue {
  const nScalars = kind === 'quantile' ? 1 : 2;
  const params = scalarArgs(ev, e.args.slice(0, nScalars), ctx);
  const cursor = new StepCursor(vectorArg(ev, e.args[nScalars]!, ctx));
  const acc = new StepAccumulator(true);
  let warned = false;
  for (let k = 0; k < ctx.steps; k++) {
    ev.check();
    const t = stepTime(ctx, k);
    const out: StepSample[] = [];
    const badLe = (name: string, le: string): void =>
      ev.annotate('warning', `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le)}${name === '' ? '' : ` for metric name ${JSON.stringify(name)}`}`, e.args[nScalars]!);
    for (const g of groupBuckets(cursor.at(t), badLe)) {
      if (kind === 'fraction') {
        out.push({ metric: g.metric, dropName: true, v: bucketFraction(params[0]![k]!, params[1]![k]!, g.buckets) });
        continue;
      }
      const q = params[0]![k]!;
      if (!warned && (Number.isNaN(q) || q < 0 || q > 1)) {
        warned = true;
        ev.annotate('warning', `quantile value should be between 0 and 1, got ${String(q).replace('Infinity', 'Inf')}`, e.args[0]!);
      }
      const r = bucketQuantile(q, g.buckets);
      if (r.fixed) ev.annotate('info', 'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)', e.args[1]!);
      out.push({ metric: g.metric, dropName: true, v: r.value });
    }
    acc.add(t, out);
  }
  return { type: 'vector', series: acc.result() };
}

export function evalCall(ev: Evaluator, e: Call, ctx: StepContext): EvalValue {
  if (RANGE_FUNCTIONS.has(e.func)) return applyRange(ev, e, ctx);
  const simple = SIMPLE.get(e.func);
  if (simple !== undefined) return applySimple(ev, e, simple, ctx);
  const special = evalSpecial(ev, e, ctx);
  if (special !== null) return special;
  throw execError(`function ${JSON.stringify(e.func)} is not supported`);
}
