/**
 * Runs one promqltest script against a fresh MemoryStorage and PromQLEngine and
 * reports every eval case as passed, failed (with the reason) or skipped (with the
 * reason). Skipped are only cases that need native histograms (histogram literals in
 * the expectation, or a selector that matches a series loaded with `{{...}}` values) or
 * experimental language features.
 */
import { errorMessage } from '../../../common/errors.ts';
import { formatLabels, labelsFromRecord, labelsKey, type Labels } from '../../tsdb/labels.ts';
import type { LabelMatcher } from '../../tsdb/matchers.ts';
import { MemoryStorage } from '../../tsdb/storage.ts';
import type { Expr } from '../ast.ts';
import { PromQLEngine } from '../engine.ts';
import { parseExpr } from '../parser.ts';
import type { QueryResult } from '../value.ts';
import { parseLabels, parsePoints, parseSeriesLine, splitSeriesLine, type Point } from './notation.ts';
import { type EvalCommand, type Expectation, parseScript } from './script.ts';

export interface CaseResult {
  line: number;
  query: string;
  status: 'passed' | 'failed' | 'skipped';
  reason: string;
}

const EXPERIMENTAL_TOKENS = /\b(limitk|limit_ratio|anchored|smoothed|fill|fill_left|fill_right|info|first_over_time|mad_over_time|ts_of_\w+|double_exponential_smoothing|sort_by_label(?:_desc)?|histogram_quantiles|integral|start_timestamp|min_of|max_of)\b|(?<!@\s*)\b(step|range|start|end)\(\)|\[[^\]]*[+*/%^]|[-+*/]\s*(?:step|range)\(\)|\b(?:offset|@)\s*\(/;
const NATIVE_ONLY_FUNCTIONS = /\bhistogram_(count|sum|avg|stddev|stdvar)\s*\(/;

function selectorsOf(e: Expr, out: LabelMatcher[][]): void {
  switch (e.kind) {
    case 'vector_selector': out.push([...e.matchers]); return;
    case 'matrix_selector': out.push([...e.vector.matchers]); return;
    case 'subquery': case 'paren': case 'unary': selectorsOf(e.expr, out); return;
    case 'call': for (const a of e.args) selectorsOf(a, out); return;
    case 'aggregate': selectorsOf(e.expr, out); if (e.param !== null) selectorsOf(e.param, out); return;
    case 'binary': selectorsOf(e.lhs, out); selectorsOf(e.rhs, out); return;
    default: return;
  }
}

function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  const minNormal = 2.2250738585072014e-308;
  if (a === 0 || b === 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

function matchesText(exp: Expectation, msg: string): boolean {
  if (exp.match === 'any') return true;
  if (exp.match === 'msg') {
    const t = exp.text.replace(/^"(.*)"$/, '$1');
    return msg === exp.text || msg === t || msg.endsWith(': ' + t);
  }
  try {
    return new RegExp(exp.text.replace(/^"(.*)"$/, '$1')).test(msg);
  } catch {
    return false;
  }
}

interface ExpectedSeries { labels: Labels | null; points: Point[] }

function compareResult(cmd: EvalCommand, res: QueryResult): string | null {
  const ordered = cmd.expects.some((e) => e.type === 'ordered');
  const d = res.data;
  if (cmd.expectString !== null) {
    if (d.resultType !== 'string') return `expected string, got ${d.resultType}`;
    return d.result.value === cmd.expectString ? null : `expected string ${JSON.stringify(cmd.expectString)}, got ${JSON.stringify(d.result.value)}`;
  }
  const expected: ExpectedSeries[] = cmd.results.map((r) => {
    if (/^\S+$/.test(r) && !r.includes('{')) {
      const pts = parsePoints(r);
      if (pts.length === 1 && pts[0]!.kind === 'value' && !/^[a-zA-Z_:]/.test(r.replace(/^[+-]/, '').replace(/^(inf|nan)$/i, '0'))) {
        return { labels: null, points: pts };
      }
    }
    const [spec, values] = splitSeriesLine(r);
    return { labels: parseLabels(spec), points: parsePoints(values) };
  });
  if (d.resultType === 'scalar') {
    if (expected.length !== 1 || expected[0]!.labels !== null) return `expected ${expected.length} series, got scalar ${d.result.value}`;
    const p = expected[0]!.points[0]!;
    return p.kind === 'value' && almostEqual(p.v, d.result.value) ? null : `expected scalar ${JSON.stringify(p)}, got ${d.result.value}`;
  }
  if (d.resultType === 'string') return 'unexpected string result';
  type Got = { labels: Labels; ts: number[]; vs: number[] };
  let got: Got[];
  let times: (i: number) => number;
  if (d.resultType === 'vector') {
    got = d.result.map((s) => ({ labels: s.metric, ts: [0], vs: [s.value] }));
    times = () => 0;
  } else if (cmd.instant) {
    const rv = cmd.rangeVector;
    if (rv === null) {
      got = d.result.map((s) => ({ labels: s.metric, ts: s.timestamps, vs: s.values }));
      times = () => NaN;
    } else {
      got = d.result.map((s) => ({ labels: s.metric, ts: s.timestamps, vs: s.values }));
      times = (i) => rv.startMs + i * rv.stepMs;
    }
  } else {
    got = d.result.map((s) => ({ labels: s.metric, ts: s.timestamps, vs: s.values }));
    times = (i) => cmd.startMs + i * cmd.stepMs;
  }
  if (expected.some((e) => e.labels === null)) return `expected a scalar, got ${d.resultType}`;
  if (got.length !== expected.length) {
    return `expected ${expected.length} series, got ${got.length}: ${got.map((g) => formatLabels(g.labels) + ' ' + g.vs.join(',')).join('; ')}`;
  }
  const byKey = new Map(got.map((g, i) => [labelsKey(g.labels), i]));
  for (let i = 0; i < expected.length; i++) {
    const exp = expected[i]!;
    const idx = byKey.get(labelsKey(exp.labels!));
    if (idx === undefined) return `missing series ${formatLabels(exp.labels!)}; got ${got.map((g) => formatLabels(g.labels)).join(', ')}`;
    if (ordered && idx !== i) return `series ${formatLabels(exp.labels!)} at position ${idx}, expected ${i}`;
    const g = got[idx]!;
    const expPts: [number, number][] = [];
    exp.points.forEach((p, j) => { if (p.kind === 'value') expPts.push([times(j), p.v]); });
    if (expPts.length !== g.vs.length) return `series ${formatLabels(exp.labels!)}: expected ${expPts.length} points, got ${g.vs.length} (${g.vs.join(',')})`;
    for (let j = 0; j < expPts.length; j++) {
      const [t, v] = expPts[j]!;
      if (d.resultType !== 'vector' && !Number.isNaN(t) && t !== g.ts[j]) return `series ${formatLabels(exp.labels!)}: point ${j} at ${g.ts[j]}, expected at ${t}`;
      if (!almostEqual(v, g.vs[j]!)) return `series ${formatLabels(exp.labels!)}: expected ${v} at ${t}, got ${g.vs[j]}`;
    }
  }
  return null;
}

function checkAnnotations(cmd: EvalCommand, res: QueryResult): string | null {
  for (const [type, none, list] of [['warn', 'no_warn', res.warnings], ['info', 'no_info', res.infos]] as const) {
    if (cmd.expects.some((e) => e.type === none) && list.length > 0) return `unexpected ${type} annotations: ${list.join('; ')}`;
    const exps = cmd.expects.filter((e) => e.type === type);
    if (exps.length === 0) continue;
    for (const e of exps) if (!list.some((m) => matchesText(e, m))) return `expected ${type} ${e.match} ${JSON.stringify(e.text)}, got ${JSON.stringify(list)}`;
    for (const m of list) if (!exps.some((e) => matchesText(e, m))) return `unexpected ${type} annotation ${JSON.stringify(m)}`;
  }
  return null;
}

export function runScript(text: string): CaseResult[] {
  const storage = new MemoryStorage({ retentionMs: Number.MAX_SAFE_INTEGER, autoRetention: false });
  const engine = new PromQLEngine(storage, { timeoutMs: 30_000 });
  const histograms: Labels[] = [];
  const results: CaseResult[] = [];
  // Set when a load or command could not be read: every eval up to the next `clear` is skipped with this reason,
  // since its data would be incomplete (Prometheus's harness grows notations faster than this reader).
  let unreadable: string | null = null;
  for (const cmd of parseScript(text)) {
    if (cmd.kind === 'clear') {
      storage.clear();
      histograms.length = 0;
      unreadable = null;
      continue;
    }
    if (cmd.kind === 'unsupported') {
      unreadable = `line ${cmd.line}: ${cmd.reason}`;
      continue;
    }
    if (cmd.kind === 'load') {
      // A later line for the same series and time replaces the earlier point, as in Prometheus's harness.
      const bySeries = new Map<string, { labels: Labels; points: Map<number, Point> }>();
      for (const [j, line] of cmd.series.entries()) {
        let s: ReturnType<typeof parseSeriesLine>;
        try {
          s = parseSeriesLine(line);
        } catch (err) {
          unreadable = `load at line ${cmd.line + j + 1} uses a notation this runner does not read (${errorMessage(err)})`;
          continue;
        }
        if (s.histogram) { histograms.push(s.labels); continue; }
        if (cmd.nhcb) nhcbSeries(s.labels, histograms);
        const key = labelsKey(s.labels);
        let entry = bySeries.get(key);
        if (entry === undefined) bySeries.set(key, (entry = { labels: s.labels, points: new Map() }));
        s.points.forEach((p, i) => { if (p.kind !== 'none') entry.points.set(i * cmd.stepMs, p); });
      }
      for (const { labels, points } of bySeries.values()) {
        for (const [t, p] of [...points].sort((a, b) => a[0] - b[0])) {
          if (p.kind === 'value') storage.append(labels, t, p.v);
          else storage.appendStaleMarker(labels, t);
        }
      }
      continue;
    }
    if (unreadable !== null) {
      results.push({ line: cmd.line, query: cmd.query, status: 'skipped', reason: unreadable });
      continue;
    }
    results.push(runEval(engine, cmd, histograms));
  }
  return results;
}

/** load_with_nhcb also loads each classic `x_bucket` family as a native histogram `x`. */
function nhcbSeries(labels: Labels, histograms: Labels[]): void {
  const name = labels['__name__'];
  if (name === undefined || !name.endsWith('_bucket') || labels['le'] === undefined) return;
  const rec: Record<string, string> = { ...labels, __name__: name.slice(0, -'_bucket'.length) };
  delete rec['le'];
  const h = labelsFromRecord(rec);
  if (!histograms.some((x) => labelsKey(x) === labelsKey(h))) histograms.push(h);
}

function skipReason(cmd: EvalCommand, histograms: Labels[]): string | null {
  if (cmd.results.some((r) => r.includes('{{'))) return 'native histogram in the expected result';
  if (EXPERIMENTAL_TOKENS.test(cmd.query)) return 'experimental function or syntax';
  if (NATIVE_ONLY_FUNCTIONS.test(cmd.query)) return 'native-histogram function';
  if (histograms.length === 0) return null;
  let expr: Expr;
  try {
    expr = parseExpr(cmd.query);
  } catch {
    return null;
  }
  const sels: LabelMatcher[][] = [];
  selectorsOf(expr, sels);
  for (const ms of sels) for (const h of histograms) if (ms.every((m) => m.matches(h[m.name] ?? ''))) return `selects native histogram series ${formatLabels(h)}`;
  return null;
}

function runEval(engine: PromQLEngine, cmd: EvalCommand, histograms: Labels[]): CaseResult {
  const base = { line: cmd.line, query: cmd.query };
  const skip = skipReason(cmd, histograms);
  if (skip !== null) return { ...base, status: 'skipped', reason: skip };
  const failExp = cmd.expects.find((e) => e.type === 'fail');
  let res: QueryResult;
  try {
    res = cmd.instant ? engine.instantQuerySync(cmd.query, cmd.atMs) : engine.rangeQuerySync(cmd.query, cmd.startMs, cmd.endMs, cmd.stepMs);
  } catch (err) {
    const msg = errorMessage(err);
    if (failExp === undefined) return { ...base, status: 'failed', reason: `unexpected error: ${msg}` };
    return matchesText(failExp, msg) ? { ...base, status: 'passed', reason: '' } : { ...base, status: 'failed', reason: `error ${JSON.stringify(msg)} does not match ${failExp.match} ${JSON.stringify(failExp.text)}` };
  }
  if (failExp !== undefined) return { ...base, status: 'failed', reason: 'expected the query to fail, it succeeded' };
  let problem: string | null;
  try {
    problem = compareResult(cmd, res) ?? checkAnnotations(cmd, res);
  } catch (err) {
    problem = `bad expectation: ${errorMessage(err)}`;
  }
  if (problem === null && cmd.instant && (res.data.resultType === 'vector' || res.data.resultType === 'scalar')) problem = rangeRecheck(engine, cmd);
  if (problem === null && cmd.instant) problem = atRecheck(engine, cmd);
  return problem === null ? { ...base, status: 'passed', reason: '' } : { ...base, status: 'failed', reason: problem };
}

/** Pins every selector and subquery without `@` to time t. */
function pinAt(e: Expr, t: number): Expr {
  const at = { kind: 'time', ms: t } as const;
  switch (e.kind) {
    case 'vector_selector': return e.at === null ? { ...e, at } : e;
    case 'matrix_selector': return e.vector.at === null ? { ...e, vector: { ...e.vector, at } } : e;
    // Selectors inside a subquery run at the subquery's own steps: pin the subquery only.
    case 'subquery': return e.at === null ? { ...e, at } : e;
    case 'paren': case 'unary': return { ...e, expr: pinAt(e.expr, t) };
    case 'call': return { ...e, args: e.args.map((a) => pinAt(a, t)) };
    case 'aggregate': return { ...e, expr: pinAt(e.expr, t), param: e.param === null ? null : pinAt(e.param, t) };
    case 'binary': return { ...e, lhs: pinAt(e.lhs, t), rhs: pinAt(e.rhs, t) };
    default: return e;
  }
}

/** As Prometheus's harness does, re-runs an instant query with `@ t` on every selector; the result must not change. */
function atRecheck(engine: PromQLEngine, cmd: EvalCommand): string | null {
  if (/\b(time|timestamp)\s*\(|@\s*(start|end)\(\)/.test(cmd.query)) return null;
  let res: QueryResult;
  try {
    res = engine.instantQuerySync(pinAt(parseExpr(cmd.query), cmd.atMs), cmd.atMs);
  } catch (err) {
    return `with @ modifiers: unexpected error: ${errorMessage(err)}`;
  }
  const problem = compareResult(cmd, res);
  return problem === null ? null : `with @ modifiers: ${problem}`;
}

/**
 * As Prometheus's harness does, re-runs an instant query as a range query from t-1m to
 * t+1m (step 1m) and checks that its middle step gives the same result.
 */
function rangeRecheck(engine: PromQLEngine, cmd: EvalCommand): string | null {
  if (/@\s*(start|end)\(\)/.test(cmd.query)) return null;
  let res: QueryResult;
  try {
    res = engine.rangeQuerySync(cmd.query, cmd.atMs - 60_000, cmd.atMs + 60_000, 60_000);
  } catch (err) {
    return `as a range query: unexpected error: ${errorMessage(err)}`;
  }
  if (res.data.resultType !== 'matrix') return 'as a range query: not a matrix';
  const result = res.data.result.flatMap((s) => {
    const i = s.timestamps.indexOf(cmd.atMs);
    return i < 0 ? [] : [{ metric: s.metric, t: cmd.atMs, value: s.values[i]! }];
  });
  const scalarExpected = cmd.results.length === 1 && /^[^{\s]+$/.test(cmd.results[0]!) && !/^[a-zA-Z_:]/.test(cmd.results[0]!.replace(/^[+-]/, '').replace(/^(inf|nan)$/i, '0'));
  const asInstant: QueryResult = scalarExpected && result.length === 1
    ? { data: { resultType: 'scalar', result: { t: cmd.atMs, value: result[0]!.value } }, warnings: [], infos: [] }
    : { data: { resultType: 'vector', result }, warnings: [], infos: [] };
  const problem = compareResult({ ...cmd, expects: cmd.expects.filter((e) => e.type !== 'ordered') }, asInstant);
  return problem === null ? null : `as a range query: ${problem}`;
}
