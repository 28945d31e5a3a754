/**
 * ScalingController: the thin stateful shell around the pure decide(). It keeps one
 * ScalingHistory per job (by job name when known: a savepoint redeploy gives the job a new id,
 * and its learned restart cost, cool-down and scale-down window must carry over), resolves each
 * job's policy (with its overrides) once, and after every decision folds the observation and
 * the decision into the history. The agent's pipeline (pipeline.ts), `scale replay` and the
 * simulator all drive the engine through it; the pipeline restores histories from its
 * StateStore (`restore`) and drops them when leadership moves (`forgetAll`).
 */
import type { JobObservation } from './observation.ts';
import type { ScaleDecision } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { policyForJob } from './policy.ts';
import { decide, type Clock, type FiringAlert } from './decide.ts';
import { emptyHistory, updateHistory, type ScalingHistory } from './history.ts';

/** The stable key of a job across resubmissions: its name when it has one, else its id (as actuate/ keys actions). */
export function jobKeyOf(o: { jobId: string; jobName?: string | undefined }): string {
  return o.jobName !== undefined && o.jobName !== '' ? o.jobName : o.jobId;
}

export class ScalingController {
  private current: ScalingPolicy;
  private readonly histories = new Map<string, ScalingHistory>();
  private readonly policies = new Map<string, ScalingPolicy>();

  constructor(policy: ScalingPolicy) {
    this.current = policy;
  }

  get policy(): ScalingPolicy {
    return this.current;
  }

  /** Replaces the policy (a changed policy ConfigMap or job.autoscaler.* keys); every history is kept. */
  setPolicy(policy: ScalingPolicy): void {
    this.current = policy;
    this.policies.clear();
  }

  policyFor(jobId: string, jobName?: string): ScalingPolicy {
    let p = this.policies.get(jobId);
    if (!p) {
      p = policyForJob(this.policy, jobId, jobName);
      this.policies.set(jobId, p);
    }
    return p;
  }

  /** The history of a job, by its name or (when it has none) its id. */
  history(jobKey: string): ScalingHistory | undefined {
    return this.histories.get(jobKey);
  }

  /** Puts back a history read from a state store (after a restart or a leader change). */
  restore(jobKey: string, history: ScalingHistory): void {
    this.histories.set(jobKey, history);
  }

  /** Forgets every history (a new leader reloads them from the store). */
  forgetAll(): void {
    this.histories.clear();
  }

  jobKeys(): string[] {
    return [...this.histories.keys()];
  }

  /**
   * Records that the job's last requested rescale was not carried out (the actuator rejected it
   * or failed), so decide() stops waiting for it to take effect and retries after a back-off.
   */
  notCarriedOut(jobKey: string, reason: string): void {
    const h = this.histories.get(jobKey);
    const last = h?.rescales.at(-1);
    if (!h || !last || last.completedAt !== undefined || last.notCarriedOut !== undefined) return;
    this.histories.set(jobKey, { ...h, rescales: [...h.rescales.slice(0, -1), { ...last, notCarriedOut: reason }] });
  }

  /** Decides for one observation; the clock defaults to the observation's time (replay). */
  step(observation: JobObservation, alerts: readonly FiringAlert[] = [], clock?: Clock, opts: { actionInFlight?: boolean } = {}): ScaleDecision {
    const policy = this.policyFor(observation.jobId, observation.jobName);
    const key = jobKeyOf(observation);
    const h = this.histories.get(key) ?? emptyHistory(observation.jobId, policy);
    const inputs = { observation, alerts, ...(opts.actionInFlight ? { actionInFlight: true } : {}) };
    const decision = decide(inputs, h, policy, clock ?? { now: () => observation.time });
    this.histories.set(key, updateHistory(h, observation, decision, policy));
    return decision;
  }
}
