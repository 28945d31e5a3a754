/**
 * WindowedStream: a keyed stream cut into event-time windows, finished with reduce, aggregate or
 * process. Output records carry the window's max timestamp (end - 1) as their event time.
 */
import { WindowOperator, type WindowFunctionSpec } from '../operators/window.ts';
import type { AggregateFunction, KeySelector, ProcessWindowFunction, ReduceFunction, WindowResultFunction } from './functions.ts';
import type { DataStream, KeyedStream } from './datastream.ts';
import type { WindowAssigner } from './windows.ts';

export class WindowedStream<T, K> {
  private readonly keyed: KeyedStream<T, K>;
  private readonly assigner: WindowAssigner;
  private lateness = 0;

  constructor(keyed: KeyedStream<T, K>, assigner: WindowAssigner) {
    this.keyed = keyed;
    this.assigner = assigner;
  }

  allowedLateness(ms: number): this {
    if (!(ms >= 0)) throw new RangeError('allowed lateness must be >= 0');
    this.lateness = ms;
    return this;
  }

  private build<O>(spec: () => WindowFunctionSpec): DataStream<O> {
    const assigner = this.assigner;
    const lateness = this.lateness;
    const key = this.keyed.keySelector as KeySelector<unknown, unknown>;
    return this.keyed.keyedOperator<O>('window', assigner.name, () => new WindowOperator(assigner, lateness, key, spec()), true);
  }

  reduce(fn: ReduceFunction<T>): DataStream<T>;
  reduce<O>(fn: ReduceFunction<T>, result: WindowResultFunction<K, T, O>): DataStream<O>;
  reduce<O>(fn: ReduceFunction<T>, result?: WindowResultFunction<K, T, O>): DataStream<O> {
    return this.build<O>(() => ({
      kind: 'reduce',
      reduce: fn as ReduceFunction<unknown>,
      result: result as WindowResultFunction<unknown, unknown, unknown> | undefined,
    }));
  }

  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>): DataStream<R>;
  aggregate<ACC, R, O>(agg: AggregateFunction<T, ACC, R>, result: WindowResultFunction<K, R, O>): DataStream<O>;
  aggregate<ACC, R, O>(agg: AggregateFunction<T, ACC, R>, result?: WindowResultFunction<K, R, O>): DataStream<O | R> {
    return this.build<O | R>(() => ({
      kind: 'aggregate',
      agg: agg as AggregateFunction<unknown, unknown, unknown>,
      result: result as WindowResultFunction<unknown, unknown, unknown> | undefined,
    }));
  }

  /** `fn` or a per-subtask factory `() => fn`, as KeyedStream.process. */
  process<O>(fn: ProcessWindowFunction<K, T, O> | (() => ProcessWindowFunction<K, T, O>)): DataStream<O> {
    return this.build<O>(() => ({
      kind: 'process',
      process: (typeof fn === 'function' ? fn() : Object.create(fn)) as ProcessWindowFunction<unknown, unknown, unknown>,
    }));
  }
}
