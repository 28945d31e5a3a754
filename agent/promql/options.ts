/**
 * Engine and per-query options, with their defaults (Prometheus's defaults).
 */
import type { QueryStats } from './stats.ts';
export const DEFAULT_LOOKBACK_DELTA_MS = 5 * 60 * 1000;
export const DEFAULT_QUERY_TIMEOUT_MS = 2 * 60 * 1000;
export const DEFAULT_SUBQUERY_STEP_MS = 60 * 1000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;

export interface EngineOptions {
  /** How far back an instant selector looks for a sample. Default 5 m. */
  lookbackDeltaMs?: number;
  /** Default query timeout. Default 2 m. */
  timeoutMs?: number;
  /** Step of a subquery written without one (`x[5m:]`). Default 1 m. */
  defaultSubqueryStepMs?: number;
  /** Most samples one query may hold in memory at once. Default 50 M. */
  maxSamples?: number;
}

export interface QueryOptions {
  lookbackDeltaMs?: number;
  timeoutMs?: number;
  /** Lowers the engine's maxSamples for this query (rule evaluation runs under its own limits). */
  maxSamples?: number;
  signal?: AbortSignal;
  /** Polled during evaluation like the signal (the query worker's cross-thread cancel flag). */
  canceled?: () => boolean;
  /** Collects `stats=` figures (stats.ts) when given; the caller renders them. */
  stats?: QueryStats;
}
