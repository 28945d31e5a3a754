/**
 * The control-plane messages between JobManager and TaskManagers, by type tag `t`. Requests
 * (R) are answered; the rest are one-way. Each direction is a discriminated union
 * (JobManagerBound, TaskManagerBound); what arrives off the wire is checked by
 * `asJobManagerBound` / `asTaskManagerBound` (known tag, fields of the right types) before a
 * handler switches on `t`, so dispatch needs no casts.
 */
import type { ExecutionState, MetricValues } from '../contracts/status.ts';
import { EXECUTION_STATES } from '../contracts/status.ts';
import type { RpcEnvelope } from './connection.ts';
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
  /** RUNNING with checkpointing on: the subtask's input has ended and it waits for the final checkpoint. */
  endOfInput?: boolean;
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

/** Messages a JobManager receives. */
export type JobManagerBound = RegisterMessage | HeartbeatMessage | TaskStateMessage | AcknowledgeCheckpointMessage;
/** Messages a TaskManager receives. */
export type TaskManagerBound =
  | DeployMessage | CancelMessage | ReleaseMessage | DisconnectMessage | TriggerCheckpointMessage | NotifyCheckpointCompleteMessage;
/** Every control-plane message. */
export type RpcMessage = JobManagerBound | TaskManagerBound;

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const obj: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (c: Check): Check => (v) => v === undefined || c(v);
const nullable = (c: Check): Check => (v) => v === null || c(v);
const executionState: Check = (v) => typeof v === 'string' && (EXECUTION_STATES as readonly string[]).includes(v);

/** The required top-level fields of each message and their checks (payload internals are the sender's contract). */
const JOB_MANAGER_BOUND: { [T in JobManagerBound['t']]: Record<string, Check> } = {
  register: { taskManagerId: str, host: str, dataPort: num, metricsPort: num, slots: num, hardware: obj, heapMax: num },
  heartbeat: { taskManagerId: str, metrics: obj },
  taskState: {
    taskManagerId: str, jobId: str, executionId: str, vertexId: str, subtaskIndex: num, attemptNumber: num,
    state: executionState, failure: optional(str), timestamp: num, endOfInput: optional((v) => typeof v === 'boolean'),
  },
  acknowledgeCheckpoint: {
    taskManagerId: str, jobId: str, executionId: str, vertexId: str, subtaskIndex: num, checkpointId: num,
    handle: nullable(obj), failure: optional(str),
  },
};

const TASK_MANAGER_BOUND: { [T in TaskManagerBound['t']]: Record<string, Check> } = {
  deploy: { deployment: obj },
  cancel: { executionId: str },
  release: { executionId: str },
  disconnect: { reason: str },
  triggerCheckpoint: { executionId: str, checkpointId: num, timestamp: num, options: obj },
  notifyCheckpointComplete: { executionId: str, checkpointId: num },
};

function problem(msg: RpcEnvelope, table: Record<string, Record<string, Check>>): string | null {
  const fields = Object.hasOwn(table, msg.t) ? table[msg.t] : undefined;
  if (!fields) return `unknown message type "${String(msg.t).slice(0, 64)}"`;
  for (const [name, check] of Object.entries(fields)) if (!check(msg[name])) return `message ${msg.t}: bad or missing field ${name}`;
  return null;
}

function isJobManagerBound(msg: RpcEnvelope): msg is RpcEnvelope & JobManagerBound {
  return problem(msg, JOB_MANAGER_BOUND) === null;
}

function isTaskManagerBound(msg: RpcEnvelope): msg is RpcEnvelope & TaskManagerBound {
  return problem(msg, TASK_MANAGER_BOUND) === null;
}

/** The message as a JobManagerBound, or an Error saying what is wrong with it. */
export function asJobManagerBound(msg: RpcEnvelope): JobManagerBound | Error {
  return isJobManagerBound(msg) ? msg : new Error(problem(msg, JOB_MANAGER_BOUND) ?? 'bad message');
}

/** The message as a TaskManagerBound, or an Error saying what is wrong with it. */
export function asTaskManagerBound(msg: RpcEnvelope): TaskManagerBound | Error {
  return isTaskManagerBound(msg) ? msg : new Error(problem(msg, TASK_MANAGER_BOUND) ?? 'bad message');
}
