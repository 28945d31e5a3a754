/**
 * Kubernetes pod discovery for scrape targets. Pods are listed through @kubernetes/client-node
 * by label selector (in the given namespaces, or all), then kept when annotated
 * `prometheus.io/scrape: "true"`; `prometheus.io/port`, `prometheus.io/path` and
 * `prometheus.io/scheme` say where to scrape (defaults: a container port named `metrics`, or the
 * first declared port; `/metrics`; `http`). Each target carries `job`, `instance` (podIP:port),
 * `namespace` and `pod`, like the usual kubernetes-pods relabelling.
 *
 * The list is refreshed on an interval; a watch on the same selection triggers an early refresh
 * when pods change. If the API server does not support watch, discovery keeps polling.
 * `podTargets` is the pure filtering step, tested on its own.
 */
import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { kubeLib } from '../kube/lib.ts';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';

export interface PodDiscoveryConfig {
  /** The `job` label of discovered targets. */
  job: string;
  /** Namespaces to search; empty means all namespaces. */
  namespaces: string[];
  /** Kubernetes label selector, e.g. `app=flink,component=taskmanager`. */
  labelSelector?: string;
  refreshIntervalMs: number;
}

export interface DiscoveredTarget {
  url: string;
  labels: Record<string, string>;
}

const SCRAPE = 'prometheus.io/scrape';
const PORT = 'prometheus.io/port';
const PATH = 'prometheus.io/path';
const SCHEME = 'prometheus.io/scheme';

/** The scrape targets of a set of pods: annotated, with an IP, not finished. Sorted by instance. */
export function podTargets(pods: readonly V1Pod[], job: string): DiscoveredTarget[] {
  const out: DiscoveredTarget[] = [];
  for (const pod of pods) {
    const ann = pod.metadata?.annotations ?? {};
    if (ann[SCRAPE] !== 'true') continue;
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!ip || phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp) continue;
    let port = ann[PORT];
    if (port === undefined) {
      const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
      const chosen = ports.find((p) => p.name === 'metrics') ?? ports[0];
      if (!chosen) continue;
      port = String(chosen.containerPort);
    }
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) continue;
    let path = ann[PATH] ?? '/metrics';
    if (!path.startsWith('/')) path = `/${path}`;
    const scheme = ann[SCHEME] === 'https' ? 'https' : 'http';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const instance = `${host}:${port}`;
    out.push({
      url: `${scheme}://${instance}${path}`,
      labels: { job, instance, namespace: pod.metadata?.namespace ?? '', pod: pod.metadata?.name ?? '' },
    });
  }
  return out.sort((a, b) => (a.labels.instance! < b.labels.instance! ? -1 : a.labels.instance! > b.labels.instance! ? 1 : 0));
}

export class KubePodDiscovery {
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly config: PodDiscoveryConfig;
  private readonly onTargets: (targets: DiscoveredTarget[]) => void | Promise<void>;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private watches: AbortController[] = [];
  private stopped = false;
  private watchUnsupported = false;
  private refreshing: Promise<void> | null = null;
  /** Last error of a list call, or null after a good one. */
  lastError: string | null = null;

  constructor(kc: KubeConfig, config: PodDiscoveryConfig, onTargets: (targets: DiscoveredTarget[]) => void | Promise<void>, logger?: Logger) {
    this.kc = kc;
    this.core = kc.makeApiClient(kubeLib().CoreV1Api);
    this.config = config;
    this.onTargets = onTargets;
    this.log = (logger ?? silentLogger()).child({ discovery: 'kubernetes-pods', job: config.job });
  }

  /** Lists pods once and hands the targets over. Errors keep the previous targets. */
  async refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const lists = this.config.namespaces.length === 0
          ? [await this.core.listPodForAllNamespaces(this.selector())]
          : await Promise.all(this.config.namespaces.map((namespace) => this.core.listNamespacedPod({ namespace, ...this.selector() })));
        const pods = lists.flatMap((l) => l.items);
        this.lastError = null;
        await this.onTargets(podTargets(pods, this.config.job));
      } catch (err) {
        this.lastError = errorMessage(err);
        this.log.warn({ err: this.lastError }, 'pod discovery: listing pods failed; keeping the previous targets');
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private selector(): { labelSelector?: string } {
    return this.config.labelSelector ? { labelSelector: this.config.labelSelector } : {};
  }

  async start(): Promise<void> {
    await this.refresh();
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.refresh().finally(loop), this.config.refreshIntervalMs);
    };
    loop();
    await this.startWatches();
  }

  private async startWatches(): Promise<void> {
    if (this.watchUnsupported || this.stopped) return;
    const paths = this.config.namespaces.length === 0 ? ['/api/v1/pods'] : this.config.namespaces.map((ns) => `/api/v1/namespaces/${ns}/pods`);
    const watch = new (kubeLib().Watch)(this.kc);
    for (const path of paths) {
      try {
        const ac = await watch.watch(
          path,
          this.selector(),
          () => this.refreshSoon(),
          (err: unknown) => {
            if (this.stopped) return;
            if (err) {
              this.watchUnsupported = true;
              this.log.info({ err: errorMessage(err) }, `pod discovery: watch ended; polling every ${this.config.refreshIntervalMs} ms`);
            }
          },
        );
        this.watches.push(ac);
      } catch (err) {
        this.watchUnsupported = true;
        this.log.info({ err: errorMessage(err) }, `pod discovery: watch unavailable; polling every ${this.config.refreshIntervalMs} ms`);
        return;
      }
    }
  }

  private refreshSoon(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.refresh();
    }, 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearTimeout(this.soon);
    for (const ac of this.watches) ac.abort();
    this.watches = [];
    await this.refreshing?.catch(() => undefined);
  }
}
