/**
 * The query errors and their Prometheus API `errorType`. Every error a query can end in is
 * a FlowpilotError with one of the codes below; `toQueryError` turns anything else (a bug,
 * a stack overflow on a pathological expression) into a typed error of the phase it
 * happened in, so the API never answers "internal" for a query. Messages follow
 * Prometheus's wording (promql/engine.go, web/api/v1/api.go) where it has one.
 */
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export type PromErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'unavailable';

/** Most points per series of a range query or a subquery window, as Prometheus's API. */
export const MAX_POINTS_PER_SERIES = 11_000;

export const ERROR_TYPE_OF_CODE: Readonly<Record<string, PromErrorType>> = {
  FP_PROMQL_PARSE: 'bad_data',
  FP_PROMQL_REGEX: 'bad_data',
  FP_PROMQL_RESOLUTION: 'bad_data',
  FP_PROMQL_EXEC: 'execution',
  FP_PROMQL_TOO_MANY_SAMPLES: 'execution',
  FP_PROMQL_TIMEOUT: 'timeout',
  FP_PROMQL_CANCELED: 'canceled',
  FP_PROMQL_UNAVAILABLE: 'unavailable',
};

/** The errorType of a query error, or null when it is not one of ours. */
export function promErrorType(err: unknown): PromErrorType | null {
  return err instanceof FlowpilotError ? (ERROR_TYPE_OF_CODE[err.code] ?? null) : null;
}

export function timeoutError(where: 'expression evaluation' | 'query queue' = 'expression evaluation'): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_TIMEOUT', `query timed out in ${where}`);
}

export function canceledError(where: 'expression evaluation' | 'query queue' = 'expression evaluation'): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_CANCELED', `query was canceled in ${where}`);
}

export function tooManySamplesError(): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_TOO_MANY_SAMPLES', 'query processing would load too many samples into memory in query execution');
}

export function resolutionError(): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_RESOLUTION', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
}

export function unavailableError(message: string): FlowpilotError {
  return new FlowpilotError('FP_PROMQL_UNAVAILABLE', message);
}

/**
 * A typed query error for anything thrown while parsing (bad_data) or evaluating
 * (execution); typed errors pass through unchanged.
 */
export function toQueryError(err: unknown, phase: 'parse' | 'eval'): FlowpilotError {
  if (promErrorType(err) !== null) return err as FlowpilotError;
  const msg = err instanceof RangeError && /call stack/i.test(err.message) ? 'expression nests too deeply' : errorMessage(err);
  return new FlowpilotError(phase === 'parse' ? 'FP_PROMQL_PARSE' : 'FP_PROMQL_EXEC', phase === 'parse' ? `parse error: ${msg}` : msg, { cause: err });
}
