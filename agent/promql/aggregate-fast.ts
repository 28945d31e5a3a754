/**
 * The allocation-light path for sum, avg, count, min, max, group, stddev and stdvar: each
 * input series is assigned its group once, then its points are folded straight into flat
 * per-(group, step) accumulators. Additions happen in the same order as the step-by-step
 * path, so results are identical; it only avoids building per-step vectors and groups.
 */
import { METRIC_NAME, labelsFromRecord, type Labels } from '../tsdb/labels.ts';
import type { AggregateExpr } from './ast.ts';
import type { EvalSeries, StepContext } from './eval-types.ts';
import type { Evaluator } from './evaluator.ts';
import { kahanAdd, kahanC } from './mathx.ts';

export const FAST_AGGREGATIONS: ReadonlySet<string> = new Set(['sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar']);

/** Above this many (group, step) cells the step-by-step path is used instead. */
const MAX_CELLS = 4_000_000;

export function groupLabelsOf(l: Labels, e: AggregateExpr): Labels {
  const rec: Record<string, string> = {};
  if (e.without) {
    for (const n in l) if (n !== METRIC_NAME && !e.grouping.includes(n)) rec[n] = l[n]!;
  } else {
    for (const n of e.grouping) if (l[n] !== undefined) rec[n] = l[n];
  }
  return labelsFromRecord(rec);
}

/**
 * Series labels -> group number (equal numbers <=> equal group labels), numbering groups in
 * order of first appearance. With `by`, the names are fixed for the aggregation, so the values
 * alone identify the group (an absent label and an empty one are the same in PromQL): they are
 * looked up level by level in nested maps keyed by the stored label values, which builds no
 * string per series. With `without`, a key string is built.
 */
class GroupIndex {
  private readonly names: string[] | null;
  private readonly excluded: ReadonlySet<string> | null;
  /** by: nested maps, one level per name, numbers at the last level. */
  private readonly root = new Map<string, unknown>();
  /** without: key string -> number. */
  private readonly byKey = new Map<string, number>();
  size = 0;

  constructor(e: AggregateExpr) {
    if (e.without) {
      this.names = null;
      this.excluded = new Set([...e.grouping, METRIC_NAME]);
    } else {
      this.names = [...new Set(e.grouping)].sort();
      this.excluded = null;
    }
  }

  /** The group of l; a new group gets the next number (size before the call). */
  groupOf(l: Labels): number {
    const names = this.names;
    if (names === null) {
      const parts: string[] = [];
      for (const n in l) if (!this.excluded!.has(n)) parts.push(n, l[n]!);
      const key = parts.join('\u0000');
      let g = this.byKey.get(key);
      if (g === undefined) this.byKey.set(key, (g = this.size++));
      return g;
    }
    if (names.length === 0) {
      if (this.size === 0) this.size = 1;
      return 0;
    }
    let level = this.root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const v = l[names[i]!] ?? '';
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    const v = l[names[last]!] ?? '';
    let g = level.get(v) as number | undefined;
    if (g === undefined) level.set(v, (g = this.size++));
    return g;
  }
}

/**
 * An instant vector at a single step (ctx.start), one value per series, in series order: what
 * Evaluator.evalOneStep gives an aggregation instead of one EvalSeries per series.
 */
export interface OneStepVector {
  readonly metrics: Labels[];
  readonly values: number[];
  /** Whether every series' metric name is to be dropped (the same for all: one selector or function). */
  readonly dropName: boolean;
}

/** Returns null when the aggregation is not handled here or would need too many cells. */
export function fastAggregate(ev: Evaluator, e: AggregateExpr, input: EvalSeries[] | OneStepVector, ctx: StepContext): EvalSeries[] | null {
  if (!FAST_AGGREGATIONS.has(e.op)) return null;
  const flat = Array.isArray(input) ? null : input as OneStepVector;
  const series = flat === null ? input as EvalSeries[] : null;
  const length = flat !== null ? flat.metrics.length : series!.length;
  const groups = new GroupIndex(e);
  const groupLabels: Labels[] = [];
  const seriesGroup = new Int32Array(length);
  // A group keeps a metric name only through by (__name__); it is dropped later if any member's is.
  const groupDropName: boolean[] = [];
  for (let i = 0; i < length; i++) {
    const metric = flat !== null ? flat.metrics[i]! : series![i]!.metric;
    // Nothing is allocated per series (unless `without`); label objects are built per group.
    const g = groups.groupOf(metric);
    if (g === groupLabels.length) {
      groupLabels.push(groupLabelsOf(metric, e));
      groupDropName.push(false);
    }
    if ((flat !== null ? flat.dropName : series![i]!.dropName) && METRIC_NAME in groupLabels[g]!) groupDropName[g] = true;
    seriesGroup[i] = g;
  }
  const steps = ctx.steps;
  const cells = groupLabels.length * steps;
  // One step needs a cell per group, fewer than the series already held: never refused.
  if (flat === null && cells > MAX_CELLS) return null;
  const count = new Float64Array(cells);
  const a = new Float64Array(cells); // sum / min / max / mean
  const c = new Float64Array(cells); // Kahan compensation
  const m = e.op === 'avg' || e.op === 'stddev' || e.op === 'stdvar' ? new Float64Array(cells) : null; // mean or aux
  const mc = e.op === 'stddev' || e.op === 'stdvar' ? new Float64Array(cells) : null;
  const incremental = e.op === 'avg' ? new Uint8Array(cells) : null;
  const op = e.op;
  const fold = (cell: number, v: number): void => {
    const n = ++count[cell]!;
    switch (op) {
      case 'sum': a[cell] = kahanAdd(v, a[cell]!, c[cell]!); c[cell] = kahanC; break;
      case 'min': if (n === 1 || v < a[cell]! || Number.isNaN(a[cell]!)) a[cell] = v; break;
      case 'max': if (n === 1 || v > a[cell]! || Number.isNaN(a[cell]!)) a[cell] = v; break;
      case 'avg': addMean(cell, n, v, a, c, m!, incremental!); break;
      case 'stddev': case 'stdvar': {
        // a = mean, c = its compensation, m = aux, mc = its compensation.
        const delta = v - (a[cell]! + c[cell]!);
        a[cell] = kahanAdd(delta / n, a[cell]!, c[cell]!);
        c[cell] = kahanC;
        m![cell] = kahanAdd(delta * (v - (a[cell]! + c[cell]!)), m![cell]!, mc![cell]!);
        mc![cell] = kahanC;
        break;
      }
      default: break;
    }
  };
  if (flat !== null) {
    // One step: series i's value goes to its group's only cell.
    const values = flat.values;
    for (let i = 0; i < length; i++) {
      ev.check();
      fold(seriesGroup[i]!, values[i]!);
    }
  } else {
    for (let i = 0; i < length; i++) {
      ev.check();
      const s = series![i]!;
      const base = seriesGroup[i]! * steps;
      for (let j = 0; j < s.ts.length; j++) fold(base + Math.round((s.ts[j]! - ctx.start) / ctx.interval), s.vs[j]!);
    }
  }
  const out: EvalSeries[] = [];
  for (let g = 0; g < groupLabels.length; g++) {
    ev.check();
    const ts: number[] = [];
    const vs: number[] = [];
    for (let k = 0; k < steps; k++) {
      const cell = g * steps + k;
      const n = count[cell]!;
      if (n === 0) continue;
      ts.push(ctx.start + k * ctx.interval);
      vs.push(finish(op, cell, n, a, c, m, mc, incremental));
    }
    if (ts.length > 0) out.push({ metric: groupLabels[g]!, dropName: groupDropName[g]!, ts, vs });
  }
  return out;
}

/** Prometheus's avg: Kahan sum, switching to an incremental mean once the sum overflows. */
function addMean(cell: number, n: number, v: number, sum: Float64Array, c: Float64Array, mean: Float64Array, inc: Uint8Array): void {
  if (n === 1) {
    sum[cell] = v;
    mean[cell] = v;
    return;
  }
  if (inc[cell] === 0) {
    const s = kahanAdd(v, sum[cell]!, c[cell]!);
    const cc = kahanC;
    if (Number.isFinite(s) || Number.isNaN(s)) {
      sum[cell] = s;
      c[cell] = cc;
      return;
    }
    inc[cell] = 1;
    mean[cell] = sum[cell]! / (n - 1);
    c[cell] = c[cell]! / (n - 1);
  }
  const q = (n - 1) / n;
  mean[cell] = kahanAdd(v / n, q * mean[cell]!, q * c[cell]!);
  c[cell] = kahanC;
}

function finish(op: string, cell: number, n: number, a: Float64Array, c: Float64Array, m: Float64Array | null, mc: Float64Array | null, inc: Uint8Array | null): number {
  switch (op) {
    case 'sum': return a[cell]! + c[cell]!;
    case 'count': return n;
    case 'group': return 1;
    case 'min': case 'max': return a[cell]!;
    case 'avg': return inc![cell] === 1 ? m![cell]! + c[cell]! : (a[cell]! + c[cell]!) / n;
    case 'stdvar': return (m![cell]! + mc![cell]!) / n;
    case 'stddev': return Math.sqrt((m![cell]! + mc![cell]!) / n);
    default: return NaN;
  }
}
