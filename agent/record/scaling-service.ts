/**
 * ScalingService: the glue the agent process mounts to run the decision engine live. It is an
 * ObservationHandler-shaped function (one call per job observation, never concurrent with
 * itself) that decides, records (ring, gauges, log line) and hands rescale decisions to an
 * `onDecision` callback (the actuator, or nothing in dry-run), plus an `extraRoutes` handler
 * serving GET /api/v1/scaling/decisions. It never imports actuate/: actuation is a callback.
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import type { JobObservation } from '../scaling/observation.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import type { FiringAlert } from '../scaling/decide.ts';
import type { ScalingPolicy } from '../scaling/policy-schema.ts';
import { ScalingController } from '../scaling/controller.ts';
import { DecisionRecorder, handleDecisionsRoute } from './decision-log.ts';

/** Anything with the RuleManager's `alerts()` shape. */
export interface AlertSource {
  alerts(): Array<{ alert: { state: string; labels: Readonly<Record<string, string>> } }>;
}

/** The firing alerts of a rule manager, as decide() takes them. */
export function firingAlerts(source: AlertSource | null | undefined): FiringAlert[] {
  if (!source) return [];
  return source
    .alerts()
    .filter((a) => a.alert.state === 'firing')
    .map((a) => ({ labels: { ...a.alert.labels } }));
}

export interface ScalingServiceOptions {
  policy: ScalingPolicy;
  registry?: Registry;
  logger?: Logger;
  /** decisions kept for the explain API; default: the policy's history.maxDecisions */
  capacity?: number;
  /**
   * Dry run: decide and explain, but every decision is a recommendation (as `execute: false`),
   * so the engine never waits for a rescale nobody carries out.
   */
  dryRun?: boolean;
  /** called for every decision with action "rescale"; errors are logged by the caller */
  onDecision?: (decision: ScaleDecision, observation: JobObservation) => void | Promise<void>;
}

function recommendOnly(policy: ScalingPolicy): ScalingPolicy {
  const jobs = Object.fromEntries(Object.entries(policy.jobs).map(([k, v]) => [k, { ...v, execute: false }]));
  return { ...policy, execute: false, jobs };
}

export class ScalingService {
  readonly controller: ScalingController;
  readonly recorder: DecisionRecorder;
  private readonly opts: ScalingServiceOptions;

  constructor(opts: ScalingServiceOptions) {
    this.opts = opts;
    this.controller = new ScalingController(opts.dryRun ? recommendOnly(opts.policy) : opts.policy);
    this.recorder = new DecisionRecorder({
      capacity: opts.capacity ?? opts.policy.history.maxDecisions,
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** Decide for one observation; usable as the agent's ObservationHandler. */
  handle = async (observation: JobObservation, ctx?: { rules?: AlertSource | null; actionInFlight?: boolean }): Promise<ScaleDecision> => {
    // The observation's own time is the clock: the collector stamps it when it collects.
    const d = this.controller.step(observation, firingAlerts(ctx?.rules), undefined, { actionInFlight: ctx?.actionInFlight === true });
    this.recorder.record(d);
    if (d.action === 'rescale' && this.opts.onDecision) await this.opts.onDecision(d, observation);
    return d;
  };

  /** For AgentApi's `extraRoutes`. */
  routes = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => handleDecisionsRoute(req, res, this.recorder.ring);
}
