/**
 * What `flowpilot up` adds on top of the running cluster, in one call: with `--with-prometheus`,
 * the local Prometheus and Alertmanager (their URLs, or why they did not start, are written
 * out), then the live status view. It reads the cluster only through the launcher's
 * `LocalCluster` shape (REST URL, metrics ports, whether the agent runs) and returns one
 * `stop()` for all of it. `clusterLogStream` gives the launcher a file for the children's log
 * lines, so they do not scribble over the terminal view.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { defaultRuleFiles, startLocalPrometheus } from './prometheus-stack.ts';
import { startStatusView } from './status-view.ts';

export interface UpExtrasOptions {
  cluster: Pick<LocalCluster, 'restUrl' | 'jobManager' | 'taskManagers' | 'agent'>;
  stateDir: string;
  withPrometheus: boolean;
  /** show the live view (default true) */
  live?: boolean;
  /** the agent's API URL when it runs (default http://127.0.0.1:9269, the agent's default port) */
  agentUrl?: string;
  /** the lines `flowpilot up` printed (drawn above the status on a terminal) */
  header?: string[];
  /** default process.stdout */
  out?: NodeJS.WritableStream;
  /** the TTY decision (default: out.isTTY) */
  isTTY?: boolean;
  intervalMs?: number;
  /** ANSI colours on a terminal (default true; pass false for NO_COLOR) */
  color?: boolean;
  /** default 9090 / 9093 (or the next free ports); 0 = any free port */
  prometheusPort?: number;
  alertmanagerPort?: number;
}

export interface UpExtras {
  prometheusUrl: string | null;
  alertmanagerUrl: string | null;
  stop(): Promise<void>;
}

const metricsUrl = (ready: Record<string, unknown>): string => `http://127.0.0.1:${String(ready.metricsPort)}/metrics`;

export async function startUpExtras(opts: UpExtrasOptions): Promise<UpExtras> {
  const out = opts.out ?? process.stdout;
  const { cluster } = opts;
  const agentUrl = cluster.agent ? (opts.agentUrl ?? 'http://127.0.0.1:9269') : undefined;
  const header = [...(opts.header ?? [])].filter((l) => l.trim() !== '' && !/Ctrl-C/.test(l));
  let prometheus: { stop(): Promise<void> } | null = null;
  let prometheusUrl: string | null = null;
  let alertmanagerUrl: string | null = null;
  if (opts.withPrometheus) {
    const res = await startLocalPrometheus({
      stateDir: opts.stateDir,
      engineTargets: [cluster.jobManager, ...cluster.taskManagers].map((c) => metricsUrl(c.ready)),
      ...(agentUrl ? { agentTarget: `${agentUrl}/metrics` } : {}),
      ruleFiles: defaultRuleFiles(),
      ...(opts.prometheusPort !== undefined ? { prometheusPort: opts.prometheusPort } : {}),
      ...(opts.alertmanagerPort !== undefined ? { alertmanagerPort: opts.alertmanagerPort } : {}),
    });
    const lines: string[] = [];
    if (res.started) {
      prometheus = res;
      prometheusUrl = res.prometheusUrl;
      alertmanagerUrl = res.alertmanagerUrl;
      lines.push(`  Prometheus   ${res.prometheusUrl}   (config ${res.configFile})`);
      if (res.alertmanagerUrl) lines.push(`  Alertmanager ${res.alertmanagerUrl}`);
      for (const n of res.notes) lines.push(`  note: ${n}`);
    } else {
      lines.push(`  Prometheus   not started: ${res.reason.split('\n').join('\n               ')}`);
    }
    out.write(`${lines.join('\n')}\n`);
    header.push(...lines);
  }
  const view =
    opts.live === false
      ? null
      : startStatusView({
          restUrl: cluster.restUrl,
          ...(agentUrl ? { agentUrl } : {}),
          out,
          header,
          ...(opts.isTTY !== undefined ? { isTTY: opts.isTTY } : {}),
          ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
          ...(opts.color !== undefined ? { color: opts.color } : {}),
        });
  let stopping: Promise<void> | null = null;
  return {
    prometheusUrl,
    alertmanagerUrl,
    stop: () =>
      (stopping ??= (async () => {
        await view?.stop();
        await prometheus?.stop();
      })()),
  };
}

/** A log file for the cluster's child processes: `<stateDir>/logs/cluster.log`. */
export function clusterLogStream(stateDir: string): { path: string; stream: NodeJS.WritableStream } {
  const dir = join(resolve(stateDir), 'logs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'cluster.log');
  return { path, stream: createWriteStream(path, { flags: 'a' }) };
}
