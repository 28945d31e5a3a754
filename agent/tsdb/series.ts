/**
 * One in-memory series. The newest samples (up to RING_SAMPLES) sit raw in a ring buffer
 * of interleaved (timestamp ms, value) pairs in one plain array of doubles, which is all an
 * instant selector reads. (A plain array lives in the V8 heap, where the garbage collector
 * compacts it; a Float64Array of more than 64 bytes gets its own malloc block outside the heap,
 * and 100k series regrowing theirs left the process's RSS far above its live data.) Older samples move into compressed chunks (chunk.ts). Appends go to the
 * tail in time order; retention drops from the head (whole chunks, then ring samples).
 * Stale markers (Prometheus's StaleNaN) are rare, so they are kept as a set of their
 * timestamps beside a NaN value, because JavaScript does not reliably preserve NaN bits.
 */
import { ChunkArchive } from './chunk.ts';
import type { Labels } from './labels.ts';

/** Raw samples kept per series before older ones are compressed: 10 m at a 5 s scrape, so typical rule windows never decode. */
export const RING_SAMPLES = 128;

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
  private buf: number[];
  private cap: number;
  private head = 0;
  private len = 0;
  private staleTs: Set<number> | null = null;
  private archive: ChunkArchive | null = null;

  constructor(id: number, labels: Labels, initialCapacity = 8) {
    const cap = Math.max(2, Math.ceil(initialCapacity));
    this.id = id;
    this.labels = labels;
    this.cap = cap;
    this.buf = doubles(cap * 2);
  }

  /** Bytes held for samples (not labels): the raw ring (16 per slot) and the compressed archive. */
  get sampleBytes(): number {
    return this.cap * 16 + (this.archive?.bytesHeld ?? 0);
  }

  get length(): number {
    return this.len + (this.archive?.count ?? 0);
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
    if (this.len === this.cap) {
      if (this.cap >= RING_SAMPLES) this.evictOldest();
      else this.grow();
    }
    const p = ((this.head + this.len) % this.cap) * 2;
    this.buf[p] = t;
    this.buf[p + 1] = stale ? NaN : v;
    if (stale) (this.staleTs ??= new Set()).add(t);
    this.len++;
    return 'ok';
  }

  /** Moves the oldest ring sample into the compressed archive. */
  private evictOldest(): void {
    const p = this.head * 2;
    (this.archive ??= new ChunkArchive()).push(this.buf[p]!, this.buf[p + 1]!);
    this.head = (this.head + 1) % this.cap;
    this.len--;
  }

  /** Drops samples with t < minT (whole chunks of the archive); returns how many were dropped. */
  truncateBefore(minT: number): number {
    let n = 0;
    if (this.archive !== null) {
      n += this.archive.dropBefore(minT);
      if (this.archive.count === 0) this.archive = null;
    }
    while (this.len > 0 && this.buf[this.head * 2]! < minT) {
      this.head = (this.head + 1) % this.cap;
      this.len--;
      n++;
    }
    if (this.staleTs !== null) {
      const oldest = this.archive?.minT ?? (this.len > 0 ? this.tAt(0) : Infinity);
      for (const t of this.staleTs) if (t < oldest) this.staleTs.delete(t);
      if (this.staleTs.size === 0) this.staleTs = null;
    }
    return n;
  }

  /** Copies samples with minT <= t <= maxT (from the archive when the window reaches back that far). */
  window(minT: number, maxT: number): SeriesSamples {
    const lo = this.lowerBound(minT);
    let hi = this.lowerBound(maxT);
    while (hi < this.len && this.tAt(hi) <= maxT) hi++;
    // Plain arrays: far cheaper to allocate than typed arrays for the few samples of a window.
    const t: number[] = [];
    const v: number[] = [];
    if (this.archive !== null && this.archive.maxT >= minT && this.archive.minT <= maxT) this.archive.collect(minT, maxT, t, v);
    for (let i = lo; i < hi; i++) {
      const p = ((this.head + i) % this.cap) * 2;
      t.push(this.buf[p]!);
      v.push(this.buf[p + 1]!);
    }
    let stale: Uint8Array | null = null;
    if (this.staleTs !== null) {
      for (let i = 0; i < t.length; i++) {
        if (this.staleTs.has(t[i]!)) {
          stale ??= new Uint8Array(t.length);
          stale[i] = 1;
        }
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
    if (i < 0) {
      // Nothing in the ring at or before maxT: the answer, if any, is in the archive.
      if (this.archive === null || this.archive.minT > maxT) return { labels: this.labels, t: [], v: [], stale: null };
      const w = this.window(minT, maxT);
      const k = w.t.length - 1;
      if (k < 0) return w;
      return { labels: this.labels, t: [w.t[k]!], v: [w.v[k]!], stale: w.stale !== null && w.stale[k] === 1 ? Uint8Array.of(1) : null };
    }
    if (this.tAt(i) < minT) return { labels: this.labels, t: [], v: [], stale: null };
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
    const newCap = Math.min(Math.ceil(this.cap * 1.5), Math.max(RING_SAMPLES, this.cap + 1));
    const buf = doubles(newCap * 2);
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

/** A packed array of `n` doubles (V8 keeps it unboxed, 8 bytes per element). */
function doubles(n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0.5);
  return a;
}
