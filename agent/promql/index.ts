/**
 * Public surface of the PromQL engine. Other stages (rules, server) import from here only.
 *
 * - parseExpr(text): Expr, or throws FlowpilotError 'FP_PROMQL_PARSE' whose details hold
 *   { offset, line, column, position: "line:col" }.
 * - new PromQLEngine(storage, opts).instantQuery(expr, tMs, opts) / rangeQuery(expr, startMs,
 *   endMs, stepMs, opts) -> Promise<QueryResult>; the *Sync variants do the same
 *   synchronously (for rule evaluation). A query past its timeout fails with
 *   'FP_PROMQL_TIMEOUT'; an aborted signal with 'FP_PROMQL_CANCELED'; evaluation errors
 *   (many-to-many matching, ...) with 'FP_PROMQL_EXEC'.
 * - toApiData(result.data) gives Prometheus's HTTP API `data` JSON.
 */
export type * from './ast.ts';
export { parseExpr, exprType } from './parser.ts';
export { formatExpr } from './format.ts';
export { prettify } from './pretty.ts';
export type { MatrixSeries, QueryData, QueryResult, VectorSample } from './value.ts';
export { formatValue, toApiData } from './value.ts';
export type { EngineOptions, QueryOptions } from './options.ts';
export { DEFAULT_LOOKBACK_DELTA_MS, DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_SUBQUERY_STEP_MS } from './options.ts';
export { PromQLEngine } from './engine.ts';
