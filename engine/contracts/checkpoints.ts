/**
 * Checkpoint and savepoint views: what the checkpoint coordinator and the savepoint operations
 * (engine/jobmanager, engine/checkpoint) report, and what the REST layer turns into Flink's
 * checkpoint statistics, checkpoint config and savepoint status bodies. Plain data; times are
 * epoch milliseconds, sizes bytes.
 */

export type CheckpointStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export type CheckpointType = 'CHECKPOINT' | 'UNALIGNED_CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';

export interface CheckpointTaskView {
  status: CheckpointStatus;
  latestAckTimestamp: number;
  checkpointedSize: number;
  stateSize: number;
  endToEndDuration: number;
  numSubtasks: number;
  numAcknowledgedSubtasks: number;
}

export interface CheckpointView {
  id: number;
  status: CheckpointStatus;
  isSavepoint: boolean;
  savepointFormat: 'CANONICAL' | 'NATIVE' | null;
  checkpointType: CheckpointType;
  triggerTimestamp: number;
  latestAckTimestamp: number;
  checkpointedSize: number;
  stateSize: number;
  endToEndDuration: number;
  processedData: number;
  persistedData: number;
  numSubtasks: number;
  numAcknowledgedSubtasks: number;
  /** Completed only. */
  externalPath?: string;
  discarded?: boolean;
  /** Failed only. */
  failureTimestamp?: number;
  failureMessage?: string | null;
  /** Per vertex id; used by /checkpoints/details/:id. */
  tasks?: Record<string, CheckpointTaskView>;
}

export interface CheckpointStatsView {
  counts: { restored: number; total: number; inProgress: number; completed: number; failed: number };
  /** Newest first, bounded (Flink keeps web.checkpoints.history = 10). */
  history: CheckpointView[];
  /** Every completed checkpoint still counted in the summary; absent: the completed ones in history. */
  summaryOf?: CheckpointView[];
  latestCompleted: CheckpointView | null;
  latestSavepoint: CheckpointView | null;
  latestFailed: CheckpointView | null;
  restored: { id: number; restoreTimestamp: number; isSavepoint: boolean; externalPath: string | null } | null;
}

export interface CheckpointConfigView {
  mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  interval: number;
  timeout: number;
  minPause: number;
  maxConcurrent: number;
  externalization: { enabled: boolean; deleteOnCancellation: boolean };
  stateBackend: string;
  checkpointStorage: string;
  unalignedCheckpoints: boolean;
  tolerableFailedCheckpoints: number;
  alignedCheckpointTimeout: number;
  checkpointsAfterTasksFinish: boolean;
  stateChangelogEnabled: boolean;
  changelogStorage: string;
  changelogPeriodicMaterializationInterval: number;
}

/** The state of an asynchronous savepoint or stop-with-savepoint operation. */
export type SavepointOperation =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string }
  | { status: 'COMPLETED'; failure: { className: string; message: string; stackTrace: string } };
