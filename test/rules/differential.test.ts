/**
 * Differential test of the alert state machine against Prometheus 2.42: random series
 * (gaps, staleness markers, threshold crossings) and rules with random `for` and
 * `keep_firing_for` are written as a promtool unit-test file whose expectations are all
 * empty, so both runners report what they actually computed (firing alerts with their
 * annotations, ALERTS, ALERTS_FOR_STATE and recordings at every minute). The two reports
 * must be byte-identical. Only instant selectors are used, so the 2.x/3.x range-boundary
 * change cannot cause a difference; seeds are fixed so a failure reproduces.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROMTOOL = '/usr/bin/promtool';
const cli = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const MINUTES = 24;

function scenario(seed: number): { rules: string; test: string } {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const alerts: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const name = `A${i}`;
    names.push(name);
    const forD = pick(['0s', '1m', '2m', '3m']);
    const kff = pick(['0s', '0s', '1m', '2m']);
    const threshold = pick([3, 5, 7]);
    const expr = i === 3 ? `job:g:sum > ${threshold * 2}` : `g > ${threshold}`;
    alerts.push(
      `      - alert: ${name}\n        expr: ${expr}\n        for: ${forD}\n        keep_firing_for: ${kff}\n` +
        `        labels: {level: '{{ if gt $value ${threshold + 2}.0 }}high{{ else }}low{{ end }}'}\n` +
        `        annotations: {v: '{{ $value }} {{ $value | humanize }}', who: '{{ $labels.inst }}'}\n`,
    );
  }
  const rules = `groups:\n  - name: rec\n    rules:\n      - record: job:g:sum\n        expr: sum by (job) (g)\n  - name: alerts\n    rules:\n${alerts.join('')}`;
  const series: string[] = [];
  for (const inst of ['1', '2', '3']) {
    const vals: string[] = [];
    let gap = 0;
    for (let m = 0; m <= MINUTES; m++) {
      const x = r();
      if (x < 0.08 && gap < 3) {
        vals.push('_');
        gap++;
      } else if (x < 0.11) {
        vals.push('stale');
        gap = 0;
      } else {
        vals.push(String(Math.floor(r() * 10) + (r() < 0.3 ? 0.5 : 0)));
        gap = 0;
      }
    }
    series.push(`      - series: 'g{job="j",inst="${inst}"}'\n        values: '${vals.join(' ')}'`);
  }
  const alertTests: string[] = [];
  const exprTests: string[] = [];
  for (let m = 0; m <= MINUTES; m++) {
    for (const n of names) alertTests.push(`      - {eval_time: ${m}m, alertname: ${n}, exp_alerts: []}`);
    for (const e of ['ALERTS', 'ALERTS_FOR_STATE', 'job:g:sum']) exprTests.push(`      - {expr: '${e}', eval_time: ${m}m, exp_samples: []}`);
  }
  // promtool orders groups through a Go map unless group_eval_order is given: fix the order.
  const test = `rule_files: [rules.yml]\nevaluation_interval: 1m\ngroup_eval_order: [rec, alerts]\ntests:\n  - interval: 1m\n    input_series:\n${series.join('\n')}\n` +
    `    alert_rule_test:\n${alertTests.join('\n')}\n    promql_expr_test:\n${exprTests.join('\n')}\n`;
  return { rules, test };
}

describe('differential test against promtool', () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    it(`computes the same alerts, ALERTS series and recordings as Prometheus 2.42 (seed ${seed})`, async (t) => {
      if (!existsSync(PROMTOOL)) {
        if (process.env.CI === 'true') assert.fail(`${PROMTOOL} is required under CI`);
        t.skip(`${PROMTOOL} not installed (Debian package prometheus)`);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'fp-diff-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const { rules, test } = scenario(seed);
      await writeFile(join(dir, 'rules.yml'), rules);
      await writeFile(join(dir, 'test.yml'), test);
      const theirs = await run(PROMTOOL, ['test', 'rules', 'test.yml'], dir);
      const ours = await run(process.execPath, [cli, 'rules', 'test', 'test.yml'], dir);
      assert.equal(theirs.code, 1, 'the scenario should make promtool report something');
      assert.match(theirs.stderr, /alertname: A\d, time: \d+m/, 'the scenario should fire at least one alert');
      assert.equal(ours.stderr, theirs.stderr);
      assert.equal(ours.stdout, theirs.stdout);
      assert.equal(ours.code, theirs.code);
    });
  }
});
