/**
 * The entry point of actuate/: `execute(request)` journals the intent and drives the chosen
 * actuator to the end; `resume(jobKey)` / `resumeAll()` finish actions a previous process left
 * in flight. One action per job: the journal's unfinished record is the durable guard (begin()
 * refuses a second intent, and every step is a compare-and-set, so two drivers of one record
 * cannot both advance it); inside the agent, the autoscaler pipeline (scaling/pipeline.ts) is
 * the one owner of actions in flight and never starts two for a job. Only the leader actuates
 * when an `isLeader` gate is given. Each outcome is counted in metrics and, when a recorder is
 * configured, becomes one Kubernetes Event.
 */
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type { ActuatorContext, StepRunner } from './context.ts';
import { resultOf } from './context.ts';
import { runInPlace } from './in-place.ts';
import { runSavepoint } from './savepoint.ts';
import { runFlinkDeploymentPatch, runWorkloadScale } from './kubernetes.ts';
import type { IntentHandle } from './journal/intent.ts';
import type { ActuationMetrics } from './metrics.ts';
import { jobKeyOf, type ActuationMode, type ActuationResult, type RescaleRequest } from './types.ts';
import type { DecisionEvent } from '../kube/events.ts';

const runDryRun: StepRunner = async (ctx, h) =>
  ctx.journal.finish(h, 'recorded', 'recommended', `recommendation only: ${JSON.stringify(h.record.request.current)} → ${JSON.stringify(h.record.request.target)}`);

const RUNNERS: Record<ActuationMode, StepRunner> = {
  'in-place': runInPlace,
  savepoint: runSavepoint,
  'kubernetes-deployment': runWorkloadScale,
  'flink-deployment': runFlinkDeploymentPatch,
  'dry-run': runDryRun,
};

export interface ActuatorOptions {
  context: ActuatorContext;
  /** When given, only a leader actuates (FP_ACTUATE_NOT_LEADER otherwise). */
  isLeader?: () => boolean;
  metrics?: ActuationMetrics;
  /** Records one Event per action outcome; errors are logged, never thrown. */
  recordEvent?: (ev: DecisionEvent) => Promise<unknown>;
  /** The object an Event is about, per job key (e.g. the FlinkDeployment). */
  eventSubject?: (jobKey: string) => DecisionEvent['regarding'];
}

function validate(req: RescaleRequest): void {
  const bad = Object.entries(req.target).filter(([, p]) => !Number.isInteger(p) || p < 1);
  if (bad.length > 0 || Object.keys(req.target).length === 0) {
    throw new FlowpilotError('FP_ACTUATE_INVALID', `target parallelism must map each vertex id to an integer ≥ 1 (got ${JSON.stringify(req.target)})`);
  }
  if (!(req.mode in RUNNERS)) throw new FlowpilotError('FP_ACTUATE_INVALID', `unknown actuation mode "${String(req.mode)}"`);
}

export class Actuator {
  private readonly o: ActuatorOptions;

  constructor(o: ActuatorOptions) {
    this.o = o;
  }

  async execute(req: RescaleRequest): Promise<ActuationResult> {
    validate(req);
    this.gate();
    return this.counted(async () => {
      const h = await this.o.context.journal.begin(jobKeyOf(req), req);
      return this.drive(h, false);
    });
  }

  /** Finishes the job's unfinished action, if the journal has one. */
  async resume(jobKey: string): Promise<ActuationResult | null> {
    this.gate();
    const h = await this.o.context.journal.get(jobKey);
    if (!h || h.record.finished) return null;
    this.o.context.log.warn({ jobKey, actionId: h.record.actionId, step: h.record.step }, 'resuming an action left in flight');
    return this.counted(() => this.drive(h, true));
  }

  /** Finishes every unfinished action found in the journal, one after another. */
  async resumeAll(): Promise<ActuationResult[]> {
    this.gate();
    const out: ActuationResult[] = [];
    for (const h of await this.o.context.journal.unfinished()) {
      const r = await this.resume(h.record.jobKey);
      if (r) out.push(r);
    }
    return out;
  }

  private gate(): void {
    if (this.o.isLeader && !this.o.isLeader()) {
      throw new FlowpilotError('FP_ACTUATE_NOT_LEADER', 'this agent is not the leader; only the leader actuates');
    }
  }

  private async counted<T>(fn: () => Promise<T>): Promise<T> {
    this.o.metrics?.inFlight.inc();
    try {
      return await fn();
    } finally {
      this.o.metrics?.inFlight.dec();
    }
  }

  private async drive(h0: IntentHandle, resumed: boolean): Promise<ActuationResult> {
    const ctx = this.o.context;
    const started = ctx.clock();
    let h = h0;
    try {
      h = await RUNNERS[h.record.mode](ctx, h);
    } catch (err) {
      // An error between steps (network, journal) leaves the record unfinished on purpose:
      // the next resumeAll() picks it up from the last journaled step.
      ctx.log.error({ err, jobKey: h.record.jobKey, step: h.record.step }, 'actuation interrupted');
      const r = resultOf(h, resumed);
      return { ...r, outcome: 'failed', message: `interrupted at step "${h.record.step}" (will resume): ${errorMessage(err)}` };
    }
    const r = h.record.finished ? resultOf(h, resumed)
      : { ...resultOf(h, resumed), outcome: 'timed-out' as const, message: `still in flight at step "${h.record.step}"; will resume` };
    this.o.metrics?.observe(r, (ctx.clock() - started) / 1000);
    if (r.realization?.unexpectedUpgrade) {
      ctx.log.error({ jobKey: r.jobKey, realization: r.realization }, 'the operator UPGRADED (restarted) the job where an in-place rescale was expected');
    }
    await this.event(r, h);
    return r;
  }

  private async event(r: ActuationResult, h: IntentHandle): Promise<void> {
    if (!this.o.recordEvent) return;
    const regarding = this.o.eventSubject?.(r.jobKey) ?? { kind: 'FlinkJob', name: r.jobKey.toLowerCase().replace(/[^a-z0-9.-]/g, '-') };
    const req = h.record.request;
    const note = `${r.outcome}: ${JSON.stringify(req.current)} → ${JSON.stringify(req.target)}${req.taskManagers !== undefined ? `, ${req.taskManagers} TaskManagers` : ''}. Why: ${req.reasons.join('; ')}. ${r.message}`;
    const unexpected = r.realization?.unexpectedUpgrade === true;
    const reason = unexpected ? 'RescaleUpgradedUnexpectedly'
      : r.errorCode === 'FP_ACTUATE_AUTOSCALER_CONFLICT' ? 'AutoscalerConflict'
        : r.outcome === 'recommended' ? 'ScalingReport' : r.outcome === 'succeeded' ? 'Rescaled' : 'RescaleFailed';
    try {
      await this.o.recordEvent({
        regarding,
        reason,
        action: r.mode === 'dry-run' ? 'Recommend' : 'Rescale',
        note,
        type: !unexpected && (r.outcome === 'succeeded' || r.outcome === 'recommended') ? 'Normal' : 'Warning',
      });
    } catch (err) {
      this.o.context.log.warn({ err, jobKey: r.jobKey }, 'could not record the Kubernetes Event for an action');
    }
  }
}
