/**
 * One scrape's samples between the first byte of the body and its end: each sample is resolved
 * to its stored series as it is parsed, and only its series and value are kept (not the body,
 * not the parsed sample), to be appended in one pass when the body is complete.
 */
import type { Labels, SeriesRef } from '../tsdb/index.ts';
import type { SampleAppender } from './scraper.ts';

export class Staged<E> {
  readonly gen: number;
  /** The scrape's start: every sample without its own timestamp gets it. */
  readonly start: number;
  /** Samples seen so far (the next sample's position). */
  n = 0;
  /** Samples that started a new series for the target (scrape_series_added). */
  added = 0;
  /** Cache entry by sample position, the next scrape's `order`. */
  readonly order: Array<E | undefined> = [];
  private readonly refs: SeriesRef[] = [];
  private readonly values: number[] = [];
  /** Samples refused for a timestamp too far ahead of the scrape (out of bounds), and the first of them. */
  outOfBounds = 0;
  firstOutOfBounds: { labels: Labels; t: number } | null = null;
  /** Explicit timestamps, by staged index, only for samples that carried one. */
  private times: Map<number, number> | null = null;

  constructor(gen: number, start: number) {
    this.gen = gen;
    this.start = start;
  }

  push(ref: SeriesRef, t: number, value: number): void {
    if (t !== this.start) (this.times ??= new Map()).set(this.refs.length, t);
    this.refs.push(ref);
    this.values.push(value);
  }

  refuse(labels: Labels, t: number): void {
    if (this.outOfBounds++ === 0) this.firstOutOfBounds = { labels, t };
  }

  commit(appender: Pick<SampleAppender, 'appendRef'>): void {
    const { refs, values, times, start } = this;
    for (let i = 0; i < refs.length; i++) appender.appendRef(refs[i]!, times === null ? start : times.get(i) ?? start, values[i]!);
  }
}

