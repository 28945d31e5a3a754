/**
 * The operator model inside one subtask. An operator receives batches of records with a
 * parallel array of event timestamps (NaN when a record has none), emits through its
 * `Output`, forwards watermarks, and contributes its part of the subtask snapshot. The chain
 * (chain.ts) links operators with ChainingOutputs and ends in the runtime's RecordWriters.
 * Records, not closures, flow: an operator's per-record work is a loop over the batch.
 * Stateless one-in operators (map, filter, flatMap) are also `elementwise`: the operator before
 * them in a chain hands them each record directly (processElement), as Flink's chaining does,
 * so no batch array is built between them; a batch is built only in front of an operator that
 * needs one (keyed, window, async, sink) and at the network boundary. Runs of map and filter
 * are fused (fused.ts): the operator in front calls their functions inline through one
 * generated output per chain instance.
 */
import type { OperatorSnapshot, TaskContext } from '../contracts/task.ts';
import type { InlineStep } from './fused.ts';

/** Where an operator sends records and watermarks. */
export interface Output {
  collect(record: unknown, timestamp: number): void;
  /** Hands records collected so far to the next operator; call after emitting outside processBatch (timers, async completions). */
  flush(): void | Promise<void>;
  /** Flushes pending records, then forwards the watermark. */
  emitWatermark(timestamp: number): void | Promise<void>;
}

/** What an operator gets when the chain opens it. */
export interface OperatorSetup {
  task: TaskContext;
  operatorId: string;
  operatorUid: string;
  operatorName: string;
  output: Output;
  /** This operator's restored state (keyed state already cut to the subtask's key groups). */
  restored: OperatorSnapshot | null;
}

export interface OperatorStateParts {
  keyGroups?: Map<number, Uint8Array>;
  operatorState?: Uint8Array[];
  unionState?: Uint8Array[];
}

export abstract class StreamOperator {
  output!: Output;
  setup!: OperatorSetup;
  /** Watermark most recently received (Long.MIN_VALUE before any, represented as -Infinity). */
  currentWatermark = Number.NEGATIVE_INFINITY;

  open(setup: OperatorSetup): void | Promise<void> {
    this.setup = setup;
    this.output = setup.output;
  }

  abstract processBatch(records: unknown[], timestamps: number[]): void | Promise<void>;

  /** True when processElement handles one record synchronously, so a chain may call it directly instead of batching. */
  get elementwise(): boolean {
    return false;
  }

  /** Map and filter: their per-record function, which a chain may call inline (fused.ts); null for every other operator. */
  get inlineStep(): InlineStep | null {
    return null;
  }

  /** One record (only called when `elementwise`). */
  processElement(_record: unknown, _timestamp: number): void {
    throw new Error(`${this.constructor.name} is not elementwise`);
  }

  processWatermark(timestamp: number): void | Promise<void> {
    if (timestamp > this.currentWatermark) this.currentWatermark = timestamp;
    return this.output.emitWatermark(timestamp);
  }

  /** All input has ended: flush buffered work (windows fire on the final watermark before this). */
  endInput(): void | Promise<void> {}

  snapshotState(_checkpointId: number): OperatorStateParts | Promise<OperatorStateParts> {
    return {};
  }

  notifyCheckpointComplete(_checkpointId: number): void | Promise<void> {}

  close(): void | Promise<void> {}
}

let nanTimestamps: number[] = new Array<number>(1024).fill(Number.NaN);

/** A shared array of at least `n` NaN timestamps, for batches without event time. Never write to it. */
export function noTimestamps(n: number): number[] {
  if (nanTimestamps.length < n) nanTimestamps = new Array<number>(Math.max(n, nanTimestamps.length * 2)).fill(Number.NaN);
  return nanTimestamps;
}

/** Flink's Long.MIN_VALUE, as metrics report a watermark that has not been set yet. */
export const LONG_MIN_VALUE = -9223372036854775808;

/**
 * A watermark of -Infinity on a channel means "this channel is idle" (Flink's
 * WatermarkStatus.IDLE): the valve leaves it out of the minimum until it sends a real one.
 */
export const WATERMARK_IDLE = Number.NEGATIVE_INFINITY;
/** The watermark a finished input sends (Flink's MAX_WATERMARK): fires every event-time timer. */
export const WATERMARK_MAX = Number.POSITIVE_INFINITY;

export function isPromise(x: unknown): x is Promise<unknown> {
  return x !== undefined && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
