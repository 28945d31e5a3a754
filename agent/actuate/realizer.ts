/**
 * The actuators as Realizers of the autoscaler pipeline (scaling/pipeline.ts): one adapter over
 * the Actuator for each actuation mode (in-place REST, savepoint redeploy, TaskManager
 * Deployment/StatefulSet, FlinkDeployment, dry-run). It adds nothing to the actuators: the
 * decision becomes a RescaleRequest in this mode (`requestFor`), the journal's unfinished records are the
 * actions to resume, and `finished` says whether the journal closed the action (an action
 * interrupted between steps stays open and is resumed by the pipeline).
 * Structurally typed: actuate/ does not import scaling/.
 */
import type { Actuator } from './actuator.ts';
import type { IntentJournal } from './journal/intent.ts';
import type { ActuationMode, ActuationResult, RescaleRequest } from './types.ts';

/** The parts of a rescale decision (scaling/decision.ts) a request is made of. */
export interface DecisionToRealize {
  jobId: string;
  jobName?: string;
  parallelism: Record<string, number>;
  taskManagers?: number;
  reasons: string[];
}
export interface RealizerOrder {
  jobKey: string;
  decision: DecisionToRealize;
  running: Record<string, number>;
}
export type RealizerResult = ActuationResult & { finished: boolean };

/** The request for a decision in a mode: current and target parallelism per vertex. */
export function requestFor(order: RealizerOrder, mode: ActuationMode): RescaleRequest {
  const d = order.decision;
  return {
    jobId: d.jobId, ...(d.jobName !== undefined ? { jobName: d.jobName } : {}),
    current: { ...order.running }, target: { ...d.parallelism },
    ...(d.taskManagers !== undefined ? { taskManagers: d.taskManagers } : {}),
    reasons: [...d.reasons], mode,
  };
}

export class ActuatorRealizer {
  readonly mode: ActuationMode;
  private readonly actuator: Actuator;
  private readonly journal: IntentJournal;
  private readonly leader: () => boolean;

  constructor(o: { actuator: Actuator; journal: IntentJournal; mode: ActuationMode; isLeader?: () => boolean }) {
    this.actuator = o.actuator;
    this.journal = o.journal;
    this.mode = o.mode;
    this.leader = o.isLeader ?? (() => true);
  }

  isLeader(): boolean {
    return this.leader();
  }

  async realize(order: RealizerOrder): Promise<RealizerResult> {
    return this.withFinished(order.jobKey, await this.actuator.execute(requestFor(order, this.mode)));
  }

  async unfinished(): Promise<string[]> {
    return (await this.journal.unfinished()).map((h) => h.record.jobKey);
  }

  async resume(jobKey: string): Promise<RealizerResult | null> {
    const r = await this.actuator.resume(jobKey);
    return r ? this.withFinished(jobKey, r) : null;
  }

  private async withFinished(jobKey: string, r: ActuationResult): Promise<RealizerResult> {
    const rec = await this.journal.get(jobKey).catch(() => null);
    return { ...r, finished: rec === null ? true : rec.record.finished || rec.record.actionId !== r.actionId };
  }
}
