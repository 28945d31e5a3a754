/**
 * What the JobManager tells a TaskManager to run: plain data, sent over RPC. One
 * `JobDeployment` per TaskManager per execution attempt carries the job module (bytes and
 * hash), and a `TaskDeployment` per subtask says where each input comes from and where each
 * output goes (the consumer subtasks' TaskManagers and data addresses).
 */
import type { JobSubmission, ShipStrategy } from '../contracts/job-graph.ts';
import type { SubtaskRestorePlan } from '../checkpoint/restore.ts';

export interface TaskLocation {
  taskManagerId: string;
  /** host:port of that TaskManager's data server. */
  dataAddress: string;
}

export interface InputEdgeDeployment {
  inputIndex: number;
  sourceVertexId: string;
  ship: ShipStrategy;
  producerParallelism: number;
}

export interface OutputEdgeDeployment {
  targetVertexId: string;
  inputIndex: number;
  ship: ShipStrategy;
  consumerParallelism: number;
  consumerMaxParallelism: number;
  /** By consumer subtask index. */
  consumers: TaskLocation[];
}

export interface TaskDeployment {
  vertexId: string;
  taskName: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  attemptNumber: number;
  /** Flink's task_attempt_id: `<executionId>_<vertexId>_<subtaskIndex>_<attemptNumber>`. */
  attemptId: string;
  isSource: boolean;
  headOperator: { id: string; name: string };
  inputs: InputEdgeDeployment[];
  outputs: OutputEdgeDeployment[];
  /** State to start from (already cut to this subtask), or null for a fresh start. */
  /** The chunks of the latest completed checkpoint this subtask restores (engine/checkpoint/restore.ts), read from shared storage. */
  restore?: SubtaskRestorePlan | null;
}

export interface JobDeployment {
  jobId: string;
  jobName: string;
  /** 32 hex, new for every execution attempt (restart); channel keys are scoped by it. */
  executionId: string;
  module: { sha256: string; fileName: string; bytes: Uint8Array };
  submission: JobSubmission;
  config: Record<string, string>;
  tasks: TaskDeployment[];
}

export function attemptId(executionId: string, vertexId: string, subtaskIndex: number, attemptNumber: number): string {
  return `${executionId}_${vertexId}_${subtaskIndex}_${attemptNumber}`;
}
