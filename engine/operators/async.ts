/**
 * AsyncWaitOperator: Flink's async I/O. Each record starts one request (the user's async
 * function); at most `capacity` are in flight per subtask. When the queue is full, processBatch
 * returns a promise that settles once the rest of the batch has been admitted, so the runtime
 * holds further input (and counts that time as busy). Results leave in input order ('ordered')
 * or as they complete ('unordered', never overtaking a watermark). Watermarks wait in the
 * queue behind earlier records. As in Flink, a snapshot stores the records still in the queue
 * (inputs of requests in flight, and results not yet emitted) as operator list state, captured
 * synchronously when snapshotState is called; a restore re-issues those requests. End of input
 * waits for every request.
 */
import type { AsyncFunction, AsyncOptions } from '../api/functions.ts';
import { decodeState, encodeState } from '../state/serde.ts';
import { StreamOperator, type OperatorSetup, type OperatorStateParts } from './operator.ts';

interface Entry {
  watermark: boolean;
  done: boolean;
  /** The input record until done, then the result. */
  value: unknown;
  timestamp: number;
}

export class AsyncWaitOperator extends StreamOperator {
  private readonly fn: AsyncFunction<unknown, unknown>;
  private readonly capacity: number;
  private readonly ordered: boolean;
  private readonly timeoutMs: number | undefined;
  private queue: Entry[] = [];
  private inFlight = 0;
  private failure: unknown = undefined;
  private closed = false;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(fn: AsyncFunction<unknown, unknown>, options: AsyncOptions) {
    super();
    this.fn = fn;
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 100));
    this.ordered = (options.outputMode ?? 'ordered') === 'ordered';
    this.timeoutMs = options.timeoutMs;
  }

  override open(setup: OperatorSetup): void {
    super.open(setup);
    const restored = setup.restored?.operatorState ?? [];
    for (const bytes of restored) {
      const [kind, value, ts] = decodeState<['i' | 'o', unknown, number | null]>(bytes);
      const timestamp = ts ?? Number.NaN;
      if (kind === 'o') this.queue.push({ watermark: false, done: true, value, timestamp });
      else this.start(value, timestamp);
    }
  }

  get numInFlight(): number {
    return this.inFlight;
  }

  /** Requests in flight ÷ capacity: how busy this I/O-bound operator is while its task waits for input. */
  occupancy(): number {
    return this.inFlight / this.capacity;
  }

  processBatch(records: unknown[], timestamps: number[]): void | Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const i = this.admit(records, timestamps, 0);
    if (i < records.length) return this.admitRest(records, timestamps, i);
  }

  private admit(records: unknown[], timestamps: number[], from: number): number {
    let i = from;
    const n = records.length;
    while (i < n && this.inFlight < this.capacity) {
      this.start(records[i], timestamps[i]!);
      i++;
    }
    return i;
  }

  private async admitRest(records: unknown[], timestamps: number[], from: number): Promise<void> {
    // Records must keep their timestamps after the caller's arrays are reused.
    const recs = records.slice(from);
    const tss = timestamps.slice(from, from + recs.length);
    let i = 0;
    while (i < recs.length) {
      await this.nextCompletion();
      i = this.admit(recs, tss, i);
    }
  }

  private start(record: unknown, timestamp: number): void {
    const entry: Entry = { watermark: false, done: false, value: record, timestamp };
    this.queue.push(entry);
    this.inFlight++;
    const task = this.setup.task;
    const signal = this.timeoutMs === undefined ? task.signal : AbortSignal.any([task.signal, AbortSignal.timeout(this.timeoutMs)]);
    this.fn(record, signal).then(
      (v) => this.complete(entry, v),
      (e: unknown) => this.fail(e),
    );
  }

  override close(): void {
    this.closed = true;
  }

  private complete(entry: Entry, value: unknown): void {
    if (this.closed) return;
    entry.done = true;
    entry.value = value;
    this.inFlight--;
    this.drain();
    void this.output.flush();
    this.wake();
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e));
    this.inFlight--;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(this.failure);
  }

  private wake(): void {
    const ws = this.waiters;
    if (ws.length === 0) return;
    this.waiters = [];
    for (const w of ws) w.resolve();
  }

  private nextCompletion(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Emits what may leave the queue now. */
  private drain(): void {
    const q = this.queue;
    const out = this.output;
    if (this.ordered) {
      let k = 0;
      while (k < q.length && q[k]!.done) {
        const e = q[k]!;
        if (e.watermark) void out.emitWatermark(e.timestamp);
        else out.collect(e.value, e.timestamp);
        k++;
      }
      if (k > 0) this.queue = q.slice(k);
      return;
    }
    // Unordered: completed records of the first segment leave at once; a watermark leaves when nothing precedes it.
    const rest: Entry[] = [];
    let segmentOpen = true;
    for (const e of q) {
      if (!segmentOpen) {
        rest.push(e);
      } else if (e.watermark) {
        if (rest.length === 0) void out.emitWatermark(e.timestamp);
        else {
          rest.push(e);
          segmentOpen = false;
        }
      } else if (e.done) {
        out.collect(e.value, e.timestamp);
      } else {
        rest.push(e);
      }
    }
    this.queue = rest;
  }

  override processWatermark(timestamp: number): void | Promise<void> {
    if (timestamp > this.currentWatermark) this.currentWatermark = timestamp;
    if (this.queue.length === 0) return this.output.emitWatermark(timestamp);
    this.queue.push({ watermark: true, done: true, value: undefined, timestamp });
  }

  /** Waits until every request in flight has completed and its result has been emitted. */
  private async waitAllDone(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) {
      if (this.failure !== undefined) throw this.failure;
      if (this.inFlight === 0) {
        this.drain();
        continue;
      }
      await this.nextCompletion();
    }
    if (this.failure !== undefined) throw this.failure;
    await this.output.flush();
  }

  override endInput(): Promise<void> {
    return this.waitAllDone();
  }

  /** Captures the queue at once: inputs of pending requests and results not yet emitted. */
  override snapshotState(): OperatorStateParts {
    if (this.failure !== undefined) throw this.failure;
    const operatorState: Uint8Array[] = [];
    for (const e of this.queue) {
      if (e.watermark) continue;
      const ts = Number.isNaN(e.timestamp) ? null : e.timestamp;
      operatorState.push(encodeState([e.done ? 'o' : 'i', e.value, ts]));
    }
    return { operatorState };
  }
}
