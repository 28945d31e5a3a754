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
import { nestedQuantiles } from '../support/slow-queries.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const QUERY_TIMEOUT_S = 5;
/** A started query may run this long past its deadline before the pool answers for it (query-pool.ts). */
const GRACE_MS = 500;
/** Slack for this loaded machine: HTTP handling and the client's own scheduling. */
const SLACK_MS = 2000;
/** The Flink collection's interval: one scaling decision each. */
const FLINK_INTERVAL_MS = 1000;

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
  // Slow but legal, whatever the data: nested subqueries that sort every window, for far longer than the timeout.
  ...Array.from({ length: 6 }, (_, i): Hostile => ({
    name: `nested subqueries #${i + 1}`,
    path: 'query',
    form: { query: nestedQuantiles(5) },
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
    // The Flink fixture answers from a process of its own, so this test's own work (encoding the
    // 100k-character queries, reading answers) never delays the agent's Flink collections.
    const flinkChild = startChild(process.execPath, ['--input-type=module', '-e', `const { startFlinkFixtureServer } = await import(${JSON.stringify(join(import.meta.dirname, 'flink-fixture-server.ts'))}); const s = await startFlinkFixtureServer(); console.log('flink on ' + s.url);`]);
    t.after(() => flinkChild.stop('SIGKILL'));
    const flink = { url: await waitFor('the Flink fixture', () => /flink on (http:\S+)/.exec(flinkChild.output())?.[1], 20_000) };
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

    // Flink is collected every second (its timeout is capped at that, as Prometheus caps a scrape
    // timeout at the interval), and a collection that overran it is tried again at the next
    // tick, not after a growing backoff: the decisions' schedule stays predictable on a loaded host.
    const config = join(dir, 'agent.yml');
    writeFileSync(config, `flink:\n  interval: ${FLINK_INTERVAL_MS}ms\nscrape:\n  maxBackoff: ${FLINK_INTERVAL_MS}ms\n`);
    const agent = startChild(process.execPath, [
      join(ROOT, 'cli', 'main.ts'), 'agent',
      '--config', config,
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
    /**
     * An instant query's result. Right after the hostile queries the pool may still be starting
     * the worker that replaced a stuck one (a snapshot of the store; seconds on a loaded host), and
     * a query meanwhile times out in the queue: it is asked again until it answers.
     */
    const apiQuery = async <R>(q: string): Promise<R[]> => waitFor(`an answer to ${q}`, async () => {
      const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; error?: string; data?: { result: R[] } };
      if (r.status !== 'success') throw new Error(`${r.status}: ${r.error}`);
      return r.data!.result;
    }, 30_000, 500);

    // Wait until everything runs: targets scraped, the rule group evaluated, decisions made (the
    // first query also waits for the query worker to start, which takes seconds on a loaded host).
    const setup = async <T>(what: string, probe: () => Promise<T | false>): Promise<T> =>
      waitFor(what, probe, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${agent.output().slice(-3000)}`);
      });
    await setup('the demo target scraped', async () => (await apiQuery<unknown>(LONG)).length > 0);
    await setup('the rule group evaluated', async () => (await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"')) >= 2);
    const decisionsUrl = `${base}/api/v1/scaling/decisions?limit=1000`;
    const decisions = async (): Promise<number[]> => ((await (await fetch(decisionsUrl)).json()) as { decisions: Array<{ time: number }> }).decisions.map((d) => d.time);
    await setup('scaling decisions', async () => (await decisions()).length >= 2);
    const evalsBefore = await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"');
    const missedBefore = await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"');

    // A control: an idle HTTP server in its own process. Its latency is this machine's own
    // floor (scheduling on shared cores), measured at the same moments as /-/healthy. It also
    // measures its own event-loop delay as the agent does (prom-client's monitorEventLoopDelay,
    // 10 ms resolution): GET /lag answers the max (ms) since the last GET /lag.
    const CONTROL = `
      const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      require('node:http').createServer((q, s) => {
        if (q.url !== '/lag') return s.end('ok');
        s.end(String(h.max / 1e6));
        h.reset();
      }).listen(0, '127.0.0.1', function () { console.log('control on ' + this.address().port); });`;
    const control = startChild(process.execPath, ['-e', CONTROL]);
    t.after(() => control.stop('SIGKILL'));
    const controlUrl = `http://127.0.0.1:${await waitFor('the control server', () => /control on (\d+)/.exec(control.output())?.[1], 10_000)}/`;
    const controlLag = async (): Promise<number> => Math.round(Number(await (await fetch(`${controlUrl}lag`)).text()));

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
        process.stdout.write('ready\\n');
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
    /** Starts the prober; resolves once it probes (a process starts slowly on a loaded host) with a function that stops it and returns the latencies. */
    const startProber = async (): Promise<{ count(): number; output(): string; finish(): Promise<{ healthy: number[]; control: number[] }> }> => {
      const prober = startChild(process.execPath, ['-e', PROBER, `${base}/-/healthy`, controlUrl]);
      t.after(() => prober.stop('SIGKILL'));
      await waitFor('the prober to start', () => prober.output().includes('ready'), 60_000);
      return { count: () => prober.output().split('\n').filter((l) => l.startsWith('h ')).length, output: () => prober.output(), finish: () => finishProber(prober) };
    };
    const finishProber = async (prober: ReturnType<typeof startChild>): Promise<{ healthy: number[]; control: number[] }> => {
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
      const r = await apiQuery<{ value: [number, string] }>(q);
      return Math.round(Number(r[0]?.value[1] ?? NaN) * 1000);
    };
    // A baseline on this machine as it is now, without hostile queries.
    // At least 3 s and 30 probes of each.
    const baselineProber = await startProber();
    const baselineStart = Date.now();
    await controlLag();
    await waitFor('30 baseline probes', () => Date.now() - baselineStart >= 3000 && baselineProber.count() >= 30, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${baselineProber.output().slice(-2000)}`);
    });
    const baseline = await baselineProber.finish();
    await new Promise((r) => setTimeout(r, 600));
    const baselineLagMax = await lag((Date.now() - baselineStart) / 1000);
    const baselineControlLag = await controlLag();

    const hostileProber = await startProber();
    const windowStart = Date.now();
    const results = await Promise.all(hostile.map((h) => send(base, h)));
    // Keep probing a little after the last answer: the worker may still be finishing up.
    await new Promise((r) => setTimeout(r, 1000));
    const probes = await hostileProber.finish();
    const sorted = probes.healthy;
    const windowEnd = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    const lagMax = await lag((Date.now() - windowStart) / 1000);
    const hostileControlLag = await controlLag();

    const stats = (xs: number[]) => ({ probes: xs.length, p50: Math.round(percentile(xs, 50) * 10) / 10, p99: Math.round(percentile(xs, 99) * 10) / 10, max: Math.round(xs[xs.length - 1]! * 10) / 10 });
    const report = {
      healthy: stats(sorted),
      control: stats(probes.control),
      baselineHealthy: stats(baseline.healthy),
      baselineControl: stats(baseline.control),
      slowProbes,
      eventLoopLagMaxMs: { baseline: Math.round(baselineLagMax), hostile: Math.round(lagMax), controlBaseline: baselineControlLag, controlHostile: hostileControlLag },
      queries: results.map((r) => ({ name: r.name, ms: Math.round(r.ms), outcome: r.outcome, error: r.error.slice(0, 120) })),
    };
    t.diagnostic(JSON.stringify(report));

    for (const r of results) {
      const h = hostile.find((x) => x.name === r.name)!;
      // Any query may time out waiting behind slower ones (one worker); otherwise it ends as expected.
      assert.ok(h.expect.includes(r.outcome) || r.outcome === 'timeout', `${r.name}: ${r.outcome} ${r.error.slice(0, 200)}`);
      // The deadline's timer fires late by the agent's event-loop delay on this host, and the answer reaches the client as late as any request does.
      assert.ok(r.ms <= QUERY_TIMEOUT_S * 1000 + GRACE_MS + SLACK_MS + lagMax + report.control.max, `${r.name} answered after ${r.ms} ms`);
    }
    // /-/healthy stays under 100 ms, beyond what this machine adds to any request: on a host
    // whose cores are shared with other work, an idle server in another process (the control,
    // probed at the same moments) is slow at times too, and so is the agent itself without any
    // hostile query (the baseline just before); the larger floor is allowed on top. The agent's
    // own event-loop delay (measured inside it, prom-client's monitorEventLoopDelay) shows that
    // its main thread was never held up by more than 100 ms beyond the same measure in its
    // baseline or in the control over the same window (the host's own scheduling delays); a
    // query on the main thread would hold it for seconds.
    assert.ok(sorted.length >= 20, `only ${sorted.length} health probes`);
    const lagFloorMs = Math.max(baselineLagMax, hostileControlLag, report.control.max);
    assert.ok(lagMax < 100 + lagFloorMs, `the agent's event loop was held up ${lagMax} ms (its baseline ${baselineLagMax} ms, the control's ${hostileControlLag} ms, the control's HTTP max ${report.control.max} ms)`);
    const p99Floor = Math.max(report.control.p99, report.baselineHealthy.p99);
    assert.ok(report.healthy.p99 < 100 + p99Floor, `/-/healthy p99 ${report.healthy.p99} ms (control p99 ${report.control.p99} ms, baseline p99 ${report.baselineHealthy.p99} ms)`);
    // The slowest probe: at worst the agent's main thread was late by its measured event-loop delay
    // (bounded above) and the request met the host's worst scheduling (the control's slowest).
    const maxFloor = Math.max(report.control.max, report.baselineHealthy.max, lagMax + report.control.max);
    assert.ok(report.healthy.max < 100 + maxFloor, `/-/healthy max ${report.healthy.max} ms (control max ${report.control.max} ms, baseline max ${report.baselineHealthy.max} ms, event-loop delay ${lagMax} ms)`);

    // Rule groups: no iteration missed, and one evaluation per second of the window.
    const windowS = (windowEnd - windowStart) / 1000;
    const evals = (await metricValue(base, 'flowpilot_rule_evaluations_total', ';fast"')) - evalsBefore;
    assert.equal(await metricValue(base, 'flowpilot_rule_group_iterations_missed_total', ';fast"'), missedBefore);
    assert.ok(evals >= Math.floor(windowS) - 1, `${evals} group evaluations in ${windowS.toFixed(1)} s`);
    // Scaling: a decision is made on every Flink collection (the decision's time is the
    // collection's), and collections kept their schedule through the window: every second, at
    // the next tick after a slow one, and, when one took longer than its timeout (the interval,
    // as Prometheus caps it) and failed, after the target's backoff (one interval here). How long
    // a collection takes is the Flink side's answer time on this shared host (the fixture is a
    // process of its own); the agent adds only its event-loop delay, bounded above. So a gap
    // between decisions is bounded by the schedule the collections it spans give; a query on the
    // main thread would stop decisions for its whole timeout (5 s), and that never fits.
    const INTERVAL_MS = FLINK_INTERVAL_MS;
    const times = (await decisions()).filter((x) => x >= windowStart - 1000 && x <= windowEnd);
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    const span = Math.ceil((Date.now() - windowStart) / 1000) + 3;
    const samples = async (q: string): Promise<Array<[number, number]>> =>
      (await apiQuery<{ values: Array<[number, string]> }>(`${q}[${span}s]`))[0]?.values.map(([ts, v]): [number, number] => [Math.round(ts * 1000), Number(v)]) ?? [];
    const ups = new Map(await samples('up{job="flink"}'));
    let failures = 0;
    const collections = (await samples('scrape_duration_seconds{job="flink"}')).map(([at, sec]) => {
      const ms = Math.round(sec * 1000);
      const up = ups.get(at) === 1;
      // A tick skipped while backing off is recorded as up 0 with no duration; only attempts count.
      if (up) failures = 0;
      else if (ms > 0) failures++;
      return { at, ms, up, backoffMs: !up && ms > 0 ? Math.min(INTERVAL_MS * 2 ** (failures - 1), INTERVAL_MS) : 0 };
    }).filter((c) => c.at >= windowStart - 1000 && c.at <= windowEnd);
    t.diagnostic(JSON.stringify({
      windowS, ruleEvaluations: evals, decisions: times.length, maxDecisionGapMs: Math.max(...gaps),
      decisionsAt: times.map((x) => x - windowStart), collections: collections.map((c) => ({ ...c, at: c.at - windowStart })),
      collectionErrors: agent.output().split('\n').filter((l) => l.includes('scrape failed')).map((l) => l.slice(0, 300)),
    }));
    assert.ok(collections.length >= 2, `${collections.length} Flink collections in the window`);
    // Every successful collection gave a decision at its time (none dropped or queued behind a query).
    const missed = collections.filter((c) => c.up && !times.some((x) => Math.abs(x - c.at) <= 50));
    assert.deepEqual(missed.map((c) => c.at - windowStart), [], 'collections without a decision');
    // A collection fails only by running out of its time on this host, never with an error.
    const failedEarly = collections.filter((c) => !c.up && c.ms > 0 && c.ms < INTERVAL_MS - 20);
    assert.deepEqual(failedEarly, [], 'Flink collections that failed before their timeout');
    for (let i = 1; i < times.length; i++) {
      const spanned = collections.filter((c) => c.at >= times[i - 1]! && c.at < times[i]!).reduce((a, c) => a + c.ms + c.backoffMs, 0);
      const bound = INTERVAL_MS + spanned + 100 + lagMax;
      assert.ok(gaps[i - 1]! <= bound, `a ${gaps[i - 1]} ms gap between decisions at ${times[i - 1]! - windowStart} ms; the collections in it took ${spanned} ms with backoff (bound ${bound} ms)`);
    }
    assert.ok(Math.max(...gaps) < QUERY_TIMEOUT_S * 1000, `a ${Math.max(...gaps)} ms gap between decisions: as long as a query's timeout`);

    // Alone, the slow query runs in the worker until its deadline and stops there.
    const alone = await send(base, hostile.find((h) => h.name === 'nested subqueries #1')!);
    t.diagnostic(JSON.stringify({ alone: { ms: Math.round(alone.ms), outcome: alone.outcome, error: alone.error } }));
    assert.equal(alone.outcome, 'timeout');
    assert.ok(alone.ms <= QUERY_TIMEOUT_S * 1000 + GRACE_MS + SLACK_MS + lagMax + report.control.max, `answered after ${alone.ms} ms`);

    // The agent still answers queries afterwards (once the worker that replaced the stuck one runs).
    assert.ok((await apiQuery<unknown>('job:up:sum')).length > 0);
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
      `        expr: '${nestedQuantiles(4)}'`,
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
