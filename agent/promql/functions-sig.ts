/**
 * Function signatures (argument and return types), used by the parser for type checks.
 * `variadic`: 0 = exact arity, n > 0 = up to n optional trailing arguments of the last
 * type, -1 = any number of trailing arguments. Experimental functions are listed so
 * that they can be recognized and refused (they are outside what flowpilot supports).
 */
import type { ValueType } from './ast.ts';

export interface FunctionSignature {
  readonly argTypes: readonly ValueType[];
  readonly variadic: number;
  readonly returnType: ValueType;
  readonly experimental?: boolean;
}

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

function sig(argTypes: ValueType[], returnType: ValueType, variadic = 0, experimental = false): FunctionSignature {
  return experimental ? { argTypes, returnType, variadic, experimental } : { argTypes, returnType, variadic };
}

const vecToVec = ['abs', 'absent', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'ceil', 'cos', 'cosh', 'deg', 'exp', 'floor',
  'histogram_avg', 'histogram_count', 'histogram_sum', 'histogram_stddev', 'histogram_stdvar', 'ln', 'log10', 'log2', 'rad', 'sgn',
  'sin', 'sinh', 'sort', 'sort_desc', 'sqrt', 'tan', 'tanh', 'timestamp'];
const matToVec = ['absent_over_time', 'avg_over_time', 'changes', 'count_over_time', 'delta', 'deriv', 'idelta', 'increase', 'irate',
  'last_over_time', 'max_over_time', 'min_over_time', 'present_over_time', 'rate', 'resets', 'stddev_over_time', 'stdvar_over_time',
  'sum_over_time'];
const timeFns = ['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year'];
const experimentalMatToVec = ['first_over_time', 'mad_over_time', 'ts_of_first_over_time', 'ts_of_max_over_time', 'ts_of_min_over_time', 'ts_of_last_over_time'];

export const FUNCTION_SIGNATURES: ReadonlyMap<string, FunctionSignature> = new Map<string, FunctionSignature>([
  ...vecToVec.map((n) => [n, sig([V], V)] as const),
  ...matToVec.map((n) => [n, sig([M], V)] as const),
  ...timeFns.map((n) => [n, sig([V], V, 1)] as const),
  ...experimentalMatToVec.map((n) => [n, sig([M], V, 0, true)] as const),
  ['clamp', sig([V, S, S], V)],
  ['clamp_max', sig([V, S], V)],
  ['clamp_min', sig([V, S], V)],
  ['histogram_fraction', sig([S, S, V], V)],
  ['histogram_quantile', sig([S, V], V)],
  ['label_replace', sig([V, STR, STR, STR, STR], V)],
  ['label_join', sig([V, STR, STR, STR], V, -1)],
  ['pi', sig([], S)],
  ['predict_linear', sig([M, S], V)],
  ['quantile_over_time', sig([S, M], V)],
  ['round', sig([V, S], V, 1)],
  ['scalar', sig([V], S)],
  ['time', sig([], S)],
  ['vector', sig([S], V)],
  ['end', sig([], S, 0, true)],
  ['start', sig([], S, 0, true)],
  ['range', sig([], S, 0, true)],
  ['step', sig([], S, 0, true)],
  ['histogram_quantiles', sig([V, STR, S, S], V, 9, true)],
  ['double_exponential_smoothing', sig([M, S, S], V, 0, true)],
  ['info', sig([V, V], V, 1, true)],
  ['integral', sig([M, S], V, 1, true)],
  ['sort_by_label', sig([V, STR], V, -1, true)],
  ['sort_by_label_desc', sig([V, STR], V, -1, true)],
]);

/** Aggregations outside the stable language. */
export const EXPERIMENTAL_AGGREGATIONS: ReadonlySet<string> = new Set(['limitk', 'limit_ratio']);
