/**
 * Internal value shapes of the evaluator. Every expression is evaluated over all steps
 * of the query at once (an instant query is a range query with one step), as Prometheus
 * does. Series keep their `__name__` with a `dropName` flag until the end of the query
 * (Prometheus's delayed name removal).
 */
import { FlowpilotError } from '../../common/errors.ts';
import type { Labels } from '../tsdb/labels.ts';

/** One series of an instant-vector expression evaluated over the query steps. */
export interface EvalSeries {
  metric: Labels;
  dropName: boolean;
  /** Step timestamps (ms) at which the series has a value, ascending. */
  ts: number[];
  vs: number[];
}

/** A series of raw samples inside a range (matrix selectors, subqueries). */
export interface RangeSeries {
  readonly metric: Labels;
  readonly ts: ArrayLike<number>;
  readonly vs: ArrayLike<number>;
}

export type EvalValue =
  | { readonly type: 'vector'; readonly series: EvalSeries[] }
  | { readonly type: 'scalar'; readonly vs: Float64Array }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'matrix'; readonly series: RangeSeries[] };

/** One element of an instant vector at one step. */
export interface StepSample {
  metric: Labels;
  dropName: boolean;
  v: number;
}

export interface StepContext {
  /** First and last step timestamps (ms) and the step (ms, > 0). */
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly steps: number;
}

export function stepsOf(start: number, end: number, interval: number): StepContext {
  return { start, end, interval, steps: Math.floor((end - start) / interval) + 1 };
}

export function execError(message: string): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_EXEC', message);
}

/** Annotations collected during one query; messages already carry their position. */
export interface Annotations {
  warnings: Set<string>;
  infos: Set<string>;
}
