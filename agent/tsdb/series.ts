/**
 * One in-memory series: a growable ring buffer (by half each time) of (timestamp ms, value) pairs kept
 * interleaved in a single Float64Array, so a series costs one allocation. Appends go to
 * the tail in time order; retention drops from the head. Stale markers (Prometheus's
 * StaleNaN) are rare, so they are kept as a set of their timestamps beside a NaN value,
 * because JavaScript does not reliably preserve NaN payload bits.
 */
import type { Labels } from './labels.ts';

/** Samples copied out of a series for one time window, oldest first. */
export interface SeriesSamples {
  readonly labels: Labels;
  readonly t: readonly number[];
  readonly v: readonly number[];
  /** Per-sample stale-marker flags, or null when the window holds no stale marker. */
  readonly stale: Uint8Array | null;
}

export type AppendOutcome = 'ok' | 'out_of_order' | 'duplicate';

export class MemSeries {
  readonly id: number;
  readonly labels: Labels;
  /** Set when the store has dropped the series (retention or clear). */
  dead = false;
  /** [t0, v0, t1, v1, ...] over `cap` slots. */
  private buf: Float64Array;
  private cap: number;
  private head = 0;
  private len = 0;
  private staleTs: Set<number> | null = null;

  constructor(id: number, labels: Labels, initialCapacity = 8) {
    const cap = Math.max(2, Math.ceil(initialCapacity));
    this.id = id;
    this.labels = labels;
    this.cap = cap;
    this.buf = new Float64Array(cap * 2);
  }

  get length(): number {
    return this.len;
  }

  private tAt(i: number): number {
    return this.buf[((this.head + i) % this.cap) * 2]!;
  }

  lastT(): number {
    return this.len === 0 ? -Infinity : this.tAt(this.len - 1);
  }

  /** True when the newest sample is a stale marker. */
  isStale(): boolean {
    return this.len > 0 && this.staleTs !== null && this.staleTs.has(this.lastT());
  }

  append(t: number, v: number, stale: boolean): AppendOutcome {
    if (this.len > 0) {
      const last = this.lastT();
      if (t < last) return 'out_of_order';
      if (t === last) {
        const lastV = this.buf[((this.head + this.len - 1) % this.cap) * 2 + 1]!;
        if (stale || this.isStale() || !Object.is(lastV, v)) return 'out_of_order';
        return 'duplicate';
      }
    }
    if (this.len === this.cap) this.grow();
    const p = ((this.head + this.len) % this.cap) * 2;
    this.buf[p] = t;
    this.buf[p + 1] = stale ? NaN : v;
    if (stale) (this.staleTs ??= new Set()).add(t);
    this.len++;
    return 'ok';
  }

  /** Drops samples with t < minT; returns how many were dropped. */
  truncateBefore(minT: number): number {
    let n = 0;
    while (this.len > 0 && this.buf[this.head * 2]! < minT) {
      if (this.staleTs !== null) this.staleTs.delete(this.buf[this.head * 2]!);
      this.head = (this.head + 1) % this.cap;
      this.len--;
      n++;
    }
    if (this.staleTs !== null && this.staleTs.size === 0) this.staleTs = null;
    return n;
  }

  /** Copies samples with minT <= t <= maxT. */
  window(minT: number, maxT: number): SeriesSamples {
    const lo = this.lowerBound(minT);
    let hi = this.lowerBound(maxT);
    while (hi < this.len && this.tAt(hi) <= maxT) hi++;
    const n = Math.max(0, hi - lo);
    // Plain arrays: far cheaper to allocate than typed arrays for the few samples of a window.
    const t: number[] = new Array(n);
    const v: number[] = new Array(n);
    let stale: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const p = ((this.head + lo + i) % this.cap) * 2;
      t[i] = this.buf[p]!;
      v[i] = this.buf[p + 1]!;
      if (this.staleTs !== null && this.staleTs.has(t[i]!)) {
        stale ??= new Uint8Array(n);
        stale[i] = 1;
      }
    }
    return { labels: this.labels, t, v, stale };
  }

  /** The newest sample with minT <= t <= maxT, as a window of zero or one sample. */
  latest(minT: number, maxT: number): SeriesSamples {
    let i: number;
    if (this.len > 0 && this.tAt(this.len - 1) <= maxT) i = this.len - 1; // the usual case: the newest sample
    else {
      i = this.lowerBound(maxT);
      if (i < this.len && this.tAt(i) === maxT) i++;
      i--;
    }
    if (i < 0 || this.tAt(i) < minT) return { labels: this.labels, t: [], v: [], stale: null };
    const p = ((this.head + i) % this.cap) * 2;
    const t = this.buf[p]!;
    const stale = this.staleTs !== null && this.staleTs.has(t) ? [1] : null;
    return { labels: this.labels, t: [t], v: [this.buf[p + 1]!], stale: stale === null ? null : Uint8Array.from(stale) };
  }

  /** Logical index of the first sample with t >= x. */
  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tAt(mid) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Grows by half: series fill up to their retention and stay there, so less slack wins. */
  private grow(): void {
    const newCap = Math.ceil(this.cap * 1.5);
    const buf = new Float64Array(newCap * 2);
    for (let i = 0; i < this.len; i++) {
      const p = ((this.head + i) % this.cap) * 2;
      buf[i * 2] = this.buf[p]!;
      buf[i * 2 + 1] = this.buf[p + 1]!;
    }
    this.buf = buf;
    this.cap = newCap;
    this.head = 0;
  }
}
