/**
 * A selection's samples in shared typed arrays (MemoryStorage.selectColumns): the columns'
 * shape, and the sink the chunk decoder fills them through.
 */
import type { Labels } from './labels.ts';
import type { SampleSink } from './chunk.ts';

/** The samples of a selection in shared columns: those of series i are at [offsets[i], offsets[i + 1]) of t, v and stale. */
export interface SeriesColumns {
  /** The matching series, sorted by labels (some may have no sample in the window). */
  readonly series: ReadonlyArray<{ readonly labels: Labels }>;
  /** series.length + 1 entries. */
  readonly offsets: Int32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** 1 at stale markers; null when the selection holds none. */
  readonly stale: Uint8Array | null;
}

/** The samples [lo, hi) of a selection's columns without its stale markers (copied: the rare case). */
export function withoutStale(c: SeriesColumns, lo: number, hi: number): { ts: number[]; vs: number[] } {
  const ts: number[] = [];
  const vs: number[] = [];
  const stale = c.stale;
  for (let j = lo; j < hi; j++) if (stale === null || stale[j] !== 1) { ts.push(c.t[j]!); vs.push(c.v[j]!); }
  return { ts, vs };
}

/** Decoded samples appended to typed arrays that double as they fill. */
export class ColumnSink implements SampleSink {
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | null = null;
  length = 0;
  constructor(capacity: number) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }

  /** Empties the sink for reuse, with room for at least `capacity` samples. */
  reset(capacity: number): void {
    if (this.t.length < capacity) {
      this.t = new Float64Array(capacity);
      this.v = new Float64Array(capacity);
    }
    this.stale = null;
    this.length = 0;
  }

  add(t: number, v: number, stale: boolean): void {
    const n = this.length;
    if (n === this.t.length) this.grow();
    this.t[n] = t;
    this.v[n] = v;
    if (stale) (this.stale ??= new Uint8Array(this.t.length))[n] = 1;
    this.length = n + 1;
  }

  private grow(): void {
    const cap = Math.max(16, this.t.length * 2);
    const t = new Float64Array(cap);
    t.set(this.t);
    this.t = t;
    const v = new Float64Array(cap);
    v.set(this.v);
    this.v = v;
    if (this.stale !== null) {
      const st = new Uint8Array(cap);
      st.set(this.stale);
      this.stale = st;
    }
  }
}
