import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, loadRuleFiles, parseRuleFile } from './rulefile.ts';

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
      'r.yml:3:15: group "bad": bad "interval": unknown unit "x" in duration "1x" at character 2 (one of y w d h m s ms) [FP_RULE_DURATION]',
      'r.yml:6:30: group "bad", rule 1, "Broken": could not parse expression: 1:16: parse error: unclosed left parenthesis [FP_RULE_EXPR]',
      'r.yml:8:38: group "bad", rule 1, "Broken": annotation "summary": template: __alert_Broken:1: function "nope" not defined [FP_RULE_TEMPLATE]',
      'r.yml:9:17: group "bad", rule 2, "bad name": invalid recording rule name: bad name [FP_RULE_NAME]',
      'r.yml:15:11: group "bad", rule 3, "ok:rule": could not parse expression: 3:1: parse error: unexpected ")" [FP_RULE_EXPR]',
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
      'r.yml:5:30: group "g", rule 1, "a": could not parse expression: 1:15: parse error: unclosed left parenthesis [FP_RULE_EXPR]',
    ]);
    assert.deepEqual(problems('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: >-\n          up ==\n          == 1\n'), [
      'r.yml:7:11: group "g", rule 1, "A": could not parse expression: 1:7: parse error: unexpected <op:==> [FP_RULE_EXPR]',
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

/** Nine lists, each nine aliases of the one before: 9^7 ≈ 4.8 million leaves once expanded. */
function aliasBomb(): string {
  const lines = ['a: &a [x,x,x,x,x,x,x,x,x]'];
  const names = 'abcdefg';
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]`);
  return `${lines.join('\n')}\ngroups:  *g\n`;
}

describe('hostile rule files', () => {
  it('refuses a 248-byte alias bomb with the alias-count error instead of expanding it', () => {
    const bomb = aliasBomb();
    assert.equal(Buffer.byteLength(bomb), 248);
    const { groups, problems: errs } = parseRuleFile(bomb, 'bomb.yml');
    assert.deepEqual(groups, []);
    assert.equal(errs.length, 1);
    assert.equal(errs[0].code, 'FP_RULE_LIMIT');
    assert.match(errs[0].message, /excessive alias count .* resource exhaustion attack/);
  });

  it('bounds the nodes aliases may add, however few alias uses it takes', () => {
    const big = `[${Array(2000).fill('x').join(',')}]`;
    const text = `groups:\n  - name: g\n    rules: []\n    x: &a ${big}\n    y: [${Array(60).fill('*a').join(',')}]\n`;
    const res = parseRuleFile(text, 'r.yml');
    assert.deepEqual(res.problems.map((p) => [p.code, p.line]), [['FP_RULE_LIMIT', 5]]);
    assert.match(res.problems[0].message, /aliases expand to 120000 more nodes than the file holds \(limit 100000\)/);
  });

  it('refuses aliases that refer to their own anchor, and unknown anchors, with positions', () => {
    assert.deepEqual(problems('groups: &g\n  - name: a\n    rules: *g\n'), ["r.yml:3:12: yaml: anchor 'g' value contains itself [FP_RULE_YAML]"]);
    assert.deepEqual(problems('groups:\n  - name: a\n    rules: &m {<<: *m}\n'), ["r.yml:3:20: yaml: anchor 'm' value contains itself [FP_RULE_YAML]"]);
    assert.deepEqual(problems('groups:\n  - name: a\n    rules: *nope\n'), ["r.yml:3:12: yaml: unknown anchor 'nope' referenced [FP_RULE_YAML]"]);
  });

  it('refuses flow collections nested past the depth limit before the YAML parser recurses into them', () => {
    assert.deepEqual(problems(`groups: ${'['.repeat(100_000)}`), ['r.yml:1:1009: yaml: collections nested deeper than 1000 levels [FP_RULE_LIMIT]']);
  });

  it('parses 10,000 groups with their line numbers, and finds duplicate keys in a 20,000-key map', () => {
    const n = 10_000;
    const text = `groups:\n${Array.from({ length: n }, (_, i) => `  - name: g${i}\n    rules:\n      - record: r:${i}\n        expr: sum by (job) (rate(x_total{i="${i}"}[5m]))\n`).join('')}`;
    const { groups, problems: errs } = parseRuleFile(text, 'r.yml');
    assert.deepEqual(errs, []);
    assert.equal(groups.length, n);
    assert.deepEqual([groups[0].line, groups[n - 1].line, groups[n - 1].rules[0].line], [2, 2 + 4 * (n - 1), 4 + 4 * (n - 1)]);
    const labels = Array.from({ length: 20_000 }, (_, i) => `          k${i % 19_999}: v\n`).join('');
    assert.deepEqual(problems(`groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n${labels}`), [
      'r.yml:20006:11: yaml: Map keys must be unique [FP_RULE_YAML]',
    ]);
  });
});

describe('rule file size limits', () => {
  it('refuses a file over the per-file limit and files over the per-reload limit, and reads the rest', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-rules-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ok = 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n';
    await writeFile(join(dir, 'a.yml'), ok);
    await writeFile(join(dir, 'big.yml'), `${ok}#${'x'.repeat(2000)}\n`);
    await writeFile(join(dir, 'c.yml'), ok.replace('name: g', 'name: h'));
    const paths = ['a.yml', 'big.yml', 'c.yml'].map((f) => join(dir, f));
    const perFile = await loadRuleFiles(paths, { maxFileBytes: 1000 });
    assert.deepEqual(perFile.files.map((f) => f.groups.map((g) => g.name)), [['g'], ['h']]);
    assert.deepEqual(perFile.problems.map((p) => [p.code, p.file, p.message]), [
      ['FP_RULE_LIMIT', paths[1], 'rule file is larger than the limit of 1000 bytes per file (2068 bytes)'],
    ]);
    const perReload = await loadRuleFiles([paths[0], paths[2]], { maxTotalBytes: ok.length + 10 });
    assert.deepEqual(perReload.problems.map((p) => [p.code, p.file]), [['FP_RULE_LIMIT', paths[2]]]);
    assert.match(perReload.problems[0].message, /together are larger than the limit .* per reload \(66 bytes before this file\)/);
  });
});
