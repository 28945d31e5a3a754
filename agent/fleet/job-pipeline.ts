/**
 * One managed job of the fleet: its own autoscaler pipeline (scaling/pipeline.ts) whose stages
 * are built for that resource, while the replica owns it (by hash):
 * - ObservationSource: a Flink REST collection of the job's endpoint, as a scrape target of the
 *   agent's ScrapeManager (its offset in the interval comes from the target's key, so jobs are
 *   spread over the interval) labelled `namespace` and `resource_name`, behind a per-endpoint
 *   slot (a session cluster serving many jobs gets at most `endpointConcurrency` collections
 *   at once). A FlinkSessionJob takes only its own job (status.jobStatus.jobId) and series.
 *   It also collects once when it starts (a job just taken over is decided on without waiting
 *   for its offset); a collection that starts while one runs shares it.
 * - decide: the job's policy (job-policy.ts), replaced in place when it changes (`setPolicy`),
 *   so the history, cool-downs and actions in flight are kept.
 * - Realizer: the flink-deployment actuator targeting this FlinkDeployment or FlinkSessionJob
 *   (dry-run when the agent is), gated by the shard guard: it is "leader" only while
 *   `acting(uid)` holds (its journal read for unfinished actions only when one can be there:
 *   journal-scan.ts), so a replica whose guard lapsed or that lost the job neither decides nor acts, and
 *   one that takes it reloads the job's history from the store first.
 * - StateStore + journal: one ConfigMap per job (`<fleet>-state-<uid>`, deleted with the resource:
 *   state-cleanup.ts) in the agent's namespace, holding the intent journal's action record and the compressed history, the
 *   history bounded by `stateBytes()` (per job and in total, computed by the manager).
 * Decisions go to a bounded list (`historyLimit()`) and the shared recorder (metrics with the
 * namespace/resource_name labels, one log line).
 */
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { KubeClients } from '../kube/client.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import { FlinkRestCollector, FlinkRestSource, type FlinkCollectResult } from '../collect/flink-rest.ts';
import type { ScrapeTarget, SourceResult, TargetSource } from '../collect/target.ts';
import type { ScrapeSlots } from '../collect/scrape-slots.ts';
import { parseObservation, type JobObservation } from '../collect/observation.ts';
import { AutoscalerPipeline, type Realized } from '../scaling/pipeline.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import type { FiringAlert } from '../scaling/decide.ts';
import { checkHistory, shrinkState, stateValue } from '../scaling/state.ts';
import type { ScalingHistory } from '../scaling/history.ts';
import { Actuator } from '../actuate/actuator.ts';
import { ActuatorRealizer } from '../actuate/realizer.ts';
import { JournalScanSkipping } from './journal-scan.ts';
import { ConfigMapJournalStore } from '../actuate/journal/configmap-store.ts';
import { CompressedStateStore } from '../actuate/journal/state-store.ts';
import { IntentJournal } from '../actuate/journal/intent.ts';
import { defaultSleep, type ActuationTiming } from '../actuate/context.ts';
import type { ActuationMetrics } from '../actuate/metrics.ts';
import type { DecisionEvent } from '../kube/events.ts';
import type { DecisionRecorder, DecisionScope } from '../record/decision-log.ts';
import type { ManagedJob } from './discovery.ts';
import type { JobPolicy } from './job-policy.ts';
import { FLEET_LABEL, RESOURCE_NAMESPACE_LABEL, RESOURCE_UID_LABEL } from './state-cleanup.ts';

export interface JobPipelineDeps {
  kube: KubeClients;
  fleet: string;
  identity: string;
  /** the shard guard */
  acting: (uid: string) => boolean;
  flink: FlinkRestClient;
  endpointSlots: ScrapeSlots;
  recorder: DecisionRecorder;
  actuationMetrics: ActuationMetrics;
  recordEvent?: (ev: DecisionEvent) => Promise<unknown>;
  alerts: () => FiringAlert[];
  dryRun: boolean;
  timing: ActuationTiming;
  stateBytes: () => number;
  historyLimit: () => number;
  saveEveryMs: number;
  tickEveryMs: number;
  perSubtaskMetrics: boolean;
  exportSamples: boolean;
  logger: Logger;
}

/** The name of a job's state ConfigMap (journal record + history). */
export function stateConfigMapName(fleet: string, uid: string): string {
  return `${fleet}-state-${uid}`;
}

/** A TargetSource behind a per-endpoint slot, keeping only the series of one session job. */
class EndpointBoundSource implements TargetSource {
  readonly url: string;
  private readonly inner: TargetSource;
  private readonly slots: ScrapeSlots;
  private readonly jobId: () => string | null;
  private running: Promise<SourceResult> | null = null;

  constructor(inner: TargetSource, slots: ScrapeSlots, jobId: () => string | null) {
    this.inner = inner;
    this.url = inner.url;
    this.slots = slots;
    this.jobId = jobId;
  }

  /** A fetch that starts while one runs shares it (the collector is not reentrant): one collection, one observation. */
  fetch(signal: AbortSignal): Promise<SourceResult> {
    this.running ??= this.fetchOnce(signal).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async fetchOnce(signal: AbortSignal): Promise<SourceResult> {
    const release = await this.slots.acquire(signal);
    try {
      const r = await this.inner.fetch(signal);
      const id = this.jobId();
      return id === null ? r : { ...r, samples: r.samples.filter((s) => s.labels.job_id === undefined || s.labels.job_id === id) };
    } finally {
      release();
    }
  }
}

export class JobPipeline {
  job: ManagedJob;
  /** status.jobStatus.jobId of a FlinkSessionJob (its job among the session cluster's), when known */
  sessionJobId: string | null = null;
  policy: JobPolicy;
  policyError: string | null = null;
  policyReadAt = 0;
  readonly pipeline: AutoscalerPipeline;
  /** reads the job's journal for unfinished actions only when one can be there (journal-scan.ts) */
  readonly realizer!: JournalScanSkipping;
  readonly target: ScrapeTarget;
  readonly decisions: ScaleDecision[] = [];
  observations = 0;
  lastObservationAt: number | null = null;
  private readonly d: JobPipelineDeps;
  private readonly log: Logger;
  private readonly scope: DecisionScope;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(job: ManagedJob, policy: JobPolicy, deps: JobPipelineDeps, target: (labels: Record<string, string>, source: TargetSource) => ScrapeTarget) {
    this.job = job;
    this.policy = policy;
    this.d = deps;
    this.scope = { namespace: job.namespace, resource_name: job.name };
    this.log = deps.logger.child({ namespace: job.namespace, resource: job.name, kind: job.kind });
    const store = new ConfigMapJournalStore({
      clients: deps.kube, name: stateConfigMapName(deps.fleet, job.uid),
      labels: { [FLEET_LABEL]: deps.fleet, [RESOURCE_UID_LABEL]: job.uid, [RESOURCE_NAMESPACE_LABEL]: job.namespace },
    });
    const journal = new IntentJournal(store);
    const mode = deps.dryRun ? 'dry-run' : 'flink-deployment';
    const isLeader = (): boolean => !this.stopped && deps.acting(job.uid);
    const regarding = { apiVersion: 'flink.apache.org/v1beta1', kind: job.kind, name: job.name, namespace: job.namespace };
    const actuator = new Actuator({
      context: {
        journal, flink: deps.flink, kube: deps.kube,
        flinkDeployment: () => ({ name: this.job.name, namespace: this.job.namespace, kind: this.job.kind }),
        timing: deps.timing, clock: Date.now, sleep: defaultSleep, log: this.log,
      },
      isLeader, metrics: deps.actuationMetrics,
      ...(deps.recordEvent ? { recordEvent: deps.recordEvent } : {}),
      eventSubject: () => regarding,
    });
    const docs = new CompressedStateStore(store, {
      // a getter: the total bound divides among however many jobs the replica holds now
      get maxBytes() {
        return deps.stateBytes();
      },
      check: (raw) => (checkHistory(raw) ? (raw as ReturnType<typeof stateValue>) : null),
      shrink: shrinkState,
      warn: (msg, details) => this.log.warn(details, msg),
    });
    this.pipeline = new AutoscalerPipeline({
      policy: policy.policy,
      realizer: (this.realizer = new JournalScanSkipping(new ActuatorRealizer({ actuator, journal, mode, isLeader }))),
      store: {
        where: store.where,
        load: async (k): Promise<ScalingHistory | null> => (await docs.load(k))?.history ?? null,
        save: (k, h) => docs.save(k, stateValue(h)),
      },
      decisions: { record: (d) => this.recordDecision(d) },
      logger: this.log,
      dryRun: deps.dryRun,
      saveEveryMs: deps.saveEveryMs,
      tickEveryMs: deps.tickEveryMs,
    });
    const collector = new FlinkRestCollector({
      client: deps.flink, perSubtaskMetrics: deps.exportSamples && deps.perSubtaskMetrics, taskManagerSamples: deps.exportSamples, logger: this.log,
    });
    const source = new FlinkRestSource(collector, (r) => this.collected(r), deps.exportSamples);
    const bound = new EndpointBoundSource(source, deps.endpointSlots, () => (this.job.kind === 'FlinkSessionJob' ? this.sessionJobId ?? '' : null));
    this.target = target({ namespace: job.namespace, resource_name: job.name }, bound);
  }

  /**
   * Starts the pipeline and collects once at once, outside the scrape loop (whose first
   * collection waits for the job's offset in the interval): a replica that has just taken the
   * job over decides on it without waiting up to one more interval. Its samples are not stored.
   */
  start(firstCollectionTimeoutMs: number): Promise<void> {
    this.pipeline.start();
    return this.target.source.fetch(AbortSignal.timeout(firstCollectionTimeoutMs)).then(
      () => undefined,
      (err: unknown) => this.log.debug({ err: errorMessage(err) }, 'the first collection failed; the scrape loop collects next'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await this.pipeline.stop();
    const last = this.decisions.at(-1);
    if (last) this.d.recorder.forget(last, this.scope);
  }

  acting(): boolean {
    return !this.stopped && this.d.acting(this.job.uid);
  }

  setPolicy(p: JobPolicy): void {
    if (p.digest !== this.policy.digest) {
      this.pipeline.setPolicy(p.policy);
      this.log.info({ digest: p.digest, was: this.policy.digest, source: p.source }, 'the job\'s policy changed; applied from the next decision on');
    }
    this.policy = p;
    this.policyError = null;
  }

  actionInFlight(): boolean {
    return this.pipeline.actions.size > 0;
  }

  lastAction(): Realized | null {
    return [...this.pipeline.lastResults.values()].at(-1) ?? null;
  }

  private recordDecision(d: ScaleDecision): void {
    this.d.recorder.record(d, this.scope, false);
    this.decisions.push(d);
    const limit = this.d.historyLimit();
    if (this.decisions.length > limit) this.decisions.splice(0, this.decisions.length - limit);
  }

  /** Each collection's observations of this job, in order, into the pipeline (only while acting). */
  private collected(result: FlinkCollectResult): void {
    if (!this.acting()) return;
    for (const raw of result.observations) {
      if (this.job.kind === 'FlinkSessionJob' && raw.jobId !== this.sessionJobId) continue;
      let obs: JobObservation;
      try {
        obs = parseObservation(raw, `observation of ${this.job.namespace}/${this.job.name}`);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'skipping an observation that does not fit the schema');
        continue;
      }
      this.observations++;
      this.lastObservationAt = obs.time;
      const alerts = this.d.alerts();
      this.chain = this.chain
        .then(async () => void (await this.pipeline.scale(obs, alerts)))
        .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'the autoscaler pipeline failed on an observation'));
    }
  }
}
