/**
 * Test helpers for operator chains (used by the operators' unit tests only): an operator that
 * ends a test chain and keeps what reaches it, and an output that drops everything.
 */
import { StreamOperator, type Output } from './operator.ts';

/** The last operator of a test chain: keeps every batch (records and timestamps) and every watermark. */
export class Collecting extends StreamOperator {
  readonly batches: Array<{ records: unknown[]; timestamps: number[] }> = [];
  readonly watermarks: number[] = [];
  processBatch(records: unknown[], timestamps: number[]): void {
    this.batches.push({ records, timestamps: timestamps.slice(0, records.length) });
  }
  override processWatermark(timestamp: number): void {
    this.watermarks.push(timestamp);
  }
}

/** An output that drops records, flushes and watermarks. */
export const noop: Output = { collect() {}, flush() {}, emitWatermark() {} };
