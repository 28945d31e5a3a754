/**
 * The user-facing function and connector interfaces of the DataStream API: what a job author
 * implements for map/filter/flatMap, keyed process functions (state and timers), window
 * functions, async I/O, sources and sinks. Plain interfaces: objects or class instances both
 * work. The engine gives each subtask its own instance by prototype (Object.create), so a
 * function may keep per-subtask fields it sets in `open`.
 */
import type { ProcessingTimeService, SourceControl, TaskMetricHooks } from '../contracts/task.ts';
import type { MapState, ValueState, ListState, StateOptions } from '../state/state-types.ts';

export type MapFunction<I, O> = (value: I) => O;
export type FilterFunction<I> = (value: I) => boolean;
export type KeySelector<I, K> = (value: I) => K;
export type ReduceFunction<T> = (a: T, b: T) => T;

export interface Collector<O> {
  collect(value: O): void;
}

export type FlatMapFunction<I, O> = (value: I, out: Collector<O>) => void;

/** Per-subtask facts and keyed state, as Flink's RuntimeContext. */
export interface RuntimeContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly metrics: TaskMetricHooks;
  getState<T>(name: string, options?: StateOptions): ValueState<T>;
  getMapState<UK, UV>(name: string, options?: StateOptions): MapState<UK, UV>;
  getListState<T>(name: string, options?: StateOptions): ListState<T>;
}

export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

export interface KeyedContext<K> {
  /** The event timestamp of the current record (or the firing timer), NaN when it has none. */
  timestamp(): number;
  getCurrentKey(): K;
  timerService(): TimerService;
}

export interface OnTimerContext<K> extends KeyedContext<K> {
  timeDomain(): 'EVENT_TIME' | 'PROCESSING_TIME';
}

export interface KeyedProcessFunction<K, I, O> {
  open?(ctx: RuntimeContext): void | Promise<void>;
  processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
  close?(): void | Promise<void>;
}

export interface AggregateFunction<I, ACC, O> {
  createAccumulator(): ACC;
  add(value: I, acc: ACC): ACC;
  getResult(acc: ACC): O;
}

export interface TimeWindow {
  start: number;
  end: number;
}

/** Turns a window's aggregate (or its elements, for `process`) into output, with the key and window. */
export type WindowResultFunction<K, R, O> = (key: K, window: TimeWindow, result: R) => O;

export interface ProcessWindowFunction<K, I, O> {
  process(key: K, window: TimeWindow, elements: I[], out: Collector<O>): void;
}

export type AsyncFunction<I, O> = (value: I, signal: AbortSignal) => Promise<O>;

export interface AsyncOptions {
  /** Requests in flight per subtask (Flink's capacity). Default 100. */
  capacity?: number;
  /** 'ordered' keeps input order (default); 'unordered' emits as results arrive, never across a watermark. */
  outputMode?: 'ordered' | 'unordered';
  /** Per-request timeout in ms; a timed-out request fails the task. Default none. */
  timeoutMs?: number;
}

/** Operator (non-keyed) state a source or sink hands to, and gets back from, a checkpoint. */
export interface OperatorStateSnapshot {
  /** Entries redistributed round-robin on rescale. */
  operatorState?: Uint8Array[];
  /** Entries every subtask gets in full on restore. */
  unionState?: Uint8Array[];
}

export interface ConnectorContext {
  subtaskIndex: number;
  parallelism: number;
  attemptNumber: number;
  config: Record<string, string>;
  metrics: TaskMetricHooks;
  now(): number;
  /** The task's processing-time service: callbacks run on the task's own turn. */
  time?: ProcessingTimeService;
  signal: AbortSignal;
  /** Restored operator state, or null on a fresh start. */
  restored: { operatorState: Uint8Array[]; unionState: Uint8Array[] } | null;
}

/** Where a source reader puts records: `collect` per record, `flush` after a batch. */
export interface SourceOutput<T> {
  collect(record: T): void;
  /** Pushes the batch through the chain and emits the watermark if it advanced. */
  flush(): void | Promise<void>;
  /** Marks this source subtask idle for watermarking (downstream ignores it until the next record). */
  markIdle(): void;
}

export interface SourceReader<T> {
  /** Emits until the input ends or `ctl.signal` aborts. Must await ctl.waitForCapacity() or ctl.idle() between batches. */
  run(out: SourceOutput<T>, ctl: SourceControl): Promise<void>;
  snapshotState(checkpointId: number): OperatorStateSnapshot;
  close?(): void | Promise<void>;
}

export interface Source<T> {
  /** Used in the vertex name: "Source: <name>". */
  readonly name: string;
  createReader(ctx: ConnectorContext): SourceReader<T>;
}

export interface SinkWriter<T> {
  write(records: T[]): void | Promise<void>;
  snapshotState?(checkpointId: number): OperatorStateSnapshot | Promise<OperatorStateSnapshot>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  endInput?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Sink<T> {
  /** Used in the vertex name: "Sink: <name>". */
  readonly name: string;
  createWriter(ctx: ConnectorContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}
