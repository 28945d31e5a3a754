/**
 * The parts of Prometheus's HTTP API that Grafana's Prometheus data source uses beside query
 * results, side by side: the agent and a real Prometheus 2.42 (with per-step stats enabled)
 * scrape the same exposition target, then /api/v1/metadata, /targets/metadata, /format_query
 * (Prometheus's prettifier, exact strings), /alertmanagers, OPTIONS (CORS preflight),
 * /status/tsdb, /status/flags and /status/config must answer in the same shape, with the same
 * metadata and the same formatted queries; `stats=` on query and query_range must have the same
 * keys and agree on totalQueryableSamples (within what scraping at different instants moves);
 * parse errors must be worded alike. buildinfo claims the Prometheus version whose PromQL the
 * agent follows (3.x), not Debian's 2.42.
 */
import { after, before, describe, it } from 'node:test';
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
  const target = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(EXPOSITION);
  });
  let prom: PromServer | null = null;
  let agent: Child | null = null;
  let agentUrl = '';
  const both = async (path: string): Promise<[{ status: string; data: unknown; error?: string }, { status: string; data: unknown; error?: string }]> =>
    Promise.all([getJson(`${prom!.url}${path}`), getJson(`${agentUrl}${path}`)]);

  before(async () => {
    if (skip !== null) return;
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetHost = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const amUrl = `http://127.0.0.1:${await freePort()}`;
    prom = await startPrometheus({ jobs: [{ job: 'demo', targets: [targetHost] }], alertmanagerUrl: amUrl, extraArgs: ['--enable-feature=promql-per-step-stats'] });
    const agentPort = await freePort();
    agent = startChild(process.execPath, [cli, 'agent', '--port', String(agentPort), '--scrape', `demo=http://${targetHost}/metrics`, '--scrape-interval', '1s', '--alertmanager', amUrl]);
    agentUrl = `http://127.0.0.1:${agentPort}`;
    for (const base of [prom.url, agentUrl]) {
      await waitFor(`${base} to scrape the demo target`, async () => (await instantQuery(base, 'up{job="demo"} == 1').catch(() => [])).length > 0, 60_000, 250);
    }
  }, { timeout: 120_000 });

  after(async () => {
    await agent?.stop();
    await prom?.stop();
    if (target.listening) await new Promise<void>((r) => target.close(() => r()));
  });

  it('answers metadata, target metadata, format_query, alertmanagers, OPTIONS and the status pages as Prometheus does', { skip: skip ?? false, timeout: 120_000 }, async () => {

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
    for (const base of [prom!.url, agentUrl]) {
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
    const demoSeries = (x: unknown, name: string): number | undefined => (x as { seriesCountByMetricName: Array<{ name: string; value: number }> }).seriesCountByMetricName.find((e) => e.name === name)?.value;
    // The agent lists its own metrics too: a limit past all its label pairs keeps the demo ones in its lists.
    const [pTsdb100, aTsdb100] = await both('/api/v1/status/tsdb?limit=100000');
    for (const name of ['demo_requests_total', 'demo_latency_seconds_bucket']) {
      assert.equal(demoSeries(aTsdb100.data, name), demoSeries(pTsdb100.data, name), name);
    }
    // The breakdowns agree on what only the demo target carries (the agent's own metrics have
    // `le` too, so histogram labels differ).
    type Entry = { name: string; value: number };
    type Tsdb = Record<'seriesCountByLabelValuePair' | 'labelValueCountByLabelName' | 'memoryInBytesByLabelName', Entry[]> & { headStats: Record<string, number> };
    const entry = (x: unknown, list: keyof Omit<Tsdb, 'headStats'>, name: string): number | undefined => (x as Tsdb)[list].find((e) => e.name === name)?.value;
    // Prometheus 2.42 has no `limit` (always the top 10, ties in any order): compare what it lists.
    let compared = 0;
    for (const [list, name] of [['seriesCountByLabelValuePair', 'path=/a'], ['seriesCountByLabelValuePair', 'path=/b'], ['labelValueCountByLabelName', 'path'], ['memoryInBytesByLabelName', 'path']] as const) {
      const pv = entry(pTsdb100.data, list, name);
      if (pv === undefined) continue;
      compared++;
      assert.equal(entry(aTsdb100.data, list, name), pv, `${list} ${name}`);
    }
    assert.ok(compared > 0, 'Prometheus lists one of the demo label entries');
    // Real head figures: series, label pairs and chunks held, the time span of the samples.
    const nowMs = Date.now();
    for (const [who, x] of [['Prometheus', pTsdb100.data], ['the agent', aTsdb100.data]] as const) {
      const h = (x as Tsdb).headStats;
      assert.ok(h.numSeries! >= 9 && h.numLabelPairs! >= 9, `${who}: ${JSON.stringify(h)}`);
      assert.ok(h.chunkCount! >= h.numSeries! * 0.5, `${who} holds chunks: ${JSON.stringify(h)}`);
      assert.ok(h.minTime! <= h.maxTime! && h.maxTime! <= nowMs && nowMs - h.maxTime! < 30_000 && nowMs - h.minTime! < 600_000, `${who}: ${JSON.stringify(h)}`);
    }
    const [pFlags, aFlags] = await both('/api/v1/status/flags');
    for (const f of [pFlags, aFlags]) assert.ok(Object.values(f.data as object).every((v) => typeof v === 'string'));
    const [pCfg, aCfg] = await both('/api/v1/status/config');
    assert.equal(typeof (pCfg.data as { yaml: unknown }).yaml, 'string');
    assert.match((aCfg.data as { yaml: string }).yaml, /scrape:/);

    const info = await getJson(`${agentUrl}/api/v1/status/buildinfo`);
    assert.match((info.data as { version: string }).version, /^3\./, 'the agent claims the Prometheus 3 semantics it implements');
  });

  it('answers stats= on query and query_range with Prometheus\'s keys and sample counts', { skip: skip ?? false, timeout: 120_000 }, async () => {
    // Both hold 25 s of samples at a 1 s interval: the windows below reach back 17 s.
    for (const base of [prom!.url, agentUrl]) {
      await waitFor(`${base} to hold 25 s of demo samples`, async () => (await instantQuery(base, 'count_over_time(demo_temperature_celsius[30s]) >= 25').catch(() => [])).length > 0, 90_000, 250);
    }
    const t = Math.floor(Date.now() / 1000) - 2;
    type Stats = { timings: Record<string, number>; samples: { totalQueryableSamplesPerStep?: Array<[number, number]>; totalQueryableSamples: number; peakSamples: number } };
    type Body = { status: string; data: { resultType: string; result: unknown[]; stats?: Stats } };
    const query = async (path: string): Promise<[Body, Body]> => (await both(path)) as unknown as [Body, Body];
    const keys = (x: object): string[] => Object.keys(x);
    const sameShape = (p: Body, a: Body, what: string): void => {
      assert.equal(p.status, 'success', `${what}: ${JSON.stringify(p)}`);
      assert.equal(a.status, 'success', `${what}: ${JSON.stringify(a)}`);
      assert.deepEqual(keys(a.data), keys(p.data), `${what}: data keys`);
      if (p.data.stats === undefined) return;
      assert.deepEqual(keys(a.data.stats!), keys(p.data.stats), `${what}: stats keys`);
      assert.deepEqual(keys(a.data.stats!.timings), keys(p.data.stats.timings), `${what}: timings keys`);
      assert.deepEqual(keys(a.data.stats!.samples), keys(p.data.stats.samples), `${what}: samples keys`);
      for (const v of Object.values(a.data.stats!.timings)) assert.ok(typeof v === 'number' && v >= 0 && v < 10, `${what}: timing ${v}`);
      assert.ok(a.data.stats!.samples.peakSamples > 0, `${what}: peakSamples`);
    };
    const q = (path: string, query: string, extra: string): string => `/api/v1/${path}?query=${encodeURIComponent(query)}&${extra}`;

    // Without stats: no stats key. With stats=1: timings and totals, no per-step list.
    let [p, a] = await query(q('query', 'demo_requests_total', `time=${t}`));
    sameShape(p, a, 'no stats');
    assert.equal(p.data.stats, undefined);
    [p, a] = await query(q('query', 'demo_requests_total', `time=${t}&stats=1`));
    sameShape(p, a, 'stats=1');
    assert.equal(a.data.stats!.samples.totalQueryableSamplesPerStep, undefined);
    assert.equal(a.data.stats!.samples.totalQueryableSamples, p.data.stats!.samples.totalQueryableSamples);

    // An instant selector: one sample per series, in the one step.
    [p, a] = await query(q('query', 'demo_requests_total', `time=${t}&stats=all`));
    sameShape(p, a, 'instant selector');
    assert.equal(p.data.stats!.samples.totalQueryableSamples, 2);
    assert.deepEqual(a.data.stats!.samples, { ...a.data.stats!.samples, totalQueryableSamplesPerStep: p.data.stats!.samples.totalQueryableSamplesPerStep, totalQueryableSamples: 2 });

    // Range windows count the samples they hold: 10 per series in 10 s, give or take one per
    // series for where each scraper's ticks fall.
    [p, a] = await query(q('query', 'sum_over_time(demo_requests_total[10s])', `time=${t}&stats=all`));
    sameShape(p, a, 'instant range function');
    const pTotal = p.data.stats!.samples.totalQueryableSamples;
    assert.ok(pTotal >= 18 && pTotal <= 22, `Prometheus counted ${pTotal}`);
    assert.ok(Math.abs(a.data.stats!.samples.totalQueryableSamples - pTotal) <= 2, `agent ${a.data.stats!.samples.totalQueryableSamples} vs Prometheus ${pTotal}`);

    // A range query of a selector: both series at each of the 6 steps, per step.
    [p, a] = await query(q('query_range', 'demo_requests_total', `start=${t - 10}&end=${t}&step=2&stats=all`));
    sameShape(p, a, 'range selector');
    assert.equal(p.data.stats!.samples.totalQueryableSamples, 12);
    assert.equal(a.data.stats!.samples.totalQueryableSamples, 12);
    assert.deepEqual(a.data.stats!.samples.totalQueryableSamplesPerStep, p.data.stats!.samples.totalQueryableSamplesPerStep);

    // A range query of a rate: each step counts its window's samples.
    [p, a] = await query(q('query_range', 'rate(demo_requests_total[5s])', `start=${t - 10}&end=${t}&step=2&stats=all`));
    sameShape(p, a, 'range rate');
    const pSteps = p.data.stats!.samples.totalQueryableSamplesPerStep!;
    const aSteps = a.data.stats!.samples.totalQueryableSamplesPerStep!;
    assert.deepEqual(aSteps.map(([ts]) => ts), pSteps.map(([ts]) => ts));
    for (let i = 0; i < pSteps.length; i++) assert.ok(Math.abs(aSteps[i]![1] - pSteps[i]![1]) <= 2, `step ${i}: agent ${JSON.stringify(aSteps)} vs Prometheus ${JSON.stringify(pSteps)} (${JSON.stringify(p.data.stats)})`);
    assert.ok(Math.abs(a.data.stats!.samples.totalQueryableSamples - p.data.stats!.samples.totalQueryableSamples) <= 2 * pSteps.length);
  });

  it('pretty-prints long queries in format_query exactly as Prometheus does', { skip: skip ?? false, timeout: 60_000 }, async () => {
    const long = [
      'sum by (job, path) (rate(demo_requests_total{path=~"/a|/b", job="demo", instance!=""}[5m])) / on (job) group_left () sum by (job) (rate(demo_requests_total[5m]))',
      'histogram_quantile(0.99, sum without (instance, pod) (rate(demo_latency_seconds_bucket{job="demo"}[5m] offset 1m))) > bool 0.25 unless ignoring (le) demo_temperature_celsius',
      'label_replace(label_replace(demo_requests_total{job="demo",path="/a"}, "dst", "$1", "path", "/(.*)"), "dst2", "x-$1", "dst", "(.*)")',
      'max_over_time(rate(demo_requests_total{job="demo",path="/a"}[1m])[30m:1m] @ 1700000000 offset 5m) - -avg_over_time(demo_temperature_celsius[10m] @ end())',
      '(demo_temperature_celsius > 20 and on (job) (count by (job) (demo_requests_total) > 1)) or (demo_temperature_celsius < 10 and on (job) (count by (job) (demo_requests_total) < 1))',
      'topk(5, sum by (path) (increase(demo_requests_total{job="demo"}[1h])) / scalar(sum(increase(demo_requests_total{job="demo"}[1h])))) * 100',
      'count_values("value", demo_temperature_celsius{job="demo",instance=~".+",path!~"/internal/.*"}) + quantile(0.5, demo_requests_total{job="demo"})',
    ];
    for (const expr of long) {
      assert.ok(expr.length > 100, expr);
      const [p, a] = await both(`/api/v1/format_query?query=${encodeURIComponent(expr)}`);
      assert.equal(p.status, 'success', `${expr}: ${JSON.stringify(p)}`);
      assert.ok((p.data as string).includes('\n'), `Prometheus splits ${expr}`);
      assert.equal(a.data, p.data, `format_query ${expr}`);
    }
    // A known, versioned difference: Prometheus before 3.3 printed numbers as Go's %v
    // (1e+06); 3.3 and later print them in full (prometheus/prometheus#16083), as the agent
    // does, following the 3.x semantics its buildinfo claims.
    const [p, a] = await both(`/api/v1/format_query?query=${encodeURIComponent('demo_requests_total * 1000000')}`);
    assert.equal(p.data, 'demo_requests_total * 1e+06');
    assert.equal(a.data, 'demo_requests_total * 1000000');
  });

  // A known difference, not listed: Prometheus names some grammar contexts the agent does not
  // (`sum(x +)` is "unexpected ")" in aggregation" there, "unexpected ")"" here).
  it('words parse errors as Prometheus does', { skip: skip ?? false, timeout: 60_000 }, async () => {
    const bad = [
      'nosuchfn(up)', 'sum(', 'rate(up[5m', '(up', 'sort(up', 'up{job="a"', 'up{', '1 +', '{}', 'rate(up)', 'up[5m] + 1',
      'up[999999999999y]', 'demo_requests_total{__name__="demo_requests_total"}', 'sum(up) by (', 'histogram_quantile(0.9)',
      // The parser's words for the token it did not expect, and where it was.
      'up)', 'sum by (a)', 'foo @ bar', 'x offset', 'up[5m] offset', 'a b', '5 5', 'up = 1', '1 + * 2', 'up == bool on', 'sum without',
      'up{a="b" c="d"}', 'up{a}', 'up{a=}', 'rate(up[5m)', 'up[]', 'up[5x]', 'max_over_time(up[5m:1m:1m])', 'up]', 'up}',
      'sum(up) without (a) by (b)', 'up == on(a) group_left(b) bool up', 'rate(up[5m]) by (a)', 'up[5m:1m] @',
      // Checks after parsing, at the position of the whole expression.
      'count_values(up)', 'topk(up)', 'up offset 5m offset 5m', 'up @ 1 @ 2', 'up and 1', '1 and up', '-"a"', 'abs()', 'label_replace(up, "a", "b", "c")',
      '`unterminated', '"unterminated',
      // Go's regexp errors (RE2's refusals included), at the matcher.
      'up{a=~"("}', '{__name__=~"a(?=b)"}', '{__name__=~"a{1001}"}', 'up{job!~"(a)\\\\1"}',
    ];
    const differ: string[] = [];
    for (const expr of bad) {
      const [p, a] = await both(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      assert.equal(p.status, 'error', expr);
      assert.equal(a.status, 'error', expr);
      if (a.error !== p.error) differ.push(`${expr}\n  Prometheus: ${p.error}\n  agent:      ${a.error}`);
    }
    assert.deepEqual(differ, [], differ.join('\n'));
  });
});
