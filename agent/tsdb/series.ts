/**
 * One in-memory series: Gorilla-compressed chunks in its store's ChunkPool (chunk.ts), the
 * open head chunk appended in place, closed chunks referenced by address. The newest sample
 * also sits in fields (time and value bits), which is all an instant selector reads; windows
 * decode the chunks they overlap. Appends go to the tail in time order; retention drops whole
 * chunks from the head. Stale markers are stored as Prometheus's StaleNaN bit pattern
 * (0x7ff0000000000002) and recognized by it when decoded.
 */
import { bitsHi, bitsLo, bitsOf, ChunkPool, HeadChunk, numberOf, STALE_HI, STALE_LO, type SampleSink } from './chunk.ts';
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

/** Decoded samples appended to plain arrays, with the indexes of stale markers. */
class ArraySink implements SampleSink {
  readonly t: number[] = [];
  readonly v: number[] = [];
  staleAt: number[] | null = null;
  add(t: number, v: number, stale: boolean): void {
    if (stale) (this.staleAt ??= []).push(this.t.length);
    this.t.push(t);
    this.v.push(v);
  }
}

const EMPTY: readonly number[] = Object.freeze([]);

export class MemSeries extends HeadChunk {
  readonly id: number;
  readonly labels: Labels;
  /** Set when the store has dropped the series (retention or clear). */
  dead = false;
  private readonly pool: ChunkPool;
  /** Addresses of closed chunks, oldest first (null while there are none). */
  private closed: number[] | null = null;
  /** Samples held (closed chunks and head). */
  length = 0;

  constructor(id: number, labels: Labels, pool: ChunkPool = new ChunkPool()) {
    super();
    this.id = id;
    this.labels = labels;
    this.pool = pool;
  }

  /** Bytes held for samples (not labels): closed chunks with their headers, the head slot, chunk references (8 each). */
  get sampleBytes(): number {
    let n = this.headBytesHeld;
    if (this.closed !== null) {
      n += this.closed.length * 8;
      // A chunk shared by several series (pool.ts) counts its share in each.
      for (const a of this.closed) n += this.pool.closedBytesOf(a) / this.pool.ownersOf(a);
    }
    return n;
  }

  get chunkCount(): number {
    return (this.closed?.length ?? 0) + (this.slot >= 0 ? 1 : 0);
  }

  /** Oldest sample time held (Infinity when empty). */
  get minT(): number {
    if (this.closed !== null) return this.pool.closedMinT(this.closed[0]!);
    return this.slot >= 0 ? this.headMinT : Infinity;
  }

  lastTime(): number {
    return this.length === 0 ? -Infinity : this.lastT;
  }

  /** True when the newest sample is a stale marker. */
  isStale(): boolean {
    return this.length > 0 && this.lastHi === STALE_HI && this.lastLo === STALE_LO;
  }

  append(t: number, v: number, stale: boolean): AppendOutcome {
    if (this.length > 0) {
      if (t < this.lastT) return 'out_of_order';
      if (t === this.lastT) {
        if (stale || this.isStale() || !Object.is(numberOf(this.lastHi, this.lastLo), v)) return 'out_of_order';
        return 'duplicate';
      }
    }
    let hi = STALE_HI;
    let lo = STALE_LO;
    if (!stale) {
      bitsOf(v);
      hi = bitsHi;
      lo = bitsLo;
      // A value that happens to carry StaleNaN's bits is stored as a plain NaN.
      if (hi === STALE_HI && lo === STALE_LO) hi = 0x7ff80000, lo = 0;
    }
    if (this.slot >= 0 && this.headFull()) (this.closed ??= []).push(this.cutHead(this.pool));
    this.encode(this.pool, t, hi, lo);
    this.length++;
    return 'ok';
  }

  /** Drops the chunks whose samples are all older than minT; returns how many samples went. */
  truncateBefore(minT: number): number {
    let n = 0;
    const closed = this.closed;
    if (closed !== null) {
      let k = 0;
      while (k < closed.length && this.pool.closedMaxT(closed[k]!) < minT) {
        n += this.pool.closedCount(closed[k]!);
        this.pool.dropClosed(closed[k]!);
        k++;
      }
      if (k === closed.length) this.closed = null;
      else if (k > 0) closed.splice(0, k);
    }
    if (this.closed === null && this.slot >= 0 && this.lastT < minT) {
      n += this.headCount;
      this.dropHead(this.pool);
    }
    this.length -= n;
    return n;
  }

  /** Frees every chunk (the series is being dropped). */
  release(): void {
    if (this.closed !== null) for (const a of this.closed) this.pool.dropClosed(a);
    this.closed = null;
    this.dropHead(this.pool);
    this.length = 0;
  }

  /** Decodes the samples with minT <= t <= maxT into sink, oldest first. */
  decodeRange(minT: number, maxT: number, sink: SampleSink): void {
    if (this.length === 0 || this.lastT < minT) return;
    const closed = this.closed;
    // Recent windows (rules, instant queries) start in the head chunk: no closed chunk to look at.
    if (closed !== null && !(this.slot >= 0 && this.headMinT <= minT)) {
      // The first closed chunk that reaches minT, searched from the newest.
      let i = closed.length;
      while (i > 0 && this.pool.closedMaxT(closed[i - 1]!) >= minT) i--;
      for (; i < closed.length; i++) {
        const a = closed[i]!;
        if (this.pool.closedMinT(a) > maxT) return;
        this.pool.decodeClosed(a, minT, maxT, sink);
      }
    }
    if (this.slot >= 0 && this.headMinT <= maxT) this.pool.decodeHead(this.slot, this.headCount, minT, maxT, sink);
  }

  /** Whether a sample lies in [minT, maxT] (decodes at most the chunks at the window's start). */
  hasSampleIn(minT: number, maxT: number): boolean {
    if (this.length === 0 || this.lastT < minT || maxT < minT) return false;
    if (this.lastT <= maxT || this.minT >= minT && this.minT <= maxT) return true;
    return this.window(minT, maxT).t.length > 0;
  }

  /** Copies samples with minT <= t <= maxT. */
  window(minT: number, maxT: number): SeriesSamples {
    if (this.length === 0 || this.lastT < minT || maxT < minT) return { labels: this.labels, t: EMPTY, v: EMPTY, stale: null };
    const sink = new ArraySink();
    this.decodeRange(minT, maxT, sink);
    let stale: Uint8Array | null = null;
    if (sink.staleAt !== null) {
      stale = new Uint8Array(sink.t.length);
      for (const i of sink.staleAt) stale[i] = 1;
    }
    return { labels: this.labels, t: sink.t, v: sink.v, stale };
  }

  /** Adds the newest sample with minT <= t <= maxT to sink, if there is one (no allocation unless the window ends before the newest sample). */
  latestInto(minT: number, maxT: number, sink: SampleSink): void {
    if (this.length === 0 || this.lastT < minT || maxT < minT) return;
    if (this.lastT <= maxT) {
      sink.add(this.lastT, numberOf(this.lastHi, this.lastLo), this.isStale());
      return;
    }
    const w = this.window(minT, maxT);
    const k = w.t.length - 1;
    if (k >= 0) sink.add(w.t[k]!, w.v[k]!, w.stale !== null && w.stale[k] === 1);
  }

  /** The newest sample with minT <= t <= maxT, as a window of zero or one sample. */
  latest(minT: number, maxT: number): SeriesSamples {
    if (this.length === 0 || this.lastT < minT) return { labels: this.labels, t: EMPTY, v: EMPTY, stale: null };
    if (this.lastT <= maxT) {
      const stale = this.isStale() ? Uint8Array.of(1) : null;
      return { labels: this.labels, t: [this.lastT], v: [numberOf(this.lastHi, this.lastLo)], stale };
    }
    // Rare: the window ends before the newest sample.
    const w = this.window(minT, maxT);
    const k = w.t.length - 1;
    if (k <= 0) return w;
    return { labels: this.labels, t: [w.t[k]!], v: [w.v[k]!], stale: w.stale !== null && w.stale[k] === 1 ? Uint8Array.of(1) : null };
  }
}
