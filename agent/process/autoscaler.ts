/**
 * The autoscaler inside the agent process: builds the stages of the pipeline
 * (scaling/pipeline.ts) from the agent's config and hands it the agent's observations. It
 * holds no state of its own and is called back by nothing:
 * - ObservationSource: the agent's Flink REST collections (AgentObservationSource below);
 * - decide: the policy file, under the job.autoscaler.* keys of each configured FlinkDeployment;
 * - Realizer: the actuation runtime's Actuator in the configured mode (actuate/realizer.ts), or
 *   none in a dry run without one;
 * - StateStore: compressed documents in the intent journal's store (file or ConfigMap);
 * - DecisionSink: the explain ring, gauges and log line (record/decision-log.ts).
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { ScalingHistory } from '../scaling/history.ts';
import { AutoscalerPipeline, firingAlerts, type ObservationSink, type ObservationSource } from '../scaling/pipeline.ts';
import { checkHistory, shrinkState, stateValue } from '../scaling/state.ts';
import { defaultPolicy, loadPolicyFile, type ScalingPolicy } from '../scaling/policy.ts';
import { DecisionRecorder, handleDecisionsRoute } from '../record/decision-log.ts';
import { createActuationRuntime, type ActuationRuntime } from '../actuate/runtime.ts';
import { HttpClientConfig } from '../http/http-config.ts';
import { ActuatorRealizer } from '../actuate/realizer.ts';
import { durationMs } from '../actuate/config.ts';
import { CompressedStateStore } from '../actuate/journal/state-store.ts';
import type { JournalStore } from '../actuate/journal/store.ts';
import type { ActuationMode } from '../actuate/types.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import type { AgentConfig } from './config.ts';
import type { ObservationHandler } from './agent.ts';
import { operatorPolicy } from './operator-policy.ts';

export interface AutoscalerDeps {
  registry: Registry;
  logger: Logger;
  /** This agent's identity for leases and events (the pod name in Kubernetes). */
  identity: string;
  /** The agent's Flink REST client for actuation.flinkRestUrl (one pool with collection); closed by its owner. */
  flink?: FlinkRestClient;
}

/** The agent's REST collections as an ObservationSource; `handler` is the agent's ObservationHandler. */
export class AgentObservationSource implements ObservationSource {
  private sink: ObservationSink | null = null;

  subscribe(sink: ObservationSink): () => void {
    this.sink = sink;
    return () => {
      if (this.sink === sink) this.sink = null;
    };
  }

  handler: ObservationHandler = async (obs, ctx) => {
    await this.sink?.(obs, firingAlerts(ctx.rules));
  };
}

/** The pipeline's StateStore over a journal store: one compressed document per job, size-bounded. */
export function journalStateStore(store: JournalStore, maxBytes: number, log?: Logger): { where: string; load(k: string): Promise<ScalingHistory | null>; save(k: string, h: ScalingHistory): Promise<unknown> } {
  const docs = new CompressedStateStore(store, {
    maxBytes,
    check: (raw) => (checkHistory(raw) ? (raw as ReturnType<typeof stateValue>) : null),
    shrink: shrinkState,
    warn: (msg, details) => log?.warn(details, msg),
  });
  return {
    where: store.where,
    load: async (k) => (await docs.load(k))?.history ?? null,
    save: (k, h) => docs.save(k, stateValue(h)),
  };
}

export class Autoscaler {
  readonly runtime: ActuationRuntime | null;
  readonly mode: ActuationMode;
  readonly recorder: DecisionRecorder;
  readonly source = new AgentObservationSource();
  pipeline: AutoscalerPipeline | null = null;
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly filePolicy: ScalingPolicy;
  private stopping: Promise<void> | undefined;

  constructor(config: AgentConfig, deps: AutoscalerDeps) {
    this.config = config;
    this.log = deps.logger.child({ component: 'autoscaler' });
    this.filePolicy = config.scaling.policyFile ? loadPolicyFile(config.scaling.policyFile) : defaultPolicy();
    this.mode = config.dryRun ? 'dry-run' : config.actuation.mode;
    this.runtime = this.mode === 'dry-run' && !config.actuation.recovery.enabled && !config.actuation.periodicSavepoints.enabled
      ? null
      : createActuationRuntime(config.actuation, {
        log: this.log, registry: deps.registry, identity: deps.identity,
        // The agent's own client for this URL when it has one (one pool with collection, already
        // carrying flink.httpConfig); else actions go out with the same TLS and credentials.
        ...(deps.flink ? { flink: deps.flink } : {}),
        ...(config.flink.httpConfig ? { flinkHttp: new HttpClientConfig(config.flink.httpConfig, 'flink.httpConfig').poolOptions(durationMs(config.actuation.restTimeout)) } : {}),
      });
    this.recorder = new DecisionRecorder({ capacity: this.filePolicy.history.maxDecisions, registry: deps.registry, logger: this.log });
  }

  async start(): Promise<void> {
    await this.runtime?.start();
    const policy = await this.policy();
    const rt = this.runtime;
    const st = this.config.scaling.state;
    this.pipeline = new AutoscalerPipeline({
      policy,
      realizer: rt ? new ActuatorRealizer({ actuator: rt.actuator, journal: rt.journal, mode: this.mode, isLeader: () => rt.isLeader() }) : null,
      store: rt && st.enabled ? journalStateStore(rt.journal.store, st.maxBytes, this.log) : null,
      decisions: this.recorder,
      logger: this.log,
      dryRun: this.mode === 'dry-run',
      saveEveryMs: st.saveInterval,
      ...(rt ? { upkeep: async () => void (await rt.checkRecovery()) } : {}),
      // Observations exist only for running jobs: a crash after a stop, or a FAILED job, leaves none to drive a resume.
      tickEveryMs: Math.max(500, this.config.scrape.interval),
    });
    this.pipeline.start(this.source);
  }

  /** The policy file over the operator's job.autoscaler.* keys of the configured FlinkDeployments. */
  private async policy(): Promise<ScalingPolicy> {
    if (!this.config.scaling.operatorKeys || !this.runtime?.kube) return this.filePolicy;
    try {
      return await operatorPolicy(this.config, this.runtime.kube, this.log);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot apply the FlinkDeployment\'s job.autoscaler.* keys; using the policy file alone');
      return this.filePolicy;
    }
  }

  /** Stops the pipeline (actions finish, state saved), then the runtime (Lease released). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.pipeline?.stop();
      await this.runtime?.stop();
    })();
    return this.stopping;
  }

  /** The agent's ObservationHandler. */
  handle: ObservationHandler = (obs, ctx) => this.source.handler(obs, ctx);

  /** The agent's extra HTTP routes: GET /api/v1/scaling/decisions. */
  routes = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => handleDecisionsRoute(req, res, this.recorder.ring);
}
