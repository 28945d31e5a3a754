/**
 * Stateless one-in operators: map, filter, flatMap. Each is a plain loop over the batch, and
 * elementwise (a chain hands records to them one by one without building a batch); the
 * output timestamp is the input record's timestamp, as in Flink.
 */
import type { Collector, FilterFunction, FlatMapFunction, MapFunction } from '../api/functions.ts';
import { StreamOperator, type Output } from './operator.ts';
import type { InlineStep } from './fused.ts';

export class MapOperator extends StreamOperator {
  private readonly fn: MapFunction<unknown, unknown>;
  constructor(fn: MapFunction<unknown, unknown>) {
    super();
    this.fn = fn;
  }
  processBatch(records: unknown[], timestamps: number[]): void {
    const fn = this.fn;
    const out = this.output;
    for (let i = 0; i < records.length; i++) out.collect(fn(records[i]), timestamps[i]!);
  }
  override get elementwise(): boolean {
    return true;
  }
  override processElement(record: unknown, timestamp: number): void {
    this.output.collect(this.fn(record), timestamp);
  }
  override get inlineStep(): InlineStep {
    return { kind: 'map', fn: this.fn };
  }
}

export class FilterOperator extends StreamOperator {
  private readonly fn: FilterFunction<unknown>;
  constructor(fn: FilterFunction<unknown>) {
    super();
    this.fn = fn;
  }
  processBatch(records: unknown[], timestamps: number[]): void {
    const fn = this.fn;
    const out = this.output;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (fn(r)) out.collect(r, timestamps[i]!);
    }
  }
  override get elementwise(): boolean {
    return true;
  }
  override processElement(record: unknown, timestamp: number): void {
    if (this.fn(record)) this.output.collect(record, timestamp);
  }
  override get inlineStep(): InlineStep {
    return { kind: 'filter', fn: this.fn as (value: unknown) => unknown };
  }
}

/** A Collector that stamps every value with the timestamp of the record being processed. */
export class TimestampedCollector implements Collector<unknown> {
  output: Output | undefined;
  timestamp = Number.NaN;
  collect(value: unknown): void {
    this.output!.collect(value, this.timestamp);
  }
}

export class FlatMapOperator extends StreamOperator {
  private readonly fn: FlatMapFunction<unknown, unknown>;
  private readonly collector = new TimestampedCollector();
  constructor(fn: FlatMapFunction<unknown, unknown>) {
    super();
    this.fn = fn;
  }
  processBatch(records: unknown[], timestamps: number[]): void {
    const fn = this.fn;
    const c = this.collector;
    c.output = this.output;
    for (let i = 0; i < records.length; i++) {
      c.timestamp = timestamps[i]!;
      fn(records[i], c);
    }
  }
  override get elementwise(): boolean {
    return true;
  }
  override processElement(record: unknown, timestamp: number): void {
    const c = this.collector;
    c.output = this.output;
    c.timestamp = timestamp;
    this.fn(record, c);
  }
}
