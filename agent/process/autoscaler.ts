/**
 * The autoscaler inside the agent process: each job observation goes to the decision engine
 * (ScalingService: decide, record, explain); a rescale decision becomes a RescaleRequest for the
 * actuation runtime (in place, savepoint, Kubernetes, or recommend only). Actions run beside the
 * observation loop, never blocking it; the actuator keeps one action in flight per job, and each
 * cycle `tick()` resumes actions left in flight (after a crash) and checks jobs for recovery.
 * Ticks also run on their own timer (every scrape interval, from start): observations exist only
 * for running jobs, and a crash after a stop, or a FAILED job, leaves none to drive them.
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { errorMessage, isFlowpilotError } from '../../common/errors.ts';
import type { JobObservation } from '../scaling/observation.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import { defaultPolicy, loadPolicyFile } from '../scaling/policy.ts';
import { ScalingService } from '../record/scaling-service.ts';
import { createActuationRuntime, type ActuationRuntime } from '../actuate/runtime.ts';
import type { ActuationMode, ActuationResult, RescaleRequest } from '../actuate/types.ts';
import type { AgentConfig } from './config.ts';
import type { ObservationContext } from './agent.ts';

export interface AutoscalerDeps {
  registry: Registry;
  logger: Logger;
  /** This agent's identity for leases and events (the pod name in Kubernetes). */
  identity: string;
}

/** The request an actuator needs for a decision: current and target parallelism per vertex. */
export function rescaleRequest(d: ScaleDecision, obs: JobObservation, mode: ActuationMode): RescaleRequest {
  return {
    jobId: d.jobId,
    ...(obs.jobName !== undefined ? { jobName: obs.jobName } : {}),
    current: Object.fromEntries(obs.vertices.map((v) => [v.id, v.parallelism])),
    target: { ...d.parallelism },
    ...(d.taskManagers !== undefined ? { taskManagers: d.taskManagers } : {}),
    reasons: [...d.reasons],
    mode,
  };
}

/** Actions are tracked by job name when known: a savepoint redeploy changes the job id mid-action. */
function jobKeyOf(obs: JobObservation): string {
  return obs.jobName ?? obs.jobId;
}

export class Autoscaler {
  readonly service: ScalingService;
  readonly runtime: ActuationRuntime | null;
  readonly mode: ActuationMode;
  private readonly log: Logger;
  private readonly inFlight = new Map<string, Promise<void>>();
  private ticking: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly tickEveryMs: number;
  /** The latest outcome per job, for the explain API. */
  readonly lastResults = new Map<string, ActuationResult>();

  constructor(config: AgentConfig, deps: AutoscalerDeps) {
    this.log = deps.logger.child({ component: 'autoscaler' });
    const policy = config.scaling.policyFile ? loadPolicyFile(config.scaling.policyFile) : defaultPolicy();
    this.mode = config.dryRun ? 'dry-run' : config.actuation.mode;
    this.tickEveryMs = Math.max(500, config.scrape.interval);
    this.runtime = this.mode === 'dry-run' && !config.actuation.recovery.enabled && !config.actuation.periodicSavepoints.enabled
      ? null
      : createActuationRuntime(config.actuation, { log: this.log, registry: deps.registry, identity: deps.identity });
    this.service = new ScalingService({
      policy,
      registry: deps.registry,
      logger: this.log,
      dryRun: this.mode === 'dry-run',
      onDecision: (d, obs) => this.actuate(d, obs),
    });
  }

  async start(): Promise<void> {
    await this.runtime?.start();
    if (!this.runtime) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.tickEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight.values(), this.ticking ?? Promise.resolve()]);
    await this.runtime?.stop();
  }

  /** The agent's ObservationHandler. */
  handle = async (obs: JobObservation, ctx: ObservationContext): Promise<void> => {
    this.tick();
    await this.service.handle(obs, { rules: ctx.rules, actionInFlight: this.inFlight.has(jobKeyOf(obs)) });
  };

  /** The agent's extra HTTP routes: GET /api/v1/scaling/decisions. */
  routes = (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => this.service.routes(req, res);

  private tick(): void {
    if (!this.runtime || this.ticking || !this.runtime.isLeader()) return;
    this.ticking = this.runtime
      .tick()
      .then((r) => {
        for (const res of r.resumed) this.remember(res);
      })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'resuming actions or checking recovery failed'))
      .finally(() => {
        this.ticking = null;
      });
  }

  private actuate(d: ScaleDecision, obs: JobObservation): void {
    if (!this.runtime) return;
    const key = jobKeyOf(obs);
    if (this.inFlight.has(key)) return; // decide() was told, and blocked with rescale-in-progress
    const req = rescaleRequest(d, obs, this.mode);
    const run = this.runtime.actuator
      .execute(req)
      .then((res) => this.remember(res))
      .catch((err: unknown) => {
        const code = isFlowpilotError(err) ? err.code : undefined;
        this.log.warn({ jobId: d.jobId, code, err: errorMessage(err) }, 'the rescale was not carried out');
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
  }

  private remember(res: ActuationResult): void {
    this.lastResults.set(res.jobKey, res);
    const level = res.outcome === 'succeeded' || res.outcome === 'recommended' ? 'info' : 'warn';
    this.log[level]({ jobKey: res.jobKey, mode: res.mode, outcome: res.outcome, actionId: res.actionId }, 'rescale action finished');
  }
}
