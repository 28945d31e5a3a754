/**
 * Runs rule unit tests in promtool's format (`promtool test rules`, 2.42 field set):
 * rule_files relative to the test file, evaluation_interval, group_eval_order, and per
 * test group interval, input_series, external_labels/url, alert_rule_test and
 * promql_expr_test. Semantics follow promtool: every group is evaluated at each
 * evaluation step from 0 to the largest eval_time; an alert test compares the firing
 * alerts of the last step at or before its eval_time; expression tests run afterwards
 * as instant queries. Failures are rendered the way promtool renders them.
 */
import { readFile } from 'node:fs/promises';
import { glob } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import { errorMessage } from '../../../common/errors.ts';
import { PromQLEngine } from '../../promql/index.ts';
import { labelsFromRecord, MemoryStorage, compareLabels, type Labels } from '../../tsdb/index.ts';
import { formatPromDuration as formatDuration, parsePromDuration } from '../../../common/duration.ts';
import { AlertingRule } from '../alerting.ts';
import { RuleGroup } from '../group.ts';
import { formatProblem, loadRuleFiles } from '../rulefile.ts';
import { formatFloat } from '../template/index.ts';
import { formatGoDuration } from '../template/values.ts';
import { annotationsFromRecord, engineQueryFunc } from '../types.ts';
import { expandValues, parseSeriesDescription } from './series.ts';

export interface UnitTestResult {
  file: string;
  /** One entry per failed test group (promtool prints each under "FAILED:"). */
  failures: string[][];
  /** Problems that stop the whole file (bad YAML, bad rule files). */
  errors: string[];
}

interface AlertTest { eval_time?: string; alertname: string; exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }> }
interface ExprTest { expr: string; eval_time?: string; exp_samples?: Array<{ labels?: string; value: number | string }> }
interface TestGroup {
  interval?: string;
  name?: string;
  input_series?: Array<{ series: string; values: string }>;
  alert_rule_test?: AlertTest[];
  promql_expr_test?: ExprTest[];
  external_labels?: Record<string, string>;
  external_url?: string;
}

/** Go's labels.Labels.String(): every pair, `__name__` included, in label order. */
function formatLabels(l: Labels): string {
  return '{' + Object.keys(l).sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(', ') + '}';
}

const FILE_FIELDS = ['rule_files', 'evaluation_interval', 'group_eval_order', 'tests'];
const GROUP_FIELDS = ['interval', 'name', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url'];

/** Unknown fields with their line, as Go's yaml.UnmarshalStrict reports them. */
function checkFields(node: unknown, allowed: string[], type: string, lc: LineCounter): string[] {
  if (!isMap(node)) return [];
  const out: string[] = [];
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (allowed.includes(key)) continue;
    const at = (pair.key as YamlNode | null)?.range?.[0] ?? 0;
    out.push(`line ${lc.linePos(at).line}: field ${key} not found in type ${type}`);
  }
  return out;
}

const dur = (s: string | undefined, dflt: number): number => (s === undefined || s === null ? dflt : parsePromDuration(String(s)));

/**
 * Go's yaml decoder fills a string field with a plain scalar's source text, whatever YAML type it
 * resolves to: `values: 0x10` is the string "0x10" (0 repeated 10 times), not 16. Every field of the
 * test file is a string but a sample's value, so plain scalars keep their source text here and
 * `sampleValue` reads values as Go's float64 decoding would.
 */
function keepPlainSource(doc: Document): void {
  visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && node.value !== null && typeof node.value !== 'string' && node.source !== undefined) node.value = node.source;
    },
  });
}

/** A sample value as Go's yaml decodes a float64: YAML's .inf/.nan spellings, otherwise a number. */
function sampleValue(v: unknown): number {
  const s = String(v).trim();
  const special = /^([-+]?)\.(inf|Inf|INF)$/.exec(s);
  if (special !== null) return special[1] === '-' ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  const n = Number(s.replace(/_/g, ''));
  if (s === '' || Number.isNaN(n)) throw new Error(`cannot unmarshal ${JSON.stringify(s)} into a sample value`);
  return n;
}

function laString(items: Array<{ labels: Labels; annotations: Labels }>): string {
  if (items.length === 0) return '[]';
  const one = (x: { labels: Labels; annotations: Labels }): string => `Labels:${formatLabels(x.labels)}\nAnnotations:${formatLabels(x.annotations)}`;
  const indent = (s: string, p: string): string => s.split('\n').join('\n' + p);
  let s = '[\n0:' + indent('\n' + one(items[0]), '  ');
  items.slice(1).forEach((x, i) => (s += ',\n' + String(i + 1) + ':' + indent('\n' + one(x), '  ')));
  return s + '\n]';
}

function sortLA(items: Array<{ labels: Labels; annotations: Labels }>): void {
  items.sort((a, b) => compareLabels(a.labels, b.labels) || compareLabels(a.annotations, b.annotations));
}

function sameLA(a: Array<{ labels: Labels; annotations: Labels }>, b: Array<{ labels: Labels; annotations: Labels }>): boolean {
  return a.length === b.length && a.every((x, i) => compareLabels(x.labels, b[i].labels) === 0 && compareLabels(x.annotations, b[i].annotations) === 0);
}

const sampleString = (s: { labels: Labels; value: number }): string => `${formatLabels(s.labels)} ${formatFloat(s.value, 'E', -1)}`;

/** Runs one test group; returns its failure lines (empty when it passed). */
async function runGroup(tg: TestGroup, ruleFiles: string[], evalIntervalMs: number, rawEvalIntervalMs: number, order: string[]): Promise<string[]> {
  const errs: string[] = [];
  const intervalMs = dur(tg.interval, rawEvalIntervalMs);
  const storage = new MemoryStorage();
  for (const s of tg.input_series ?? []) {
    const labels = parseSeriesDescription(String(s.series));
    expandValues(String(s.values ?? '')).forEach((v, i) => {
      if (v === null) return;
      if (v === 'stale') storage.appendStaleMarker(labels, i * intervalMs);
      else storage.append(labels, i * intervalMs, v);
    });
  }
  const engine = new PromQLEngine(storage);
  const query = engineQueryFunc(engine);
  const { files, problems } = await loadRuleFiles(ruleFiles);
  if (problems.length > 0) return problems.map((p) => `    ${formatProblem(p)}`);
  const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : 0);
  const groups = files.flatMap((f) => f.groups).map((d) => new RuleGroup(d, evalIntervalMs));
  groups.sort((a, b) => rank(a.name) - rank(b.name));
  const externalLabels = labelsFromRecord(tg.external_labels ?? {});
  const externalURL = tg.external_url ?? '';
  // promtool: a missing eval_time is the zero duration.
  const alertTests = [...(tg.alert_rule_test ?? [])].map((t) => ({ ...t, ms: dur(t.eval_time, 0) }));
  const exprTests = [...(tg.promql_expr_test ?? [])].map((t) => ({ ...t, ms: dur(t.eval_time, 0) }));
  const evalTimes = [...new Set(alertTests.map((t) => t.ms))].sort((a, b) => a - b);
  const maxT = Math.max(0, ...alertTests.map((t) => t.ms), ...exprTests.map((t) => t.ms));
  const testName = tg.name ? `    name: ${tg.name},\n` : '';
  let curr = 0;
  for (let ts = 0; ts <= maxT; ts += evalIntervalMs) {
    const evalErrs: string[] = [];
    for (const g of groups) {
      await g.eval(ts, { query, appender: storage, externalLabels, externalURL, resendDelayMs: 60_000 });
      for (const r of g.rules) if (r.lastError !== null) evalErrs.push(`    rule: ${r.name}, time: ${formatGoDuration(ts * 1e6)}, err: ${r.lastError}`);
    }
    if (evalErrs.length > 0) return [...errs, ...evalErrs];
    while (curr < evalTimes.length && ts <= evalTimes[curr] && evalTimes[curr] < ts + evalIntervalMs) {
      const t = evalTimes[curr];
      for (const tc of alertTests.filter((x) => x.ms === t)) {
        const got: Array<{ labels: Labels; annotations: Labels }> = [];
        for (const g of groups) {
          for (const r of g.rules) {
            if (!(r instanceof AlertingRule) || r.name !== tc.alertname) continue;
            for (const a of r.activeAlerts()) if (a.state === 'firing') got.push({ labels: a.labels, annotations: a.annotations });
          }
        }
        const exp = (tc.exp_alerts ?? []).map((a) => ({
          labels: labelsFromRecord({ ...stringify(a.exp_labels), alertname: tc.alertname }),
          annotations: annotationsFromRecord(stringify(a.exp_annotations)),
        }));
        sortLA(got);
        sortLA(exp);
        if (!sameLA(exp, got)) {
          const ind = (s: string): string => s.split('\n').join('\n            ');
          errs.push(`${testName}    alertname: ${tc.alertname}, time: ${formatDuration(t)}, \n        exp:${ind(laString(exp))}, \n        got:${ind(laString(got))}`);
        }
      }
      curr++;
    }
  }
  for (const tc of exprTests) {
    let got: Array<{ labels: Labels; value: number }>;
    try {
      got = (await query(String(tc.expr), tc.ms)).map((s) => ({ labels: s.metric, value: s.value }));
    } catch (err) {
      errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.ms)}, err: ${errorMessage(err)}`);
      continue;
    }
    let exp: Array<{ labels: Labels; value: number }>;
    try {
      // promtool: a missing labels field is the empty label set.
      exp = (tc.exp_samples ?? []).map((s) => ({
        labels: s.labels === undefined || s.labels === null || String(s.labels).trim() === '' ? labelsFromRecord({}) : parseSeriesDescription(String(s.labels)),
        value: sampleValue(s.value),
      }));
    } catch (err) {
      errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.ms)}, err: ${errorMessage(err)}`);
      continue;
    }
    exp.sort((a, b) => compareLabels(a.labels, b.labels));
    got.sort((a, b) => compareLabels(a.labels, b.labels));
    const same = exp.length === got.length && exp.every((e, i) => compareLabels(e.labels, got[i].labels) === 0 && e.value === got[i].value);
    if (!same) {
      const str = (xs: typeof exp): string => (xs.length === 0 ? 'nil' : xs.map(sampleString).join(', '));
      errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.ms)},\n        exp: ${str(exp)}\n        got: ${str(got)}`);
    }
  }
  return errs;
}

function stringify(m: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

/** Runs every test group of one test file. */
export async function runUnitTestFile(file: string): Promise<UnitTestResult> {
  const result: UnitTestResult = { file, failures: [], errors: [] };
  let doc: Record<string, unknown>;
  const lc = new LineCounter();
  try {
    const parsed = parseDocument(await readFile(file, 'utf8'), { lineCounter: lc });
    if (parsed.errors.length > 0) throw parsed.errors[0];
    const root = parsed.contents;
    const testsNode = isMap(root) ? root.get('tests', true) : null;
    const fieldErrs = [
      ...checkFields(root, FILE_FIELDS, 'main.unitTestFile', lc),
      ...(isSeq(testsNode) ? testsNode.items.flatMap((t) => checkFields(t, GROUP_FIELDS, 'main.testGroup', lc)) : []),
    ];
    if (fieldErrs.length > 0) {
      result.errors.push(`yaml: unmarshal errors:\n${fieldErrs.map((e) => `  ${e}`).join('\n')}`);
      return result;
    }
    keepPlainSource(parsed);
    doc = (parsed.toJS() ?? {}) as Record<string, unknown>;
  } catch (err) {
    result.errors.push(errorMessage(err));
    return result;
  }
  try {
    const rawEval = dur(doc.evaluation_interval as string | undefined, 0);
    const evalInterval = rawEval === 0 ? 60_000 : rawEval;
    const ruleFiles: string[] = [];
    for (const pattern of (doc.rule_files as string[] | undefined) ?? []) {
      const p = isAbsolute(pattern) ? pattern : join(dirname(file), pattern);
      const matches: string[] = [];
      for await (const m of glob(p)) matches.push(m);
      ruleFiles.push(...(matches.length > 0 ? matches.sort() : [p]));
    }
    const order = ((doc.group_eval_order as string[] | undefined) ?? []).map(String);
    for (const tg of (doc.tests as TestGroup[] | undefined) ?? []) {
      const errs = await runGroup(tg, ruleFiles, evalInterval, rawEval, order);
      if (errs.length > 0) result.failures.push(errs);
    }
  } catch (err) {
    result.errors.push(errorMessage(err));
  }
  return result;
}

/** Runs test files and prints like promtool; returns the exit code (0 all passed, 1 otherwise). */
export async function runUnitTests(files: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let failed = false;
  for (const f of files) {
    out(`Unit Testing:  ${f}\n`);
    const r = await runUnitTestFile(f);
    const errs = r.errors.length > 0 ? r.errors : r.failures.flat();
    if (errs.length > 0) {
      // promtool: one FAILED header per file, each error on stderr followed by a blank line on stdout.
      failed = true;
      err('  FAILED:\n');
      for (const e of errs) {
        err(`${e}\n`);
        out('\n');
      }
    } else out('  SUCCESS\n');
    out('\n');
  }
  return failed ? 1 : 0;
}
