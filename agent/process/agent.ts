/**
 * The agent process: wires the stages together and runs them. Scrape loops (static targets,
 * Kubernetes pods, the Flink REST collector) append to the in-memory tsdb on their intervals;
 * rule groups evaluate on theirs and hand alerts to the notifier (Alertmanager, webhooks); the
 * HTTP API serves queries, rules and alerts. Every JobObservation the REST collector produces is
 * validated, recorded (`--record`), and passed to the ObservationHandler: the extension point
 * where the autoscaler's decision and actuation plug in. This module makes no decisions.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { MemoryStorage } from '../tsdb/index.ts';
import { PromQLEngine } from '../promql/index.ts';
import { QueryPool } from '../promql/query-pool.ts';
import { RuleManager } from '../rules/manager.ts';
import { engineQueryFunc } from '../rules/types.ts';
import { Notifier } from '../notify/index.ts';
import { ScrapeManager } from '../collect/scraper.ts';
import { FlinkRestClient } from '../flink/rest-client.ts';
import { FlinkRestCollector, FlinkRestSource, type FlinkCollectResult } from '../collect/flink-rest.ts';
import { KubePodDiscovery } from '../collect/kube-discovery.ts';
import { parseObservation, type JobObservation } from '../collect/observation.ts';
import { loadKubeConfig } from '../kube/client.ts';
import { HttpClientConfig } from '../http/http-config.ts';
import { AgentApi, startAgentServer, type AgentApiOptions, type AgentServer } from '../server/api.ts';
import type { AgentConfig } from './config.ts';
import { ObservationRecorder } from './recorder.ts';
import { flattenSettings, redactSecrets } from '../server/prometheus-status.ts';
import { discoveredTargets, flinkTarget, selfTarget, staticTargets } from './targets.ts';

/**
 * How often the event-loop delay histogram (nodejs_eventloop_lag_*) samples, ms: prom-client's
 * 10 ms, and 50 ms on a fleet replica (below).
 */
export const EVENT_LOOP_SAMPLE_MS = 10;
export const FLEET_EVENT_LOOP_SAMPLE_MS = 50;

/** What an ObservationHandler may look at besides the observation. */
export interface ObservationContext {
  storage: MemoryStorage;
  engine: PromQLEngine;
  /** null when no rule files are configured. */
  rules: RuleManager | null;
  /** Every job the REST endpoint listed, terminal ones included (for recovery). */
  jobs: FlinkCollectResult['jobs'];
  dryRun: boolean;
  logger: Logger;
}

/**
 * The extension point for the autoscaler: called once per job per REST collection, in order,
 * never concurrently with itself. A thrown error is logged and does not stop the agent.
 */
export type ObservationHandler = (observation: JobObservation, ctx: ObservationContext) => void | Promise<void>;

export interface AgentProcessOptions {
  config: AgentConfig;
  logger: Logger;
  version: string;
  onObservation?: ObservationHandler;
  /** More HTTP routes on the agent's port (e.g. the autoscaler's decisions API); return true when handled. */
  extraRoutes?: AgentApiOptions['extraRoutes'];
  /** POST /-/quit (with web.enableLifecycle): begin the process's clean shutdown. */
  onQuit?: () => void;
}

export class AgentProcess {
  readonly config: AgentConfig;
  readonly registry = new Registry();
  readonly storage: MemoryStorage;
  readonly engine: PromQLEngine;
  readonly scrapes: ScrapeManager;
  rules: RuleManager | null = null;
  private notifier: Notifier | null = null;
  private recorder: ObservationRecorder | null = null;
  private server: AgentServer | null = null;
  /** The worker thread that answers the API's ad-hoc queries (docs/reference/promql.md, "Isolation"). */
  queryPool: QueryPool | null = null;
  private readonly discoveries: KubePodDiscovery[] = [];
  private readonly flinkClients = new Map<string, FlinkRestClient>();
  private flinkHttp: HttpClientConfig | null | undefined;
  private retentionTimer: NodeJS.Timeout | null = null;
  private observationChain: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly opts: AgentProcessOptions;
  private rulesLoaded = false;
  observationsSeen = 0;

  constructor(opts: AgentProcessOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.log = opts.logger;
    // On a fleet replica the event-loop delay histogram samples every 50 ms: every 10 ms is a timer
    // waking the process 100 times a second, ~4.6 ms of CPU per second, half an idle fleet replica's
    // CPU (BENCHMARKS.md, "Fleet"). A stall still shows in the max, less at most 50 ms.
    const eventLoopMonitoringPrecision = this.config.fleet.enabled ? FLEET_EVENT_LOOP_SAMPLE_MS : EVENT_LOOP_SAMPLE_MS;
    collectDefaultMetrics({ register: this.registry, prefix: 'flowpilot_agent_', eventLoopMonitoringPrecision });
    this.storage = new MemoryStorage({ retentionMs: this.config.storage.retention, maxSeries: this.config.storage.maxSeries, logger: this.log });
    this.storage.registerMetrics(this.registry);
    this.engine = new PromQLEngine(this.storage, { timeoutMs: this.config.query.timeout, lookbackDeltaMs: this.config.query.lookbackDelta, maxSamples: this.config.query.maxSamples });
    this.scrapes = new ScrapeManager({ appender: this.storage, registry: this.registry, logger: this.log });
  }

  /** The port the API listens on (after start). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** "https" when the web config turns TLS on. */
  get scheme(): 'http' | 'https' {
    return this.server?.scheme ?? 'http';
  }

  async start(): Promise<void> {
    const cfg = this.config;
    if (cfg.record.file) this.recorder = new ObservationRecorder(cfg.record.file, this.log);
    this.queryPool = new QueryPool({
      storage: this.storage,
      maxConcurrency: cfg.query.maxConcurrency,
      lookbackDeltaMs: cfg.query.lookbackDelta,
      maxSamples: cfg.query.maxSamples,
      logger: this.log,
    });
    this.queryPool.start();
    const api = new AgentApi({
      storage: this.storage,
      engine: this.engine,
      queries: this.queryPool,
      registry: this.registry,
      rules: { groups: () => this.rules?.groups() ?? [], reload: () => (this.rules ? this.rules.reload() : Promise.resolve({ ok: true, problems: [] })) },
      targets: () => this.scrapes.targets(),
      status: {
        targetMetadata: () => this.scrapes.targetMetadata(),
        config: () => redactSecrets(cfg),
        flags: () => flattenSettings(cfg),
        tsdb: (limit) => this.storage.cardinality(limit),
        alertmanagers: () => cfg.alerting.alertmanagers,
      },
      ready: () => this.notReadyReason(),
      queryTimeoutMs: cfg.query.timeout,
      version: this.opts.version,
      logger: this.log,
      enableLifecycle: cfg.web.enableLifecycle,
      ...(this.opts.onQuit ? { onQuit: this.opts.onQuit } : {}),
      ...(this.opts.extraRoutes ? { extraRoutes: this.opts.extraRoutes } : {}),
    });
    this.server = await startAgentServer(cfg.listen.host, cfg.listen.port, api, { ...(cfg.web.configFile ? { webConfigFile: cfg.web.configFile } : {}), logger: this.log });
    const externalURL = cfg.rules.externalUrl || `${this.server.scheme}://${cfg.listen.host}:${this.server.port}`;

    if (cfg.alerting.alertmanagers.length > 0 || cfg.alerting.webhooks.length > 0) {
      this.notifier = new Notifier({
        alertmanagers: cfg.alerting.alertmanagers,
        webhooks: cfg.alerting.webhooks,
        externalLabels: cfg.rules.externalLabels,
        externalURL,
        timeoutMs: cfg.alerting.timeout,
        ...(cfg.alerting.httpConfig ? { httpConfig: cfg.alerting.httpConfig } : {}),
        ...(cfg.alerting.webhookHttpConfig ? { webhookHttpConfig: cfg.alerting.webhookHttpConfig } : {}),
        registry: this.registry,
        logger: this.log,
      });
    }
    if (cfg.rules.files.length > 0) {
      this.rules = new RuleManager({
        files: cfg.rules.files,
        query: engineQueryFunc(this.engine, { timeoutMs: Math.min(cfg.query.ruleTimeout, cfg.query.timeout) }),
        appender: this.storage,
        evaluationIntervalMs: cfg.rules.evaluationInterval,
        externalLabels: cfg.rules.externalLabels,
        externalURL,
        ...(this.notifier ? { notifier: this.notifier } : {}),
        registry: this.registry,
        logger: this.log,
        watch: cfg.rules.watch,
        handleSighup: true,
        limits: { maxFileBytes: cfg.rules.maxFileBytes, maxTotalBytes: cfg.rules.maxReloadBytes },
      });
      const r = await this.rules.start();
      if (!r.ok) this.log.error({ problems: r.problems.length }, 'rule files have problems; starting without them until they are fixed');
      else this.log.info({ groups: r.groups, rules: r.rules }, 'rules loaded');
    }
    this.rulesLoaded = true;

    await this.scrapes.sync('static', staticTargets(cfg));
    if (cfg.scrape.self) await this.scrapes.sync('self', [selfTarget(this.registry, cfg.listen.host, this.server.port, cfg)]);
    for (const url of cfg.flink.urls) {
      const collector = new FlinkRestCollector({
        client: this.flinkClient(url),
        perSubtaskMetrics: cfg.flink.samples && cfg.flink.perSubtaskMetrics,
        taskManagerSamples: cfg.flink.samples,
        logger: this.log,
      });
      const source = new FlinkRestSource(collector, (result) => this.observe(result), cfg.flink.samples);
      await this.scrapes.sync(`flink-rest:${url}`, [flinkTarget(url, source, cfg)]);
    }
    if (cfg.scrape.kubernetes.length > 0) {
      const kc = loadKubeConfig(cfg.scrape.kubeconfig ? { kind: 'file', path: cfg.scrape.kubeconfig } : { kind: 'default' });
      for (const [i, k] of cfg.scrape.kubernetes.entries()) {
        const d = new KubePodDiscovery(
          kc,
          { job: k.job, namespaces: k.namespaces, ...(k.labelSelector ? { labelSelector: k.labelSelector } : {}), refreshIntervalMs: k.refreshInterval },
          (found) => this.scrapes.sync(`kubernetes:${i}:${k.job}`, discoveredTargets(found, k.honorLabels, cfg)),
          this.log,
        );
        this.discoveries.push(d);
        await d.start();
      }
    }
    this.retentionTimer = setInterval(() => this.storage.applyRetention(Date.now()), 60_000);
    this.retentionTimer.unref();
    this.log.info({ port: this.server.port, host: cfg.listen.host, flink: cfg.flink.urls, static: cfg.scrape.static.length, dryRun: cfg.dryRun }, 'agent started');
  }

  notReadyReason(): string | null {
    if (!this.rulesLoaded) return 'rules not loaded yet';
    return this.scrapes.notReadyReason();
  }

  /** Validates, records and hands over each observation, one at a time. */
  private observe(result: FlinkCollectResult): void {
    for (const raw of result.observations) {
      let obs: JobObservation;
      try {
        obs = parseObservation(raw, `observation of job ${raw.jobId}`);
      } catch (err) {
        this.log.warn({ err: errorMessage(err), jobId: raw.jobId }, 'skipping an observation that does not fit the schema');
        continue;
      }
      this.observationsSeen++;
      if (this.recorder) {
        const firing = (this.rules?.alerts() ?? []).filter((a) => a.alert.state === 'firing').map((a) => ({ labels: { ...a.alert.labels } }));
        this.recorder.write(obs, firing);
      }
      const handler = this.opts.onObservation;
      if (!handler) continue;
      const ctx: ObservationContext = { storage: this.storage, engine: this.engine, rules: this.rules, jobs: result.jobs, dryRun: this.config.dryRun, logger: this.log };
      this.observationChain = this.observationChain
        .then(() => handler(obs, ctx))
        .catch((err: unknown) => this.log.error({ err: errorMessage(err), jobId: obs.jobId }, 'the observation handler failed'));
    }
  }

  /**
   * The Flink REST client for a URL, one per URL for the whole process, so collection and
   * actuation (the autoscaler's runtime) share its connection pool. Closed by stop().
   */
  flinkClient(url: string): FlinkRestClient {
    let c = this.flinkClients.get(url);
    if (!c) {
      const cfg = this.config.flink;
      // flink.httpConfig (TLS, credentials) applies to every Flink URL, collection and actuation alike.
      this.flinkHttp ??= cfg.httpConfig ? new HttpClientConfig(cfg.httpConfig, 'flink.httpConfig') : null;
      c = new FlinkRestClient({ baseUrl: url, timeoutMs: cfg.timeout, concurrency: cfg.concurrency, ...(this.flinkHttp ? { http: this.flinkHttp.poolOptions(cfg.timeout) } : {}) });
      this.flinkClients.set(url, c);
    }
    return c;
  }

  async stop(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await Promise.all(this.discoveries.map((d) => d.stop()));
    await this.scrapes.stop();
    await this.rules?.stop();
    await this.observationChain;
    await this.notifier?.stop(2_000);
    await this.recorder?.close();
    await this.server?.close();
    await Promise.all([...this.flinkClients.values()].map((c) => c.close().catch(() => undefined)));
    this.flinkClients.clear();
    await this.queryPool?.stop();
    this.log.info('agent stopped');
  }
}
