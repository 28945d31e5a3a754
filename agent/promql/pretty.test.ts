/**
 * prettify against the behaviour Prometheus's own tests pin down for parser.Prettify
 * (cases rebuilt from the facts of prometheus/prometheus promql/parser/prettier_test.go, which
 * runs them with a 10-character column limit), plus cases at the real limit of 100.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from './parser.ts';
import { prettify } from './pretty.ts';
import { formatExpr } from './format.ts';

const at10: Array<[string, string]> = [
  // Aggregations.
  ['sum(foo)', 'sum(foo)'],
  ['sum by() (task:errors:rate10s{job="s"})', 'sum(\n  task:errors:rate10s{job="s"}\n)'],
  ['sum(task:errors:rate10s{job="s"}) without(job,foo)', 'sum without (job, foo) (\n  task:errors:rate10s{job="s"}\n)'],
  ['topk(10, ask:errors:rate10s{job="s"})', 'topk(\n  10,\n  ask:errors:rate10s{job="s"}\n)'],
  ['sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))', 'sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)'],
  // Binary expressions.
  ['a+b', 'a + b'],
  ['a == bool 1', '  a\n== bool\n  1'],
  ['a + ignoring(job) b', '  a\n+ ignoring (job)\n  b'],
  ['foo_1 + foo_2 + foo_3', '    foo_1\n  +\n    foo_2\n+\n  foo_3'],
  ['foo + baar + foo_3', '  foo + baar\n+\n  foo_3'],
  ['foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4',
    '      foo_1\n    + ignoring (foo)\n      foo_2\n  + ignoring (job) group_left ()\n    foo_3\n+ on (instance) group_right ()\n  foo_4'],
  // Calls.
  ['rate(foo[1m])', 'rate(\n  foo[1m]\n)'],
  ['rate(long_vector_selector[10m:1m] @ start() offset 1m)', 'rate(\n  long_vector_selector[10m:1m] @ start() offset 1m\n)'],
  ['histogram_quantile(0.9, rate(foo[1m]))', 'histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)'],
  ['max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)',
    'max_over_time(\n  rate(\n    demo_api_request_duration_seconds_count[1m]\n  )[1m:] @ start() offset 1m\n)'],
  ['label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")',
    'label_replace(\n  up{job="api-server",service="a:c"},\n  "foo",\n  "$1",\n  "service",\n  "(.*):.*"\n)'],
  // Parentheses.
  ['(foo)', '(foo)'],
  ['((foo_long))', '(\n  (foo_long)\n)'],
  ['((_foo_long_))', '(\n  (\n    _foo_long_\n  )\n)'],
  ['(foo_long + bar_long)', '(\n    foo_long\n  +\n    bar_long\n)'],
  ['(1111 + 2222)', '(\n    1111\n  +\n    2222\n)'],
  // @ and unary operators.
  ['a @ 1', 'a @ 1.000'],
  ['-vector_selector', '-vector_selector'],
  ['(-vector_selector)', '(\n  -vector_selector\n)'],
  ['-histogram_quantile(0.9, -rate(foo[1m] @ start()))', '-histogram_quantile(\n  0.9,\n  -rate(\n    foo[1m] @ start()\n  )\n)'],
  // A mixin alert (monitoring.mixins.dev) with matchers sorted and joined by ",".
  ['(count by (job) (changes(process_start_time_seconds{job="alertmanager"}[10m]) > 4) / count by (job) (up{job="alertmanager"})) >= 0.5',
    '  (\n      count by (job) (\n          changes(\n            process_start_time_seconds{job="alertmanager"}[10m]\n          )\n        >\n          4\n      )\n    /\n      count by (job) (\n        up{job="alertmanager"}\n      )\n  )\n>=\n  0.5'],
];

describe('prettify (Prometheus prettier_test.go facts, 10-character limit)', () => {
  for (const [input, want] of at10) {
    it(JSON.stringify(input), () => {
      assert.equal(prettify(parseExpr(input), 10), want);
    });
  }
});

describe('prettify at the 100-character limit', () => {
  it('keeps an expression of 100 characters on one line and splits one of 101', () => {
    const name = 'm'.repeat(94);
    assert.equal(prettify(parseExpr(`${name} + 1`)).length, 98);
    const q100 = `${'m'.repeat(96)} + 1`;
    assert.equal(q100.length, 100);
    assert.equal(prettify(parseExpr(q100)), q100);
    const q101 = `${'m'.repeat(97)} + 1`;
    assert.equal(prettify(parseExpr(q101)), `  ${'m'.repeat(97)}\n+\n  1`);
  });

  it('splits a long alert expression and parses back to the same expression', () => {
    const q = 'sum by (job, task_name) (rate(flink_taskmanager_job_task_numRecordsIn{job="flink",task_name=~"enrich.*"}[5m])) / on (job) group_left () sum by (job) (flink_jobmanager_numRegisteredTaskManagers)';
    const out = prettify(parseExpr(q));
    assert.equal(out, [
      '  sum by (job, task_name) (',
      // The line's indentation does not count: only the node's own text (86 characters here).
      '    rate(flink_taskmanager_job_task_numRecordsIn{job="flink",task_name=~"enrich.*"}[5m])',
      '  )',
      '/ on (job) group_left ()',
      '  sum by (job) (flink_jobmanager_numRegisteredTaskManagers)',
    ].join('\n'));
    assert.equal(formatExpr(parseExpr(out)), formatExpr(parseExpr(q)));
  });
});
