/**
 * The engine's shared vocabulary of states and metric values: Flink's JobStatus and
 * ExecutionState (in Flink's enum order and spelling), a job's exception history entries, and
 * metric values as the REST layer and the RPC heartbeats carry them. Used by the JobManager, the
 * TaskManagers, the RPC messages and the REST layer alike; it depends on nothing.
 */

/** Flink's JobStatus, in enum order. Note CANCELLING (two L) for jobs. */
export const JOB_STATUSES = [
  'INITIALIZING', 'CREATED', 'RUNNING', 'FAILING', 'FAILED', 'CANCELLING',
  'CANCELED', 'FINISHED', 'RESTARTING', 'SUSPENDED', 'RECONCILING',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Flink's ExecutionState, in enum order. Note CANCELING (one L) for tasks. */
export const EXECUTION_STATES = [
  'CREATED', 'SCHEDULED', 'DEPLOYING', 'RUNNING', 'FINISHED', 'CANCELING',
  'CANCELED', 'FAILED', 'RECONCILING', 'INITIALIZING',
] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

/**
 * One metric value. Strings pass through unchanged (use them to control the exact text, e.g.
 * "NaN" or "-9223372036854775808"); numbers are written as JavaScript prints them; booleans as
 * "true"/"false".
 */
export type MetricValue = number | string | boolean;
/** Metric values of one component, keyed by Flink's REST metric id (e.g. `busyTimeMsPerSecond`, `Source__orders.pendingRecords`). */
export type MetricValues = Record<string, MetricValue>;

/** One entry of a job's exception history. */
export interface ExceptionView {
  /** e.g. "Error" or "org.example.SomeException". */
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  /** Absent for global failures. */
  taskName?: string;
  endpoint?: string;
  taskManagerId?: string;
  failureLabels?: Record<string, string>;
  concurrentExceptions?: ExceptionView[];
}
