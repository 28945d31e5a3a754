/**
 * `flowpilot up --with-prometheus`: starts the installed Prometheus (and Alertmanager, when it is
 * installed too) on 127.0.0.1, preconfigured for the local stack: it scrapes the JobManager,
 * every TaskManager and the agent every few seconds, loads the default rule pack, and sends its
 * alerts to the Alertmanager. Config, data and logs live under `<stateDir>/prometheus/` and
 * `<stateDir>/alertmanager/`. When Prometheus is not installed, or does not become ready, the
 * answer is `{ started: false, reason }` for the caller to print; it never throws for that.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stringify } from 'yaml';
import { errorMessage } from '../../common/errors.ts';
import { choosePort, findBinary, startLocalProcess, type LocalProcess } from './local-process.ts';

export interface LocalPrometheusOptions {
  stateDir: string;
  /** the engine's /metrics endpoints: `host:port` or full URLs (http://127.0.0.1:9249/metrics) */
  engineTargets: string[];
  /** the agent's /metrics endpoint, same forms */
  agentTarget?: string;
  /** rule files Prometheus loads (see defaultRuleFiles()) */
  ruleFiles: string[];
  /** default 9090, or the next free port after it; 0 = any free port */
  prometheusPort?: number;
  /** default 9093, or the next free port after it; 0 = any free port */
  alertmanagerPort?: number;
  /** seconds between scrapes (1–5, default 2) */
  scrapeIntervalSec?: number;
  /** seconds between rule evaluations (default 5) */
  evaluationIntervalSec?: number;
  /** binary paths; default: looked up on PATH (prometheus; prometheus-alertmanager or alertmanager) */
  binaries?: { prometheus?: string; alertmanager?: string };
  /** how long to wait for /-/ready (default 30000 ms) */
  readyTimeoutMs?: number;
}

export type LocalPrometheus =
  | {
      started: true;
      prometheusUrl: string;
      /** null when Alertmanager is not installed (Prometheus then runs without alerting) */
      alertmanagerUrl: string | null;
      configFile: string;
      /** things the user should know, e.g. that Alertmanager is missing */
      notes: string[];
      stop(): Promise<void>;
    }
  | { started: false; reason: string };

const INSTALL_HINT = 'install them with: sudo apt-get install prometheus prometheus-alertmanager';

/** The default rule pack: rules/*.yml of this checkout. */
export function defaultRuleFiles(): string[] {
  const dir = fileURLToPath(new URL('../../rules/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

interface Target {
  scheme: string;
  address: string;
  path: string;
}

export function parseTarget(t: string): Target {
  if (!/^[a-z]+:\/\//i.test(t)) return { scheme: 'http', address: t, path: '/metrics' };
  const u = new URL(t);
  return { scheme: u.protocol.replace(':', ''), address: u.host, path: u.pathname === '/' ? '/metrics' : u.pathname };
}

function scrapeConfigs(jobName: string, targets: string[], intervalSec: number, labels: Record<string, string>): Array<Record<string, unknown>> {
  const groups = new Map<string, { t: Target; addresses: string[] }>();
  for (const raw of targets) {
    const t = parseTarget(raw);
    const key = `${t.scheme} ${t.path}`;
    const g = groups.get(key) ?? { t, addresses: [] };
    g.addresses.push(t.address);
    groups.set(key, g);
  }
  return [...groups.values()].map((g, i) => ({
    job_name: i === 0 ? jobName : `${jobName}-${i + 1}`,
    scrape_interval: `${intervalSec}s`,
    scrape_timeout: `${intervalSec}s`,
    metrics_path: g.t.path,
    scheme: g.t.scheme,
    static_configs: [{ targets: g.addresses, labels }],
  }));
}

/** prometheus.yml for the local stack (pure). Engine targets are job "flink", the agent "flowpilot-agent". */
export function prometheusConfig(opts: { engineTargets: string[]; agentTarget?: string; ruleFiles: string[]; alertmanagerAddress: string | null; scrapeIntervalSec: number; evaluationIntervalSec: number }): Record<string, unknown> {
  const interval = Math.min(5, Math.max(1, opts.scrapeIntervalSec));
  const config: Record<string, unknown> = {
    global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${opts.evaluationIntervalSec}s` },
    rule_files: opts.ruleFiles.map((f) => resolve(f)),
    scrape_configs: [
      ...scrapeConfigs('flink', opts.engineTargets, interval, { deployment: 'flowpilot-local' }),
      ...(opts.agentTarget ? scrapeConfigs('flowpilot-agent', [opts.agentTarget], interval, { deployment: 'flowpilot-local' }) : []),
    ],
  };
  if (opts.alertmanagerAddress !== null) config.alerting = { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanagerAddress] }] }] };
  return config;
}

/** alertmanager.yml: group quickly, deliver nowhere (the UI and API show the alerts). */
export function alertmanagerConfig(): Record<string, unknown> {
  return {
    route: { receiver: 'local', group_by: ['alertname', 'job_name'], group_wait: '5s', group_interval: '30s', repeat_interval: '4h' },
    receivers: [{ name: 'local' }],
  };
}

/** The error lines of a Prometheus/Alertmanager log (the last few), or its last lines. */
export function failureLines(log: string): string {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /level=(error|fatal)/.test(l));
  return (errors.length > 0 ? errors.slice(-4) : lines.slice(-6)).map((l) => `  ${l}`).join('\n');
}

async function waitReady(url: string, proc: LocalProcess, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.isRunning()) throw new Error(`${name} exited while starting (log: ${proc.logFile}):\n${failureLines(proc.logTail(20_000))}`);
    try {
      const res = await request(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready at ${url}/-/ready within ${timeoutMs} ms; see ${proc.logFile}`);
}

export async function startLocalPrometheus(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
  const promBin = opts.binaries?.prometheus ?? findBinary(['prometheus', '/usr/bin/prometheus']);
  if (promBin === null || !existsSync(promBin)) return { started: false, reason: `Prometheus is not installed (no "prometheus" on PATH); ${INSTALL_HINT}` };
  const amBin = opts.binaries?.alertmanager ?? findBinary(['prometheus-alertmanager', 'alertmanager', '/usr/bin/prometheus-alertmanager']);
  const notes: string[] = [];
  const stateDir = resolve(opts.stateDir);
  const promDir = join(stateDir, 'prometheus');
  const amDir = join(stateDir, 'alertmanager');
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const started: LocalProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.reverse().map((p) => p.stop()));
  };
  try {
    let alertmanagerUrl: string | null = null;
    const taken = new Set<number>();
    if (amBin !== null && existsSync(amBin)) {
      mkdirSync(join(amDir, 'data'), { recursive: true });
      const port = await choosePort(opts.alertmanagerPort ?? 9093);
      taken.add(port);
      writeFileSync(join(amDir, 'alertmanager.yml'), stringify(alertmanagerConfig()));
      const am = startLocalProcess(
        amBin,
        [`--config.file=${join(amDir, 'alertmanager.yml')}`, `--storage.path=${join(amDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
        join(amDir, 'alertmanager.log'),
      );
      started.push(am);
      alertmanagerUrl = `http://127.0.0.1:${port}`;
      await waitReady(alertmanagerUrl, am, 'Alertmanager', readyTimeoutMs);
    } else {
      notes.push(`Alertmanager is not installed, so Prometheus runs without alerting; ${INSTALL_HINT}`);
    }
    mkdirSync(join(promDir, 'data'), { recursive: true });
    const port = await choosePort(opts.prometheusPort ?? 9090, taken);
    const configFile = join(promDir, 'prometheus.yml');
    const config = prometheusConfig({
      engineTargets: opts.engineTargets,
      ...(opts.agentTarget ? { agentTarget: opts.agentTarget } : {}),
      ruleFiles: opts.ruleFiles,
      alertmanagerAddress: alertmanagerUrl === null ? null : new URL(alertmanagerUrl).host,
      scrapeIntervalSec: opts.scrapeIntervalSec ?? 2,
      evaluationIntervalSec: opts.evaluationIntervalSec ?? 5,
    });
    writeFileSync(configFile, stringify(config));
    const prom = startLocalProcess(
      promBin,
      [`--config.file=${configFile}`, `--storage.tsdb.path=${join(promDir, 'data')}`, '--storage.tsdb.retention.time=2d', `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle'],
      join(promDir, 'prometheus.log'),
    );
    started.push(prom);
    const prometheusUrl = `http://127.0.0.1:${port}`;
    await waitReady(prometheusUrl, prom, 'Prometheus', readyTimeoutMs);
    let stopping: Promise<void> | null = null;
    return { started: true, prometheusUrl, alertmanagerUrl, configFile, notes, stop: () => (stopping ??= stopAll()) };
  } catch (err) {
    await stopAll();
    return { started: false, reason: errorMessage(err) };
  }
}
