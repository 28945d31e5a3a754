/**
 * Public surface of the agent's time-series store. Other stages import from here only.
 *
 * - Labels are frozen records with sorted keys and no empty values (see labels.ts).
 * - MemoryStorage holds ring-buffered series, an inverted label index, retention,
 *   a series limit, stale markers, and registers flowpilot_tsdb_* metrics.
 */
export type { Labels } from './labels.ts';
export { EMPTY_LABELS, METRIC_NAME, compareLabels, formatLabels, labelsEqual, labelsFromPairs, labelsFromRecord, labelsKey, withoutMetricName, labelsHash, sameLabels, compareLabelSets } from './labels.ts';
export type { LabelMatcher, MatchType } from './matchers.ts';
export { compileAnchoredRegex, formatMatcher, newMatcher } from './matchers.ts';
export type { SeriesSamples } from './series.ts';
export type { AppendResult, MemoryStorageOptions, Queryable, SeriesColumns, SeriesRef, StorageStats, TsdbStatus } from './storage.ts';
export { DEFAULT_MAX_SERIES, DEFAULT_RETENTION_MS, MemoryStorage } from './storage.ts';
