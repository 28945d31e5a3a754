/**
 * A TaskManager's side of checkpoint storage, as in Flink: each subtask writes its own state
 * file into the checkpoint's directory on storage every TaskManager reaches, and acknowledges
 * with the small handle only. The JobManager names the directory in the trigger it sends to
 * every TaskManager of the job, and the sources pass it on with their barriers, so a task
 * normally knows it from its barrier. Should neither have it, a write waits (bounded) until the
 * trigger names its checkpoint's target. Writes run asynchronously to the task, which goes on processing after its
 * synchronous snapshot; the handle is returned once the file is fsync'd (state below the trigger's
 * inline threshold is not written: its bytes go in the handle). A write into a
 * directory the JobManager has discarded meanwhile (an aborted or expired checkpoint) fails
 * with ENOENT, which the caller turns into a decline; it never creates the directory.
 */
import path from 'node:path';
import { FlowpilotError } from '../../common/errors.ts';
import type { CheckpointOptions, SubtaskSnapshot } from '../contracts/task.ts';
import type { SubtaskStateHandle } from '../checkpoint/metadata.ts';
import { writeSubtaskState } from '../checkpoint/state-files.ts';

/** Targets kept per execution attempt; only one checkpoint is in flight at a time. */
const KEEP_TARGETS = 8;

interface ExecutionTargets {
  targets: Map<number, CheckpointOptions>;
  waiters: Map<number, Array<(o: CheckpointOptions | null) => void>>;
}

/** True when a trigger's or barrier's payload has the shape of CheckpointOptions (the directory is checked on use). */
export function isCheckpointOptions(o: unknown): o is CheckpointOptions {
  if (!o || typeof o !== 'object') return false;
  const { kind, dir } = o as Record<string, unknown>;
  return typeof dir === 'string' && (kind === 'CHECKPOINT' || kind === 'SAVEPOINT' || kind === 'SYNC_SAVEPOINT');
}

export class CheckpointWriter {
  private readonly executions = new Map<string, ExecutionTargets>();
  private readonly waitMs: number;
  /** Writes in progress (for tests and shutdown logging). */
  inFlight = 0;

  /** `waitMs`: how long a snapshot waits for its checkpoint's target before it is declined. */
  constructor(waitMs = 60_000) {
    this.waitMs = waitMs;
  }

  /** Records where checkpoint `checkpointId` of an execution attempt is written. */
  setTarget(executionId: string, checkpointId: number, options: CheckpointOptions): void {
    const ex = this.execution(executionId);
    ex.targets.set(checkpointId, options);
    for (const id of [...ex.targets.keys()].sort((a, b) => a - b).slice(0, Math.max(0, ex.targets.size - KEEP_TARGETS))) ex.targets.delete(id);
    const waiting = ex.waiters.get(checkpointId);
    ex.waiters.delete(checkpointId);
    for (const w of waiting ?? []) w(options);
  }

  /** The execution attempt ended: forget its targets; writes still waiting for one are declined. */
  release(executionId: string): void {
    const ex = this.executions.get(executionId);
    if (!ex) return;
    this.executions.delete(executionId);
    for (const list of ex.waiters.values()) for (const w of list) w(null);
  }

  /**
   * Writes one subtask's snapshot for `checkpointId` into its checkpoint's directory and returns
   * the handle to acknowledge with. Rejects (the caller declines the checkpoint) when no target
   * arrives in time, the target is malformed, or the write fails.
   */
  async write(executionId: string, vertexId: string, subtaskIndex: number, checkpointId: number, snapshot: SubtaskSnapshot): Promise<SubtaskStateHandle> {
    this.inFlight++;
    try {
      const target = await this.target(executionId, checkpointId);
      const threshold = typeof target.inlineThreshold === 'number' && Number.isSafeInteger(target.inlineThreshold) ? target.inlineThreshold : 0;
      return await writeSubtaskState(target.dir, vertexId, subtaskIndex, snapshot, threshold);
    } finally {
      this.inFlight--;
    }
  }

  private execution(executionId: string): ExecutionTargets {
    let ex = this.executions.get(executionId);
    if (!ex) {
      ex = { targets: new Map(), waiters: new Map() };
      this.executions.set(executionId, ex);
    }
    return ex;
  }

  private async target(executionId: string, checkpointId: number): Promise<CheckpointOptions> {
    const ex = this.execution(executionId);
    const known = ex.targets.get(checkpointId);
    const options =
      known ??
      (await new Promise<CheckpointOptions | null>((resolve) => {
        const timer = setTimeout(() => {
          const list = ex.waiters.get(checkpointId) ?? [];
          const i = list.indexOf(done);
          if (i >= 0) list.splice(i, 1);
          resolve(null);
        }, this.waitMs);
        timer.unref();
        function done(o: CheckpointOptions | null) {
          clearTimeout(timer);
          resolve(o);
        }
        const list = ex.waiters.get(checkpointId) ?? [];
        list.push(done);
        ex.waiters.set(checkpointId, list);
      }));
    if (!options) {
      throw new FlowpilotError('FP_CHECKPOINT_TARGET', `no directory for checkpoint ${checkpointId} reached this TaskManager (the trigger was lost or the attempt ended)`);
    }
    if (typeof options.dir !== 'string' || !path.isAbsolute(options.dir)) {
      throw new FlowpilotError('FP_CHECKPOINT_TARGET', `checkpoint ${checkpointId} names no absolute directory (${JSON.stringify(options.dir)})`);
    }
    return options;
  }
}
