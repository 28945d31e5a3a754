/**
 * Fleet mode's conductor: discovery events (discovery.ts) start, update and stop the jobs, the
 * shard (shard.ts) says which replica owns and may act on each, and every job this replica owns
 * by hash runs its own pipeline (job-pipeline.ts). It holds no decision logic.
 *
 * - Reconcile (after every shard round, and on discovery events): hash owner → a JobPipeline exists here and its collection
 *   target is in the agent's scrape pool `fleet`; not the owner → the pipeline stops (its state
 *   is in the job's ConfigMap for the next owner). Decisions and actions happen only while the
 *   shard guard `acting(uid)` holds (the pipeline's realizer is "leader" only then). At most
 *   START_CONCURRENCY jobs start at once (policy read, state load, first collection); the next
 *   ones start as those end.
 * - Policy: read when the pipeline starts, on an `update` event (annotation or job.autoscaler.*
 *   keys changed), and every `policyRefresh` (the ConfigMap itself is not watched); a new
 *   policy replaces the old one in the running pipeline.
 * - Bounds: at most `maxJobs` pipelines; each job's saved state gets min(perJobBytes,
 *   totalBytes / jobs), its decision history min(perJob, total / jobs).
 * - Alerts: the agent's firing alerts, routed by namespace/resource_name labels (alert-routing.ts).
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { kubeCall, isKubeCode, type KubeClients } from '../kube/client.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import type { ScrapeManager } from '../collect/scraper.ts';
import type { ScrapeTarget, TargetSource } from '../collect/target.ts';
import { ScrapeSlots } from '../collect/scrape-slots.ts';
import type { FiringAlert } from '../scaling/decide.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import { DecisionRecorder } from '../record/decision-log.ts';
import { createActuationMetrics, type ActuationMetrics } from '../actuate/metrics.ts';
import { durationMs } from '../actuate/config.ts';
import { loadPolicyRaw } from '../scaling/policy.ts';
import type { AgentConfig } from '../process/config.ts';
import { flinkTarget } from '../process/targets.ts';
import { FleetDiscovery, type FleetEvent, type ManagedJob } from './discovery.ts';
import { FleetShard, type ShardTiming } from './shard.ts';
import { JobPipeline, stateConfigMapName } from './job-pipeline.ts';
import { StateCleanup } from './state-cleanup.ts';
import { loadJobPolicy, type JobPolicy } from './job-policy.ts';
import { alertsForResource } from './alert-routing.ts';
import { StatusParts } from './status-json.ts';

const byNamespaceAndName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
  a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

/**
 * How many jobs start at once on a replica (policy read, state load, first collection). A replica
 * taking 70 jobs at once (a fresh install, a takeover) otherwise runs 70 first collections and
 * state reads together; its event loop then lags by seconds, its Lease requests time out and its
 * guard lapses for all its jobs (BENCHMARKS.md, "Fleet").
 */
export const START_CONCURRENCY = 8;

/**
 * How often a job's pipeline ticks (scaling/pipeline.ts tick: read the job's journal for actions
 * left unfinished, resume them), ms: at least this, or the collection interval if longer. The tick
 * reads the job's ConfigMap; at one per 10 s interval that read was half of a fleet replica's
 * Kubernetes requests (BENCHMARKS.md, "Fleet"). Observations still resume the actions the pipeline
 * knows to be unfinished at every collection, and a replica taking a job over reads its journal
 * before its first decision; the tick is the fallback for an action left open while no observation
 * comes (the job restarting), which it now resumes within 30 s. A steady job's tick no longer reads
 * at all: journal-scan.ts reads only when this pipeline's own action may have left a record open.
 */
export const JOB_TICK_MS = 30_000;

/** How often a replica sweeps for state ConfigMaps whose resource is gone (state-cleanup.ts), ms. */
export const STATE_SWEEP_MS = 30 * 60_000;

export interface FleetManagerOptions {
  config: AgentConfig;
  kube: KubeClients;
  identity: string;
  registry: Registry;
  logger: Logger;
  scrapes: Pick<ScrapeManager, 'sync'>;
  /** the agent's Flink REST client per URL (one pool per endpoint, closed by the agent) */
  flinkClient: (url: string) => FlinkRestClient;
  /** every firing alert of the agent's rules */
  alerts: () => FiringAlert[];
  /** the shard's round and Lease request timings (metrics.ts) */
  shardTimed?: (what: ShardTiming, ms: number) => void;
}

/** Where a job stands on this replica. */
export type FleetJobState = 'acting' | 'acquiring' | 'remote' | 'no-owner' | 'over-limit' | 'policy-error';

export interface FleetJobStatus {
  namespace: string;
  name: string;
  kind: string;
  uid: string;
  restUrl: string;
  state: FleetJobState;
  owner: string | null;
  acting: boolean;
  replica: string;
  policy: { source: string; digest: string; configMap: string | null; overrides: Record<string, unknown>; error: string | null } | null;
  lastDecision: { time: number; action: string; blockedBy: string | null; direction: string | null; parallelism: Record<string, number>; reasons: string[]; utilizationBand: ScaleDecision['utilizationBand'] | null } | null;
  lastAction: { actionId: string; outcome: string; message: string } | null;
  actionInFlight: boolean;
  decisions: number;
  observations: number;
}

export class FleetManager {
  readonly identity: string;
  readonly discovery: FleetDiscovery;
  readonly shard: FleetShard;
  readonly recorder: DecisionRecorder;
  private readonly o: FleetManagerOptions;
  private readonly log: Logger;
  private readonly jobs = new Map<string, ManagedJob>();
  private readonly pipelines = new Map<string, JobPipeline>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly stopping = new Set<Promise<void>>();
  /** a pipeline stopping, by job uid (a deleted job's state ConfigMap goes once it has stopped) */
  private readonly stoppingUid = new Map<string, Promise<void>>();
  readonly cleanup: StateCleanup;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly policyErrors = new Map<string, string>();
  private readonly statusParts = new StatusParts();
  private readonly endpointSlots = new Map<string, ScrapeSlots>();
  private readonly actuationMetrics: ActuationMetrics;
  /** One Event recorder per namespace: an Event lives in the namespace of the resource it is about. */
  private readonly events = new Map<string, KubeEventRecorder>();
  private readonly fileRaw: Record<string, unknown>;
  private reconciling: Promise<void> | null = null;
  private reconcileAgain = false;
  private poolKey = '';
  private running = false;

  constructor(o: FleetManagerOptions) {
    this.o = o;
    this.identity = o.identity;
    const f = o.config.fleet;
    this.log = o.logger.child({ component: 'fleet', replica: o.identity });
    this.fileRaw = o.config.scaling.policyFile ? loadPolicyRaw(o.config.scaling.policyFile) : {};
    this.discovery = new FleetDiscovery({
      kubeConfig: o.kube.config, namespaces: f.namespaces, resyncMs: f.resync,
      onEvent: (ev) => this.onEvent(ev),
      onError: (err) => this.log.warn({ err: errorMessage(err) }, 'fleet discovery: a watch failed; retrying'),
    });
    this.shard = new FleetShard({
      clients: o.kube, identity: o.identity, fleet: f.name,
      leaseDurationSeconds: Math.max(1, Math.round(f.leaseDuration / 1000)), renewMs: f.renewInterval,
      onError: (err) => this.log.warn({ err: errorMessage(err) }, 'fleet shard: a Lease round failed'),
      // ownership is recomputed each round: reconcile at once, not up to a period later
      onRound: () => void this.reconcile(),
      ...(o.shardTimed ? { onTimed: o.shardTimed } : {}),
      onNotice: (what, member) => {
        if (what === 'evicted') this.log.warn({ member }, 'fleet shard: evicted a member whose Lease was not renewed for a lease duration; its jobs move');
        else if (what === 'out') this.log.warn('fleet shard: this replica\'s member Lease was evicted; it stops acting and joins again');
        else this.log.info({ waitMs: f.leaseDuration }, 'fleet shard: joined; acting after one lease duration');
      },
    });
    this.cleanup = new StateCleanup({
      kube: o.kube, fleet: f.name, nameOf: (uid) => stateConfigMapName(f.name, uid),
      owns: (uid) => this.shard.ownerOf(uid) === this.identity,
      known: () => this.discovery.knownUids(), namespaces: f.namespaces,
      minAgeMs: Math.max(60_000, 2 * f.leaseDuration), logger: this.log,
    });
    this.recorder = new DecisionRecorder({ capacity: 1, registry: o.registry, logger: this.log });
    this.actuationMetrics = createActuationMetrics(o.registry);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.discovery.start();
    this.shard.start();
    void this.reconcile();
    // The first sweep once membership has settled (a lease duration), then every STATE_SWEEP_MS.
    const sweep = (): void => {
      void this.cleanup.sweep().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'fleet: the state ConfigMap sweep failed'));
      this.sweepTimer = setTimeout(sweep, STATE_SWEEP_MS).unref();
    };
    this.sweepTimer = setTimeout(sweep, 2 * this.o.config.fleet.leaseDuration).unref();
    this.log.info({ fleet: this.o.config.fleet.name, namespaces: this.o.config.fleet.namespaces }, 'fleet mode started');
  }

  /**
   * Stops discovery, collection and every pipeline (actions in flight finish, state is saved).
   * The Leases are left to expire, as after a crash: the other replicas take the jobs over
   * within one lease duration.
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    // No Lease is renewed from here on (as in a crash); the actions in flight still finish.
    this.shard.stop();
    await this.reconciling;
    await Promise.allSettled(this.starting.values());
    await this.discovery.stop();
    await this.o.scrapes.sync('fleet', []);
    await Promise.all([...this.pipelines.keys()].map((uid) => this.stopPipeline(uid)));
    await Promise.all([...this.stopping]);
  }

  private onEvent(ev: FleetEvent): void {
    const { job } = ev;
    if (ev.type === 'stop') {
      this.jobs.delete(job.uid);
      this.log.info({ namespace: job.namespace, name: job.name, kind: job.kind }, 'job no longer managed (opted out or deleted)');
    } else {
      this.jobs.set(job.uid, job);
      this.log.info({ namespace: job.namespace, name: job.name, kind: job.kind, restUrl: job.restUrl, policy: job.policyConfigMap }, ev.type === 'start' ? 'job opted in' : 'job changed (policy or endpoint)');
    }
    if (ev.type === 'stop' && ev.deleted) void this.removeState(job.uid);
    const p = this.pipelines.get(job.uid);
    if (p && ev.type === 'update') {
      if (p.job.restUrl !== job.restUrl) {
        // A new endpoint is a new collection target: rebuilt by the next reconcile.
        void this.stopPipeline(job.uid);
      } else {
        p.job = job;
        void this.refreshPolicy(p);
      }
    }
    if (this.running) void this.reconcile();
  }

  /** One pass: pipelines for the jobs owned here, none for the others, the scrape pool to match. */
  reconcile(): Promise<void> {
    if (this.reconciling) {
      // asked again while a pass runs (a start finished, an event): one more pass after it
      this.reconcileAgain = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      do {
        this.reconcileAgain = false;
        await this.reconcileOnce().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'fleet reconcile failed'));
      } while (this.reconcileAgain && this.running);
    })().finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.running) return;
    // the latest view of each job (discovery updates the object between events, e.g. a session job's jobId)
    for (const j of this.discovery.jobs()) if (this.jobs.has(j.uid)) this.jobs.set(j.uid, j);
    // Not awaited: a pipeline stops once its action in flight is verified (up to
    // actuation.timing.verifyTimeout), and the other jobs must not wait for that.
    for (const uid of [...this.pipelines.keys()]) {
      if (!this.jobs.has(uid) || this.shard.ownerOf(uid) !== this.identity) void this.stopPipeline(uid);
    }
    const now = Date.now();
    for (const [uid, job] of this.jobs) {
      const p = this.pipelines.get(uid);
      if (p) {
        p.job = job;
        p.sessionJobId = job.jobId ?? null;
        // (update events refresh the policy at once; this catches edits of the ConfigMap itself)
        if (now - p.policyReadAt >= this.o.config.fleet.policyRefresh) void this.refreshPolicy(p);
        continue;
      }
      if (this.shard.ownerOf(uid) !== this.identity || this.starting.has(uid)) continue;
      if (this.pipelines.size + this.starting.size >= this.o.config.fleet.maxJobs) continue;
      if (this.starting.size >= START_CONCURRENCY) continue;
      const s = this.startPipeline(job).finally(() => {
        this.starting.delete(uid);
        // the next jobs waiting to start, without waiting for the next shard round
        if (this.running) void this.reconcile();
      });
      this.starting.set(uid, s);
    }
    const targets = [...this.pipelines.values()].map((p) => p.target);
    const key = [...this.pipelines.keys()].sort().join(',');
    if (key !== this.poolKey) {
      this.poolKey = key;
      await this.o.scrapes.sync('fleet', targets);
    }
  }

  private async readPolicy(job: ManagedJob, previous?: JobPolicy): Promise<JobPolicy> {
    const kube = this.o.kube;
    return loadJobPolicy(job, this.fileRaw, async (namespace, name) => {
      try {
        const cm = await kubeCall(kube, `read ConfigMap ${namespace}/${name}`, () => kube.core.readNamespacedConfigMap({ name, namespace }));
        return cm.data ?? {};
      } catch (err) {
        if (isKubeCode(err, 'FP_KUBE_NOT_FOUND')) return null;
        throw err;
      }
    }, previous);
  }

  private async refreshPolicy(p: JobPipeline): Promise<void> {
    p.policyReadAt = Date.now();
    try {
      p.setPolicy(await this.readPolicy(p.job, p.policy));
      this.policyErrors.delete(p.job.uid);
    } catch (err) {
      const msg = errorMessage(err);
      if (p.policyError !== msg) this.log.warn({ namespace: p.job.namespace, name: p.job.name, err: msg }, 'the job\'s policy cannot be used; keeping the previous one');
      p.policyError = msg;
    }
  }

  private async startPipeline(job: ManagedJob): Promise<void> {
    let policy: JobPolicy;
    try {
      policy = await this.readPolicy(job);
      this.policyErrors.delete(job.uid);
    } catch (err) {
      const msg = errorMessage(err);
      if (this.policyErrors.get(job.uid) !== msg) this.log.warn({ namespace: job.namespace, name: job.name, err: msg }, 'the job\'s policy cannot be used; not autoscaling it until it is fixed');
      this.policyErrors.set(job.uid, msg);
      return;
    }
    if (!this.running || !this.jobs.has(job.uid) || this.shard.ownerOf(job.uid) !== this.identity) return;
    const cfg = this.o.config;
    const a = cfg.actuation;
    let slots = this.endpointSlots.get(job.restUrl);
    if (!slots) this.endpointSlots.set(job.restUrl, (slots = new ScrapeSlots(cfg.fleet.endpointConcurrency)));
    const interval = cfg.flink.interval ?? cfg.scrape.interval;
    const p = new JobPipeline(job, policy, {
      kube: this.o.kube, fleet: cfg.fleet.name, identity: this.identity,
      acting: (uid) => this.shard.acting(uid),
      flink: this.o.flinkClient(job.restUrl),
      endpointSlots: slots,
      recorder: this.recorder,
      actuationMetrics: this.actuationMetrics,
      ...(cfg.actuation.events ? { recordEvent: (ev) => this.eventsIn(job.namespace).record(ev) } : {}),
      alerts: () => alertsForResource(this.o.alerts(), job.namespace, job.name),
      dryRun: cfg.dryRun,
      timing: {
        verifyTimeoutMs: durationMs(a.timing.verifyTimeout), savepointTimeoutMs: durationMs(a.timing.savepointTimeout),
        pollIntervalMs: durationMs(a.timing.pollInterval), conflictRetries: a.timing.conflictRetries,
      },
      stateBytes: () => this.stateBytes(),
      historyLimit: () => this.historyLimit(),
      saveEveryMs: cfg.scaling.state.saveInterval,
      // The tick resumes actions left unfinished (a read of the job's ConfigMap); observations drive the rest.
      tickEveryMs: Math.max(JOB_TICK_MS, interval),
      perSubtaskMetrics: cfg.flink.perSubtaskMetrics,
      exportSamples: cfg.flink.samples,
      logger: this.log,
    }, (labels: Record<string, string>, source: TargetSource): ScrapeTarget => {
      const t = flinkTarget(job.restUrl, source, cfg);
      return { ...t, labels: { ...t.labels, ...labels } };
    });
    p.sessionJobId = job.jobId ?? null;
    p.policyReadAt = Date.now();
    this.pipelines.set(job.uid, p);
    this.log.info({ namespace: job.namespace, name: job.name, kind: job.kind, policy: policy.source, digest: policy.digest }, 'job pipeline started on this replica');
    await p.start(p.target.timeoutMs);
  }

  /** Takes the job's pipeline out at once (the next pool sync drops its target); resolves when it has stopped. */
  private stopPipeline(uid: string): Promise<void> {
    const p = this.pipelines.get(uid);
    if (!p) return this.stoppingUid.get(uid) ?? Promise.resolve();
    this.pipelines.delete(uid);
    const done: Promise<void> = p.stop()
      .then(() => this.log.info({ namespace: p.job.namespace, name: p.job.name }, 'job pipeline stopped on this replica'))
      .catch((err: unknown) => this.log.warn({ namespace: p.job.namespace, name: p.job.name, err: errorMessage(err) }, 'a job pipeline did not stop cleanly'))
      .finally(() => {
        this.stopping.delete(done);
        if (this.stoppingUid.get(uid) === done) this.stoppingUid.delete(uid);
      });
    this.stopping.add(done);
    this.stoppingUid.set(uid, done);
    return done;
  }

  /**
   * A deleted resource's state ConfigMap, deleted by the replica that owns the job by hash once
   * its pipeline of the job (starting or running) has stopped: its last save would create it again.
   */
  private async removeState(uid: string): Promise<void> {
    await this.starting.get(uid);
    await this.stopPipeline(uid);
    if (this.shard.ownerOf(uid) === this.identity) await this.cleanup.remove(uid);
  }

  private eventsIn(namespace: string): KubeEventRecorder {
    let r = this.events.get(namespace);
    if (!r) this.events.set(namespace, (r = new KubeEventRecorder({ clients: this.o.kube, namespace, reportingInstance: this.identity })));
    return r;
  }

  /** Each job's bound on its saved state: min(perJobBytes, totalBytes / jobs), at least 16 KiB. */
  stateBytes(): number {
    const s = this.o.config.fleet.state;
    return Math.max(16_384, Math.min(s.perJobBytes, Math.floor(s.totalBytes / Math.max(1, this.pipelines.size))));
  }

  /** Each job's bound on its decision history: min(perJob, total / jobs), at least 1. */
  historyLimit(): number {
    const h = this.o.config.fleet.history;
    return Math.max(1, Math.min(h.perJob, Math.floor(h.total / Math.max(1, this.pipelines.size))));
  }

  /** The pipeline of NS/NAME on this replica, if it runs here. */
  pipelineOf(namespace: string, name: string): JobPipeline | undefined {
    for (const p of this.pipelines.values()) if (p.job.namespace === namespace && p.job.name === name) return p;
    return undefined;
  }

  /** Every managed job as this replica sees it (owner from its view of the members). */
  status(): { replica: string; members: string[]; jobs: FleetJobStatus[] } {
    const jobs: FleetJobStatus[] = [];
    for (const [uid, job] of this.jobs) jobs.push(this.jobStatus(uid, job).build());
    jobs.sort(byNamespaceAndName);
    return { replica: this.identity, members: this.shard.liveMembers(), jobs };
  }

  /**
   * JSON.stringify(status()), each job's part serialized again only when what it shows changed
   * (status-json.ts): GET /api/v1/scaling/jobs lists every job of the fleet on every replica.
   */
  statusJson(): string {
    const jobs: Array<{ namespace: string; name: string; json: string }> = [];
    for (const [uid, job] of this.jobs) {
      const s = this.jobStatus(uid, job);
      jobs.push({ namespace: job.namespace, name: job.name, json: this.statusParts.json(uid, s.inputs, s.build) });
    }
    this.statusParts.keepOnly(this.jobs);
    jobs.sort(byNamespaceAndName);
    return `{"replica":${JSON.stringify(this.identity)},"members":${JSON.stringify(this.shard.liveMembers())},"jobs":[${jobs.map((j) => j.json).join(',')}]}`;
  }

  /** One job's status, and everything it is built from (compared by identity to reuse its JSON). */
  private jobStatus(uid: string, job: ManagedJob): { inputs: unknown[]; build: () => FleetJobStatus } {
    const p = this.pipelines.get(uid);
    const owner = this.shard.ownerOf(uid);
    const acting = p ? p.acting() : false;
    const policyError = p?.policyError ?? this.policyErrors.get(uid) ?? null;
    const state: FleetJobState = acting ? 'acting'
      : owner === null ? 'no-owner'
        : owner !== this.identity ? 'remote'
          : this.policyErrors.has(uid) ? 'policy-error'
            // (a job waiting for a start slot is acquiring; over-limit only past maxJobs)
            : p || this.starting.has(uid) || this.pipelines.size + this.starting.size < this.o.config.fleet.maxJobs ? 'acquiring' : 'over-limit';
    const d = p?.decisions.at(-1);
    const la = p?.lastAction();
    const actionInFlight = p?.actionInFlight() ?? false;
    const decisions = p?.decisions.length ?? 0;
    const observations = p?.observations ?? 0;
    const inputs = [job, job.namespace, job.name, job.kind, job.restUrl, job.policyConfigMap, state, owner, acting, p, p?.policy, policyError, d, la, actionInFlight, decisions, observations];
    const build = (): FleetJobStatus => ({
      namespace: job.namespace, name: job.name, kind: job.kind, uid, restUrl: job.restUrl,
      state, owner, acting, replica: this.identity,
      policy: p
        ? { source: p.policy.source, digest: p.policy.digest, configMap: job.policyConfigMap, overrides: p.policy.overrides, error: policyError }
        : policyError ? { source: '', digest: '', configMap: job.policyConfigMap, overrides: {}, error: policyError } : null,
      lastDecision: d
        ? { time: d.time, action: d.action, blockedBy: d.blockedBy ?? null, direction: d.direction ?? null, parallelism: d.parallelism, reasons: d.reasons, utilizationBand: d.utilizationBand ?? null }
        : null,
      lastAction: la ? { actionId: la.actionId, outcome: la.outcome, message: la.message } : null,
      actionInFlight, decisions, observations,
    });
    return { inputs, build };
  }
}
