/**
 * Seeded input generators for the fuzz harness: PromQL expressions (typed by grammar, so most
 * parse and reach evaluation, with hostile ranges, steps, regexes and nesting mixed in), rule
 * files (YAML built from groups and rules, in block or flow style, with anchors, aliases and
 * merge keys, then damaged), and Prometheus exposition text. Each generator takes a Rng; the
 * same seed gives the same inputs on every machine. A share of every input is mutated at the
 * character level, so the parsers also meet text no grammar would write.
 */
import { FUNCTION_SIGNATURES } from '../../agent/promql/functions-sig.ts';
import type { ValueType } from '../../agent/promql/ast.ts';

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Character-level damage: deletions, insertions from `alphabet`, duplications, swaps. */
export function mutate(rng: Rng, text: string, alphabet: string): string {
  let s = text;
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(5)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(4));
        break;
      case 1:
        s = s.slice(0, at) + rng.pick([...alphabet]) + s.slice(at);
        break;
      case 2: {
        const len = 1 + rng.int(12);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 3:
        if (at + 1 < s.length) s = s.slice(0, at) + s[at + 1] + s[at] + s.slice(at + 2);
        break;
      default:
        s = s.slice(0, at) + String.fromCharCode(rng.int(0x250)) + s.slice(at);
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// PromQL

const METRICS = ['up', 'http_requests_total', 'req_duration_seconds_bucket', 'gauge_weird', 'flink_taskmanager_job_task_busyTimeMsPerSecond', 'nope', 'job:up:sum'];
const LABELS = ['job', 'instance', 'code', 'le', 'method', '__name__', 'task_name', 'x'];
const VALUES = ['flink', 'a:1', '200', '500', '0.5', '+Inf', 'GET', '', 'up', 'é', 'a"b', 'line\\nbreak'];
const REGEXES = ['.*', '.+', 'a|b', '(a|a)*c', '(a*)*b', '(x+x+)+y', '.*.*.*=.*', '[a-z]{1000}', 'a{1001}', '\\', '(?i)FLINK', '\\p{L}+', '(?P<n>a)', '(?=a)', '[', '*', 'a{2,1}', '\\d+', '(((((((((((a)))))))))))', '^up$', '2..'];
const GOOD_REGEXES = ['.*', '.+', 'a|b', '(a|a)*c', '(a*)*b', '(x+x+)+y', '.*.*.*=.*', '(?i)FLINK', '\\d+', '^up$', '2..', 'a:.*', 'GET|POST', ''];
const DURATIONS = ['0s', '1ms', '1s', '15s', '1m', '5m', '1h', '1h30m', '1d', '1w', '1y', '999999999999y', '10000d', '30s', '2m', '100ms', '0'];
const STEPS = ['', '1ms', '1s', '10s', '1m', '5m', '1h', '0s', '999999999999y'];
const BIN_OPS = ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', 'atan2'];
const SET_OPS = ['and', 'or', 'unless'];
const AGGS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group', 'topk', 'bottomk', 'quantile', 'count_values', 'sum', 'max', 'limitk', 'limit_ratio'];
const NUMBERS = ['0', '1', '-1', '0.5', '1e308', '1e-308', 'NaN', 'Inf', '-Inf', '0x1f', '1e400', '42', '3.14159', '100000000000'];
const FUNCS = [...FUNCTION_SIGNATURES.entries()];
const STABLE_FUNCS = FUNCS.filter(([, sig]) => !sig.experimental);

function str(rng: Rng, xs: readonly string[]): string {
  const v = rng.pick(xs).replace(/\\/g, '\\\\');
  return rng.chance(0.2) ? `'${v.replace(/'/g, "\\'")}'` : `"${v.replace(/"/g, '\\"')}"`;
}

function selector(rng: Rng): string {
  const name = rng.chance(0.85) ? rng.pick(METRICS) : '';
  const n = rng.int(name === '' ? 3 : 3) + (name === '' ? 1 : 0);
  const ms: string[] = [];
  for (let i = 0; i < n; i++) {
    const op = rng.pick(['=', '!=', '=~', '!~']);
    const regexes = rng.chance(0.8) ? GOOD_REGEXES : REGEXES;
    const label = rng.pick(LABELS);
    ms.push(`${label === '__name__' && name !== '' && rng.chance(0.9) ? 'job' : label}${op}${str(rng, op.includes('~') ? regexes : VALUES)}`);
  }
  const body = ms.length > 0 || name === '' ? `{${ms.join(', ')}}` : '';
  return `${name}${body}`;
}

function modifiers(rng: Rng, e: string): string {
  let s = e;
  if (rng.chance(0.15)) s += ` offset ${rng.chance(0.2) ? '-' : ''}${rng.pick(DURATIONS)}`;
  if (rng.chance(0.08)) s += ` @ ${rng.pick(['start()', 'end()', '1700000000', '0', '-1', '1e12', 'NaN'])}`;
  return s;
}

export function promqlExpr(rng: Rng, type: ValueType = 'vector', depth = 0): string {
  if (depth > 5) type = type === 'string' ? 'string' : type === 'matrix' ? 'matrix' : type;
  const leaf = depth > 4 || rng.chance(0.25);
  switch (type) {
    case 'string':
      return str(rng, ['a', 'job', 'le', '$1', '(.*)', 'x']);
    case 'scalar': {
      if (leaf || rng.chance(0.5)) return rng.pick(NUMBERS);
      const k = rng.int(4);
      if (k === 0) return `scalar(${promqlExpr(rng, 'vector', depth + 1)})`;
      if (k === 1) return rng.pick(['time()', 'pi()']);
      if (k === 2) return `(${promqlExpr(rng, 'scalar', depth + 1)} ${rng.pick(BIN_OPS)} ${promqlExpr(rng, 'scalar', depth + 1)})`;
      return `-${promqlExpr(rng, 'scalar', depth + 1)}`;
    }
    case 'matrix': {
      if (leaf || rng.chance(0.6)) return modifiers(rng, `${selector(rng)}[${rng.pick(DURATIONS)}]`);
      return modifiers(rng, `(${promqlExpr(rng, 'vector', depth + 1)})[${rng.pick(DURATIONS)}:${rng.pick(STEPS)}]`);
    }
    default: {
      if (leaf) return modifiers(rng, selector(rng));
      switch (rng.int(7)) {
        case 0:
        case 1: {
          const [name, sig] = rng.pick(rng.chance(0.9) ? STABLE_FUNCS : FUNCS);
          const args = sig.argTypes.map((t) => promqlExpr(rng, t, depth + 1));
          if (sig.variadic !== 0 && rng.chance(0.5)) args.push(promqlExpr(rng, sig.argTypes[sig.argTypes.length - 1]!, depth + 1));
          return `${name}(${args.join(', ')})`;
        }
        case 2: {
          const agg = rng.pick(AGGS);
          const param = ['topk', 'bottomk', 'limitk'].includes(agg) ? `${rng.pick(['1', '2', '0', '-1', '1e9', 'NaN'])}, `
            : ['quantile', 'limit_ratio'].includes(agg) ? `${rng.pick(['0.5', '0.99', '2', '-1', 'NaN'])}, `
              : agg === 'count_values' ? `${str(rng, ['value', 'job', '__name__', '1bad'])}, ` : '';
          const grouping = rng.chance(0.5) ? ` ${rng.pick(['by', 'without'])} (${Array.from({ length: rng.int(3) }, () => rng.pick(LABELS)).join(', ')})` : '';
          return `${agg}${grouping}(${param}${promqlExpr(rng, 'vector', depth + 1)})`;
        }
        case 3: {
          const set = rng.chance(0.25);
          const op = set ? rng.pick(SET_OPS) : rng.pick(BIN_OPS);
          const bool = !set && ['==', '!=', '>', '<', '>=', '<='].includes(op) && rng.chance(0.3) ? ' bool' : '';
          let matching = '';
          if (rng.chance(0.3)) {
            matching = ` ${rng.pick(['on', 'ignoring'])}(${Array.from({ length: rng.int(3) }, () => rng.pick(LABELS)).join(', ')})`;
            if (!set && rng.chance(0.4)) matching += ` ${rng.pick(['group_left', 'group_right'])}(${rng.chance(0.5) ? rng.pick(LABELS) : ''})`;
          }
          const rhs = set || rng.chance(0.6) ? promqlExpr(rng, 'vector', depth + 1) : promqlExpr(rng, 'scalar', depth + 1);
          return `${promqlExpr(rng, 'vector', depth + 1)} ${op}${bool}${matching} ${rhs}`;
        }
        case 4:
          return `(${promqlExpr(rng, 'vector', depth + 1)})`;
        case 5:
          return `-${promqlExpr(rng, 'vector', depth + 1)}`;
        default:
          return modifiers(rng, selector(rng));
      }
    }
  }
}

/** The expressions the issue names, and other known-hostile shapes, mixed into the stream. */
const HOSTILE_PROMQL = [
  'max_over_time(up[1d:1ms])',
  'up[999999999999y:1ms]',
  '{__name__=~"(a|a)*c"}',
  `{__name__=~"${'a'.repeat(100_000)}"}`,
  'sum(rate(http_requests_total[5m:1ms]))',
  'count_over_time(up[1y:1s])',
  'quantile_over_time(0.5, (up)[10000d:1m])',
  `${'('.repeat(3000)}up${')'.repeat(3000)}`,
  `${'-'.repeat(5000)}1`,
  'up' + ' + up'.repeat(2000),
  'label_replace(up, "x", "$1$1$1$1", "job", "(.*)(.*)(.*)(.*)")',
  'topk(1e9, up)',
  'histogram_quantile(0.9, rate(req_duration_seconds_bucket[5m]))',
  'absent_over_time(nope[999999999999y])',
];

export function promqlInput(rng: Rng): string {
  if (rng.chance(0.03)) return rng.pick(HOSTILE_PROMQL);
  const type: ValueType = rng.chance(0.85) ? 'vector' : rng.pick(['scalar', 'matrix', 'string'] as const);
  const e = promqlExpr(rng, type);
  return rng.chance(0.25) ? mutate(rng, e, '(){}[]:,"\'=~!@+-*/^%<>0123456789abcxyz_ .\\\n#') : e;
}

// ---------------------------------------------------------------------------------------------
// Rule files

const TEMPLATES = ['{{ $labels.job }} is down', '{{ $value | humanize }}', '{{ if gt $value 1.0 }}high{{ end }}', '{{ range $i, $x := query "up" }}{{ $x.Value }}{{ end }}',
  '{{ $labels.instance | reReplaceAll "(.*):.*" "$1" }}', '{{ oops', '{{ end }}', '{{ template "x" }}', '{{ printf "%s" (index $labels "job") }}', 'plain text', '{{ humanizeDuration 3600 }}'];
const RULE_EXPRS = ['up == 0', 'sum by (job) (rate(http_requests_total[5m]))', 'histogram_quantile(0.99, sum by (le) (rate(req_duration_seconds_bucket[5m])))', 'max_over_time(up[1d:1ms])', 'sum(', 'up{job=~"(a|a)*c"}'];

function yamlScalar(rng: Rng, s: string): string {
  switch (rng.int(4)) {
    case 0:
      return JSON.stringify(s);
    case 1:
      return `'${s.replace(/'/g, "''")}'`;
    case 2:
      return /^[a-zA-Z_][\w ]*$/.test(s) ? s : JSON.stringify(s);
    default:
      return `|-\n${s.split('\n').map((l) => `              ${l}`).join('\n')}`;
  }
}

export function ruleFileInput(rng: Rng): string {
  if (rng.chance(0.03)) {
    const depth = 3 + rng.int(6);
    const lines = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < depth; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    return `${lines.join('\n')}\ngroups: *${String.fromCharCode(96 + depth)}\n`;
  }
  const groups: string[] = [];
  const nGroups = rng.int(4);
  let anchored = false;
  for (let g = 0; g < nGroups; g++) {
    const lines = [`  - name: ${yamlScalar(rng, rng.pick(['g', 'flink', `group${g}`, '', 'g']))}`];
    if (rng.chance(0.4)) lines.push(`    interval: ${rng.pick(DURATIONS)}`);
    if (rng.chance(0.2)) lines.push(`    limit: ${rng.pick(['0', '10', '-1', 'x', '1.5'])}`);
    if (rng.chance(0.1)) lines.push(`    ${rng.pick(['query_offset', 'labels', 'nope'])}: 1m`);
    lines.push('    rules:');
    const nRules = rng.int(4);
    for (let r = 0; r < nRules; r++) {
      const alert = rng.chance(0.5);
      lines.push(alert ? `      - alert: ${rng.pick(['Down', 'High', 'bad name', ''])}` : `      - record: ${rng.pick(['job:up:sum', 'x', 'bad name', '1x'])}`);
      const expr = rng.chance(0.5) ? rng.pick(RULE_EXPRS) : promqlExpr(rng, 'vector', 2);
      lines.push(`        expr: ${yamlScalar(rng, expr)}`);
      if (rng.chance(0.4)) lines.push(`        for: ${rng.pick(DURATIONS)}`);
      if (rng.chance(0.1)) lines.push(`        keep_firing_for: ${rng.pick(DURATIONS)}`);
      if (rng.chance(0.5)) {
        if (anchored && rng.chance(0.3)) lines.push('        labels: *common');
        else if (anchored && rng.chance(0.3)) lines.push('        labels:\n          <<: *common\n          severity: critical');
        else {
          lines.push(`        labels: ${!anchored && rng.chance(0.4) ? ((anchored = true), '&common ') : ''}{severity: ${rng.pick(['warning', '"1"', 'x'])}, ${rng.pick(['team', 'bad-label', '__x'])}: ${JSON.stringify(rng.pick(TEMPLATES))}}`);
        }
      }
      if (rng.chance(0.5)) lines.push(`        annotations:\n          summary: ${yamlScalar(rng, rng.pick(TEMPLATES))}`);
    }
    groups.push(lines.join('\n'));
  }
  let text = nGroups === 0 && rng.chance(0.5) ? rng.pick(['', 'groups: []\n', 'groups:\n', '---\n', 'x: 1\n', '[]\n']) : `groups:\n${groups.join('\n')}\n`;
  if (rng.chance(0.05)) text += '---\ngroups: [{name: second}]\n';
  return rng.chance(0.35) ? mutate(rng, text, ' :-\n\t{}[],&*!|>\'"#%@`<<abc123') : text;
}

// ---------------------------------------------------------------------------------------------
// Exposition text

const EXPO_VALUES = ['1', '0', '-1', '1.5e3', 'NaN', '+Inf', '-Inf', 'Inf', 'nan', '1e400', '0x10', '1_000', '', 'abc', '9007199254740993', '.5', '5.', '+1', '--1'];
const EXPO_TS = ['', ' 1700000000000', ' -1', ' 1.5', ' 99999999999999999999', ' abc', ' 0'];
const LABEL_VALUES = ['a', '', 'with space', 'quote\\"d', 'back\\\\slash', 'new\\nline', 'bad\\escape', 'é', '\u2028', 'trailing\\'];

export function expositionInput(rng: Rng): string {
  const lines: string[] = [];
  const n = 1 + rng.int(12);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(['up', 'http_requests_total', 'x:y', 'req_seconds_bucket', 'bad-name', '9x', '_', 'a'.repeat(1 + rng.int(300))]);
    switch (rng.int(5)) {
      case 0:
        lines.push(`# HELP ${name} ${rng.pick(['help text', 'with \\\\ and \\n', '', 'ünïcode'])}`);
        break;
      case 1:
        lines.push(`# TYPE ${name} ${rng.pick(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'bogus', ''])}`);
        break;
      case 2:
        lines.push(rng.pick(['', '#', '# random comment', '   ', '\t']));
        break;
      default: {
        const nl = rng.int(4);
        const ls: string[] = [];
        for (let j = 0; j < nl; j++) ls.push(`${rng.pick(['job', 'le', 'instance', 'job', '__name__', '1bad', 'a-b'])}="${rng.pick(LABEL_VALUES)}"`);
        const labels = nl > 0 || rng.chance(0.2) ? `{${ls.join(rng.pick([',', ', ', ' , ']))}${rng.chance(0.1) ? ',' : ''}}` : '';
        lines.push(`${name}${labels}${rng.pick([' ', '\t', '  '])}${rng.pick(EXPO_VALUES)}${rng.pick(EXPO_TS)}`);
      }
    }
  }
  const text = lines.join(rng.chance(0.05) ? '\r\n' : '\n') + (rng.chance(0.8) ? '\n' : '');
  return rng.chance(0.3) ? mutate(rng, text, '{}",=#\\ \n\t+-.eE0123456789abc_:') : text;
}

export const GENERATORS = { promql: promqlInput, rules: ruleFileInput, exposition: expositionInput } as const;
export type FuzzTarget = keyof typeof GENERATORS;
