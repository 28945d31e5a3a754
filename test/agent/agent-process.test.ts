import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, waitFor, waitForListening } from '../support/processes.ts';
import { startFlinkFixtureServer } from './flink-fixture-server.ts';
import { parseObservationLine } from '../../agent/collect/observation.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('flowpilot agent process', () => {
  it('scrapes a target and Flink REST, answers /api/v1/query, fires rules to a webhook, records observations and stops on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-agent-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const flink = await startFlinkFixtureServer();
    t.after(() => flink.close());
    const exporter = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE demo_queue_length gauge\ndemo_queue_length{queue="a"} 42\nthis line is malformed\n');
    });
    t.after(() => exporter.close());
    const received: any[] = [];
    const webhook = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    t.after(() => webhook.close());

    const rules = join(dir, 'rules.yml');
    writeFileSync(
      rules,
      [
        'groups:',
        '  - name: backpressure',
        '    interval: 1s',
        '    rules:',
        '      - alert: FlinkBackpressured',
        '        expr: max by (job_name, task_name) (flink_taskmanager_job_task_backPressuredTimeMsPerSecond) > 400',
        '        labels: {severity: warning}',
        '        annotations: {summary: "{{ $labels.task_name }} is backpressured"}',
      ].join('\n'),
    );
    const record = join(dir, 'observations.jsonl');
    const agent = startChild(NODE, [
      join(ROOT, 'cli', 'main.ts'), 'agent',
      '--port', '0',
      '--scrape', `demo=${exporter.url}/metrics`,
      '--flink-url', flink.url,
      '--rules', rules,
      '--webhook', `${webhook.url}/hook`,
      '--record', record,
      // The scrape timeout is capped at the interval. A Flink REST collection is many requests, answered
      // here by this test process: at 500 ms it timed out on a loaded machine (the target read "down",
      // its series went stale) and nothing below could hold.
      '--scrape-interval', '2s',
      '--eval-interval', '1s',
    ], { cwd: ROOT, env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' } });
    t.after(() => agent.stop('SIGKILL'));

    const base = await waitForListening(agent);
    const query = async (q: string): Promise<any[]> => {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: any[] } };
      assert.equal(body.status, 'success');
      return body.data.result;
    };

    let lastTargets = '';
    const up = await waitFor('every target up', async () => {
      const r = await query('up');
      if (r.length === 3 && r.every((s) => s.value[1] === '1')) return r;
      lastTargets = JSON.stringify(((await (await fetch(`${base}/api/v1/targets`)).json()) as any).data.activeTargets.map((x: any) => [x.labels.job, x.health, x.lastError]));
      return null;
    }, 30_000).catch((err: Error) => { throw new Error(`${err.message}; targets ${lastTargets}`); });
    // The agent keeps its own metrics too (scrape.self, job flowpilot-agent), as Prometheus scrapes itself.
    assert.deepEqual(up.map((s) => s.metric.job).sort(), ['demo', 'flink', 'flowpilot-agent']);
    const demo = await query('demo_queue_length');
    assert.deepEqual(demo[0].metric, { __name__: 'demo_queue_length', instance: new URL(exporter.url).host, job: 'demo', queue: 'a' });
    assert.equal(demo[0].value[1], '42');
    const busy = await query('max by (task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond)');
    assert.deepEqual(busy.map((s) => [s.metric.task_name, s.value[1]]).sort(), [['KeyedProcess', '950'], ['Sink:_Print', '100'], ['Source:_Kafka_Source____Map', '400']]);

    const alert = await waitFor('the webhook to receive the alert', () => received.find((b) => b.alerts?.some((a: any) => a.labels.alertname === 'FlinkBackpressured')), 15_000);
    const a = alert.alerts.find((x: any) => x.labels.alertname === 'FlinkBackpressured');
    assert.equal(a.labels.task_name, 'Source:_Kafka_Source____Map');
    assert.equal(a.annotations.summary, 'Source:_Kafka_Source____Map is backpressured');
    const apiAlerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as any;
    assert.equal(apiAlerts.data.alerts[0].state, 'firing');

    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as any;
    assert.deepEqual(targets.data.activeTargets.map((x: any) => [x.labels.job, x.health]).sort(), [['demo', 'up'], ['flink', 'up'], ['flowpilot-agent', 'up']]);
    assert.match(targets.data.activeTargets.find((x: any) => x.labels.job === 'demo').lastError, /skipped 1 malformed line/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /flowpilot_scrape_parse_errors_total\{job="demo"\} [1-9]/);
    assert.match(metrics, /flowpilot_tsdb_series \d+/);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    // An observation recorded while the alert fires carries it (replay sees the same alerts).
    await waitFor('a recorded line with the firing alert', () => readFileSync(record, 'utf8').includes('"alerts":[{"labels":{"alertname":"FlinkBackpressured"'), 10_000);
    await agent.stop('SIGTERM');
    assert.equal(agent.proc.exitCode, 0, agent.output());
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    assert.ok(lines.length >= 1);
    const obs = parseObservationLine(lines[0]!, `${record}:1`);
    assert.equal(obs.jobName, 'orders-enrichment');
    assert.equal(obs.vertices.length, 3);
    const withAlerts = lines.map((l) => JSON.parse(l) as { alerts?: Array<{ labels: Record<string, string> }> }).filter((l) => l.alerts);
    assert.ok(withAlerts.length > 0, 'some recorded line carries the firing alert');
    assert.equal(withAlerts[0]!.alerts![0]!.labels.alertname, 'FlinkBackpressured');
  });

  it('refuses a bad config file with its location and exit code 1', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-agent-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfg = join(dir, 'agent.yml');
    writeFileSync(cfg, 'listen:\n  port: 0\nscrape:\n  interval: soon\n');
    const child = startChild(NODE, [join(ROOT, 'cli', 'main.ts'), 'agent', '--config', cfg], { cwd: ROOT });
    t.after(() => child.stop('SIGKILL'));
    await waitFor('exit', () => child.proc.exitCode !== null, 15_000);
    assert.equal(child.proc.exitCode, 1);
    assert.match(child.output(), /agent\.yml:4:\d+.*scrape\.interval: "soon" is not a duration/);
  });
});
