/**
 * Aggregation operators (sum, avg, count, min, max, group, stddev, stdvar, quantile,
 * topk, bottomk, count_values) with by/without grouping, evaluated step by step.
 * Summation is Kahan-compensated and avg switches to an incremental mean on overflow,
 * as Prometheus does.
 */
import { METRIC_NAME, labelsFromRecord, labelsKey, type Labels } from '../tsdb/labels.ts';
import type { AggregateExpr } from './ast.ts';
import { type EvalValue, type StepContext, type StepSample, execError } from './eval-types.ts';
import type { Evaluator } from './evaluator.ts';
import { isValidLabelName } from './lexical.ts';
import { MeanAccumulator, kahanSumInc, quantileOf } from './mathx.ts';
import { StepAccumulator, StepCursor, stepTime } from './steps.ts';
import { formatValue } from './value.ts';
import { FAST_AGGREGATIONS, fastAggregate, groupLabelsOf } from './aggregate-fast.ts';

function groupLabels(l: Labels, e: AggregateExpr): Labels {
  return groupLabelsOf(l, e);
}

interface Group {
  labels: Labels;
  samples: StepSample[];
}

function groupSamples(samples: StepSample[], e: AggregateExpr, cache: Map<Labels, Labels>): Group[] {
  const groups = new Map<string, Group>();
  for (const s of samples) {
    let gl = cache.get(s.metric);
    if (gl === undefined) {
      gl = groupLabels(s.metric, e);
      cache.set(s.metric, gl);
    }
    const key = labelsKey(gl);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { labels: gl, samples: [] }));
    g.samples.push(s);
  }
  return [...groups.values()];
}

/** With by (__name__), a group's name is dropped later if any member's is. */
function anyDropName(g: Group): boolean {
  return METRIC_NAME in g.labels && g.samples.some((s) => s.dropName);
}

function simpleAggregate(op: AggregateExpr['op'], samples: StepSample[]): number {
  switch (op) {
    case 'sum': {
      let s = 0, c = 0;
      for (const x of samples) [s, c] = kahanSumInc(x.v, s, c);
      return s + c;
    }
    case 'avg': {
      const m = new MeanAccumulator();
      for (const x of samples) m.add(x.v);
      return m.value();
    }
    case 'count': return samples.length;
    case 'group': return 1;
    case 'min': {
      let m = samples[0]!.v;
      for (const x of samples) if (x.v < m || Number.isNaN(m)) m = x.v;
      return m;
    }
    case 'max': {
      let m = samples[0]!.v;
      for (const x of samples) if (x.v > m || Number.isNaN(m)) m = x.v;
      return m;
    }
    case 'stddev': case 'stdvar': {
      let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
      for (const x of samples) {
        count++;
        const delta = x.v - (mean + cMean);
        [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
        [aux, cAux] = kahanSumInc(delta * (x.v - (mean + cMean)), aux, cAux);
      }
      const variance = (aux + cAux) / count;
      return op === 'stddev' ? Math.sqrt(variance) : variance;
    }
    default: throw execError(`unsupported aggregation ${op}`);
  }
}

/** Sort for topk (desc) / bottomk (asc) with NaN always last. */
function kOrder(top: boolean): (a: StepSample, b: StepSample) => number {
  return (a, b) => {
    const an = Number.isNaN(a.v), bn = Number.isNaN(b.v);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return top ? b.v - a.v : a.v - b.v;
  };
}

export function evalAggregate(ev: Evaluator, e: AggregateExpr, ctx: StepContext): EvalValue {
  let param: Float64Array | null = null;
  let label = '';
  if (e.param !== null) {
    const p = ev.eval(e.param, ctx);
    if (p.type === 'scalar') param = p.vs;
    else if (p.type === 'string') label = p.value;
  }
  if (e.op === 'count_values' && !isValidLabelName(label)) throw execError(`invalid label name ${JSON.stringify(label)}`);
  if (FAST_AGGREGATIONS.has(e.op)) {
    // One step (rules, instant queries): the argument as labels and values, no series objects.
    const flat = ev.evalOneStep(e.expr, ctx);
    if (flat !== null) {
      const fast = fastAggregate(ev, e, flat, ctx);
      if (fast !== null) return { type: 'vector', series: fast };
    }
  }
  const input = ev.eval(e.expr, ctx);
  if (input.type !== 'vector') throw execError('aggregation over a non-vector');
  const fast = fastAggregate(ev, e, input.series, ctx);
  if (fast !== null) return { type: 'vector', series: fast };
  const cursor = new StepCursor(input.series);
  const acc = new StepAccumulator(false);
  const cache = new Map<Labels, Labels>();
  let warnedQuantile = false;
  for (let k = 0; k < ctx.steps; k++) {
    ev.check();
    const t = stepTime(ctx, k);
    if (param !== null && (e.op === 'topk' || e.op === 'bottomk') && Number.isNaN(param[k]!)) {
      throw execError('Parameter value is NaN');
    }
    const samples = cursor.at(t);
    if (samples.length === 0) continue;
    const out: StepSample[] = [];
    switch (e.op) {
      case 'topk': case 'bottomk': {
        const kk = Math.min(Math.trunc(param![k]!), Number.MAX_SAFE_INTEGER);
        if (kk < 1) break;
        for (const g of groupSamples(samples, e, cache)) out.push(...g.samples.sort(kOrder(e.op === 'topk')).slice(0, kk));
        break;
      }
      case 'quantile': {
        const q = param![k]!;
        if (!warnedQuantile && (Number.isNaN(q) || q < 0 || q > 1)) {
          warnedQuantile = true;
          ev.annotate('warning', `quantile value should be between 0 and 1, got ${formatValue(q)}`, e.param!);
        }
        for (const g of groupSamples(samples, e, cache)) out.push({ metric: g.labels, dropName: anyDropName(g), v: quantileOf(q, g.samples.map((s) => s.v)) });
        break;
      }
      case 'count_values': {
        const groups = new Map<string, StepSample>();
        for (const s of samples) {
          const rec: Record<string, string> = { ...groupLabels(s.metric, e) };
          rec[label] = formatValue(s.v);
          const gl = labelsFromRecord(rec);
          const key = labelsKey(gl);
          const g = groups.get(key);
          if (g === undefined) groups.set(key, { metric: gl, dropName: false, v: 1 });
          else g.v++;
        }
        out.push(...groups.values());
        break;
      }
      default:
        for (const g of groupSamples(samples, e, cache)) out.push({ metric: g.labels, dropName: anyDropName(g), v: simpleAggregate(e.op, g.samples) });
    }
    acc.add(t, out);
  }
  return { type: 'vector', series: acc.result() };
}
