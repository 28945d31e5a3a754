import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/log.ts';
import { PromQLEngine } from '../promql/index.ts';
import { MemoryStorage } from '../tsdb/index.ts';
import { Notifier } from '../notify/index.ts';
import { AlertingRule } from './alerting.ts';
import { RuleManager, type RuleManagerOptions } from './manager.ts';
import { engineQueryFunc } from './types.ts';

const T0 = Date.UTC(2026, 10, 21, 6, 0, 0);
const MIN = 60_000;

const GOOD = `groups:
  - name: g
    interval: 1m
    rules:
      - alert: High
        expr: gauge > 5
        for: 2m
        labels: {severity: warning}
        annotations: {summary: "value {{ $value }}"}
`;

async function setup(t: { after(fn: () => Promise<void> | void): void }, text = GOOD, limits: RuleManagerOptions['limits'] = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'fp-rules-'));
  const file = join(dir, 'rules.yml');
  await writeFile(file, text);
  const storage = new MemoryStorage();
  const logs: string[] = [];
  const logger = createLogger({ name: 'test', level: 'info', destination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
  const m = new RuleManager({ files: [dir], query: engineQueryFunc(new PromQLEngine(storage)), appender: storage, logger, externalURL: 'http://agent:9300', limits });
  t.after(async () => {
    await m.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, file, storage, m, logs };
}

async function gaugeValue(m: RuleManager, name: string): Promise<number | undefined> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RuleManager', () => {
  it('keeps the last good rules when a reload finds a bad file, and reports where', async (t) => {
    const { file, m, logs } = await setup(t);
    assert.equal((await m.reload()).ok, true);
    assert.equal(await gaugeValue(m, 'flowpilot_rules_last_reload_success'), 1);
    await writeFile(file, GOOD.replace('for: 2m', 'for: 2x'));
    const bad = await m.reload();
    assert.equal(bad.ok, false);
    assert.equal(bad.problems[0].code, 'FP_RULE_DURATION');
    assert.equal(`${bad.problems[0].line}:${bad.problems[0].column}`, '7:14');
    assert.equal(await gaugeValue(m, 'flowpilot_rules_last_reload_success'), 0);
    assert.equal(m.groups()[0].rules[0].def.forMs, 2 * MIN, 'the previous rules stay in force');
    assert.ok(logs.some((l) => l.includes(`${file}:7:14:`) && l.includes('keeping the previous rules')));
    await writeFile(file, GOOD.replace('for: 2m', 'for: 3m'));
    assert.equal((await m.reload()).ok, true);
    assert.equal(await gaugeValue(m, 'flowpilot_rules_last_reload_success'), 1);
    assert.equal(m.groups()[0].rules[0].def.forMs, 3 * MIN);
  });

  it('keeps the last good rules when a reload meets an alias bomb or a file over the size limit', async (t) => {
    const { file, m } = await setup(t, GOOD, { maxFileBytes: 4096 });
    assert.equal((await m.reload()).ok, true);
    const before = m.groups().map((g) => g.key);
    const bomb = `${['a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join('\n')}\ngroups:  *g\n`;
    await writeFile(file, bomb);
    const bombed = await m.reload();
    assert.deepEqual([bombed.ok, bombed.problems.map((p) => p.code)], [false, ['FP_RULE_LIMIT']]);
    assert.deepEqual(m.groups().map((g) => g.key), before, 'the previous rules stay in force');
    await writeFile(file, `${GOOD}#${'x'.repeat(5000)}\n`);
    const big = await m.reload();
    assert.deepEqual([big.ok, big.problems.map((p) => p.code)], [false, ['FP_RULE_LIMIT']]);
    assert.match(big.problems[0].message, /larger than the limit of 4096 bytes per file/);
    assert.deepEqual(m.groups().map((g) => g.key), before);
    assert.equal(await gaugeValue(m, 'flowpilot_rules_last_reload_success'), 0);
    await writeFile(file, GOOD);
    assert.equal((await m.reload()).ok, true);
    assert.equal(await gaugeValue(m, 'flowpilot_rules_last_reload_success'), 1);
  });

  it('carries alert state over a reload for rules that did not change', async (t) => {
    const { file, storage, m } = await setup(t);
    await m.reload();
    for (let i = 0; i <= 3; i++) storage.append({ __name__: 'gauge', job: 'a' }, T0 + i * MIN, 10);
    await m.evaluateAll(T0);
    const before = m.alerts();
    assert.equal(before.length, 1);
    assert.equal(before[0].alert.state, 'pending');
    await writeFile(file, GOOD + '      - record: job:gauge:max\n        expr: max by (job) (gauge)\n');
    assert.equal((await m.reload()).ok, true);
    const g = m.groups()[0];
    assert.equal(g.rules.length, 2);
    await m.evaluateAll(T0 + 2 * MIN);
    const after = m.alerts();
    assert.equal(after[0].alert.state, 'firing', 'activeAt survived the reload, so for: 2m has elapsed');
    assert.equal(after[0].alert.activeAt, T0);
  });

  it('reloads when a rule file changes and on SIGHUP', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-rules-'));
    const file = join(dir, 'rules.yml');
    await writeFile(file, GOOD);
    const storage = new MemoryStorage();
    const m = new RuleManager({ files: [file], query: engineQueryFunc(new PromQLEngine(storage)), appender: storage, watch: true, watchDebounceMs: 30, handleSighup: true });
    t.after(async () => {
      await m.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await m.start();
    await writeFile(file, GOOD.replace('name: g', 'name: renamed'));
    await until(() => m.groups()[0]?.name === 'renamed');
    await writeFile(join(dir, 'other.txt'), 'ignored');
    // Stop watching so only the signal can trigger the next reload.
    const stopWatching = (m as unknown as { watchers: Array<{ close(): void }> }).watchers;
    for (const w of stopWatching) w.close();
    await writeFile(file, GOOD.replace('name: g', 'name: by-signal'));
    process.kill(process.pid, 'SIGHUP');
    await until(() => m.groups()[0]?.name === 'by-signal');
  });

  it('sends alerts with startsAt = fired time, endsAt = now + 4 x max(interval, resend delay), and resends resolutions', async (t) => {
    const bodies: Array<Array<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }>> = [];
    const server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        bodies.push(JSON.parse(data));
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const notifier = new Notifier({ alertmanagers: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], externalLabels: { cluster: 'eu1' } });
    const storage = new MemoryStorage();
    const dir = await mkdtemp(join(tmpdir(), 'fp-rules-'));
    await writeFile(join(dir, 'r.yml'), GOOD);
    const m = new RuleManager({ files: [dir], query: engineQueryFunc(new PromQLEngine(storage)), appender: storage, notifier, externalURL: 'http://agent:9300' });
    t.after(async () => {
      await m.stop();
      await notifier.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    });
    await m.reload();
    const values = [10, 10, 10, 10, 10, 1];
    values.forEach((v, i) => storage.append({ __name__: 'gauge', job: 'a' }, T0 + i * MIN, v));
    for (let i = 0; i < values.length; i++) {
      await m.evaluateAll(T0 + i * MIN);
      await notifier.flush();
    }
    const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
    // pending at 0m and 1m (never sent), fired at 2m, resent at 4m (resend delay 1m: 2m + 1m < 4m), resolved at 5m.
    assert.deepEqual(bodies.map((b) => [b[0].startsAt, b[0].endsAt]), [
      [iso(T0 + 2 * MIN), iso(T0 + 6 * MIN)],
      [iso(T0 + 2 * MIN), iso(T0 + 8 * MIN)],
      [iso(T0 + 2 * MIN), iso(T0 + 5 * MIN)],
    ]);
    assert.deepEqual(bodies[0][0].labels, { alertname: 'High', cluster: 'eu1', job: 'a', severity: 'warning' });
    assert.deepEqual(bodies[0][0].annotations, { summary: 'value 10' });
    assert.equal(bodies[0][0].generatorURL, 'http://agent:9300/graph?g0.expr=gauge+%3E+5&g0.tab=1');
    const rule = m.groups()[0].rules[0] as AlertingRule;
    assert.equal(rule.active.size, 1, 'a resolved alert is kept for re-sending');
    assert.equal([...rule.active.values()][0].state, 'inactive');
  });

  it('marks a rule unhealthy and keeps evaluating the rest when the limit is exceeded', async (t) => {
    const { storage, m } = await setup(t, GOOD.replace('interval: 1m', 'interval: 1m\n    limit: 1').replace('for: 2m', 'for: 0s'));
    await m.reload();
    storage.append({ __name__: 'gauge', job: 'a' }, T0, 10);
    storage.append({ __name__: 'gauge', job: 'b' }, T0, 10);
    await m.evaluateAll(T0);
    const rule = m.groups()[0].rules[0];
    assert.equal(rule.health, 'err');
    assert.equal(rule.lastError, 'exceeded limit of 1 with 2 alerts');
    assert.equal(m.alerts().length, 0);
  });

  it('evaluates each group on its interval at a fixed phase', async (t) => {
    const { m } = await setup(t, GOOD.replace('interval: 1m', 'interval: 100ms'));
    await m.start();
    const g = m.groups()[0];
    await until(() => g.iterations >= 3);
    const phase = g.evalTimestamp(0) % 100;
    assert.equal(((g.lastEvaluation % 100) + 100) % 100, ((phase % 100) + 100) % 100);
    assert.equal(g.evalTimestamp(g.lastEvaluation), g.lastEvaluation, 'evaluation times sit on the group grid');
    const health = await m.registry.getSingleMetric('flowpilot_rule_group_last_duration_seconds')!.get();
    assert.equal(health.values[0].labels.rule_group, g.key);
  });
});
