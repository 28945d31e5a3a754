/**
 * The contract between the dataflow layer (operators, state, sources, sinks: engine/api,
 * engine/operators, engine/connectors, engine/state) and the distributed runtime (network,
 * task threads, JobManager/TaskManager: engine/network, engine/runtime, engine/jobmanager,
 * engine/taskmanager).
 *
 * The runtime owns time accounting (busy/idle/backpressured), channels and credit. The dataflow
 * layer owns what happens to records. Emitting is synchronous and buffered; the runtime bounds
 * buffering by not handing a task its next input batch (or letting a source emit more) until
 * its outputs have capacity again. That waiting is backpressure.
 */
import type { JobGraph, JobSubmission, ShipStrategy } from './job-graph.ts';

/** An inclusive range of key groups, as Flink's KeyGroupRange. */
export interface KeyGroupRange {
  start: number;
  end: number;
}

/** Where a subtask's records go: one writer per outgoing edge of the vertex. */
export interface RecordWriter {
  /** Partitions the record (hash by key group, forward, rebalance, broadcast) and buffers it. */
  emit(record: unknown): void;
  /** Broadcasts a watermark to every channel of this edge. */
  emitWatermark(timestamp: number): void;
  /** Number of downstream channels (subtasks of the target vertex). */
  readonly numChannels: number;
}

/** Hooks the runtime gives a task to report Flink's operator-level metrics. */
export interface TaskMetricHooks {
  /**
   * Registers a gauge under Flink's name, e.g. `pendingRecords`, `currentInputWatermark`.
   * `keyValues` are Flink's key-value metric groups, placed before the last segment of `name`:
   * `gauge('KafkaSourceReader.currentOffset', f, [['topic', 't'], ['partition', '0']])` is the REST
   * metric `KafkaSourceReader.topic.t.partition.0.currentOffset` and the Prometheus metric
   * `..._KafkaSourceReader_topic_partition_currentOffset{topic="t",partition="0"}`.
   */
  gauge(name: string, read: () => number, keyValues?: Array<[string, string]>): void;
  /** Adds to a counter under Flink's name, e.g. `numLateRecordsDropped`. */
  count(name: string, delta: number): void;
}

/** Processing-time timer service, owned by the runtime so it can pause/cancel tasks cleanly. */
export interface ProcessingTimeService {
  now(): number;
  /** Runs `fire` at or after `timestamp` on the task's own turn (never concurrently with processing). */
  schedule(timestamp: number, fire: (timestamp: number) => void): { cancel(): void };
}

export interface TaskContext {
  jobId: string;
  vertexId: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  attemptNumber: number;
  keyGroupRange: KeyGroupRange;
  outputs: RecordWriter[];
  metrics: TaskMetricHooks;
  time: ProcessingTimeService;
  /** State restored from a checkpoint or savepoint, already cut down to this subtask's key groups and operator-state share. */
  restored: SubtaskRestore | null;
  /** Job-level config (from JobGraph.config). */
  config: Record<string, string>;
  /** Aborted when the task is cancelled; long waits (async I/O, sources) must honour it. */
  signal: AbortSignal;
  /**
   * Optional (added by the dataflow layer): number of input channels per input index, i.e. the
   * upstream parallelism (1 for a FORWARD edge). The watermark valve needs it to hold the
   * watermark until every channel has reported. When absent the chain uses the graph's values.
   */
  inputChannels?: number[];
}

/** Control a source loop gets from the runtime. */
export interface SourceControl {
  /** Resolves when every output has capacity; the time spent here is backpressure. */
  waitForCapacity(): Promise<void>;
  /** True when outputs can take more records right now. */
  hasCapacity(): boolean;
  /**
   * Aborted when the task is cancelled. The runtime takes snapshots (and injects barriers) only
   * while a source is awaiting waitForCapacity() or idle(), so a source's offset and the records
   * it has emitted always agree.
   */
  readonly signal: AbortSignal;
  /** Sleeps until `ms` have passed or the task is cancelled; time spent here counts as idle. */
  idle(ms: number): Promise<void>;
}

/** Per-operator snapshot of one subtask: keyed state by key group, plus operator (non-keyed) state. */
export interface OperatorSnapshot {
  operatorId: string;
  /** Keyed state, serialized separately per key group so any parallelism can restore its own range. */
  keyGroups: Map<number, Uint8Array>;
  /** Operator state as a list of entries redistributed round-robin on rescale (Flink's SPLIT_DISTRIBUTE). */
  operatorState: Uint8Array[];
  /** Operator state every subtask receives in full on restore (Flink's UNION). */
  unionState: Uint8Array[];
}

export interface SubtaskSnapshot {
  checkpointId: number;
  operators: OperatorSnapshot[];
}

/**
 * What a checkpoint trigger tells every task (to sources with the trigger, to the others
 * in-band with the barrier): the kind of snapshot and the absolute directory on storage every
 * TaskManager reaches (`chk-<n>/` or a `savepoint-*` directory) where each subtask writes its own
 * state file. File names in the acknowledged handle are relative to it.
 */
export interface CheckpointOptions {
  kind: 'CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';
  dir: string;
  /** The final checkpoint: every subtask's input has ended; each finishes once it completes. */
  final?: boolean;
  /** State smaller than this many bytes is acknowledged inline instead of written to a file (absent: always files). */
  inlineThreshold?: number;
}

export interface SubtaskRestore {
  checkpointId: number;
  /** By operator id. Keyed state contains only the key groups in this subtask's range. */
  operators: Map<string, OperatorSnapshot>;
}

/** A running subtask: the chain of operators of one vertex at one subtask index. */
export interface TaskInvokable {
  /** Sources only: runs until the source ends or `ctl.signal` aborts. */
  runSource?(ctl: SourceControl): Promise<void>;
  /**
   * Non-sources: processes one batch from input `inputIndex`, channel `channel`.
   * May return a promise (async operators with a bounded number of requests in flight); the
   * runtime does not hand this task another batch until it settles, and counts that time as busy.
   */
  processBatch(inputIndex: number, channel: number, records: unknown[]): void | Promise<void>;
  /** A watermark from one input channel; the chain combines channels (minimum) itself. */
  processWatermark(inputIndex: number, channel: number, timestamp: number): void | Promise<void>;
  /** Called once every input channel has ended (bounded inputs). Flushes windows and async work. */
  endInput(): Promise<void>;
  /** Takes a consistent snapshot after the barrier; must not be interleaved with processing. */
  snapshotState(checkpointId: number): Promise<SubtaskSnapshot>;
  /** The checkpoint completed everywhere: sinks commit their pending output here (two-phase commit). */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  /** Releases resources; called on finish and on cancel. */
  close(): Promise<void>;
  /**
   * Optional: how full the task's asynchronous work is (0..1), e.g. requests in flight ÷ capacity.
   * The runtime counts that share of the time the task waits for input as busy.
   */
  readonly occupancy?: () => number;
}

/** A built job: the graph plus the factory for its subtasks. Produced by the dataflow layer. */
export interface JobProgram {
  graph: JobGraph;
  createTask(vertexId: string, ctx: TaskContext): TaskInvokable;
  /**
   * Optional (added by the dataflow layer): the outgoing edges of a vertex in the order of
   * `TaskContext.outputs`. The order is fixed: walk `graph.vertices` in order and each vertex's
   * `inputs` in order; every edge whose sourceVertexId is this vertex is the next output.
   */
  outputEdges?(vertexId: string): OutputEdge[];
  /**
   * Optional (added by the dataflow layer): for a HASH edge, the channel selector the runtime's
   * RecordWriter uses: key selector, then Flink's key group of the key at the target vertex's
   * maxParallelism, then the subtask that owns that key group among `numChannels`. Undefined
   * for FORWARD / REBALANCE / BROADCAST edges, which the runtime partitions itself.
   * `maxParallelism` overrides the target vertex's value (e.g. adopted from restored state).
   */
  partitionerFor?(vertexId: string, outputIndex: number): ChannelSelector | undefined;
}

/** Picks the channel (downstream subtask index) of a record. */
export type ChannelSelector = (record: unknown, numChannels: number, maxParallelism?: number) => number;

/** One outgoing edge of a vertex, in output order. */
export interface OutputEdge {
  targetVertexId: string;
  /** The target's input index this edge feeds. */
  inputIndex: number;
  ship: ShipStrategy;
}

/** The dataflow layer's entry point: imports a job module and builds its program. */
export type BuildJobProgram = (submission: JobSubmission) => Promise<JobProgram>;
