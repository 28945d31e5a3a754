import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { MemoryStorage } from '../tsdb/index.ts';
import { PromQLEngine } from '../promql/index.ts';
import { RuleManager } from '../rules/manager.ts';
import { engineQueryFunc } from '../rules/types.ts';
import { AgentApi, startAgentServer, type AgentServer } from './api.ts';
import { goExp, goTime } from './params.ts';
import { tryParsePromDuration as parsePromDuration } from '../../common/duration.ts';

const T0 = 1_700_000_000_000;

describe('Prometheus HTTP API', () => {
  let server: AgentServer;
  let base: string;
  let dir: string;
  let rulesFile: string;
  let manager: RuleManager;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-api-'));
    rulesFile = join(dir, 'rules.yml');
    writeFileSync(
      rulesFile,
      [
        'groups:',
        '  - name: flink',
        '    interval: 15s',
        '    rules:',
        '      - record: job:busy:max',
        '        expr: max by (job_name) (busy)',
        '      - alert: Busy',
        '        expr: busy > 800',
        '        for: 1m',
        '        labels: {severity: warning}',
        '        annotations: {summary: "busy {{ $value }}"}',
      ].join('\n'),
    );
    const db = new MemoryStorage();
    for (let i = 0; i <= 20; i++) {
      const t = T0 + i * 15_000;
      db.append({ __name__: 'busy', job_name: 'orders', subtask_index: '0' }, t, 900);
      db.append({ __name__: 'busy', job_name: 'orders', subtask_index: '1' }, t, 100 + i);
      db.append({ __name__: 'up', job: 'flink', instance: 'a:1' }, t, 1);
    }
    const engine = new PromQLEngine(db);
    const registry = new Registry();
    manager = new RuleManager({ files: [rulesFile], query: engineQueryFunc(engine), appender: db, registry, now: () => T0 + 300_000 });
    const r = await manager.reload();
    assert.ok(r.ok, JSON.stringify(r.problems));
    await manager.evaluateAll(T0 + 240_000);
    await manager.evaluateAll(T0 + 300_000);
    db.registerMetrics(registry);
    const api = new AgentApi({ storage: db, engine, registry, rules: manager, ready: () => null, queryTimeoutMs: 10_000, version: '0.1.0', now: () => T0 + 300_000, enableLifecycle: true });
    server = await startAgentServer('127.0.0.1', 0, api);
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server.close();
    await manager.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function getJson(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
    const res = await fetch(base + path, init);
    return { status: res.status, body: await res.json() };
  }

  it('answers an instant query with a vector of [seconds, "string"] points', async () => {
    const { status, body } = await getJson(`/api/v1/query?query=${encodeURIComponent('busy{subtask_index="1"}')}&time=${(T0 + 300_000) / 1000}`);
    assert.equal(status, 200);
    assert.deepEqual(body, {
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: { __name__: 'busy', job_name: 'orders', subtask_index: '1' }, value: [(T0 + 300_000) / 1000, '120'] }] },
    });
  });

  it('accepts POSTed form parameters and RFC 3339 times, as Grafana sends them', async () => {
    const form = new URLSearchParams({ query: 'sum(busy)', time: new Date(T0 + 300_000).toISOString() });
    const { body } = await getJson('/api/v1/query', { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(body.status, 'success');
    assert.deepEqual(body.data.result, [{ metric: {}, value: [(T0 + 300_000) / 1000, '1020'] }]);
  });

  it('answers a range query with a matrix, one point per step', async () => {
    const q = new URLSearchParams({ query: 'busy{subtask_index="1"}', start: String(T0 / 1000), end: String((T0 + 60_000) / 1000), step: '30s' });
    const { body } = await getJson(`/api/v1/query_range?${q}`);
    assert.equal(body.data.resultType, 'matrix');
    assert.deepEqual(body.data.result[0].values, [[T0 / 1000, '100'], [(T0 + 30_000) / 1000, '102'], [(T0 + 60_000) / 1000, '104']]);
  });

  it('reports a PromQL syntax error as bad_data with its position', async () => {
    const { status, body } = await getJson(`/api/v1/query?query=${encodeURIComponent('sum(busy')}`);
    assert.equal(status, 400);
    assert.equal(body.status, 'error');
    assert.equal(body.errorType, 'bad_data');
    assert.match(body.error, /^invalid parameter "query": 1:\d+: parse error: /);
  });

  it('rejects bad range parameters the way Prometheus does', async () => {
    const missing = await getJson('/api/v1/query_range?query=up&end=10&step=1');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid parameter "start": cannot parse "" to a valid timestamp');
    const zero = await getJson('/api/v1/query_range?query=up&start=1&end=10&step=0');
    assert.match(zero.body.error, /zero or negative query resolution step widths are not accepted/);
    const back = await getJson('/api/v1/query_range?query=up&start=10&end=1&step=1');
    assert.equal(back.body.error, 'invalid parameter "end": end timestamp must not be before start time');
    const tooMany = await getJson('/api/v1/query_range?query=up&start=0&end=100000&step=1');
    assert.match(tooMany.body.error, /exceeded maximum resolution of 11,000 points/);
  });

  it('cancels a query that runs past its timeout with errorType timeout', async () => {
    const q = new URLSearchParams({ query: 'sum by (job_name) (rate(busy[5m]))', start: String(T0 / 1000), end: String((T0 + 1_000_000) / 1000), step: '0.1', timeout: '0.001' });
    const { status, body } = await getJson(`/api/v1/query_range?${q}`);
    assert.equal(status, 503);
    assert.deepEqual(body, { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' });
  });

  it('lists series, label names and label values', async () => {
    const series = await getJson(`/api/v1/series?${new URLSearchParams([['match[]', 'busy'], ['match[]', 'up']])}`);
    assert.equal(series.body.data.length, 3);
    const none = await getJson('/api/v1/series');
    assert.deepEqual(none.body, { status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
    const labels = await getJson('/api/v1/labels');
    assert.ok(labels.body.data.includes('subtask_index') && labels.body.data.includes('__name__'));
    const values = await getJson('/api/v1/label/__name__/values');
    assert.deepEqual(values.body.data.filter((n: string) => ['busy', 'up'].includes(n)), ['busy', 'up']);
    const scoped = await getJson(`/api/v1/label/subtask_index/values?${new URLSearchParams([['match[]', 'busy{subtask_index="0"}']])}`);
    assert.deepEqual(scoped.body.data, ['0']);
  });

  it('serves rules and alerts in Prometheus shapes', async () => {
    const rules = await getJson('/api/v1/rules');
    const g = rules.body.data.groups[0];
    assert.equal(g.name, 'flink');
    assert.equal(g.interval, 15);
    assert.deepEqual(g.rules.map((r: any) => r.type), ['recording', 'alerting']);
    const alertRule = g.rules[1];
    assert.equal(alertRule.state, 'firing');
    assert.equal(alertRule.duration, 60);
    assert.equal(alertRule.health, 'ok');
    assert.equal(alertRule.lastEvaluation, goTime(T0 + 300_000));
    assert.equal(alertRule.alerts[0].value, '9e+02');
    const onlyRecord = await getJson('/api/v1/rules?type=record');
    assert.deepEqual(onlyRecord.body.data.groups[0].rules.map((r: any) => r.type), ['recording']);
    const alerts = await getJson('/api/v1/alerts');
    assert.deepEqual(alerts.body.data.alerts, [
      {
        labels: { alertname: 'Busy', job_name: 'orders', severity: 'warning', subtask_index: '0' },
        annotations: { summary: 'busy 900' },
        state: 'firing',
        activeAt: goTime(T0 + 240_000),
        value: '9e+02',
      },
    ]);
  });

  it('reloads rules on POST /-/reload and reports a bad file with its location', async () => {
    const ok = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(ok.status, 200);
    writeFileSync(rulesFile, 'groups:\n  - name: flink\n    rules:\n      - alert: X\n        expr: sum(\n');
    const bad = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /rules\.yml:\d+:\d+/);
    const rules = await getJson('/api/v1/rules');
    assert.equal(rules.body.data.groups[0].rules.length, 2, 'the last good rule set stays');
  });

  it('serves buildinfo, ops routes and its own request metrics', async () => {
    const info = await getJson('/api/v1/status/buildinfo');
    assert.equal(info.body.data.version, '3.14.0', 'the Prometheus version whose PromQL (left-open ranges, no holt_winters) the agent follows');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/-/ready`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /flowpilot_http_requests_total\{handler="\/api\/v1\/query",code="200"\} \d+/);
    assert.match(metrics, /flowpilot_tsdb_series 3|flowpilot_tsdb_series \d+/);
    assert.match(metrics, /flowpilot_rule_group_last_duration_seconds/);
    const unknown = await getJson('/api/v1/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errorType, 'not_found');
  });
});

describe('API value formatting', () => {
  it('renders times and floats as Go does', () => {
    assert.equal(goTime(1_700_000_000_000), '2023-11-14T22:13:20Z');
    assert.equal(goTime(1_700_000_000_120), '2023-11-14T22:13:20.12Z');
    assert.equal(goExp(1), '1e+00');
    assert.equal(goExp(1234.5), '1.2345e+03');
    assert.equal(goExp(0.00012), '1.2e-04');
    assert.equal(goExp(1e100), '1e+100');
    assert.equal(parsePromDuration('1h30m'), 5_400_000);
    assert.equal(parsePromDuration('1x'), null);
  });
});
