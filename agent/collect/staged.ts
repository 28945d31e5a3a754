/**
 * One scrape's samples between the first byte of the body and its end: each sample is resolved
 * to its stored series as it is parsed, and only its series and value are kept (not the body,
 * not the parsed sample), to be appended in one pass when the body is complete.
 */
import { formatLabels, type Labels, type SeriesRef } from '../tsdb/index.ts';
import type { SampleAppender } from './scraper.ts';

/**
 * How far past the scrape's start an explicit timestamp may lie. Later samples are refused as
 * out of bounds and the rest of the scrape is kept, as Prometheus's scrape loop does
 * (scrape.go, maxAheadTime): a target with a wrong clock or a writer of future data cannot
 * push samples the store would hold ahead of every rule evaluation.
 */
export const MAX_AHEAD_MS = 10 * 60 * 1000;

/** A finished scrape's arrays, handed to the next scrape of the same loop to fill again. */
export interface StagedBuffers<E> {
  order: Array<E | undefined>;
  refs: SeriesRef[];
  values: number[];
}

/**
 * Its arrays are reused from scrape to scrape of a loop (StagedBuffers): they live for a whole
 * scrape or interval, long enough to be promoted to V8's old generation, where 100k samples'
 * worth of fresh arrays per round was garbage waiting for a major GC (the agent's peak RSS).
 */
export class Staged<E> {
  readonly gen: number;
  /** The scrape's start: every sample without its own timestamp gets it. */
  readonly start: number;
  /** Samples seen so far (the next sample's position). */
  n = 0;
  /** Samples that started a new series for the target (scrape_series_added). */
  added = 0;
  /** Samples refused for a timestamp too far ahead of the scrape (out of bounds), and the first of them. */
  outOfBounds = 0;
  firstOutOfBounds: { labels: Labels; t: number } | null = null;
  /** Cache entry by sample position (undefined: none), the next scrape's `order`; filled by index. */
  readonly order: Array<E | undefined>;
  private readonly refs: SeriesRef[];
  private readonly values: number[];
  /** Staged samples (refs and values are written by index and may hold stale entries past it). */
  private size = 0;
  /** Explicit timestamps, by staged index, only for samples that carried one. */
  private times: Map<number, number> | null = null;

  constructor(gen: number, start: number, reuse: StagedBuffers<E> | null = null) {
    this.gen = gen;
    this.start = start;
    this.order = reuse?.order ?? [];
    this.refs = reuse?.refs ?? [];
    this.values = reuse?.values ?? [];
  }

  push(ref: SeriesRef, t: number, value: number): void {
    const k = this.size++;
    if (t !== this.start) (this.times ??= new Map()).set(k, t);
    this.refs[k] = ref;
    this.values[k] = value;
  }

  refuse(labels: Labels, t: number): void {
    if (this.outOfBounds++ === 0) this.firstOutOfBounds = { labels, t };
  }

  /** What the refusals were, for the target's lastError and the log ('' when none). */
  refusedMessage(): string {
    const first = this.firstOutOfBounds;
    if (first === null) return '';
    return `refused ${this.outOfBounds} sample(s) out of bounds: timestamp more than ${MAX_AHEAD_MS / 60_000} min ahead of the scrape (first: ${formatLabels(first.labels)} at ${new Date(first.t).toISOString()}, scrape at ${new Date(this.start).toISOString()}); check the target's clock`;
  }

  commit(appender: Pick<SampleAppender, 'appendRef'>): void {
    const { refs, values, times, start, size } = this;
    for (let i = 0; i < size; i++) appender.appendRef(refs[i]!, times === null ? start : times.get(i) ?? start, values[i]!);
  }

  /** The arrays for the next scrape, cut to what this one used (no reference to a series it did not see). */
  buffers(order: Array<E | undefined>): StagedBuffers<E> {
    if (this.refs.length > this.size) {
      this.refs.length = this.size;
      this.values.length = this.size;
    }
    return { order, refs: this.refs, values: this.values };
  }
}
