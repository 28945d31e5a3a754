import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowpilotError } from '../../common/errors.ts';
import type { Expr } from './ast.ts';
import { parseExpr } from './parser.ts';

function parseFails(text: string): FlowpilotError {
  try {
    parseExpr(text);
  } catch (err) {
    assert.ok(err instanceof FlowpilotError);
    assert.equal(err.code, 'FP_PROMQL_PARSE');
    return err;
  }
  assert.fail(`expected ${JSON.stringify(text)} not to parse`);
}

function shape(e: Expr): string {
  switch (e.kind) {
    case 'number': return String(e.value);
    case 'string': return JSON.stringify(e.value);
    case 'vector_selector': return `${e.name ?? '{}'}${e.offsetMs !== 0 ? ` offset ${e.offsetMs}` : ''}${e.at !== null ? ' @' : ''}`;
    case 'matrix_selector': return `${shape(e.vector)}[${e.rangeMs}]`;
    case 'subquery': return `${shape(e.expr)}[${e.rangeMs}:${e.stepMs}]${e.offsetMs !== 0 ? ` offset ${e.offsetMs}` : ''}`;
    case 'paren': return `(${shape(e.expr)})`;
    case 'unary': return `${e.op}(${shape(e.expr)})`;
    case 'binary': return `(${shape(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''} ${shape(e.rhs)})`;
    case 'call': return `${e.func}(${e.args.map(shape).join(', ')})`;
    case 'aggregate': return `${e.op}${e.without ? ' without' : ' by'}(${e.grouping.join(',')})(${e.param === null ? '' : shape(e.param) + ', '}${shape(e.expr)})`;
  }
}

describe('parseExpr', () => {
  const cases: [string, string][] = [
    ['-2 ^ 2', '-((2 ^ 2))'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['a - b - c', '((a - b) - c)'],
    ['a or b and c', '(a or (b and c))'],
    ['a > bool b + 1', '(a > bool (b + 1))'],
    ['-a * b', '(-(a) * b)'],
    ['a + b offset 5m', '(a + b offset 300000)'],
    ['-a offset 1m', '-(a offset 60000)'],
    ['x[5m] offset 1m', 'x offset 60000[300000]'],
    ['rate(x[1m:])', 'rate(x[60000:0])'],
    ['sum(x) by (a, b)', 'sum by(a,b)(x)'],
    ['topk without (a) (3, x)', 'topk without(a)(3, x)'],
    ['0x1F + 1e3 + .5 + 2.', '(((31 + 1000) + 0.5) + 2)'],
    ['Inf - -inf', '(Infinity - -Infinity)'],
    ['"a\\tb" ', '"a\\tb"'],
    ['`raw\\n`', '"raw\\\\n"'],
    ['x[1h30m]', 'x[5400000]'],
    ['label_join(x, "d", ",", "a")', 'label_join(x, "d", ",", "a")'],
  ];
  for (const [text, want] of cases) {
    it(`parses ${text} with Prometheus precedence`, () => assert.equal(shape(parseExpr(text)), want));
  }

  it('reports the line, column and offset of a syntax error', () => {
    const err = parseFails('sum(rate(x[5m]))\n  + )');
    assert.equal(err.details?.['line'], 2);
    assert.equal(typeof err.details?.['column'], 'number');
    assert.match(err.message, /^2:\d+: parse error/);
  });

  const bad: [string, RegExp][] = [
    ['rate(x)', /expected type range vector in call to function "rate"/],
    ['1 > 2', /comparisons between scalars must use BOOL modifier/],
    ['x + on(a) group_left(a) y', /must not occur in ON and GROUP clause/],
    ['{a=""}', /at least one non-empty matcher/],
    ['sum(x) offset 5m', /offset modifier must be preceded by/],
    ['x offset 1m offset 2m', /offset may not be set multiple times/],
    ['1 and 2', /set operator "and" not allowed/],
    ['x{a=~"("}', /^1:3: parse error: error parsing regexp: missing closing \): `\^\(\?:\(\)\$`$/],
    ['mad_over_time(x[5m])', /experimental/],
    ['limitk(2, x)', /experimental/],
    ['unknown_fn(x)', /parse error/],
    ['', /no expression/],
  ];
  for (const [text, re] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.match(parseFails(text).message, re));
  }

  it('anchors regex matchers and understands RE2 flag groups', () => {
    const e = parseExpr('x{a=~"(?i)ab", b=~"c|d"}');
    assert.equal(e.kind, 'vector_selector');
    if (e.kind !== 'vector_selector') return;
    const [, a, b] = e.matchers;
    assert.equal(a!.matches('AB'), true);
    assert.equal(a!.matches('abc'), false);
    assert.equal(b!.matches('c'), true);
    assert.equal(b!.matches('cd'), false);
  });
});

describe('formatExpr', () => {
  const exprs = [
    'sum by (job) (rate(flink_records_total{job="etl",vertex=~"src.*"}[5m] offset 1m))',
    'up{instance="a",job="b"} @ 100.000 offset 5m',
    'a + ignoring () group_left () b',
    'label_replace(x, "d\\x00", "\\té", "s", "")',
    'a / on (b) group_left (c) d',
    'topk(3, x) > bool 2',
    'max_over_time(rate(x[1m])[1h30m:1m] @ 100.000)',
    '-x ^ 2 unless ignoring (z) y',
    'histogram_quantile(0.9, sum without (instance) (rate(lat_bucket[5m])))',
  ];
  for (const text of exprs) {
    it(`round-trips ${text}`, async () => {
      const { formatExpr } = await import('./format.ts');
      const once = formatExpr(parseExpr(text));
      assert.equal(once, text);
      assert.equal(formatExpr(parseExpr(once)), once);
    });
  }
});

describe('parse errors in Prometheus\'s words', () => {
  const cases: [string, string][] = [
    ['nosuchfn(up)', '1:1: parse error: unknown function with name "nosuchfn"'],
    ['sum(', '1:5: parse error: unclosed left parenthesis'],
    ['rate(up[5m', '1:11: parse error: unclosed left parenthesis'],
    // Prometheus 2.42 reports it after the parenthesis (its lexer has taken it).
    ['up)', "1:4: parse error: unexpected right parenthesis ')'"],
    ['up{job="a"', '1:11: parse error: unexpected end of input inside braces'],
    ['up[999999999999y]', '1:4: parse error: duration out of range'],
  ];
  for (const [text, message] of cases) {
    it(`${JSON.stringify(text)} fails with ${JSON.stringify(message)}`, () => {
      assert.equal(parseFails(text).message, message);
    });
  }
});
