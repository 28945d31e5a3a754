/**
 * DataStream, KeyedStream and WindowedStream: the fluent API that declares transformations.
 * `keyBy`, `rebalance` and `broadcast` do not create operators; they set how records reach
 * the next operator (HASH, REBALANCE, BROADCAST edges), as Flink's partition transformations.
 */
import type { ShipStrategy } from '../contracts/job-graph.ts';
import { FilterOperator, FlatMapOperator, MapOperator } from '../operators/basic.ts';
import { SinkOperator } from '../operators/sink.ts';
import { AsyncWaitOperator } from '../operators/async.ts';
import { KeyedProcessOperator } from '../operators/keyed-process.ts';
import { TimestampsAndWatermarksOperator } from '../operators/timestamps.ts';
import type { WatermarkStrategy } from './watermarks.ts';
import type { StreamOperator } from '../operators/operator.ts';
import type { StreamExecutionEnvironment } from './environment.ts';
import type {
  AsyncFunction,
  AsyncOptions,
  FilterFunction,
  FlatMapFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ReduceFunction,
  Sink,
} from './functions.ts';
import type { Transformation } from './transformation.ts';
import type { WindowAssigner } from './windows.ts';
import { WindowedStream } from './windowed-stream.ts';

interface Partitioning {
  ship: ShipStrategy;
  key: KeySelector<unknown, unknown> | undefined;
}

const FORWARD: Partitioning = { ship: 'FORWARD', key: undefined };

/** The settable properties of the operator a method returned (Flink's SingleOutputStreamOperator). */
export class OperatorHandle {
  protected readonly env: StreamExecutionEnvironment;
  readonly transformation: Transformation;

  constructor(env: StreamExecutionEnvironment, t: Transformation) {
    this.env = env;
    this.transformation = t;
  }

  setParallelism(parallelism: number): this {
    this.transformation.parallelism = parallelism;
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.transformation.maxParallelism = maxParallelism;
    return this;
  }

  /** The stable id state is stored under; set it on every stateful operator. */
  uid(uid: string): this {
    this.transformation.uid = uid;
    return this;
  }

  name(name: string): this {
    this.transformation.name = name;
    return this;
  }

  startNewChain(): this {
    this.transformation.chaining = 'head';
    return this;
  }

  disableChaining(): this {
    this.transformation.chaining = 'never';
    return this;
  }
}

export class DataStream<T> extends OperatorHandle {
  private readonly partitioning: Partitioning;
  /** Streams merged into this one by `union`, besides `transformation`. */
  private readonly unioned: Transformation[];

  constructor(env: StreamExecutionEnvironment, t: Transformation, partitioning: Partitioning = FORWARD, unioned: Transformation[] = []) {
    super(env, t);
    this.partitioning = partitioning;
    this.unioned = unioned;
  }

  /** Internal: declares the next operator fed by this stream. */
  protected then<O>(kind: string, name: string, create: () => StreamOperator, timestamped?: boolean): DataStream<O> {
    const t = this.env.addTransformation({
      kind,
      name,
      input: this.transformation,
      unionInputs: this.unioned,
      ship: this.partitioning.ship,
      key: this.partitioning.key,
      timestamped: timestamped ?? [this.transformation, ...this.unioned].some((x) => x.timestamped),
      create,
    });
    return new DataStream<O>(this.env, t);
  }

  /**
   * Merges streams of the same type: the next operator reads all of them (one input edge each,
   * with this stream's partitioning). Records keep their order per input only.
   */
  union(...others: DataStream<T>[]): DataStream<T> {
    const extra = others.flatMap((o) => {
      if (o.partitioning.ship !== 'FORWARD') throw new Error('union: repartition (keyBy/rebalance/broadcast) after union, not before');
      return [o.transformation, ...o.unioned];
    });
    return new DataStream<T>(this.env, this.transformation, this.partitioning, [...this.unioned, ...extra]);
  }

  map<O>(fn: MapFunction<T, O>): DataStream<O> {
    return this.then('map', 'Map', () => new MapOperator(fn as MapFunction<unknown, unknown>));
  }

  filter(fn: FilterFunction<T>): DataStream<T> {
    return this.then('filter', 'Filter', () => new FilterOperator(fn as FilterFunction<unknown>));
  }

  flatMap<O>(fn: FlatMapFunction<T, O>): DataStream<O> {
    return this.then('flatMap', 'Flat Map', () => new FlatMapOperator(fn as FlatMapFunction<unknown, unknown>));
  }

  /** Async I/O: at most `capacity` requests in flight per subtask; ordered output by default. */
  asyncMap<O>(fn: AsyncFunction<T, O>, options: AsyncOptions = {}): DataStream<O> {
    return this.then('async', 'AsyncWaitOperator', () => new AsyncWaitOperator(fn as AsyncFunction<unknown, unknown>, options));
  }

  /** Re-stamps records with the strategy's assigner and generates watermarks here; upstream watermarks are dropped. */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): DataStream<T> {
    const s = strategy as WatermarkStrategy<unknown>;
    return this.then(
      'timestamps',
      'Timestamps/Watermarks',
      () => new TimestampsAndWatermarksOperator(s),
      s.timestampAssigner !== undefined || this.transformation.timestamped,
    );
  }

  keyBy<K>(key: KeySelector<T, K>): KeyedStream<T, K> {
    return new KeyedStream<T, K>(this.env, this.transformation, key, this.unioned);
  }

  rebalance(): DataStream<T> {
    return new DataStream<T>(this.env, this.transformation, { ship: 'REBALANCE', key: undefined }, this.unioned);
  }

  broadcast(): DataStream<T> {
    return new DataStream<T>(this.env, this.transformation, { ship: 'BROADCAST', key: undefined }, this.unioned);
  }

  sinkTo(sink: Sink<T>): DataStreamSink {
    const s = this.then<never>('sink', `Sink: ${sink.name}`, () => new SinkOperator(sink as Sink<unknown>));
    return new DataStreamSink(this.env, s.transformation);
  }
}

export class DataStreamSink extends OperatorHandle {}

export class KeyedStream<T, K> {
  private readonly env: StreamExecutionEnvironment;
  private readonly input: Transformation;
  private readonly unioned: Transformation[];
  readonly keySelector: KeySelector<T, K>;

  constructor(env: StreamExecutionEnvironment, input: Transformation, key: KeySelector<T, K>, unioned: Transformation[] = []) {
    this.env = env;
    this.input = input;
    this.keySelector = key;
    this.unioned = unioned;
  }

  /** Internal: declares a keyed operator fed through a HASH edge. */
  keyedOperator<O>(kind: string, name: string, create: () => StreamOperator, timestamped?: boolean): DataStream<O> {
    const t = this.env.addTransformation({
      kind,
      name,
      input: this.input,
      unionInputs: this.unioned,
      ship: 'HASH',
      key: this.keySelector as KeySelector<unknown, unknown>,
      timestamped: timestamped ?? [this.input, ...this.unioned].some((x) => x.timestamped),
      create,
    });
    return new DataStream<O>(this.env, t);
  }

  /**
   * `fn` is either the function object (each subtask gets its own instance via Object.create, so
   * fields set in `open` stay per subtask) or a factory `() => fn` called once per subtask (use
   * that for classes with #private fields).
   */
  process<O>(fn: KeyedProcessFunction<K, T, O> | (() => KeyedProcessFunction<K, T, O>)): DataStream<O> {
    const key = this.keySelector as KeySelector<unknown, unknown>;
    return this.keyedOperator<O>('keyedProcess', 'KeyedProcess', () => {
      const inst = (typeof fn === 'function' ? fn() : Object.create(fn)) as KeyedProcessFunction<unknown, unknown, unknown>;
      return new KeyedProcessOperator(inst, key);
    });
  }

  /** Running reduce per key (emits the updated value for every input), kept in keyed ValueState. */
  reduce(fn: ReduceFunction<T>): DataStream<T> {
    const key = this.keySelector as KeySelector<unknown, unknown>;
    return this.keyedOperator<T>('keyedReduce', 'Keyed Reduce', () => new KeyedProcessOperator(runningReduce(fn), key));
  }

  window(assigner: WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this, assigner);
  }
}

function runningReduce<T>(fn: ReduceFunction<T>): KeyedProcessFunction<unknown, unknown, unknown> {
  return {
    open(ctx) {
      (this as { acc?: unknown }).acc = ctx.getState<T>('reduce');
    },
    processElement(value, _ctx, out) {
      const state = (this as unknown as { acc: { value(): T | undefined; update(v: T): void } }).acc;
      const prev = state.value();
      const next = prev === undefined ? (value as T) : fn(prev, value as T);
      state.update(next);
      out.collect(next);
    },
  };
}
