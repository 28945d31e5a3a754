/**
 * The task side of a checkpoint, for the runtime (engine/runtime) to call once a barrier is
 * aligned (or, in a source, when the trigger arrives): take the snapshot while processing is
 * paused, forward the barrier, then write the state file asynchronously while the task keeps
 * processing, and acknowledge (or decline) to the JobManager. Also the barrier options that
 * travel with a barrier on the wire (ChannelEntry.payload), so every task knows where to write
 * without asking the JobManager. No network I/O here: the runtime passes the ack/decline senders.
 */
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { TaskInvokable } from '../contracts/task.ts';
import type { CheckpointTrigger } from './coordinator.ts';
import type { SnapshotKind, SubtaskStateHandle } from './metadata.ts';
import { writeSubtaskState } from './state-files.ts';

/** What a barrier carries downstream (the network's ChannelEntry.payload for ENTRY_BARRIER). */
export interface BarrierOptions {
  checkpointId: number;
  timestamp: number;
  kind: SnapshotKind;
  /** Absolute directory to write state files into. */
  dir: string;
  drain: boolean;
}

export function barrierOptions(t: CheckpointTrigger): BarrierOptions {
  return { checkpointId: t.checkpointId, timestamp: t.timestamp, kind: t.kind, dir: t.dir, drain: t.drain };
}

export interface SubtaskCheckpointerDeps {
  vertexId: string;
  subtaskIndex: number;
  /** Sends the acknowledgement to the JobManager (RPC). */
  acknowledge(checkpointId: number, handle: SubtaskStateHandle, metrics: { alignmentDurationNs: number; processedData: number }): void;
  /** Sends a decline to the JobManager (RPC). */
  decline(checkpointId: number, reason: string): void;
  log?: Logger;
}

export class SubtaskCheckpointer {
  private readonly deps: SubtaskCheckpointerDeps;
  private readonly log: Logger;
  private readonly writes = new Set<Promise<void>>();

  constructor(deps: SubtaskCheckpointerDeps) {
    this.deps = deps;
    this.log = deps.log ?? silentLogger();
  }

  /** State writes still running. */
  get inFlight(): number {
    return this.writes.size;
  }

  /**
   * Takes the snapshot of checkpoint `opts.checkpointId`. Call with processing paused (after
   * alignment); resolves as soon as the snapshot is taken, so the caller forwards the barrier
   * and resumes; the write and the acknowledgement continue in the background. A failing
   * snapshot or write declines the checkpoint; the task itself goes on.
   */
  async checkpoint(task: TaskInvokable, opts: BarrierOptions, alignment: { alignmentDurationNs?: number; processedData?: number } = {}): Promise<void> {
    let snapshot;
    try {
      snapshot = await task.snapshotState(opts.checkpointId);
    } catch (err) {
      this.decline(opts.checkpointId, `snapshot failed: ${errorMessage(err)}`);
      return;
    }
    const write = writeSubtaskState(opts.dir, this.deps.vertexId, this.deps.subtaskIndex, snapshot).then(
      (handle) => this.deps.acknowledge(opts.checkpointId, handle, { alignmentDurationNs: alignment.alignmentDurationNs ?? 0, processedData: alignment.processedData ?? 0 }),
      (err) => this.decline(opts.checkpointId, `writing state failed: ${errorMessage(err)}`),
    );
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  private decline(checkpointId: number, reason: string): void {
    this.log.warn({ checkpointId, vertexId: this.deps.vertexId, subtaskIndex: this.deps.subtaskIndex, reason }, 'declining checkpoint');
    try {
      this.deps.decline(checkpointId, reason);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not send a decline');
    }
  }

  /** Waits for running writes (before a task reports FINISHED after a stop-with-savepoint). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }
}
