/**
 * The job graph: what a job module builds and what the JobManager schedules. It is plain
 * data (no functions), so the JobManager can serve it over REST and ship it to TaskManagers.
 * User functions never travel: every TaskManager re-imports the same job module with the
 * same arguments and gets the same graph, then instantiates its subtasks' operator chains
 * by vertex id (see task.ts, `JobProgram.createTask`).
 */

/** Flink's names for how records move along an edge, as shown in the REST plan's `ship_strategy`. */
export type ShipStrategy = 'FORWARD' | 'HASH' | 'REBALANCE' | 'BROADCAST';

export interface JobEdgeSpec {
  /** The upstream vertex. */
  sourceVertexId: string;
  ship: ShipStrategy;
  /** Index of this edge among the target vertex's inputs (0 for one-input vertices). */
  inputIndex: number;
}

export interface OperatorSpec {
  /** Stable id of the operator (32 lowercase hex), derived from its uid; state is keyed by it. */
  id: string;
  /** The user-visible uid (explicit `.uid()` or generated deterministically from position). */
  uid: string;
  /** e.g. "Map", "Source: orders", "TumblingEventTimeWindows(10000)", "Sink: file". */
  name: string;
  /** The operator kind: source, map, filter, flatMap, keyedProcess, window, async, sink, ... */
  kind: string;
}

export interface JobVertexSpec {
  /** 32 lowercase hex, deterministic from the chain's operator uids, so it is stable across submissions. */
  id: string;
  /** Flink-style chained name, e.g. "Source: orders -> Map -> Filter". */
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** True when maxParallelism was set by the user (cannot be changed by a restore). */
  maxParallelismConfigured: boolean;
  /** The chain: head first. */
  operators: OperatorSpec[];
  inputs: JobEdgeSpec[];
  isSource: boolean;
  isSink: boolean;
}

export interface JobGraph {
  /** Set by the JobManager at submission (32 lowercase hex). */
  jobId?: string;
  jobName: string;
  /** Vertices in topological order: every edge goes from an earlier vertex to a later one. */
  vertices: JobVertexSpec[];
  /** Job-level configuration in Flink's key/value form, e.g. execution.checkpointing.interval. */
  config: Record<string, string>;
}

/** How a job module is submitted and rebuilt: the module file plus its arguments. */
export interface JobSubmission {
  /** Absolute path of the job module (.ts or .js) on the local disk of the process that builds it. */
  modulePath: string;
  programArgs: string[];
  /** Default parallelism for operators that do not set their own. */
  parallelism?: number;
  /** Per-vertex parallelism overrides by vertex id (as `pipeline.jobvertex-parallelism-overrides`). */
  parallelismOverrides?: Record<string, number>;
}
