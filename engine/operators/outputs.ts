/**
 * The two kinds of Output: ChainingOutput buffers one batch for the next operator in the chain
 * (records and their timestamps side by side), and WriterOutput hands records to the runtime's
 * RecordWriters at the end of the chain. When the stream carries event time across the
 * network, WriterOutput ships `[timestamp, record]` pairs and the receiving chain unwraps them.
 */
import type { RecordWriter } from '../contracts/task.ts';
import { isPromise, type Output, type StreamOperator } from './operator.ts';

export class ChainingOutput implements Output {
  private records: unknown[] = [];
  private timestamps: number[] = [];
  private readonly next: StreamOperator;

  constructor(next: StreamOperator) {
    this.next = next;
  }

  collect(record: unknown, timestamp: number): void {
    this.records.push(record);
    this.timestamps.push(timestamp);
  }

  flush(): void | Promise<void> {
    if (this.records.length === 0) return;
    const recs = this.records;
    const tss = this.timestamps;
    this.records = [];
    this.timestamps = [];
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
