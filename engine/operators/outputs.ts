/**
 * The kinds of Output: DirectOutput hands each record straight to the next operator in the
 * chain when that operator is elementwise (map, filter, flatMap); ChainingOutput buffers one
 * batch for any other next operator (records, and their timestamps side by side only once a
 * record carries one); WriterOutput hands records to the runtime's RecordWriters at the end of
 * the chain. When the stream carries event time across the network, WriterOutput ships
 * `[timestamp, record]` pairs and the receiving chain unwraps them.
 */
import type { RecordWriter } from '../contracts/task.ts';
import { isPromise, noTimestamps, type Output, type StreamOperator } from './operator.ts';

/** The output linking an operator to `next` in a chain: direct when `next` is elementwise, else batching. */
export function chainingOutput(next: StreamOperator): Output {
  return next.elementwise ? new DirectOutput(next) : new ChainingOutput(next);
}

/**
 * Calls the elementwise next operator once per record: no array is built, and a record that a
 * map turns into another object dies young. flush() only passes the flush on down the chain.
 */
export class DirectOutput implements Output {
  private readonly next: StreamOperator;

  constructor(next: StreamOperator) {
    this.next = next;
  }

  collect(record: unknown, timestamp: number): void {
    this.next.processElement(record, timestamp);
  }

  flush(): void | Promise<void> {
    return this.next.output.flush();
  }

  emitWatermark(timestamp: number): void | Promise<void> {
    const next = this.next;
    const r = next.processWatermark(timestamp);
    if (isPromise(r)) return r.then(() => next.output.flush());
    return next.output.flush();
  }
}

export class ChainingOutput implements Output {
  /**
   * The batch being filled: allocated at the size of the previous batch and filled by index (no
   * growth copies per batch as with push), cut to its length at the flush.
   */
  private records: unknown[] = [];
  private filled = 0;
  /** Null while every record of the batch has no timestamp (NaN): the batch then goes with the shared NaN array. */
  private timestamps: number[] | null = null;
  private readonly next: StreamOperator;

  constructor(next: StreamOperator) {
    this.next = next;
  }

  collect(record: unknown, timestamp: number): void {
    const tss = this.timestamps;
    if (tss !== null) tss.push(timestamp);
    else if (timestamp === timestamp) this.startTimestamps(timestamp);
    this.records[this.filled++] = record;
  }

  /** The first record of the batch with a timestamp: the ones before it had none. Kept out of collect so collect stays small enough to inline. */
  private startTimestamps(timestamp: number): void {
    const t = new Array<number>(this.filled).fill(Number.NaN);
    t.push(timestamp);
    this.timestamps = t;
  }

  flush(): void | Promise<void> {
    const n = this.filled;
    if (n === 0) return;
    const recs = this.records;
    recs.length = n;
    const tss = this.timestamps ?? noTimestamps(n);
    // A fresh array per batch: the next operator (a sink writer, a window) may keep it.
    this.records = new Array<unknown>(Math.min(n, 4096));
    this.filled = 0;
    this.timestamps = null;
    const next = this.next;
    const r = next.processBatch(recs, tss);
    if (isPromise(r)) return r.then(() => next.output.flush());
    return next.output.flush();
  }

  emitWatermark(timestamp: number): void | Promise<void> {
    const f = this.flush();
    if (isPromise(f)) return f.then(() => this.forwardWatermark(timestamp));
    return this.forwardWatermark(timestamp);
  }

  private forwardWatermark(timestamp: number): void | Promise<void> {
    const next = this.next;
    const r = next.processWatermark(timestamp);
    if (isPromise(r)) return r.then(() => next.output.flush());
    return next.output.flush();
  }
}

export class WriterOutput implements Output {
  private readonly writers: RecordWriter[];
  private readonly single: RecordWriter | undefined;
  private readonly wrapTimestamps: boolean;

  constructor(writers: RecordWriter[], wrapTimestamps: boolean) {
    this.writers = writers;
    this.single = writers.length === 1 ? writers[0] : undefined;
    this.wrapTimestamps = wrapTimestamps;
  }

  collect(record: unknown, timestamp: number): void {
    const value = this.wrapTimestamps ? [timestamp, record] : record;
    if (this.single !== undefined) {
      this.single.emit(value);
      return;
    }
    const ws = this.writers;
    for (let i = 0; i < ws.length; i++) ws[i]!.emit(value);
  }

  flush(): void {}

  emitWatermark(timestamp: number): void {
    const ws = this.writers;
    for (let i = 0; i < ws.length; i++) ws[i]!.emitWatermark(timestamp);
  }
}
