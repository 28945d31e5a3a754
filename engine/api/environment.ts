/**
 * StreamExecutionEnvironment: what a job module gets. It collects transformations, the default
 * parallelism and max parallelism, and job configuration in Flink's key/value form (for
 * example `execution.checkpointing.interval`), which becomes JobGraph.config.
 */
import type { Source } from './functions.ts';
import type { Transformation } from './transformation.ts';
import type { WatermarkStrategy } from './watermarks.ts';
import { DataStream } from './datastream.ts';
import { SourceOperator } from '../operators/source.ts';

export type JobModule = (env: StreamExecutionEnvironment, args: string[]) => void | Promise<void>;

export class StreamExecutionEnvironment {
  readonly transformations: Transformation[] = [];
  jobName = 'flowpilot job';
  /** Default parallelism set by the job itself (takes precedence over the submission's default, as in Flink). */
  parallelism: number | undefined;
  maxParallelism: number | undefined;
  chainingEnabled = true;
  private readonly config: Record<string, string> = {};

  setParallelism(parallelism: number): this {
    this.parallelism = parallelism;
    return this;
  }

  getParallelism(): number | undefined {
    return this.parallelism;
  }

  /** Number of key groups for keyed state; default computeDefaultMaxParallelism(parallelism), 128 up to parallelism 85. */
  setMaxParallelism(maxParallelism: number): this {
    this.maxParallelism = maxParallelism;
    return this;
  }

  setJobName(name: string): this {
    this.jobName = name;
    return this;
  }

  disableOperatorChaining(): this {
    this.chainingEnabled = false;
    return this;
  }

  /** Sets execution.checkpointing.interval (milliseconds). */
  enableCheckpointing(intervalMs: number): this {
    this.config['execution.checkpointing.interval'] = String(intervalMs);
    return this;
  }

  getConfig(): Record<string, string> {
    return { ...this.config };
  }

  setConfig(key: string, value: string | number | boolean): this {
    this.config[key] = String(value);
    return this;
  }

  fromSource<T>(source: Source<T>, watermarkStrategy?: WatermarkStrategy<T>, name?: string): DataStream<T> {
    const strategy = watermarkStrategy as WatermarkStrategy<unknown> | undefined;
    const t = this.addTransformation({
      kind: 'source',
      name: `Source: ${name ?? source.name}`,
      input: undefined,
      ship: 'FORWARD',
      key: undefined,
      timestamped: strategy?.timestampAssigner !== undefined,
      create: () => new SourceOperator(source as Source<unknown>, strategy),
    });
    return new DataStream<T>(this, t);
  }

  /** Internal: registers a transformation in declaration order. */
  addTransformation(
    t: Omit<Transformation, 'index' | 'uid' | 'parallelism' | 'maxParallelism' | 'chaining'> &
      Partial<Pick<Transformation, 'chaining'>>,
  ): Transformation {
    const full: Transformation = {
      uid: undefined,
      parallelism: undefined,
      maxParallelism: undefined,
      chaining: 'always',
      ...t,
      index: this.transformations.length,
    };
    this.transformations.push(full);
    return full;
  }
}
