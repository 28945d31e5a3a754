import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseRuleFile } from './rulefile.ts';

function problems(text: string): string[] {
  return parseRuleFile(text, 'r.yml').problems.map((p) => `${formatProblem(p)} [${p.code}]`);
}

describe('rule file loading', () => {
  it('loads groups, intervals, limits, alerting and recording rules', () => {
    const { groups, problems: errs } = parseRuleFile(
      [
        'groups:',
        '  - name: g1',
        '    interval: 30s',
        '    limit: 10',
        '    rules:',
        '      - record: job:up:sum',
        '        expr: sum by (job) (up)',
        '        labels: {team: a}',
        '      - alert: Down',
        '        expr: up == 0',
        '        for: 5m',
        '        keep_firing_for: 1m',
        '        labels: {severity: "1"}',
        '        annotations: {summary: "{{ $labels.job }} down"}',
        '  - name: g2',
        '    rules: []',
      ].join('\n'),
      'r.yml',
    );
    assert.deepEqual(errs, []);
    assert.equal(groups.length, 2);
    assert.equal(groups[0].intervalMs, 30_000);
    assert.equal(groups[0].limit, 10);
    assert.equal(groups[1].intervalMs, null);
    const [rec, alert] = groups[0].rules;
    assert.deepEqual([rec.kind, rec.name, rec.labels, rec.line], ['record', 'job:up:sum', { team: 'a' }, 6]);
    assert.deepEqual([alert.kind, alert.name, alert.forMs, alert.keepFiringForMs, alert.labels.severity], ['alert', 'Down', 300_000, 60_000, '1']);
    assert.ok(alert.annotationTemplates.summary.nodes !== null);
  });

  it('accepts an empty file and a file with no groups', () => {
    assert.deepEqual(problems(''), []);
    assert.deepEqual(problems('groups: []\n'), []);
  });

  it('reports every problem with file:line:col, code and context', () => {
    const text = [
      'groups:', //                                   1
      '  - name: bad', //                             2
      '    interval: 1x', //                          3
      '    rules:', //                                4
      '      - alert: Broken', //                     5
      '        expr: sum(rate(x[5m])', //             6
      '        annotations:', //                      7
      '          summary: "{{ $labels.job | nope }}"', // 8
      '      - record: bad name', //                  9
      '        expr: up', //                          10
      '      - record: ok:rule', //                   11
      '        expr: |', //                           12
      '          sum by (job) (', //                  13
      '            rate(foo[5m]) +', //               14
      '          )', //                               15
      '        for: 1m', //                           16
      '      - alert: X', //                          17
      '        record: y', //                         18
      '        expr: up', //                          19
      '        foo: bar', //                          20
      '      - expr: up', //                          21
      '        labels: {"bad-name": x}', //           22
      '  - name: bad', //                             23
      '    rules: []', //                             24
    ].join('\n');
    assert.deepEqual(problems(text), [
      'r.yml:3:15: group "bad": bad "interval": not a valid duration string: "1x" (use units ms, s, m, h, d, w, y such as 1m30s) [FP_RULE_DURATION]',
      'r.yml:6:30: group "bad", rule 1, "Broken": could not parse expression: 1:16: parse error: unexpected end of input [FP_RULE_EXPR]',
      'r.yml:8:38: group "bad", rule 1, "Broken": annotation "summary": template: __alert_Broken:1: function "nope" not defined [FP_RULE_TEMPLATE]',
      'r.yml:9:17: group "bad", rule 2, "bad name": invalid recording rule name: bad name [FP_RULE_NAME]',
      'r.yml:15:11: group "bad", rule 3, "ok:rule": could not parse expression: 3:1: parse error: unexpected ")\\n" [FP_RULE_EXPR]',
      'r.yml:16:14: group "bad", rule 3, "ok:rule": invalid field \'for\' in recording rule [FP_RULE_FIELD]',
      'r.yml:17:9: group "bad", rule 4, "y": only one of \'record\' and \'alert\' must be set [FP_RULE_KIND]',
      'r.yml:20:9: field foo not found in type rulefmt.RuleNode (allowed: record, alert, expr, for, keep_firing_for, labels, annotations) [FP_RULE_UNKNOWN_FIELD]',
      'r.yml:21:9: group "bad", rule 5, "": one of \'record\' or \'alert\' must be set [FP_RULE_KIND]',
      'r.yml:22:18: group "bad", rule 5, "": invalid label name: bad-name [FP_RULE_LABEL]',
      'r.yml:23:5: groupname: "bad" is repeated in the same file [FP_RULE_GROUP_DUP]',
    ]);
  });

  it('refuses fields Prometheus 2.42 does not know, and YAML errors, with positions', () => {
    assert.deepEqual(problems('groups:\n  - name: g\n    query_offset: 1m\n    rules: []\n'), [
      'r.yml:3:5: field query_offset not found in type rulefmt.RuleGroup (allowed: name, interval, limit, rules) [FP_RULE_UNKNOWN_FIELD]',
    ]);
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        expr: down\n'), [
      'r.yml:6:9: yaml: Map keys must be unique [FP_RULE_YAML]',
    ]);
    assert.deepEqual(problems('groups:\n  - name: ""\n    rules: []\n'), ['r.yml:2:11: Groupname must not be empty [FP_RULE_GROUP_NAME]']);
    assert.deepEqual(problems('groups:\n  - name: g\n    limit: -1\n'), ['r.yml:3:12: group "g": "limit" must be a non-negative integer [FP_RULE_TYPE]']);
  });

  it('maps expression errors inside quoted and folded scalars back to the file', () => {
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - record: a\n        expr: "sum(x) by (job"\n'), [
      'r.yml:5:30: group "g", rule 1, "a": could not parse expression: 1:15: parse error: unexpected end of input [FP_RULE_EXPR]',
    ]);
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: >-\n          up ==\n          == 1\n'), [
      'r.yml:7:11: group "g", rule 1, "A": could not parse expression: 1:7: parse error: unexpected "== 1" [FP_RULE_EXPR]',
    ]);
  });

  it('checks templates of alerting rules only (recording rule labels are plain)', () => {
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        labels: {x: "{{ oops"}\n'), []);
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {x: "ab {{ if 1 }}"}\n'), [
      'r.yml:6:28: group "g", rule 1, "A": label "x": template: __alert_A:1: unexpected EOF: missing {{end}} for {{if}} [FP_RULE_TEMPLATE]',
    ]);
  });

  it('expands YAML aliases and merge keys like yaml.v3 in Go', () => {
    const { groups, problems: errs } = parseRuleFile(
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        labels: &common {severity: warning, team: s}\n' +
        '      - alert: B\n        expr: up == 2\n        labels:\n          <<: *common\n          severity: critical\n      - alert: C\n        expr: up\n        labels: *common\n',
      'r.yml',
    );
    assert.deepEqual(errs, []);
    assert.deepEqual(groups[0].rules.map((r) => r.labels), [
      { severity: 'warning', team: 's' },
      { severity: 'critical', team: 's' },
      { severity: 'warning', team: 's' },
    ]);
  });
});
