/**
 * End to end: the engine (a JobManager and two TaskManagers) runs a job whose sink is slow, so its
 * source is backpressured. A real Prometheus 2.42 and the agent scrape the same /metrics endpoints
 * and load the same rule pack (rules/*.yml, with every `for:` shortened to 3s so the test takes
 * seconds); a second agent reads the same cluster only through Flink REST. Both agents and
 * Prometheus must fire the same alerts with the same labels, the scraping agent within one
 * evaluation interval (plus one scrape interval for scrape phase) of Prometheus, and a real
 * Alertmanager 0.25 must hold the agent's alerts. Finally every dashboard query must return the
 * same series from the agent's /api/v1/query as from Prometheus, with values inside the stated
 * scrape-timing tolerance (scrapeSlack). Takes about 40 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { missingBinaries, startChild, waitFor, waitForListening, type Child } from '../support/processes.ts';
import { instantQuery, startAlertmanager, startPrometheus, type PromServer } from '../support/prom-stack.ts';
import { TestCluster } from '../engine/support/cluster.ts';
import { shortenedRulePack } from '../support/rule-pack.ts';
import { expandVariables, panelQueries } from '../../dashboards/queries.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const JOB = resolve(ROOT, 'test/engine/support/test-jobs.ts');
const EVAL_MS = 1000;
const SCRAPE_MS = 1000;
const RATE_WINDOW_S = 20;
/** A bound on each API request, so a hung server fails the test; generous, as answers wait for a core on a loaded host. */
const REQUEST_TIMEOUT_MS = 30_000;

interface ApiAlert {
  labels: Record<string, string>;
  state: string;
  activeAt: string;
}

/** Time (ms) of the oldest `up` sample of job flink: when that server first scraped the cluster. */
async function firstScrapeMs(base: string): Promise<number> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('up{job="flink"}[5m]')}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = (await res.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  return Math.min(...body.data.result.flatMap((r) => r.values.map(([t]) => t * 1000)));
}

async function alerts(base: string): Promise<ApiAlert[]> {
  const res = await fetch(`${base}/api/v1/alerts`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = (await res.json()) as { data: { alerts: ApiAlert[] } };
  return body.data.alerts;
}

/**
 * The tolerance for scrape timing: 10 % of the value; plus 10 ms/s (1 % of the 0..1000 scale) for
 * busy/idle/backpressured time, whose small values are noise; plus 50 % for TaskManager heap and
 * GC figures, which move within one scrape interval (a GC between two scrapes halves the heap,
 * and a 10 s rate of GC runs counts a handful of events).
 */
function scrapeSlack(expr: string, env: { min: number; max: number }): number {
  const scale = Math.max(Math.abs(env.min), Math.abs(env.max));
  return 0.1 * scale + (expr.includes('TimeMsPerSecond') ? 10 : 0) + (expr.includes('Status_JVM') ? 0.5 * scale : 0) + 1e-9;
}

/** Per series (by sorted labels), the min and max a query takes on [startS, endS] at 1 s steps. */
async function rangeEnvelope(base: string, expr: string, startS: number, endS: number): Promise<Map<string, { min: number; max: number }>> {
  const body = new URLSearchParams({ query: expr, start: String(startS), end: String(endS), step: '1' });
  const res = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const json = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  const out = new Map<string, { min: number; max: number }>();
  for (const r of json.data.result) {
    const vs = r.values.map(([, v]) => Number(v));
    out.set(JSON.stringify(Object.entries(r.metric).sort()), { min: Math.min(...vs), max: Math.max(...vs) });
  }
  return out;
}

function key(a: ApiAlert): string {
  return JSON.stringify(Object.entries(a.labels).sort());
}

function firingKeys(list: ApiAlert[]): string[] {
  return list.filter((a) => a.state === 'firing').map(key).sort();
}

function startAgent(args: string[]): Child {
  return startChild(process.execPath, [join(ROOT, 'cli', 'main.ts'), 'agent', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' },
  });
}

async function agentUrl(agent: Child): Promise<string> {
  return waitForListening(agent);
}

describe('alerting end to end', () => {
  const skip = missingBinaries(['prometheus', 'prometheus-alertmanager']);
  it('fires the same alerts as Prometheus 2.42 on the same rule pack, and Alertmanager receives them', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-e2e-alerting-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ruleFiles = shortenedRulePack(dir);

    const cluster = await new TestCluster({ taskManagers: 2, slots: 1, define: ['metrics.view.update-interval=250', 'metrics.view.window=2000'] }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(JOB, ['--job', 'slow', '--sink-delay-ms', '20', '--ship', 'REBALANCE', '--parallelism', '2'], 2);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'RUNNING', 15_000, 'the job to run');
    const targets = [cluster.jm.ready.metricsPort, ...cluster.tms.map((tm) => tm.ready.metricsPort)].map((p) => `127.0.0.1:${String(p)}`);

    const am: PromServer = await startAlertmanager();
    t.after(() => am.stop());
    const prom = await startPrometheus({ jobs: [{ job: 'flink', targets }], ruleFiles, scrapeInterval: `${SCRAPE_MS / 1000}s`, evaluationInterval: `${EVAL_MS / 1000}s` });
    t.after(() => prom.stop());
    // A fresh Prometheus scrapes for the first time after ~6 s; start the agent then, so both see data from about the same moment.
    await waitFor('Prometheus to scrape every target', async () => {
      const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('count(up == 1)')}`).then((x) => x.json() as Promise<any>);
      return Number(r.data?.result?.[0]?.value?.[1] ?? 0) === targets.length;
    }, 30_000, 250);

    const scrapeArgs = targets.map((tgt) => `flink=http://${tgt}/metrics`);
    const agent = startAgent(['--scrape', ...scrapeArgs, '--rules', ...ruleFiles, '--alertmanager', am.url, '--scrape-interval', '1s', '--eval-interval', '1s']);
    t.after(() => agent.stop());
    const restAgent = startAgent(['--flink-url', cluster.restUrl, '--rules', ...ruleFiles, '--scrape-interval', '1s', '--eval-interval', '1s']);
    t.after(() => restAgent.stop());
    const agentBase = await agentUrl(agent);
    const restBase = await agentUrl(restAgent);

    // Both must fire; then compare how long after its first scrape each made the alert active.
    const isBp = (a: ApiAlert): boolean => a.labels.alertname === 'FlinkSustainedBackpressure' && a.state === 'firing';
    const [promBp, agentBp] = await waitFor('both Prometheus and the agent to fire FlinkSustainedBackpressure', async () => {
      const [p, a] = await Promise.all([alerts(prom.url), alerts(agentBase)]);
      const pb = p.find(isBp);
      const ab = a.find(isBp);
      return pb && ab ? ([pb, ab] as const) : null;
    }, 40_000, 100);
    const latency = async (base: string, alert: ApiAlert): Promise<number> => Date.parse(alert.activeAt) - (await firstScrapeMs(base));
    const promLatency = await latency(prom.url, promBp);
    const agentLatency = await latency(agentBase, agentBp);
    assert.ok(
      Math.abs(promLatency - agentLatency) <= EVAL_MS + SCRAPE_MS,
      `alert active ${promLatency} ms after the first scrape in Prometheus, ${agentLatency} ms in the agent`,
    );

    // The same firing alerts, with the same labels (compared until both have settled).
    let last: { prom: string[]; agent: string[] } = { prom: [], agent: [] };
    await waitFor('the same firing alerts in Prometheus and the agent', async () => {
      const [p, a] = await Promise.all([alerts(prom.url), alerts(agentBase)]);
      last = { prom: firingKeys(p), agent: firingKeys(a) };
      return last.prom.length > 0 && JSON.stringify(last.prom) === JSON.stringify(last.agent);
    }, 15_000, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}\nPrometheus: ${last.prom.join('\n')}\nagent: ${last.agent.join('\n')}`);
    });
    t.diagnostic(`alert active after first scrape: Prometheus ${promLatency} ms, agent ${agentLatency} ms`);
    t.diagnostic(`firing in both: ${last.agent.map((k) => (JSON.parse(k) as Array<[string, string]>).find(([n]) => n === 'alertname')?.[1]).join(', ')}`);
    const bp = (await alerts(agentBase)).find(isBp)!;
    assert.equal(bp.labels.task_name, 'Source:_numbers');
    assert.equal(bp.labels.severity, 'warning');

    // The REST-only agent sees the same backpressure under the same labels.
    const restBp = await waitFor('the REST agent to fire FlinkSustainedBackpressure', async () => (await alerts(restBase)).find(isBp), 20_000, 250);
    assert.equal(key(restBp), key(bp));

    // Alertmanager holds the agent's alert (Prometheus here sends to no Alertmanager).
    const held = await waitFor('Alertmanager to hold the agent\'s alert', async () => {
      const res = await fetch(`${am.url}/api/v2/alerts`);
      const list = (await res.json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
      return list.find((x) => x.labels.alertname === 'FlinkSustainedBackpressure');
    }, 15_000, 250);
    assert.deepEqual(Object.entries(held.labels).sort(), Object.entries(bp.labels).sort());
    assert.equal(held.status.state, 'active');

    // Every dashboard query gives the same series on both, and the agent's value lies within the
    // values Prometheus's own query takes over ±2 scrape intervals (both scrape the same endpoints
    // at different phases), widened by the tolerance of scrapeSlack(). `$__rate_interval` is 20s; the
    // comparison waits until both stores cover whole windows, and runs with the REST agent stopped.
    await restAgent.stop();
    const agentStart = await firstScrapeMs(agentBase);
    await new Promise((r) => setTimeout(r, Math.max(0, agentStart + (RATE_WINDOW_S + 5) * 1000 - Date.now())));
    const at = Math.floor(Date.now() / 1000) - 3;
    const mismatches: string[] = [];
    let compared = 0;
    const queries = panelQueries();
    for (const q of queries) {
      const expr = expandVariables(q.expr, `${RATE_WINDOW_S}s`);
      const [p, a, envelope] = await Promise.all([instantQuery(prom.url, expr, at), instantQuery(agentBase, expr, at), rangeEnvelope(prom.url, expr, at - 2, at + 2)]);
      const labelsOf = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());
      const pKeys = p.map((x) => labelsOf(x.metric)).sort();
      const aKeys = a.map((x) => labelsOf(x.metric)).sort();
      if (pKeys.join('|') !== aKeys.join('|')) mismatches.push(`${q.dashboard}/${q.panel}: series differ\n  prometheus ${pKeys.join(' ')}\n  agent      ${aKeys.join(' ')}`);
      for (const x of a) {
        const env = envelope.get(labelsOf(x.metric));
        if (!env) continue;
        compared++;
        const v = Number(x.value[1]);
        const slack = scrapeSlack(expr, env);
        if (!(v >= env.min - slack && v <= env.max + slack)) mismatches.push(`${q.dashboard}/${q.panel} ${expr} ${labelsOf(x.metric)}: agent ${v}, Prometheus ${env.min}..${env.max}`);
      }
    }
    t.diagnostic(`dashboard queries: ${queries.length} queries, ${compared} series compared`);
    assert.deepEqual(mismatches, []);
  });
});
