/**
 * PromQLEngine: runs instant and range queries over a Queryable store.
 */
import { FlowpilotError } from '../../common/errors.ts';
import type { Queryable } from '../tsdb/storage.ts';
import type { Expr } from './ast.ts';
import type { EngineOptions, QueryOptions } from './options.ts';
import type { QueryResult } from './value.ts';

export class PromQLEngine {
  readonly storage: Queryable;
  readonly options: Required<EngineOptions>;
  constructor(storage: Queryable, opts: EngineOptions = {}) {
    this.storage = storage;
    this.options = { lookbackDeltaMs: 300_000, timeoutMs: 120_000, defaultSubqueryStepMs: 60_000, maxSamples: 50_000_000, ...opts };
  }
  instantQuerySync(_query: string | Expr, _timeMs: number, _opts: QueryOptions = {}): QueryResult {
    throw new FlowpilotError('FP_PROMQL_EXEC', 'not implemented yet');
  }
  rangeQuerySync(_query: string | Expr, _startMs: number, _endMs: number, _stepMs: number, _opts: QueryOptions = {}): QueryResult {
    throw new FlowpilotError('FP_PROMQL_EXEC', 'not implemented yet');
  }
  async instantQuery(query: string | Expr, timeMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.instantQuerySync(query, timeMs, opts);
  }
  async rangeQuery(query: string | Expr, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.rangeQuerySync(query, startMs, endMs, stepMs, opts);
  }
}
