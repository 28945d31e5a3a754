/**
 * The control-plane messages between JobManager and TaskManagers, by type tag `t`. Requests
 * (R) are answered; the rest are one-way.
 */
import type { ExecutionState, MetricValues } from '../rest/backend.ts';
import type { JobDeployment } from '../runtime/deployment.ts';
import type { CheckpointOptions } from '../contracts/task.ts';
import type { SubtaskStateHandle } from '../checkpoint/metadata.ts';

/** TM → JM (R): join the cluster and offer slots. Answered with RegisteredMessage. */
export interface RegisterMessage {
  t: 'register';
  taskManagerId: string;
  host: string;
  dataPort: number;
  metricsPort: number;
  slots: number;
  hardware: { cpuCores: number; physicalMemory: number; freeMemory: number };
  /** Heap limit of the TM process (bytes), for the REST memory view. */
  heapMax: number;
}

export interface RegisteredMessage {
  t: 'reply';
  jobManagerId: string;
  heartbeatIntervalMs: number;
}

/** Metric values a TM reports with each heartbeat. */
export interface TaskMetricSnapshot {
  jobId: string;
  executionId: string;
  vertexId: string;
  subtaskIndex: number;
  attemptNumber: number;
  values: MetricValues;
}

export interface MetricSnapshot {
  taskManager: MetricValues;
  tasks: TaskMetricSnapshot[];
}

/** TM → JM: I am alive; here are my metrics. */
export interface HeartbeatMessage {
  t: 'heartbeat';
  taskManagerId: string;
  metrics: MetricSnapshot;
}

/** TM → JM: a subtask changed ExecutionState. */
export interface TaskStateMessage {
  t: 'taskState';
  taskManagerId: string;
  jobId: string;
  executionId: string;
  vertexId: string;
  subtaskIndex: number;
  attemptNumber: number;
  state: ExecutionState;
  failure?: string;
  timestamp: number;
}

/** JM → TM (R): run these subtasks of one execution attempt. */
export interface DeployMessage {
  t: 'deploy';
  deployment: JobDeployment;
}

/** JM → TM (R): cancel every subtask of an execution attempt; answered when they have stopped. */
export interface CancelMessage {
  t: 'cancel';
  executionId: string;
}

/** JM → TM: drop the channels and state of a finished or cancelled execution attempt. */
export interface ReleaseMessage {
  t: 'release';
  executionId: string;
}

/** JM → TM: the TM is not (or no longer) registered; it should register again. */
export interface DisconnectMessage {
  t: 'disconnect';
  reason: string;
}

/**
 * JM → TM: start checkpoint `checkpointId` at every source subtask of the execution attempt.
 * `options` names the directory (already created by the JobManager) the subtasks write into;
 * the sources pass it on with their barriers.
 */
export interface TriggerCheckpointMessage {
  t: 'triggerCheckpoint';
  executionId: string;
  checkpointId: number;
  timestamp: number;
  options: CheckpointOptions;
}

/**
 * TM → JM: a subtask's state file for a checkpoint is written and fsync'd in the checkpoint's
 * directory; `handle` says where (file name, size, per-operator chunk offsets and CRCs). No state
 * bytes travel here. `handle` null with `failure`: the subtask declined (snapshot or write failed).
 */
export interface AcknowledgeCheckpointMessage {
  t: 'acknowledgeCheckpoint';
  taskManagerId: string;
  jobId: string;
  executionId: string;
  vertexId: string;
  subtaskIndex: number;
  checkpointId: number;
  handle: SubtaskStateHandle | null;
  failure?: string;
}

/** JM → TM: the checkpoint completed everywhere; sinks may commit. */
export interface NotifyCheckpointCompleteMessage {
  t: 'notifyCheckpointComplete';
  executionId: string;
  checkpointId: number;
}
