/**
 * One job's savepoint requests (POST /jobs/:id/savepoints and /stop): admission through
 * engine/checkpoint/savepoint-operations.ts (a retry or the same request joins the running
 * trigger; anything else while one runs is a 409), triggering on the job's checkpoint
 * coordinator (retried while another checkpoint is in flight or subtasks are not all running,
 * up to the checkpoint timeout), and what follows: nothing, cancel, or stop.
 */
import { SavepointOperations } from '../checkpoint/savepoint-operations.ts';
import type { SavepointOperation } from '../contracts/checkpoints.ts';
import type { CheckpointCoordinator } from './checkpoint-coordinator.ts';

export interface SavepointJob {
  readonly jobId: string;
  readonly checkpoints: CheckpointCoordinator;
  readonly isTerminal: boolean;
  readonly status: string;
  /** `cancel-job`: cancel after the savepoint. */
  cancel(): Promise<void>;
  /** Stop-with-savepoint's second half: end the subtasks, the job is FINISHED. */
  finishAfterStop(): Promise<void>;
}

export type AfterSavepoint = 'none' | 'cancel' | 'stop';

export class JobSavepoints {
  private readonly job: SavepointJob;
  private readonly ops: SavepointOperations;

  constructor(job: SavepointJob) {
    this.job = job;
    this.ops = new SavepointOperations(job.jobId);
  }

  /** Starts (or joins) a savepoint into `targetDirectory`, an already checked path. Returns the trigger id. */
  request(targetDirectory: string, after: AfterSavepoint, requestedTriggerId?: string): string {
    const job = this.job;
    const kind = after === 'stop' ? 'SYNC_SAVEPOINT' : 'SAVEPOINT';
    const admission = this.ops.admit(kind, targetDirectory, requestedTriggerId);
    if (admission.join) return admission.triggerId;
    const triggerId = admission.triggerId;
    this.ops.begin(triggerId, kind, targetDirectory);
    const deadline = Date.now() + job.checkpoints.timeout;
    const failed = (message: string) => this.ops.fail(triggerId, new Error(message));
    const attempt = () => {
      if (job.isTerminal) return failed(`The job is ${job.status}.`);
      const id = job.checkpoints.trigger(true, {
        targetDirectory,
        done: (r) => {
          if ('error' in r) return failed(r.error);
          this.ops.complete(triggerId, r.location);
          if (after === 'cancel') void job.cancel();
          if (after === 'stop') void job.finishAfterStop();
        },
      });
      if (id !== null) return;
      if (Date.now() > deadline) return failed('Could not start the savepoint: the job was not running on all subtasks, or another checkpoint did not finish.');
      setTimeout(attempt, 100).unref();
    };
    attempt();
    return triggerId;
  }

  status(triggerId: string): SavepointOperation | undefined {
    return this.ops.status(triggerId);
  }
}
