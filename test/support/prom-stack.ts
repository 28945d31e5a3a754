/**
 * Starts the real Prometheus 2.42 and Alertmanager 0.25 from Debian on 127.0.0.1 for end-to-end
 * tests, each in its own temp dir, and answers Prometheus HTTP API queries. A fresh Prometheus
 * needs about 6 s before its first scrape (its discovery manager throttles updates to 5 s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, startChild, waitFor, whichBinary, type Child } from './processes.ts';

export interface ScrapeJob {
  job: string;
  targets: string[];
}

export interface PromServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  child: Child;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  ruleFiles?: string[];
  alertmanagerUrl?: string;
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** More command-line flags, e.g. `--enable-feature=promql-per-step-stats`. */
  extraArgs?: string[];
}

async function waitReady(url: string, child: Child, name: string): Promise<void> {
  await waitFor(`${name} /-/ready`, async () => {
    if (child.proc.exitCode !== null) throw new Error(`${name} exited: ${child.output()}`);
    const res = await fetch(`${url}/-/ready`).catch(() => null);
    return res?.ok === true;
  }, 20_000);
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PromServer> {
  const bin = whichBinary('prometheus');
  if (!bin) throw new Error('prometheus is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fp-prom-'));
  const port = await freePort();
  const config: Record<string, unknown> = {
    global: { scrape_interval: opts.scrapeInterval ?? '1s', evaluation_interval: opts.evaluationInterval ?? '1s' },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: opts.jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets }] })),
  };
  if (opts.alertmanagerUrl) {
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: [new URL(opts.alertmanagerUrl).host] }] }] };
  }
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  return launch('prometheus', bin, dir, port, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    ...(opts.extraArgs ?? []),
  ]);
}

/** Starts a server binary on 127.0.0.1:port, waits for /-/ready, and removes its temp dir on stop. */
async function launch(name: string, bin: string, dir: string, port: number, args: string[]): Promise<PromServer> {
  const child = startChild(bin, args);
  const url = `http://127.0.0.1:${port}`;
  const server: PromServer = {
    url,
    port,
    child,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(url, child, name);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

export async function startAlertmanager(webhookUrl?: string): Promise<PromServer> {
  const bin = whichBinary('prometheus-alertmanager');
  if (!bin) throw new Error('prometheus-alertmanager is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fp-am-'));
  const port = await freePort();
  const receiver = webhookUrl
    ? { name: 'sink', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }
    : { name: 'sink' };
  const config = {
    route: { receiver: 'sink', group_by: ['alertname'], group_wait: '1s', group_interval: '5s', repeat_interval: '1h' },
    receivers: [receiver],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
  return launch('alertmanager', bin, dir, port, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ]);
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query against a Prometheus-compatible HTTP API (Prometheus itself or the agent). */
export async function instantQuery(baseUrl: string, expr: string, timeSec?: number): Promise<VectorSample[]> {
  const body = new URLSearchParams({ query: expr });
  if (timeSec !== undefined) body.set('time', String(timeSec));
  const res = await fetch(`${baseUrl}/api/v1/query`, { method: 'POST', body });
  const json = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (json.status !== 'success' || !json.data) throw new Error(`query failed (${res.status}): ${json.error ?? 'unknown'}: ${expr}`);
  if (json.data.resultType === 'scalar') {
    const [t, v] = json.data.result as [number, string];
    return [{ metric: {}, value: [t, v] }];
  }
  return json.data.result as VectorSample[];
}
