/**
 * Binary operators: scalar/scalar, vector/scalar and vector/vector with one-to-one,
 * many-to-one and one-to-many matching (on/ignoring/group_left/group_right), the
 * `bool` modifier, and the set operators and/or/unless. Error texts follow Prometheus's.
 */
import { METRIC_NAME, formatLabels, formatLabelsFull, labelsFromRecord, type Labels } from '../tsdb/labels.ts';
import type { BinaryExpr, BinaryOp, VectorMatching } from './ast.ts';
import { type EvalSeries, type EvalValue, type StepContext, type StepSample, execError } from './eval-types.ts';
import type { Evaluator } from './evaluator.ts';
import { StepAccumulator, StepCursor, stepTime } from './steps.ts';

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);

function isComparison(op: BinaryOp): boolean {
  return COMPARISON.has(op);
}

/** Arithmetic result, or for comparisons the lhs value and whether the comparison holds. */
function scalarOp(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+': return l + r;
    case '-': return l - r;
    case '*': return l * r;
    case '/': return l / r;
    case '%': return l % r;
    case '^': return Math.pow(l, r);
    case 'atan2': return Math.atan2(l, r);
    case '==': return l === r ? 1 : 0;
    case '!=': return l !== r ? 1 : 0;
    case '>': return l > r ? 1 : 0;
    case '<': return l < r ? 1 : 0;
    case '>=': return l >= r ? 1 : 0;
    case '<=': return l <= r ? 1 : 0;
    default: throw execError(`operator ${op} not allowed for scalars`);
  }
}

export function evalBinary(ev: Evaluator, e: BinaryExpr, ctx: StepContext): EvalValue {
  const lhs = ev.eval(e.lhs, ctx);
  const rhs = ev.eval(e.rhs, ctx);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const out = new Float64Array(ctx.steps);
    for (let k = 0; k < ctx.steps; k++) out[k] = scalarOp(e.op, lhs.vs[k]!, rhs.vs[k]!);
    return { type: 'scalar', vs: out };
  }
  if (lhs.type === 'vector' && rhs.type === 'scalar') return { type: 'vector', series: vectorScalar(e, lhs.series, rhs.vs, ctx, false) };
  if (lhs.type === 'scalar' && rhs.type === 'vector') return { type: 'vector', series: vectorScalar(e, rhs.series, lhs.vs, ctx, true) };
  if (lhs.type === 'vector' && rhs.type === 'vector') return { type: 'vector', series: vectorVector(ev, e, lhs.series, rhs.series, ctx) };
  throw execError('binary expression must contain only scalar and instant vector types');
}

function vectorScalar(e: BinaryExpr, series: EvalSeries[], scalar: Float64Array, ctx: StepContext, swap: boolean): EvalSeries[] {
  const cmp = isComparison(e.op);
  const dropName = !cmp || e.returnBool;
  const out: EvalSeries[] = [];
  for (const s of series) {
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < s.ts.length; i++) {
      const k = Math.round((s.ts[i]! - ctx.start) / ctx.interval);
      const sv = scalar[k]!;
      const vv = s.vs[i]!;
      const r = swap ? scalarOp(e.op, sv, vv) : scalarOp(e.op, vv, sv);
      if (cmp) {
        if (e.returnBool) { ts.push(s.ts[i]!); vs.push(r); } else if (r === 1) { ts.push(s.ts[i]!); vs.push(vv); }
      } else {
        ts.push(s.ts[i]!);
        vs.push(r);
      }
    }
    if (ts.length > 0) out.push({ metric: s.metric, dropName: s.dropName || dropName, ts, vs });
  }
  return out;
}

/** Signature of a sample's labels for matching. */
function signature(l: Labels, m: VectorMatching): string {
  let s = '';
  if (m.on) {
    for (const n of [...m.labels].sort()) s += n + '\u0000' + (l[n] ?? '') + '\u0000';
    return s;
  }
  for (const n in l) if (n !== METRIC_NAME && !m.labels.includes(n)) s += n + '\u0000' + l[n] + '\u0000';
  return s;
}

function matchGroupLabels(l: Labels, m: VectorMatching): string {
  const rec: Record<string, string> = {};
  if (m.on) {
    for (const n of m.labels) if (l[n] !== undefined) rec[n] = l[n];
  } else for (const n in l) if (n !== METRIC_NAME && !m.labels.includes(n)) rec[n] = l[n]!;
  return formatLabelsFull(labelsFromRecord(rec));
}

function vectorVector(ev: Evaluator, e: BinaryExpr, lhs: EvalSeries[], rhs: EvalSeries[], ctx: StepContext): EvalSeries[] {
  const m = e.matching!;
  const acc = new StepAccumulator(false);
  const lc = new StepCursor(lhs);
  const rc = new StepCursor(rhs);
  for (let k = 0; k < ctx.steps; k++) {
    ev.check();
    const t = stepTime(ctx, k);
    const l = lc.at(t);
    const r = rc.at(t);
    if (l.length === 0 && r.length === 0) continue;
    let res: StepSample[];
    switch (e.op) {
      case 'and': res = setAnd(l, r, m); break;
      case 'or': res = setOr(l, r, m); break;
      case 'unless': res = setUnless(l, r, m); break;
      default: res = matchedBinop(e, l, r, m);
    }
    acc.add(t, res);
  }
  return acc.result();
}

function setAnd(l: StepSample[], r: StepSample[], m: VectorMatching): StepSample[] {
  const sigs = new Set(r.map((s) => signature(s.metric, m)));
  return l.filter((s) => sigs.has(signature(s.metric, m)));
}

function setOr(l: StepSample[], r: StepSample[], m: VectorMatching): StepSample[] {
  const sigs = new Set(l.map((s) => signature(s.metric, m)));
  return [...l, ...r.filter((s) => !sigs.has(signature(s.metric, m)))];
}

function setUnless(l: StepSample[], r: StepSample[], m: VectorMatching): StepSample[] {
  const sigs = new Set(r.map((s) => signature(s.metric, m)));
  return l.filter((s) => !sigs.has(signature(s.metric, m)));
}

function matchedBinop(e: BinaryExpr, lhsIn: StepSample[], rhsIn: StepSample[], m: VectorMatching): StepSample[] {
  const swapped = m.card === 'one-to-many';
  const many = swapped ? rhsIn : lhsIn;
  const one = swapped ? lhsIn : rhsIn;
  if (many.length === 0 || one.length === 0) return [];
  const oneSide = swapped ? 'left' : 'right';
  const oneBySig = new Map<string, StepSample>();
  for (const s of one) {
    const sig = signature(s.metric, m);
    const prev = oneBySig.get(sig);
    if (prev !== undefined) {
      throw execError(`found duplicate series for the match group ${matchGroupLabels(s.metric, m)} on the ${oneSide} hand-side of the operation: [${formatLabelsFull(prev.metric)}, ${formatLabelsFull(s.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`);
    }
    oneBySig.set(sig, s);
  }
  if (m.card === 'one-to-one') {
    const manyBySig = new Map<string, StepSample>();
    for (const s of many) {
      const sig = signature(s.metric, m);
      if (!oneBySig.has(sig)) continue;
      const prev = manyBySig.get(sig);
      if (prev !== undefined) {
        throw execError(`found duplicate series for the match group ${matchGroupLabels(s.metric, m)} on the left hand-side of the operation: [${formatLabelsFull(prev.metric)}, ${formatLabelsFull(s.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`);
      }
      manyBySig.set(sig, s);
    }
  }
  const cmp = isComparison(e.op);
  const out: StepSample[] = [];
  const seen = new Set<string>();
  for (const ms of many) {
    const sig = signature(ms.metric, m);
    const os = oneBySig.get(sig);
    if (os === undefined) continue;
    const lv = swapped ? os.v : ms.v;
    const rv = swapped ? ms.v : os.v;
    let v = scalarOp(e.op, lv, rv);
    if (cmp) {
      if (e.returnBool) { /* v is 0 or 1 */ } else if (v === 1) v = lv;
      else continue;
    }
    const metric = resultMetric(ms.metric, os.metric, m);
    const dropName = ms.dropName || !cmp || e.returnBool;
    if (m.card !== 'one-to-one') {
      const key = formatLabels(metric) + (dropName ? '\u0001' : '');
      if (seen.has(key)) throw execError('multiple matches for labels: grouping labels must ensure unique matches');
      seen.add(key);
    }
    out.push({ metric, dropName, v });
  }
  return out;
}

function resultMetric(many: Labels, one: Labels, m: VectorMatching): Labels {
  if (m.card === 'one-to-one') {
    if (m.on) {
      const rec: Record<string, string> = {};
      for (const n of m.labels) if (many[n] !== undefined) rec[n] = many[n];
      if (many[METRIC_NAME] !== undefined) rec[METRIC_NAME] = many[METRIC_NAME];
      return labelsFromRecord(rec);
    }
    if (m.labels.length === 0) return many;
    const rec: Record<string, string> = { ...many };
    for (const n of m.labels) delete rec[n];
    return labelsFromRecord(rec);
  }
  if (m.include.length === 0) return many;
  const rec: Record<string, string> = { ...many };
  for (const n of m.include) {
    if (one[n] !== undefined) rec[n] = one[n];
    else delete rec[n];
  }
  return labelsFromRecord(rec);
}
