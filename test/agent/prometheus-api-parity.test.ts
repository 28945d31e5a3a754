/**
 * The parts of Prometheus's HTTP API that Grafana's Prometheus data source uses beside queries,
 * side by side: the agent and a real Prometheus 2.42 scrape the same exposition target, then
 * /api/v1/metadata, /targets/metadata, /format_query, /alertmanagers, OPTIONS (CORS preflight),
 * /status/tsdb, /status/flags and /status/config must answer in the same shape, with the same
 * metadata and the same formatted queries. buildinfo claims the Prometheus version whose PromQL
 * the agent follows (3.x), not Debian's 2.42.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, missingBinaries, startChild, waitFor, type Child } from '../support/processes.ts';
import { instantQuery, startPrometheus, type PromServer } from '../support/prom-stack.ts';

const cli = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

const EXPOSITION = [
  '# HELP demo_requests_total Requests served, by path.',
  '# TYPE demo_requests_total counter',
  'demo_requests_total{path="/a"} 10',
  'demo_requests_total{path="/b"} 3',
  '# HELP demo_temperature_celsius The temperature inside.',
  '# TYPE demo_temperature_celsius gauge',
  'demo_temperature_celsius 21.5',
  '# HELP demo_latency_seconds Request latency.',
  '# TYPE demo_latency_seconds histogram',
  'demo_latency_seconds_bucket{le="0.1"} 4',
  'demo_latency_seconds_bucket{le="+Inf"} 13',
  'demo_latency_seconds_sum 2.5',
  'demo_latency_seconds_count 13',
  '',
].join('\n');

async function getJson(url: string): Promise<{ status: string; data: unknown; error?: string }> {
  const res = await fetch(url);
  return (await res.json()) as { status: string; data: unknown; error?: string };
}

describe('Prometheus API surface beside queries, against Prometheus 2.42', () => {
  const skip = missingBinaries(['prometheus']);
  it('answers metadata, target metadata, format_query, alertmanagers, OPTIONS and the status pages as Prometheus does', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
    const target = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(EXPOSITION);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetHost = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const amUrl = `http://127.0.0.1:${await freePort()}`;
    let prom: PromServer | null = null;
    let agent: Child | null = null;
    t.after(async () => {
      await agent?.stop();
      await prom?.stop();
      await new Promise<void>((r) => target.close(() => r()));
    });
    prom = await startPrometheus({ jobs: [{ job: 'demo', targets: [targetHost] }], alertmanagerUrl: amUrl });
    const agentPort = await freePort();
    agent = startChild(process.execPath, [cli, 'agent', '--port', String(agentPort), '--scrape', `demo=http://${targetHost}/metrics`, '--scrape-interval', '1s', '--alertmanager', amUrl]);
    const agentUrl = `http://127.0.0.1:${agentPort}`;
    for (const base of [prom.url, agentUrl]) {
      await waitFor(`${base} to scrape the demo target`, async () => (await instantQuery(base, 'up{job="demo"} == 1').catch(() => [])).length > 0, 60_000, 250);
    }
    const both = async (path: string): Promise<[{ status: string; data: unknown }, { status: string; data: unknown }]> =>
      Promise.all([getJson(`${prom!.url}${path}`), getJson(`${agentUrl}${path}`)]);

    // Metric metadata, as the metric browser reads it.
    for (const metric of ['demo_requests_total', 'demo_temperature_celsius', 'demo_latency_seconds']) {
      const [p, a] = await both(`/api/v1/metadata?metric=${metric}`);
      assert.equal(a.status, 'success');
      assert.deepEqual(a.data, p.data, `metadata of ${metric}`);
    }
    const [pAll, aAll] = await both('/api/v1/metadata');
    const pNames = Object.keys(pAll.data as object).filter((n) => n.startsWith('demo_')).sort();
    const aNames = Object.keys(aAll.data as object).filter((n) => n.startsWith('demo_')).sort();
    assert.deepEqual(pNames, ['demo_latency_seconds', 'demo_requests_total', 'demo_temperature_celsius']);
    assert.deepEqual(aNames, pNames);
    assert.ok(Object.keys(aAll.data as object).some((n) => n.startsWith('flowpilot_')), 'the agent describes its own metrics too');

    const sortByMetric = (x: unknown): unknown[] => [...(x as Array<{ metric: string }>)].sort((m, n) => (m.metric < n.metric ? -1 : 1));
    const [pTm, aTm] = await both(`/api/v1/targets/metadata?match_target=${encodeURIComponent('{job="demo"}')}`);
    assert.equal((pTm.data as unknown[]).length, 3);
    assert.deepEqual(sortByMetric(aTm.data), sortByMetric(pTm.data), 'targets/metadata of the demo target');

    // format_query prints the canonical form Prometheus prints.
    for (const q of ['sum(rate(demo_requests_total{path=~"/a|/b"}[5m])) by (path)', 'demo_temperature_celsius  >  20 and on() vector(1)', 'histogram_quantile(0.9, rate(demo_latency_seconds_bucket[1m]))', 'demo_requests_total offset 1h30m']) {
      const [p, a] = await both(`/api/v1/format_query?query=${encodeURIComponent(q)}`);
      assert.equal(p.status, 'success', q);
      assert.deepEqual(a, p, `format_query ${q}`);
    }
    const [pBad, aBad] = await both(`/api/v1/format_query?query=${encodeURIComponent('sum(')}`);
    assert.equal(pBad.status, 'error');
    assert.equal(aBad.status, 'error');

    // The Alertmanagers alerts go to (Prometheus discovers its static one within a few seconds).
    const pAm = await waitFor('Prometheus to list its Alertmanager', async () => {
      const r = await getJson(`${prom!.url}/api/v1/alertmanagers`);
      return (r.data as { activeAlertmanagers: unknown[] }).activeAlertmanagers.length > 0 ? r : null;
    }, 30_000, 250);
    assert.deepEqual(await getJson(`${agentUrl}/api/v1/alertmanagers`), pAm);

    // A browser's CORS preflight.
    for (const base of [prom.url, agentUrl]) {
      const res = await fetch(`${base}/api/v1/query`, { method: 'OPTIONS', headers: { origin: 'http://grafana.local', 'access-control-request-method': 'POST' } });
      assert.equal(res.status, 204, `${base}: OPTIONS`);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    }

    // The status pages: the same shapes.
    const [pTsdb, aTsdb] = await both('/api/v1/status/tsdb');
    const keys = (x: unknown): string[] => Object.keys(x as object).sort();
    assert.deepEqual(keys(aTsdb.data), keys(pTsdb.data));
    for (const k of ['headStats', 'seriesCountByMetricName', 'labelValueCountByLabelName', 'memoryInBytesByLabelName', 'seriesCountByLabelValuePair']) {
      assert.ok(k in (pTsdb.data as object), `Prometheus has ${k}`);
      assert.ok(k in (aTsdb.data as object), `the agent has ${k}`);
    }
    assert.deepEqual(keys((aTsdb.data as { headStats: object }).headStats), keys((pTsdb.data as { headStats: object }).headStats));
    const demoSeries = (x: unknown): number | undefined => (x as { seriesCountByMetricName: Array<{ name: string; value: number }> }).seriesCountByMetricName.find((e) => e.name === 'demo_requests_total')?.value;
    const [pTsdb100, aTsdb100] = await both('/api/v1/status/tsdb?limit=100');
    assert.equal(demoSeries(aTsdb100.data), demoSeries(pTsdb100.data));
    const [pFlags, aFlags] = await both('/api/v1/status/flags');
    for (const f of [pFlags, aFlags]) assert.ok(Object.values(f.data as object).every((v) => typeof v === 'string'));
    const [pCfg, aCfg] = await both('/api/v1/status/config');
    assert.equal(typeof (pCfg.data as { yaml: unknown }).yaml, 'string');
    assert.match((aCfg.data as { yaml: string }).yaml, /scrape:/);

    const info = await getJson(`${agentUrl}/api/v1/status/buildinfo`);
    assert.match((info.data as { version: string }).version, /^3\./, 'the agent claims the Prometheus 3 semantics it implements');
  });
});
