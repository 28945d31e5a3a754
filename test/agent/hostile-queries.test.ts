/**
 * The agent under the worst queries we can write, sent at once: /-/healthy keeps answering
 * within 100 ms, rule groups and the scaling loop stay on time, and every query ends in a
 * typed error (or a result) within its timeout. The agent runs as a real process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, waitFor, waitForListening } from '../support/processes.ts';
import { startFlinkFixtureServer } from './flink-fixture-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const QUERY_TIMEOUT_S = 5;
/** A started query may run this long past its deadline before the pool answers for it (query-pool.ts). */
const GRACE_MS = 500;
/** Slack for this loaded machine: HTTP handling and the client's own scheduling. */
const SLACK_MS = 2000;

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

interface Hostile { name: string; path: string; form: Record<string, string>; expect: ReadonlyArray<string> }

const LONG = 'a'.repeat(30);
const hostile: Hostile[] = [
  { name: 'max_over_time(up[1d:1ms])', path: 'query', form: { query: 'max_over_time(up[1d:1ms])' }, expect: ['bad_data'] },
  { name: 'up[999999999999y:1ms]', path: 'query', form: { query: 'up[999999999999y:1ms]' }, expect: ['bad_data'] },
  { name: '{__name__=~"(a|a)*c"} against a 30-char value', path: 'query', form: { query: '{__name__=~"(a|a)*c"}' }, expect: ['success'] },
  { name: '{long=~"(a|a)*c"} against a 30-char value', path: 'query', form: { query: 'count({long=~"(a|a)*c"})' }, expect: ['success'] },
  { name: '100,000-character regex', path: 'query', form: { query: `{__name__=~"${'(a|b)'.repeat(20_000)}"}` }, expect: ['success', 'bad_data'] },
  { name: '100,000-character regex (nested groups)', path: 'query', form: { query: `{__name__=~"${'('.repeat(50_000)}a${')'.repeat(50_000)}"}` }, expect: ['bad_data'] },
  { name: 'sum_over_time(up[100y:1s])', path: 'query', form: { query: 'sum_over_time(up[100y:1s])' }, expect: ['bad_data'] },
  { name: 'max_over_time((up[30000d:1d])[1h:1ms])', path: 'query', form: { query: 'max_over_time((max_over_time(up[30000d:1d]))[1h:1ms])' }, expect: ['bad_data'] },
  { name: 'count_over_time(up[10s:1ms]) as a 10,000-step range query', path: 'query_range', form: { query: 'count_over_time(up[10s:1ms])', start: '0', end: '100000', step: '10' }, expect: ['execution', 'timeout', 'success'] },
  // Slow but legal, whatever the data: nested subqueries that sort every window, for minutes.
  ...Array.from({ length: 6 }, (_, i): Hostile => ({
    name: `nested subqueries #${i + 1}`,
    path: 'query',
    form: { query: 'quantile_over_time(0.5, quantile_over_time(0.5, quantile_over_time(0.5, vector(1)[10000s:1s])[10000s:1s])[10000s:1s])' },
    expect: ['timeout'],
  })),
];

/** Sends one query as a POST form (the 100k regex does not fit in a URL); returns the outcome and its duration. */
async function send(base: string, h: Hostile): Promise<{ name: string; ms: number; status: number; outcome: string; error: string }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/v1/${h.path}`, { method: 'POST', body: new URLSearchParams(h.form), signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as { status: string; errorType?: string; error?: string };
  return { name: h.name, ms: performance.now() - t0, status: res.status, outcome: body.status === 'success' ? 'success' : String(body.errorType), error: body.error ?? '' };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function metricValue(base: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('flowpilot agent under hostile queries', () => {
  it('keeps /-/healthy under 100 ms, rules and scaling on time, and ends every query in a typed error within its timeout', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-hostile-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const flink = await startFlinkFixtureServer();
    t.after(() => flink.close());
    const exporter = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`${LONG} 1\n${LONG}b 2\nlong_labels{long="${LONG}"} 3\n`);
    });
    t.after(() => exporter.close());
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, [
      'groups:',
      '  - name: fast',
      '    interval: 1s',
      '    rules:',
      '      - record: job:up:sum',
      '        expr: sum by (job) (up)',
      '      - alert: TargetDown',
      '        expr: up == 0',
    ].join('\n'));

    const agent = startChild(process.execPath, [
      join(ROOT, 'cli', 'main.ts'), 'agent',
      '--port', '0',
      '--scrape', `demo=${exporter.url}/metrics`,
      '--flink-url', flink.url,
      '--rules', rules,
      '--scrape-interval', '500ms',
      '--eval-interval', '1s',
      '--query.timeout', `${QUERY_TIMEOUT_S}s`,
      '--query.max-concurrency', '4',
    ], { cwd: ROOT, env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' } });
    t.after(() => agent.stop('SIGKILL'));
    const base = await waitForListening(agent);

    // Wait until everything runs: targets scraped, the rule group evaluated, decisions made.
    await waitFor('the demo target scraped', async () => {
      const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(`${LONG}`)}`)).json()) as { data?: { result: unknown[] } };
      return (r.data?.result.length ?? 0) > 0;
    }, 20_000);
    await waitFor('the rule group evaluated', async () => (await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"')) >= 2, 20_000);
    const decisionsUrl = `${base}/api/v1/scaling/decisions?limit=1000`;
    const decisions = async (): Promise<number[]> => ((await (await fetch(decisionsUrl)).json()) as { decisions: Array<{ time: number }> }).decisions.map((d) => d.time);
    await waitFor('scaling decisions', async () => (await decisions()).length >= 2, 20_000);
    const evalsBefore = await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"');
    const missedBefore = await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"');

    // A control: an idle HTTP server in its own process. Its latency is this machine's own
    // floor (scheduling on shared cores), measured at the same moments as /-/healthy.
    const control = startChild(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('control on ' + this.address().port); })"]);
    t.after(() => control.stop('SIGKILL'));
    const controlUrl = `http://127.0.0.1:${await waitFor('the control server', () => /control on (\d+)/.exec(control.output())?.[1], 10_000)}/`;

    /** Probes /-/healthy and the control alternately until stop resolves; returns both latencies (ms), sorted. */
    /**
     * Probes /-/healthy and the control alternately from a process of its own (so this test's
     * own work, such as encoding the 100k-character queries, is not measured), until stop
     * resolves. Returns both latencies (ms), sorted, and the probes over 100 ms.
     */
    const PROBER = `
      const [healthyUrl, controlUrl] = process.argv.slice(-2);
      let stop = false;
      process.on('SIGTERM', () => { stop = true; });
      const t0 = Date.now();
      (async () => {
        for (const url of [healthyUrl, controlUrl]) await (await fetch(url)).text(); // warm up the client
        while (!stop) {
          for (const [tag, url] of [['h', healthyUrl], ['c', controlUrl]]) {
            const s = performance.now();
            const res = await fetch(url);
            await res.text();
            if (res.status !== 200) throw new Error(url + ' answered ' + res.status);
            process.stdout.write(tag + ' ' + (Date.now() - t0) + ' ' + (performance.now() - s).toFixed(2) + '\\n');
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        process.stdout.write('done\\n');
      })();`;
    const slowProbes: Array<{ url: string; atMs: number; ms: number }> = [];
    const probeHealthy = async (stop: Promise<unknown>): Promise<{ healthy: number[]; control: number[] }> => {
      const prober = startChild(process.execPath, ['-e', PROBER, `${base}/-/healthy`, controlUrl]);
      t.after(() => prober.stop('SIGKILL'));
      await stop;
      prober.proc.kill('SIGTERM');
      await waitFor('the prober to finish', () => prober.output().includes('done'), 10_000);
      const healthy: number[] = [];
      const controlMs: number[] = [];
      for (const line of prober.output().split('\n')) {
        const m = /^([hc]) (\d+) ([\d.]+)$/.exec(line);
        if (m === null) continue;
        const ms = Number(m[3]);
        (m[1] === 'h' ? healthy : controlMs).push(ms);
        if (ms > 100) slowProbes.push({ url: m[1] === 'h' ? '/-/healthy' : 'control', atMs: Number(m[2]), ms });
      }
      return { healthy: healthy.sort((a, b) => a - b), control: controlMs.sort((a, b) => a - b) };
    };
    /**
     * The agent's event-loop delay, max over the last `seconds`, from its own series (it
     * scrapes itself every 500 ms; each sample is the max since the previous scrape).
     */
    const lag = async (seconds: number): Promise<number> => {
      const q = `max_over_time(flowpilot_agent_nodejs_eventloop_lag_max_seconds[${Math.ceil(seconds)}s])`;
      const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return Math.round(Number(r.data.result[0]?.value[1] ?? NaN) * 1000);
    };
    // A baseline on this machine as it is now, without hostile queries.
    const baselineStart = Date.now();
    const baseline = await probeHealthy(new Promise((r) => setTimeout(r, 3000)));
    await new Promise((r) => setTimeout(r, 600));
    const baselineLagMax = await lag((Date.now() - baselineStart) / 1000);

    const windowStart = Date.now();
    const all = Promise.all(hostile.map((h) => send(base, h)));
    // Keep probing a little after the last answer: the worker may still be finishing up.
    const [results, probes] = await Promise.all([all, probeHealthy(all.then(() => new Promise((r) => setTimeout(r, 1000))))]);
    const sorted = probes.healthy;
    const windowEnd = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    const lagMax = await lag((Date.now() - windowStart) / 1000);

    const stats = (xs: number[]) => ({ probes: xs.length, p50: Math.round(percentile(xs, 50) * 10) / 10, p99: Math.round(percentile(xs, 99) * 10) / 10, max: Math.round(xs[xs.length - 1]! * 10) / 10 });
    const report = {
      healthy: stats(sorted),
      control: stats(probes.control),
      baselineHealthy: stats(baseline.healthy),
      baselineControl: stats(baseline.control),
      slowProbes,
      eventLoopLagMaxMs: { baseline: Math.round(baselineLagMax), hostile: Math.round(lagMax) },
      queries: results.map((r) => ({ name: r.name, ms: Math.round(r.ms), outcome: r.outcome, error: r.error.slice(0, 120) })),
    };
    t.diagnostic(JSON.stringify(report));

    for (const r of results) {
      const h = hostile.find((x) => x.name === r.name)!;
      // Any query may time out waiting behind slower ones (one worker); otherwise it ends as expected.
      assert.ok(h.expect.includes(r.outcome) || r.outcome === 'timeout', `${r.name}: ${r.outcome} ${r.error.slice(0, 200)}`);
      assert.ok(r.ms <= QUERY_TIMEOUT_S * 1000 + GRACE_MS + SLACK_MS, `${r.name} answered after ${r.ms} ms`);
    }
    // /-/healthy stays under 100 ms, beyond what this machine adds to any request: on a host
    // whose cores are shared with other work, an idle server in another process (the
    // control) is slow at times too, and that floor is allowed on top. The agent's own
    // event-loop delay (measured inside it) shows that its main thread was never held up.
    assert.ok(sorted.length >= 20, `only ${sorted.length} health probes`);
    assert.ok(lagMax < 100 + report.control.max, `the agent's event loop was held up ${lagMax} ms`);
    assert.ok(report.healthy.p99 < 100 + report.control.p99, `/-/healthy p99 ${report.healthy.p99} ms (control p99 ${report.control.p99} ms)`);
    assert.ok(report.healthy.max < 100 + report.control.max, `/-/healthy max ${report.healthy.max} ms (control max ${report.control.max} ms)`);

    // Rule groups: no iteration missed, and one evaluation per second of the window.
    const windowS = (windowEnd - windowStart) / 1000;
    const evals = (await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"')) - evalsBefore;
    assert.equal(await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"'), missedBefore);
    assert.ok(evals >= Math.floor(windowS) - 1, `${evals} group evaluations in ${windowS.toFixed(1)} s`);
    // Scaling: decisions kept coming at the collection interval (500 ms) through the window
    // (the Flink fixture answers from this test's process, which is busy too, and this host is
    // shared: 2.5 s at most, where a query on the main thread would stop them for its 5 s).
    const times = (await decisions()).filter((x) => x >= windowStart - 1000 && x <= windowEnd);
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    t.diagnostic(JSON.stringify({ windowS, ruleEvaluations: evals, decisions: times.length, maxDecisionGapMs: Math.max(...gaps) }));
    assert.ok(times.length >= Math.floor(windowS), `${times.length} decisions in ${windowS.toFixed(1)} s`);
    assert.ok(Math.max(...gaps) < 2500, `a ${Math.max(...gaps)} ms gap between decisions`);

    // Alone, the slow query runs in the worker until its deadline and stops there.
    const alone = await send(base, hostile.find((h) => h.name === 'nested subqueries #1')!);
    t.diagnostic(JSON.stringify({ alone: { ms: Math.round(alone.ms), outcome: alone.outcome, error: alone.error } }));
    assert.equal(alone.outcome, 'timeout');
    assert.ok(alone.ms <= QUERY_TIMEOUT_S * 1000 + GRACE_MS + SLACK_MS, `answered after ${alone.ms} ms`);

    // The agent still answers queries afterwards.
    const after = (await (await fetch(`${base}/api/v1/query?query=job:up:sum`)).json()) as { status: string; data: { result: unknown[] } };
    assert.equal(after.status, 'success');
    assert.ok(after.data.result.length > 0);
  });

  it('fails a pathological rule with health "err" at the rule timeout, while the other groups keep their schedule', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-hostile-rule-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, [
      'groups:',
      '  - name: fast',
      '    interval: 1s',
      '    rules:',
      '      - record: job:up:sum',
      '        expr: sum by (job) (up)',
      '  - name: pathological',
      '    interval: 1s',
      '    rules:',
      '      - record: everything:nested',
      `        expr: 'count(max_over_time((count_over_time({__name__=~".+"}[10000s:1s]))[10000s:1s]))'`,
    ].join('\n'));
    const config = join(dir, 'agent.yml');
    writeFileSync(config, 'query:\n  ruleTimeout: 300ms\n');
    const agent = startChild(process.execPath, [
      join(ROOT, 'cli', 'main.ts'), 'agent', '--config', config, '--port', '0', '--rules', rules, '--scrape-interval', '500ms', '--eval-interval', '1s',
    ], { cwd: ROOT, env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' } });
    t.after(() => agent.stop('SIGKILL'));
    const base = await waitForListening(agent);
    type ApiRule = { name: string; health: string; lastError?: string; evaluationTime: number };
    type ApiGroup = { name: string; rules: ApiRule[]; evaluationTime: number; lastEvaluation: string };
    const groups = async (): Promise<ApiGroup[]> => ((await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: ApiGroup[] } }).data.groups;
    const failed = await waitFor('the pathological rule to fail', async () => {
      const g = (await groups()).find((x) => x.name === 'pathological');
      return g?.rules[0]?.health === 'err' ? g : null;
    }, 30_000);
    t.diagnostic(JSON.stringify({ rule: failed.rules[0], groupEvaluationTime: failed.evaluationTime }));
    assert.equal(failed.rules[0]!.lastError, 'query timed out in expression evaluation');
    assert.ok(failed.evaluationTime < 1, `the group took ${failed.evaluationTime} s`);
    const evals = async (): Promise<number> => metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"');
    const before = await evals();
    const missedBefore = await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"');
    await waitFor('three more evaluations of the other group', async () => (await evals()) >= before + 3, 10_000);
    assert.equal(await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"'), missedBefore);
    assert.equal((await groups()).find((x) => x.name === 'fast')!.rules[0]!.health, 'ok');
  });
});
