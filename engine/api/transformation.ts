/**
 * A Transformation is one operator the job declared, before chaining: what it is, its input,
 * how records reach it (the ship strategy and, for HASH, the key selector), and how to create
 * its operator instance per subtask. The environment keeps them in declaration order, which
 * is also a topological order.
 */
import type { ShipStrategy } from '../contracts/job-graph.ts';
import type { StreamOperator } from '../operators/operator.ts';
import type { KeySelector } from './functions.ts';

export type ChainingStrategy = 'always' | 'head' | 'never';

export interface Transformation {
  readonly index: number;
  /** source, map, filter, flatMap, keyedProcess, window, async, sink, ... */
  readonly kind: string;
  name: string;
  uid: string | undefined;
  parallelism: number | undefined;
  maxParallelism: number | undefined;
  readonly input: Transformation | undefined;
  /** More inputs after `union`: same ship strategy and key; each becomes its own input edge. */
  readonly unionInputs?: Transformation[];
  /** How records travel from `input`; FORWARD unless the stream was keyed or repartitioned. */
  readonly ship: ShipStrategy;
  /** For HASH: the key of a record. */
  readonly key: KeySelector<unknown, unknown> | undefined;
  /** Whether this operator's output records carry event timestamps. */
  readonly timestamped: boolean;
  chaining: ChainingStrategy;
  create(): StreamOperator;
}
