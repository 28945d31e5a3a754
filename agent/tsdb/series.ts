/**
 * One in-memory series: a growable ring buffer of (timestamp ms, value, stale flag).
 * Appends go to the tail in time order; retention drops from the head. Stale markers
 * (Prometheus's StaleNaN) are kept as a flag beside a NaN value, because JavaScript
 * does not reliably preserve NaN payload bits.
 */
import type { Labels } from './labels.ts';

/** Samples copied out of a series for one time window, oldest first. */
export interface SeriesSamples {
  readonly labels: Labels;
  /** Canonical label key (see labelsKey). */
  readonly key: string;
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** Per-sample stale-marker flags, or null when the window holds no stale marker. */
  readonly stale: Uint8Array | null;
}

export type AppendOutcome = 'ok' | 'out_of_order' | 'duplicate';

export class MemSeries {
  readonly id: number;
  readonly labels: Labels;
  readonly key: string;
  private ts: Float64Array;
  private vs: Float64Array;
  private st: Uint8Array;
  private head = 0;
  private len = 0;
  private staleCount = 0;

  constructor(id: number, labels: Labels, key: string, initialCapacity = 8) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.id = id;
    this.labels = labels;
    this.key = key;
    this.ts = new Float64Array(cap);
    this.vs = new Float64Array(cap);
    this.st = new Uint8Array(cap);
  }

  get length(): number {
    return this.len;
  }

  lastT(): number {
    return this.len === 0 ? -Infinity : this.ts[(this.head + this.len - 1) & (this.ts.length - 1)]!;
  }

  /** True when the newest sample is a stale marker. */
  isStale(): boolean {
    return this.len > 0 && this.st[(this.head + this.len - 1) & (this.ts.length - 1)] === 1;
  }

  append(t: number, v: number, stale: boolean): AppendOutcome {
    if (this.len > 0) {
      const last = this.lastT();
      if (t < last) return 'out_of_order';
      if (t === last) {
        const idx = (this.head + this.len - 1) & (this.ts.length - 1);
        if (stale || this.st[idx] === 1 || !Object.is(this.vs[idx], v)) return 'out_of_order';
        return 'duplicate';
      }
    }
    if (this.len === this.ts.length) this.grow();
    const idx = (this.head + this.len) & (this.ts.length - 1);
    this.ts[idx] = t;
    this.vs[idx] = stale ? NaN : v;
    this.st[idx] = stale ? 1 : 0;
    if (stale) this.staleCount++;
    this.len++;
    return 'ok';
  }

  /** Drops samples with t < minT; returns how many were dropped. */
  truncateBefore(minT: number): number {
    const mask = this.ts.length - 1;
    let n = 0;
    while (this.len > 0 && this.ts[this.head]! < minT) {
      if (this.st[this.head] === 1) this.staleCount--;
      this.head = (this.head + 1) & mask;
      this.len--;
      n++;
    }
    return n;
  }

  /** Copies samples with minT <= t <= maxT. */
  window(minT: number, maxT: number): SeriesSamples {
    const mask = this.ts.length - 1;
    const lo = this.lowerBound(minT);
    let hi = this.lowerBound(maxT);
    while (hi < this.len && this.ts[(this.head + hi) & mask]! <= maxT) hi++;
    const n = Math.max(0, hi - lo);
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    let stale: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const p = (this.head + lo + i) & mask;
      t[i] = this.ts[p]!;
      v[i] = this.vs[p]!;
      if (this.staleCount > 0 && this.st[p] === 1) {
        stale ??= new Uint8Array(n);
        stale[i] = 1;
      }
    }
    return { labels: this.labels, key: this.key, t, v, stale };
  }

  /** Index (logical) of the first sample with t >= x. */
  private lowerBound(x: number): number {
    const mask = this.ts.length - 1;
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[(this.head + mid) & mask]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private grow(): void {
    const cap = this.ts.length;
    const ts = new Float64Array(cap * 2);
    const vs = new Float64Array(cap * 2);
    const st = new Uint8Array(cap * 2);
    for (let i = 0; i < this.len; i++) {
      const p = (this.head + i) & (cap - 1);
      ts[i] = this.ts[p]!;
      vs[i] = this.vs[p]!;
      st[i] = this.st[p]!;
    }
    this.ts = ts;
    this.vs = vs;
    this.st = st;
    this.head = 0;
  }
}
