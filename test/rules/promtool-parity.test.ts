/**
 * flowpilot's rule engine against Prometheus's own: the fixtures in test/rules/fixtures
 * (alert state machine with for/keep_firing_for, ALERTS/ALERTS_FOR_STATE, staleness of
 * recordings and pending alerts, Go-template formatting) pass under `promtool test
 * rules` (Debian's 2.42) and under `flowpilot rules test`, and when an expectation is
 * wrong both runners print the same failure report and exit 1.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(import.meta.dirname, 'fixtures');
const PROMTOOL = '/usr/bin/promtool';
const cli = join(root, 'cli', 'main.ts');

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function needPromtool(t: { skip(msg: string): void }): boolean {
  if (existsSync(PROMTOOL)) return true;
  if (process.env.CI === 'true') assert.fail(`${PROMTOOL} is required under CI (apt-get install prometheus)`);
  t.skip(`${PROMTOOL} not installed (Debian package prometheus)`);
  return false;
}

describe('parity with promtool test rules', () => {
  it('passes every fixture under both runners', async (t) => {
    const tests = (await readdir(fixtures)).filter((f) => f.endsWith('_test.yml')).sort();
    assert.ok(tests.length >= 2);
    const ours = await run(process.execPath, [cli, 'rules', 'test', ...tests], fixtures);
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
    if (!needPromtool(t)) return;
    const theirs = await run(PROMTOOL, ['test', 'rules', ...tests], fixtures);
    assert.equal(theirs.code, 0, theirs.stdout + theirs.stderr);
    assert.equal(ours.stdout, theirs.stdout);
  });

  it('prints the same failure report as promtool when expectations are wrong', async (t) => {
    if (!needPromtool(t)) return;
    const dir = await mkdtemp(join(tmpdir(), 'fp-parity-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await cp(fixtures, dir, { recursive: true });
    const sm = join(dir, 'statemachine_test.yml');
    let text = await readFile(sm, 'utf8');
    text = text.replace("exp_alerts: [{exp_labels: {job: j}, exp_annotations: {summary: lag 200}}]", "exp_alerts: [{exp_labels: {job: k}}]");
    text = text.replace("value: 540}", "value: 541}");
    await writeFile(sm, text);
    const tpl = join(dir, 'templates_test.yml');
    await writeFile(tpl, (await readFile(tpl, 'utf8')).replace('h: "1M"', 'h: "1000k"'));
    const files = ['statemachine_test.yml', 'templates_test.yml'];
    const ours = await run(process.execPath, [cli, 'rules', 'test', ...files], dir);
    const theirs = await run(PROMTOOL, ['test', 'rules', ...files], dir);
    assert.equal(theirs.code, 1);
    assert.equal(ours.code, 1);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.stderr, theirs.stderr);
  });

  it('stops a test group at a rule failing its limit, with the same message', async (t) => {
    if (!needPromtool(t)) return;
    const dir = await mkdtemp(join(tmpdir(), 'fp-parity-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'lim.yml'), 'groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: A\n        expr: g > 1\n');
    await writeFile(join(dir, 'lim_test.yml'), [
      'rule_files: [lim.yml]',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      "      - {series: 'g{i=\"1\"}', values: '0 0 5'}",
      "      - {series: 'g{i=\"2\"}', values: '0 0 5'}",
      '    alert_rule_test:',
      '      - {eval_time: 3m, alertname: A, exp_alerts: []}',
      '',
    ].join('\n'));
    const ours = await run(process.execPath, [cli, 'rules', 'test', 'lim_test.yml'], dir);
    const theirs = await run(PROMTOOL, ['test', 'rules', 'lim_test.yml'], dir);
    assert.equal(theirs.code, 1);
    assert.match(theirs.stderr, /rule: A, time: 2m0s, err: exceeded limit of 1 with 2 alerts/);
    assert.equal(ours.code, 1);
    assert.equal(ours.stderr, theirs.stderr);
    assert.equal(ours.stdout, theirs.stdout);
  });

  describe('facts of promtool\'s own fixtures (test/rules/fixtures/promtool-facts, rebuilt from cmd/promtool/testdata)', () => {
    const facts = join(fixtures, 'promtool-facts');
    for (const file of ['facts_test.yml', 'typing_test.yml', 'multidoc_test.yml']) {
      it(`${file}: both runners pass with the same report`, async (t) => {
        const ours = await run(process.execPath, [cli, 'rules', 'test', file], facts);
        assert.equal(ours.code, 0, ours.stdout + ours.stderr);
        if (!needPromtool(t)) return;
        const theirs = await run(PROMTOOL, ['test', 'rules', file], facts);
        assert.equal(theirs.code, 0, theirs.stdout + theirs.stderr);
        assert.equal(ours.stdout, theirs.stdout);
      });
    }

    it('semantics3_test.yml: flowpilot passes; promtool 2.42 fails exactly where Prometheus 3 made ranges and lookback left-open', async (t) => {
      const ours = await run(process.execPath, [cli, 'rules', 'test', 'semantics3_test.yml'], facts);
      assert.equal(ours.code, 0, ours.stdout + ours.stderr);
      if (!needPromtool(t)) return;
      const theirs = await run(PROMTOOL, ['test', 'rules', 'semantics3_test.yml'], facts);
      assert.equal(theirs.code, 1);
      const failed = [...theirs.stderr.matchAll(/expr: "([^"]+)", time: (\S+),\n\s+exp: ([^\n]+)\n\s+got: ([^\n]+)/g)].map((m) => `${m[1]}@${m[2]} exp ${m[3]} got ${m[4]}`);
      assert.deepEqual(failed, [
        'timestamp(gap)@5m exp nil got {} 0E+00',
        'count_over_time(constant_data[1h])@1h exp {} 6E+01 got {} 6.1E+01',
        'job:probe:count_over_time1m@1m exp {__name__="job:probe:count_over_time1m", job="p"} 6E+01 got {__name__="job:probe:count_over_time1m", job="p"} 6.1E+01',
      ]);
    });
  });
});
