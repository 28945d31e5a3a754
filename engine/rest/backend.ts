/**
 * The contract between the REST layer (engine/rest/) and whatever owns the cluster state
 * (the JobManager, engine/jobmanager/). The backend speaks plain data: read-only views of
 * jobs, vertices, subtasks, TaskManagers and metric values, plus a few commands. It knows
 * nothing of HTTP, Flink's JSON field names or status codes; the REST layer turns these views
 * into Flink's wire format (docs/reference/engine-rest.md) and maps thrown FlowpilotError codes to
 * Flink's status codes (see REST_ERROR_STATUS below).
 *
 * Conventions: ids are strings (job, vertex, trigger: 32 lowercase hex; TaskManager: any
 * ResourceID-like string). Times are epoch milliseconds; -1 means "not reached / not ended".
 * Read methods return `undefined` for an unknown id. Optional methods may be left out; the
 * REST layer then answers as Flink does when the feature is off (e.g. checkpoints → 404
 * "Checkpointing has not been enabled.").
 */
import type { ShipStrategy } from '../contracts/job-graph.ts';
import type { ExceptionView, ExecutionState, JobStatus, MetricValues } from '../contracts/status.ts';
import type {
  CheckpointConfigView, CheckpointStatsView, SavepointOperation,
} from '../contracts/checkpoints.ts';
import type { ResourceRequirements, ResourceRequirementsOutcome } from '../contracts/resources.ts';

// The shared contracts (engine/contracts/), re-exported for the REST layer's modules.
export type { ShipStrategy };
export { EXECUTION_STATES, JOB_STATUSES } from '../contracts/status.ts';
export type { ExceptionView, ExecutionState, JobStatus, MetricValue, MetricValues } from '../contracts/status.ts';
export type {
  CheckpointConfigView, CheckpointStatsView, CheckpointStatus, CheckpointTaskView, CheckpointType, CheckpointView,
  SavepointOperation,
} from '../contracts/checkpoints.ts';
export type { ResourceRequirements, ResourceRequirementsOutcome } from '../contracts/resources.ts';

export interface SubtaskView {
  /** Subtask index, 0-based. */
  index: number;
  status: ExecutionState;
  /** Attempt number, 0 for the first attempt. */
  attempt: number;
  /** "host:dataPort" of the TaskManager the subtask runs on (Flink's `endpoint`); "(unassigned)" when none. */
  endpoint: string;
  taskManagerId: string | null;
  /** When each ExecutionState was entered (epoch ms); missing states were never reached. */
  statusTimestamps: Partial<Record<ExecutionState, number>>;
}

export interface VertexInputView {
  /** The upstream vertex id. */
  sourceVertexId: string;
  ship: ShipStrategy;
}

export interface VertexView {
  id: string;
  /** Chained name, e.g. "Source: orders -> Map". */
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** 32 hex; the REST layer derives a stable one from the job id when absent. */
  slotSharingGroupId?: string;
  /** The chain's operator names, head first; used for the plan's description. */
  operatorNames: string[];
  inputs: VertexInputView[];
  /** Exactly `parallelism` entries, by subtask index. */
  subtasks: SubtaskView[];
}

export interface JobView {
  jobId: string;
  name: string;
  status: JobStatus;
  jobType: 'STREAMING' | 'BATCH';
  /** When each JobStatus was entered; `INITIALIZING` is the job's start time. */
  statusTimestamps: Partial<Record<JobStatus, number>>;
  /** Epoch ms of the terminal state, -1 while not terminal. */
  endTime: number;
  /** Job-wide max parallelism, -1 when not set (per-vertex values are on the vertices). */
  maxParallelism: number;
  schedulerType: 'Default' | 'Adaptive' | 'AdaptiveBatch';
  /** Job default parallelism (`parallelism.default` or the run request's parallelism). */
  parallelism: number;
  /** Restart strategy description as Flink prints it, e.g. "Cluster level default restart strategy". */
  restartStrategy: string;
  /** Job configuration (user-visible key/values; shown as execution-config.user-config). */
  config: Record<string, string>;
  /** Vertices in topological order. */
  vertices: VertexView[];
  /** Newest first. */
  exceptions: ExceptionView[];
}

export interface ResourceProfileView {
  cpuCores: number;
  taskHeapMemoryMiB: number;
  taskOffHeapMemoryMiB: number;
  managedMemoryMiB: number;
  networkMemoryMiB: number;
}

export interface TaskManagerView {
  /** ResourceID, e.g. "127.0.0.1:40125-5a1c3e". */
  id: string;
  /** RPC address/path string, e.g. "flowpilot://127.0.0.1:40125/taskmanager". */
  path: string;
  dataPort: number;
  jmxPort?: number;
  /** Epoch ms of the last heartbeat (Flink's oddly named timeSinceLastHeartbeat). */
  lastHeartbeat: number;
  slotsNumber: number;
  freeSlots: number;
  /** Absent: derived from slots and memory. */
  totalResource?: ResourceProfileView;
  freeResource?: ResourceProfileView;
  hardware: { cpuCores: number; physicalMemory: number; freeMemory: number; managedMemory: number };
  /** Bytes. */
  memory: {
    frameworkHeap: number; taskHeap: number; frameworkOffHeap: number; taskOffHeap: number;
    networkMemory: number; managedMemory: number; jvmMetaspace: number; jvmOverhead: number;
    totalFlinkMemory: number; totalProcessMemory: number;
  };
  /** One entry per slot in use. */
  allocatedSlots: Array<{ jobId: string }>;
  blocked?: boolean;
}

export interface SubmitJobRequest {
  /** Absolute path of the stored job module. */
  modulePath: string;
  programArgs: string[];
  /** Job default parallelism; absent = cluster default. */
  parallelism?: number;
  savepointPath?: string;
  allowNonRestoredState: boolean;
  claimMode: 'CLAIM' | 'NO_CLAIM' | 'LEGACY';
  /** Requested job id (32 hex), if the client fixed one. */
  jobId?: string;
  /** Extra configuration for this job (Flink's flinkConfiguration). */
  configuration: Record<string, string>;
}

export interface SavepointRequest {
  targetDirectory?: string;
  formatType: 'CANONICAL' | 'NATIVE';
  /** Client-chosen trigger id for idempotent retries. */
  triggerId?: string;
}

export interface RestBackend {
  /** Key/values of the JobManager configuration (served by /jobmanager/config). */
  jobManagerConfig(): Record<string, string>;

  listJobs(): JobView[];
  getJob(jobId: string): JobView | undefined;
  listTaskManagers(): TaskManagerView[];

  /** JobManager-scope metrics (e.g. taskSlotsTotal, numRegisteredTaskManagers, Status.JVM.*). */
  jobManagerMetrics(): MetricValues;
  /** Job-scope metrics (e.g. uptime, numRestarts, lastCheckpointDuration). */
  jobMetrics(jobId: string): MetricValues | undefined;
  /**
   * Task- and operator-scope metrics of one vertex, one entry per subtask index, with plain ids
   * (`numRecordsIn`, `Source__orders.pendingRecords`). The REST layer prefixes `<index>.` for the
   * vertex-scope endpoint. Undefined for an unknown job or vertex.
   */
  subtaskMetrics(jobId: string, vertexId: string): MetricValues[] | undefined;
  /** TaskManager-scope metrics (Status.JVM.Memory.Heap.Used, ...). */
  taskManagerMetrics(taskManagerId: string): MetricValues | undefined;

  /** Undefined (or the method absent) when checkpointing is not enabled for the job. */
  checkpointStats?(jobId: string): CheckpointStatsView | undefined;
  checkpointConfig?(jobId: string): CheckpointConfigView | undefined;

  /** Adaptive scheduler only; absent → Flink's "only expected to work with the AdaptiveScheduler" error. */
  getResourceRequirements?(jobId: string): ResourceRequirements | undefined;
  /**
   * The requested bounds as sent (-1 allowed), shape-checked only: the backend validates them
   * against the job (validateResourceRequirements in engine/contracts/resources.ts, FP_REST_BAD_REQUEST
   * → 400) and runs the job at what the slots allow, up to the upper bounds.
   */
  setResourceRequirements?(jobId: string, requested: ResourceRequirements): Promise<ResourceRequirementsOutcome>;

  /** Builds and starts a job from a stored module. Throws FP_JOB_BUILD when the module throws. */
  submitJob(request: SubmitJobRequest): Promise<{ jobId: string }>;
  /** Throws FP_REST_NOT_FOUND / FP_REST_CONFLICT (already terminal in another state). */
  cancelJob(jobId: string): Promise<void>;
  triggerSavepoint?(jobId: string, request: SavepointRequest & { cancelJob: boolean }): Promise<{ triggerId: string }>;
  stopWithSavepoint?(jobId: string, request: SavepointRequest & { drain: boolean }): Promise<{ triggerId: string }>;
  /** Undefined for an unknown trigger id. Savepoint and stop triggers share one id space per job. */
  savepointStatus?(jobId: string, triggerId: string): SavepointOperation | undefined;
}

/**
 * FlowpilotError codes a backend may throw, and the HTTP status each becomes. Any other code
 * becomes 500, unless the error's `details.httpStatus` is a number (that wins).
 */
export const REST_ERROR_STATUS: Record<string, number> = {
  FP_REST_BAD_REQUEST: 400,
  FP_JOB_BUILD: 400,
  FP_REST_NOT_FOUND: 404,
  FP_REST_TIMEOUT: 408,
  FP_REST_CONFLICT: 409,
  FP_REST_PAYLOAD_TOO_LARGE: 413,
  FP_REST_UNAVAILABLE: 503,
};
