/**
 * Scrape targets: what one target is (its `job`/`instance` and other target labels, interval,
 * timeout, honor_labels) and where its samples come from (a `TargetSource`: an HTTP exposition
 * endpoint, or the Flink REST collector). Also the label merge Prometheus applies to every
 * scraped sample (`mutateSampleLabels` in scrape/scrape.go): with honor_labels false the target's
 * labels win and a clashing scraped label is kept as `exported_<name>`; with honor_labels true
 * the scraped labels win. Empty label values are dropped afterwards, as in Prometheus.
 */
import type { FamilyMetadata, KnownSeriesTest, ParsedSample } from './prometheus-text.ts';

/** What a source hands back for one scrape. */
export interface SourceResult {
  samples: ParsedSample[];
  /** Lines (or values) that could not be read and were skipped. */
  parseErrors: number;
  /** The first error, for the log line and /api/v1/targets. */
  firstParseError?: string;
  /**
   * When set, `samples` is empty and the samples come from this call instead, in batches, so
   * the caller can consume each batch before the next is parsed (they then die young). It runs
   * synchronously, once, and returns the counts the fields above would have held.
   */
  parse?: (onBatch: (batch: ParsedSample[]) => void) => ParseSummary;
  /**
   * When set, `samples` is empty: the samples were already handed, batch by batch, to the
   * `onBatch` given to `fetch` while the body streamed in; these are their counts.
   */
  streamed?: ParseSummary;
}

export interface ParseSummary {
  samples: number;
  parseErrors: number;
  firstParseError?: string;
  /** `# TYPE` / `# HELP` per metric family, for /api/v1/metadata and /api/v1/targets/metadata. */
  metadata?: ReadonlyMap<string, FamilyMetadata>;
}

/** Where a target's samples come from. Implementations must honour the AbortSignal. */
export interface TargetSource {
  /** A short description for logs and /api/v1/targets (usually the URL). */
  readonly url: string;
  /**
   * `isKnownSeries` lets a text source skip rebuilding labels of series the loop has cached.
   * A source may hand samples to `onBatch` as it reads them (and then return `streamed`);
   * one that ignores it returns them in `samples` or `parse`.
   */
  fetch(signal: AbortSignal, isKnownSeries?: KnownSeriesTest, onBatch?: (batch: ParsedSample[]) => void): Promise<SourceResult>;
}

export interface ScrapeTarget {
  /** The target labels, including `job` and `instance` (e.g. also `namespace`, `pod`). */
  labels: Record<string, string>;
  source: TargetSource;
  intervalMs: number;
  timeoutMs: number;
  honorLabels: boolean;
  /** Largest delay between attempts while the target keeps failing. */
  maxBackoffMs: number;
}

/** Identity of a target within its scrape pool: its sorted target labels. */
export function targetKey(t: Pick<ScrapeTarget, 'labels'> & { source: { url: string } }): string {
  const names = Object.keys(t.labels).sort();
  return names.map((n) => `${n}=${t.labels[n]}`).join(',') + `|${t.source.url}`;
}

/**
 * Applies target labels to one scraped label set, Prometheus's way. Returns a new record;
 * labels with empty values are removed.
 */
export function mergeTargetLabels(scraped: Record<string, string>, target: Record<string, string>, honorLabels: boolean): Record<string, string> {
  const out: Record<string, string> = { ...scraped };
  if (honorLabels) {
    for (const name in target) {
      if (out[name] === undefined || out[name] === '') out[name] = target[name]!;
    }
  } else {
    const conflicting: string[] = [];
    for (const name in target) {
      const existing = out[name];
      if (existing !== undefined && existing !== '') conflicting.push(name);
    }
    // Move clashing scraped values aside first, then set the target's.
    const moved: Array<[string, string]> = conflicting.map((n) => [n, out[n]!]);
    for (const name in target) out[name] = target[name]!;
    for (const [name, value] of moved) {
      let exported = `exported_${name}`;
      while (out[exported] !== undefined && out[exported] !== '') exported = `exported_${exported}`;
      out[exported] = value;
    }
  }
  for (const name of Object.keys(out)) if (out[name] === '') delete out[name];
  return out;
}

/**
 * Whether `scraped` with the target's labels applied (mergeTargetLabels, then labelsFromRecord)
 * gives exactly `final`, checked without building that label set. A scraped label that the
 * target also sets (moved aside, or kept with honor_labels) is not decided here: false, and the
 * caller builds the labels; so honor_labels does not matter to the answer.
 */
export function mergesTo(scraped: Readonly<Record<string, string>>, target: Readonly<Record<string, string>>, final: Readonly<Record<string, string>>): boolean {
  let n = 0;
  for (const k in scraped) {
    const v: string | undefined = scraped[k];
    if (v === undefined || v === '') continue;
    if (target[k] !== undefined) return false;
    if (final[k] !== v) return false;
    n++;
  }
  for (const k in target) {
    const v = target[k]!;
    if (v === '') continue;
    if (final[k] !== v) return false;
    n++;
  }
  for (const _ in final) n--;
  return n === 0;
}
