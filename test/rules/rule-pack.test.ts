/**
 * The default rule pack (rules/*.yml) must load in Prometheus and in flowpilot alike:
 * `promtool check rules` and `flowpilot rules check` accept it, its unit tests
 * (rules/tests/*.yml) pass under both `promtool test rules` and `flowpilot rules test`,
 * every alert has a severity, a runbook and at least one firing test, and a broken
 * expectation makes both runners fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const rulesDir = join(root, 'rules');
const testsDir = join(rulesDir, 'tests');
const PROMTOOL = '/usr/bin/promtool';
const node = process.execPath;
const cli = join(root, 'cli', 'main.ts');

function run(cmd: string, args: string[], cwd = root): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

async function ymls(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yml')).sort().map((f) => join(dir, f));
}

const promtoolMissing = !existsSync(PROMTOOL);
function needPromtool(t: { skip(msg: string): void }): boolean {
  if (!promtoolMissing) return true;
  if (process.env.CI === 'true') assert.fail(`${PROMTOOL} is required under CI (apt-get install prometheus)`);
  t.skip(`${PROMTOOL} not installed (Debian package prometheus)`);
  return false;
}

describe('the default rule pack', () => {
  it('passes promtool check rules and flowpilot rules check with the same rule count', async (t) => {
    const files = await ymls(rulesDir);
    assert.ok(files.length >= 3);
    const ours = await run(node, [cli, 'rules', 'check', ...files]);
    assert.equal(ours.code, 0, ours.out);
    if (!needPromtool(t)) return;
    const theirs = await run(PROMTOOL, ['check', 'rules', ...files]);
    assert.equal(theirs.code, 0, theirs.out);
    const counts = (s: string): string[] => [...s.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => m[1]);
    assert.deepEqual(counts(ours.out), counts(theirs.out));
  });

  it('passes its unit tests under flowpilot rules test and promtool test rules', async (t) => {
    const tests = await ymls(testsDir);
    const ours = await run(node, [cli, 'rules', 'test', ...tests]);
    assert.equal(ours.code, 0, ours.out);
    assert.equal([...ours.out.matchAll(/SUCCESS/g)].length, tests.length);
    if (!needPromtool(t)) return;
    const theirs = await run(PROMTOOL, ['test', 'rules', ...tests]);
    assert.equal(theirs.code, 0, theirs.out);
  });

  it('gives every alert a severity, a runbook, a valid flowpilot_action and a firing unit test', async () => {
    const tested = new Set<string>();
    for (const f of await ymls(testsDir)) {
      const doc = parse(await readFile(f, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> };
      for (const tg of doc.tests) for (const a of tg.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) tested.add(a.alertname);
    }
    let alerts = 0;
    for (const f of await ymls(rulesDir)) {
      const doc = parse(await readFile(f, 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
      for (const g of doc.groups) {
        for (const r of g.rules) {
          if (typeof r.alert !== 'string') continue;
          alerts++;
          const labels = (r.labels ?? {}) as Record<string, string>;
          const ann = (r.annotations ?? {}) as Record<string, string>;
          assert.match(labels.severity ?? '', /^(critical|warning|info)$/, `${r.alert} severity`);
          assert.ok(ann.runbook_url?.includes(`#${r.alert.toLowerCase()}`), `${r.alert} runbook_url`);
          assert.ok(ann.summary, `${r.alert} summary`);
          if (labels.flowpilot_action !== undefined) assert.match(labels.flowpilot_action, /^(block|scale_up|scale_down)$/);
          assert.ok(tested.has(r.alert), `${r.alert} has no unit test that expects it to fire`);
        }
      }
    }
    assert.ok(alerts >= 20, `only ${alerts} alerts`);
  });

  it('fails under both runners when an expected annotation is wrong', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-rulepack-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await cp(rulesDir, join(dir, 'rules'), { recursive: true });
    const file = join(dir, 'rules', 'tests', 'flink-alerts_test.yml');
    const text = await readFile(file, 'utf8');
    const broken = text.replace('summary: Map of orders is back-pressured (800 ms/s)', 'summary: Map of orders is back-pressured (801 ms/s)');
    assert.notEqual(broken, text);
    await writeFile(file, broken);
    const ours = await run(node, [cli, 'rules', 'test', file]);
    assert.equal(ours.code, 1);
    assert.match(ours.out, /alertname: FlinkSustainedBackpressure, time: 7m/);
    assert.match(ours.out, /summary="Map of orders is back-pressured \(800 ms\/s\)"/);
    if (!needPromtool(t)) return;
    const theirs = await run(PROMTOOL, ['test', 'rules', file]);
    assert.equal(theirs.code, 1);
    assert.match(theirs.out, /alertname: FlinkSustainedBackpressure, time: 7m/);
  });
});
