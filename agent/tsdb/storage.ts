/**
 * MemoryStorage: the agent's in-memory time-series store. It owns the series, an
 * inverted index (label name -> value -> series ids) used by every selection, time
 * retention (default 2 h), and a series limit. A rejected new series is counted in
 * `flowpilot_tsdb_series_limit_rejections_total` and logged (at most once a minute).
 * It never does I/O; callers append, select and call `applyRetention`.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { METRIC_NAME, canonicalLabels, compareLabelSets, formatLabels, labelsFromRecord, type Labels } from './labels.ts';
import { LabelHashIndex } from './hash-index.ts';
import type { LabelMatcher } from './matchers.ts';
import { MemSeries, type SeriesSamples } from './series.ts';
import { ColumnSink, type SeriesColumns } from './columns.ts';
import { cardinalityOf, type TsdbStatus } from './cardinality.ts';
import { intersectById } from './postings.ts';
import { ChunkPool, PAGE_SIZE } from './chunk.ts';
import { CreationSettler, DEFAULT_SETTLE_AFTER_SERIES } from './settle.ts';
import { OP_APPEND, OP_CLEAR, OP_RETENTION, OP_STALE, ReplicationLog, type ReplicaBatch, type ReplicaTarget } from './replication.ts';

export type { SeriesColumns } from './columns.ts';
export type { TsdbStatus } from './cardinality.ts';

export const DEFAULT_RETENTION_MS = 2 * 60 * 60 * 1000;
export const DEFAULT_MAX_SERIES = 1_000_000;
/** At most this many series references are held by the selection cache (8 bytes each). */
const SELECT_CACHE_MAX_REFS = 500_000;
/** Samples the reused columns of transient selections may hold (16 bytes each: 4 MiB). */
const SCRATCH_MAX_SAMPLES = 1 << 18;

export interface MemoryStorageOptions {
  /** Samples older than (newest time seen - retentionMs) are dropped by applyRetention. Default 2 h. */
  retentionMs?: number;
  /**
   * Run applyRetention by itself as sample time advances (every retentionMs/20, at least
   * every minute of sample time), so memory stays bounded without a caller's timer.
   * Default false: stores loaded with history out of wall-clock order (rule unit tests)
   * must keep all of it; the agent process calls applyRetention on a timer instead.
   */
  autoRetention?: boolean;
  /** Number of live series beyond which new series are rejected. Default 1,000,000. */
  maxSeries?: number;
  /** A major GC after this many series created (agent/tsdb/settle.ts); 0 turns it off. Default 10,000. */
  settleAfterSeries?: number;
  logger?: Logger;
}

export type AppendResult = 'ok' | 'out_of_order' | 'duplicate' | 'series_limit';

/** What the PromQL engine reads. MemoryStorage implements it; tests may use other stores. */
export interface Queryable {
  /** Series matching every matcher, with their samples in [minT, maxT] (inclusive, ms), sorted by labels. */
  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesSamples[];
  /** Optional fast path for instant selectors: like select, but only the newest sample of each series in the window. */
  selectLatest?(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesSamples[];
  /**
   * Optional: like select (or selectLatest when latestOnly), with every series' samples in shared
   * columns instead of arrays of their own, so a selection allocates a few arrays, not a few per series.
   * With `transient`, the columns may be the store's own scratch arrays, overwritten by its next
   * selectColumns call: for callers that read them at once and keep nothing that points into them.
   */
  selectColumns?(matchers: readonly LabelMatcher[], minT: number, maxT: number, latestOnly: boolean, transient?: boolean): SeriesColumns;
}

export interface StorageStats {
  /** Live series (also as `series`). */
  numSeries: number;
  series: number;
  samples: number;
  /** Chunks held: closed ones plus one open head chunk per series that has samples. */
  chunkCount: number;
  /** Bytes of sample chunks: closed chunks (with headers), head slots, 8 per chunk reference. */
  bytes: number;
  /** Bytes of chunk pages the store holds (1 MiB each), free space inside them included. */
  pageBytes: number;
  /** Oldest and newest sample time held (ms; 0 when empty). */
  minTime: number;
  maxTime: number;
  seriesLimitRejections: number;
  outOfOrderSamples: number;
}

export class MemoryStorage implements Queryable, ReplicaTarget {
  readonly retentionMs: number;
  readonly maxSeries: number;
  private readonly log: Logger;
  private readonly settler: CreationSettler;
  private readonly index = new LabelHashIndex<MemSeries>();
  /** name -> value -> ids */
  /** name -> value -> series with that label, in creation (id) order. Deleted series are compacted out after retention. */
  private readonly postings = new Map<string, Map<string, MemSeries[]>>();
  private deletedSincePostingsCompaction = 0;
  /**
   * One copy of every label value of a live series. Scraped label values repeat across many
   * series (job_id, task_name, tm_id, host, ...); stored label sets share these strings instead
   * of each holding its own. Rebuilt from the postings after series are deleted.
   */
  private interned = new Map<string, string>();
  /** Chunk memory shared by every series (chunk.ts). */
  private pool = new ChunkPool();
  private nextId = 1;
  private samples = 0;
  private limitRejections = 0;
  private outOfOrder = 0;
  private lastLimitLog = -Infinity;
  private maxTimeSeen = -Infinity;
  /**
   * The last retention cut. Retention drops whole chunks, so older samples can remain in a
   * chunk that straddles the cut; queries start at the cut (as Prometheus's head querier
   * clamps to the head's minimum time), so they see exactly the retained samples.
   */
  private minValidT = -Infinity;
  private readonly autoRetention: boolean;
  private readonly retentionEveryMs: number;
  private lastRetentionT = -Infinity;
  /** Bumped whenever the set of series changes. */
  private generation = 0;
  /**
   * Metric name -> the generation at which a series of that name was last created or deleted.
   * A cached selection that requires `__name__="x"` stays valid while no series named x came or
   * went: a rule pack's selections survive the ALERTS series an alert creates, or a new target's.
   */
  private readonly nameGeneration = new Map<string, number>();
  private readonly selectCache = new Map<string, CachedSelection>();
  /** Columns of transient selections (selectColumns), reused; at most SCRATCH_MAX_SAMPLES are kept. */
  private scratch: ColumnSink | null = null;
  private scratchOffsets = new Int32Array(0);
  private cachedRefs = 0;
  /** Set while a replica (the query worker) follows this store; see replication.ts. */
  private replication: ReplicationLog | null = null;

  constructor(opts: MemoryStorageOptions = {}) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.autoRetention = opts.autoRetention ?? false;
    this.retentionEveryMs = Math.min(60_000, Math.max(1000, this.retentionMs / 20));
    this.maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
    this.log = opts.logger ?? silentLogger();
    this.settler = new CreationSettler(opts.settleAfterSeries ?? DEFAULT_SETTLE_AFTER_SERIES);
  }

  get seriesCount(): number {
    return this.index.size;
  }

  /** Major GCs asked for after bursts of series creation (settle.ts). */
  get settles(): number {
    return this.settler.settles;
  }

  /** Bytes the live series hold for their samples (raw ring and compressed chunks; not labels or index): for benchmarks. */
  sampleBytes(): number {
    let n = 0;
    for (const s of this.index.values()) n += s.sampleBytes;
    return n;
  }

  /** Counts, chunk memory and time range; minTime is a pass over the series (cheap: one read each). */
  stats(): StorageStats {
    let chunkCount = 0;
    let refs = 0;
    let minTime = Infinity;
    for (const s of this.index.values()) {
      const c = s.chunkCount;
      chunkCount += c;
      if (c > 0) refs += c - 1;
      const m = s.minT;
      if (m < minTime) minTime = m;
    }
    const bytes = this.pool.closedBytes + this.pool.headBytes + refs * 8;
    const maxTime = this.maxTimeSeen === -Infinity ? 0 : this.maxTimeSeen;
    return {
      numSeries: this.index.size,
      series: this.index.size,
      samples: this.samples,
      chunkCount,
      bytes,
      pageBytes: this.pool.pagesHeld * PAGE_SIZE,
      minTime: minTime === Infinity ? 0 : Math.max(minTime, this.minValidT),
      maxTime,
      seriesLimitRejections: this.limitRejections,
      outOfOrderSamples: this.outOfOrder,
    };
  }

  /**
   * Figures in the shape of Prometheus's /api/v1/status/tsdb, from one pass over the postings
   * and one over the series. headStats: live series; label pairs (every name=value held by a
   * live series, `__name__` included); the chunks held (stats(): closed chunks of 120 samples
   * plus each series' open head chunk, as Prometheus's head counts them); minTime and maxTime
   * of the samples held (ms; 0 when empty). The
   * breakdowns are the `limit` largest: series per metric name, values per label name, bytes
   * of label values per label name (each value's UTF-8 length times the series carrying it,
   * as Prometheus's postings stats count), series per label pair.
   */
  cardinality(limit = 10): TsdbStatus {
    const st = this.stats();
    return cardinalityOf(this.postings, { numSeries: this.index.size, chunkCount: st.chunkCount, minTime: st.minTime, maxTime: st.maxTime }, limit);
  }

  /** Appends a float sample. Labels may be any record; they are canonicalized. */
  append(labels: Labels | Record<string, string>, tMs: number, value: number): AppendResult {
    return this.appendInternal(labels, tMs, value, false);
  }

  /** Appends Prometheus's stale marker: the series ends at tMs for instant queries. */
  appendStaleMarker(labels: Labels | Record<string, string>, tMs: number): AppendResult {
    return this.appendInternal(labels, tMs, NaN, true);
  }

  /** Writes stale markers at tMs for every live series among `labels` that is not already stale. */
  markStale(labels: Iterable<Labels | Record<string, string>>, tMs: number): number {
    let n = 0;
    for (const l of labels) {
      const s = this.index.get(canonicalLabels(l));
      if (s !== undefined && !s.isStale() && this.appendTo(s, tMs, NaN, true) === 'ok') n++;
    }
    return n;
  }

  /**
   * The series for a label set, created when new; null when the series limit refuses it.
   * Collectors keep the returned reference and append through appendRef, which skips
   * canonicalizing and hashing the labels on every sample.
   */
  ref(labels: Labels | Record<string, string>): SeriesRef | null {
    const canonical = canonicalLabels(labels);
    return this.index.get(canonical) ?? this.createChecked(canonical);
  }

  /** Appends through a reference from ref(); a reference to a series dropped by retention is revived. */
  appendRef(ref: SeriesRef, tMs: number, value: number): AppendResult {
    return this.appendTo(this.revive(ref), tMs, value, false);
  }

  appendStaleMarkerRef(ref: SeriesRef, tMs: number): AppendResult {
    if (ref.isStale() || ref.length === 0) return 'ok';
    return this.appendTo(this.revive(ref), tMs, NaN, true);
  }

  private revive(ref: SeriesRef): MemSeries {
    const s = ref as MemSeries;
    if (!s.dead) return s;
    return this.index.get(s.labels) ?? this.createChecked(s.labels) ?? s;
  }

  private createChecked(labels: Labels): MemSeries | null {
    if (this.index.size >= this.maxSeries) {
      this.limitRejections++;
      const now = Date.now();
      if (now - this.lastLimitLog >= 60_000) {
        this.lastLimitLog = now;
        this.log.warn({ maxSeries: this.maxSeries, rejected: this.limitRejections, series: formatLabels(labels) }, 'tsdb series limit reached; new series are dropped');
      }
      return null;
    }
    return this.createSeries(labels);
  }

  private appendTo(s: MemSeries, tMs: number, value: number, stale: boolean): AppendResult {
    if (s.dead) return 'series_limit';
    const r = s.append(tMs, value, stale);
    if (r === 'ok') {
      this.replication?.op(stale ? OP_STALE : OP_APPEND, s.id, tMs, value);
      this.samples++;
      if (tMs > this.maxTimeSeen) {
        this.maxTimeSeen = tMs;
        if (this.autoRetention && tMs - this.lastRetentionT >= this.retentionEveryMs) {
          this.lastRetentionT = tMs;
          this.applyRetention(tMs);
        }
      }
    } else if (r === 'out_of_order') this.outOfOrder++;
    return r;
  }

  private appendInternal(input: Labels | Record<string, string>, tMs: number, value: number, stale: boolean): AppendResult {
    const labels = canonicalLabels(input);
    let s: MemSeries | null | undefined = this.index.get(labels);
    if (s === undefined) {
      if (stale) return 'ok';
      s = this.createChecked(labels);
      if (s === null) return 'series_limit';
    }
    return this.appendTo(s, tMs, value, stale);
  }

  private createSeries(input: Labels): MemSeries {
    const labels = this.internLabels(input);
    const s = new MemSeries(this.nextId++, labels, this.pool);
    this.replication?.series(s.id, labels);
    this.seriesSetChanged(labels);
    this.index.add(s);
    this.settler.created1();
    for (const name in labels) {
      let values = this.postings.get(name);
      if (values === undefined) this.postings.set(name, (values = new Map()));
      const value = labels[name]!;
      const list = values.get(value);
      if (list === undefined) values.set(value, [s]);
      else list.push(s);
    }
    return s;
  }

  private deleteSeries(s: MemSeries): void {
    this.seriesSetChanged(s.labels);
    this.index.delete(s);
    s.dead = true;
    s.release();
    this.deletedSincePostingsCompaction++;
  }

  /**
   * The label set on interned values. Strings cannot be compared by identity, so the set is
   * rebuilt whenever one of its values was seen before (once per new series).
   */
  private internLabels(input: Labels): Labels {
    let seen = false;
    for (const name in input) {
      const v = input[name]!;
      if (this.interned.has(v)) seen = true;
      else this.interned.set(v, v);
    }
    if (!seen) return input;
    const rec: Record<string, string> = {};
    for (const name in input) rec[name] = this.interned.get(input[name]!)!;
    return labelsFromRecord(rec);
  }

  /** Removes deleted series from the postings lists (in one pass, after a retention run). */
  private compactPostings(): void {
    if (this.deletedSincePostingsCompaction === 0) return;
    for (const [name, values] of this.postings) {
      for (const [value, list] of values) {
        if (!list.some((x) => x.dead)) continue;
        const kept = list.filter((x) => !x.dead);
        if (kept.length === 0) values.delete(value);
        else values.set(value, kept);
      }
      if (values.size === 0) this.postings.delete(name);
    }
    this.deletedSincePostingsCompaction = 0;
    this.interned = new Map();
    for (const values of this.postings.values()) for (const v of values.keys()) this.interned.set(v, v);
  }

  /** Drops samples older than `nowMs - retentionMs`, and series left empty. Returns samples dropped. */
  applyRetention(nowMs: number = this.maxTimeSeen): number {
    if (!Number.isFinite(nowMs)) return 0;
    this.replication?.op(OP_RETENTION, 0, nowMs, 0);
    const minT = nowMs - this.retentionMs;
    if (minT > this.minValidT) this.minValidT = minT;
    let dropped = 0;
    for (const s of [...this.index.values()]) {
      dropped += s.truncateBefore(minT);
      if (s.length === 0) this.deleteSeries(s);
    }
    this.compactPostings();
    this.samples -= dropped;
    return dropped;
  }

  /** Removes every series and sample. */
  clear(): void {
    this.replication?.op(OP_CLEAR, 0, 0, 0);
    this.generation++;
    this.nameGeneration.clear();
    this.selectCache.clear();
    this.cachedRefs = 0;
    for (const s of this.index.values()) s.dead = true;
    this.index.clear();
    this.pool = new ChunkPool();
    this.postings.clear();
    this.interned.clear();
    this.deletedSincePostingsCompaction = 0;
    this.samples = 0;
    this.maxTimeSeen = -Infinity;
    this.minValidT = -Infinity;
    this.lastRetentionT = -Infinity;
  }

  /**
   * Series matching all matchers, sorted by labels. Results are cached per matcher set
   * until a series is created or deleted, because rule groups run the same selectors
   * again and again over an unchanged set of series.
   */
  private matchingSeries(matchers: readonly LabelMatcher[]): MemSeries[] {
    return this.matchingEntry(matchers).series;
  }

  private matchingEntry(matchers: readonly LabelMatcher[]): CachedSelection {
    let sig = '';
    let name: string | null = null;
    for (const m of matchers) {
      sig += m.name + '\u0000' + m.type + '\u0000' + m.value + '\u0000';
      // `__name__=""` selects the series without a name: keyed on every change, as no name is.
      if (m.name === METRIC_NAME && m.type === '=' && m.value !== '') name = m.value;
    }
    const hit = this.selectCache.get(sig);
    if (hit !== undefined) {
      const changedAt = hit.name === null ? this.generation : this.nameGeneration.get(hit.name) ?? 0;
      if (changedAt <= hit.generation) return hit;
      this.selectCache.delete(sig);
      this.cachedRefs -= hit.series.length;
    }
    const found = this.computeMatchingSeries(matchers);
    // Bound the cache by the references it holds (a wide selector can match every series).
    if (this.selectCache.size >= 1000 || this.cachedRefs + found.length > SELECT_CACHE_MAX_REFS) {
      this.selectCache.clear();
      this.cachedRefs = 0;
    }
    const entry: CachedSelection = { series: found, name, generation: this.generation, windowMs: NaN, samples: 0 };
    this.selectCache.set(sig, entry);
    this.cachedRefs += found.length;
    return entry;
  }

  /** A series was created or deleted: selections of its metric name, and those of no fixed name, are stale. */
  private seriesSetChanged(labels: Labels): void {
    this.generation++;
    const name = labels[METRIC_NAME];
    if (name !== undefined) this.nameGeneration.set(name, this.generation);
  }

  private computeMatchingSeries(matchers: readonly LabelMatcher[]): MemSeries[] {
    let candidates: MemSeries[] | null = null;
    const filters: LabelMatcher[] = [];
    for (const m of matchers) {
      if (m.matches('')) {
        filters.push(m);
        continue;
      }
      const values = this.postings.get(m.name);
      if (values === undefined) return [];
      let list: MemSeries[];
      if (m.type === '=') list = values.get(m.value) ?? [];
      else {
        const parts: MemSeries[][] = [];
        for (const [v, l] of values) if (m.matches(v)) parts.push(l);
        list = parts.length === 1 ? parts[0]! : parts.flat().sort((a, b) => a.id - b.id);
      }
      candidates = candidates === null ? list : intersectById(candidates, list);
      if (candidates.length === 0) return [];
    }
    const out: MemSeries[] = [];
    const pool: Iterable<MemSeries> = candidates ?? this.index.values();
    outer: for (const s of pool) {
      for (const f of filters) if (!f.matches(s.labels[f.name] ?? '')) continue outer;
      out.push(s);
    }
    out.sort((a, b) => compareLabelSets(a.labels, b.labels));
    return out;
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesSamples[] {
    if (minT < this.minValidT) minT = this.minValidT;
    const series = this.matchingSeries(matchers);
    const out: SeriesSamples[] = new Array(series.length);
    for (let i = 0; i < series.length; i++) out[i] = series[i]!.window(minT, maxT);
    return out;
  }

  selectColumns(matchers: readonly LabelMatcher[], minT: number, maxT: number, latestOnly: boolean, transient = false): SeriesColumns {
    if (minT < this.minValidT) minT = this.minValidT;
    const entry = this.matchingEntry(matchers);
    const series = entry.series;
    const n = series.length;
    // Latest: at most one sample each. A window: as many as the last window of this length over
    // these series held (rules repeat their selections), plus some slack; else 8 each. The
    // columns double when full, which leaves garbage the size of what they held.
    const windowMs = maxT - minT;
    const capacity = latestOnly ? n : entry.windowMs === windowMs ? entry.samples + (entry.samples >> 4) + 16 : n * 8;
    let sink: ColumnSink;
    let offsets: Int32Array;
    if (transient && capacity <= SCRATCH_MAX_SAMPLES) {
      // Reused from one transient selection to the next: a rule pack's selections leave no
      // column garbage (typed-array memory outside the heap, freed only when GC finds it).
      sink = this.scratch ??= new ColumnSink(capacity);
      sink.reset(capacity);
      if (this.scratchOffsets.length < n + 1) this.scratchOffsets = new Int32Array(n + 1);
      offsets = this.scratchOffsets;
    } else {
      sink = new ColumnSink(capacity);
      offsets = new Int32Array(n + 1);
    }
    for (let i = 0; i < n; i++) {
      if (latestOnly) series[i]!.latestInto(minT, maxT, sink);
      else series[i]!.decodeRange(minT, maxT, sink);
      offsets[i + 1] = sink.length;
    }
    if (!latestOnly) {
      entry.windowMs = windowMs;
      entry.samples = sink.length;
    }
    // A scratch sink that had to grow past the bound is not kept.
    if (sink === this.scratch && sink.t.length > SCRATCH_MAX_SAMPLES) this.scratch = null;
    return { series, offsets, t: sink.t, v: sink.v, stale: sink.stale };
  }

  selectLatest(matchers: readonly LabelMatcher[], minT: number, maxT: number): SeriesSamples[] {
    if (minT < this.minValidT) minT = this.minValidT;
    const series = this.matchingSeries(matchers);
    const out: SeriesSamples[] = new Array(series.length);
    for (let i = 0; i < series.length; i++) out[i] = series[i]!.latest(minT, maxT);
    return out;
  }

  /** Label sets of the series matching the matchers (all series when empty) with a sample in [minT, maxT]. */
  series(matchers: readonly LabelMatcher[], minT = -Infinity, maxT = Infinity): Labels[] {
    const out: Labels[] = [];
    if (minT < this.minValidT) minT = this.minValidT;
    for (const s of this.matchingSeries(matchers)) {
      if (minT === -Infinity && maxT === Infinity) out.push(s.labels);
      else if (s.hasSampleIn(minT, maxT)) out.push(s.labels);
    }
    return out;
  }

  /** Sorted label names, optionally only of series matching the matchers. */
  labelNames(matchers: readonly LabelMatcher[] = []): string[] {
    if (matchers.length === 0) return [...this.postings.keys()].sort();
    const names = new Set<string>();
    for (const s of this.matchingSeries(matchers)) for (const n in s.labels) names.add(n);
    return [...names].sort();
  }

  /** Sorted values of one label, optionally only of series matching the matchers. */
  labelValues(name: string, matchers: readonly LabelMatcher[] = []): string[] {
    if (matchers.length === 0) return [...(this.postings.get(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const s of this.matchingSeries(matchers)) {
      const v = s.labels[name];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }

  /**
   * Starts (or restarts) recording for a replica: returns the log to drain, and a snapshot
   * of everything held now, which a fresh replica applies before the log's batches.
   */
  startReplication(): { log: ReplicationLog; snapshot: ReplicaBatch } {
    const log = new ReplicationLog();
    for (const s of this.index.values()) {
      log.series(s.id, s.labels);
      const w = s.window(-Infinity, Infinity);
      for (let i = 0; i < w.t.length; i++) log.op(w.stale !== null && w.stale[i] === 1 ? OP_STALE : OP_APPEND, s.id, w.t[i]!, w.v[i]!);
    }
    const snapshot = log.drain() ?? { newSeries: [], ops: new Float64Array(0), n: 0 };
    this.replication = log;
    return { log, snapshot };
  }

  stopReplication(): void {
    this.replication = null;
  }

  /** Replica side (replication.ts): the series for labels, past the series limit (the primary enforced it). */
  replicaSeries(labels: Labels): unknown {
    const canonical = canonicalLabels(labels);
    return this.index.get(canonical) ?? this.createSeries(canonical);
  }

  replicaAppend(series: unknown, t: number, v: number, stale: boolean): void {
    this.appendTo(this.revive(series as MemSeries), t, v, stale);
  }

  replicaDead(series: unknown): boolean {
    return (series as MemSeries).dead;
  }

  /** Registers the store's gauges and counters (flowpilot_tsdb_*) in a prom-client registry. */
  registerMetrics(registry: Registry): void {
    const self = this;
    new Gauge({ name: 'flowpilot_tsdb_series', help: 'Live series in the in-memory store.', registers: [registry], collect() { this.set(self.index.size); } });
    new Gauge({ name: 'flowpilot_tsdb_samples', help: 'Samples held in the in-memory store.', registers: [registry], collect() { this.set(self.samples); } });
    new Gauge({ name: 'flowpilot_tsdb_series_limit', help: 'Configured maximum number of series.', registers: [registry], collect() { this.set(self.maxSeries); } });
    const counter = (name: string, help: string, read: () => number): unknown => new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
    counter('flowpilot_tsdb_series_limit_rejections_total', 'Samples of new series dropped because the series limit was reached.', () => self.limitRejections);
    counter('flowpilot_tsdb_out_of_order_samples_total', 'Samples dropped because they were older than the newest sample of their series.', () => self.outOfOrder);
    counter('flowpilot_tsdb_settle_gcs_total', 'Major GCs asked for after bursts of new series (one per settleAfterSeries created).', () => self.settler.settles);
  }
}

/** A cached selection: valid while no series of `name` (or, when null, no series at all) was created or deleted after `generation`. */
interface CachedSelection {
  readonly series: MemSeries[];
  readonly name: string | null;
  readonly generation: number;
  /** Length (maxT - minT) of the last window selectColumns decoded for these series, and how many samples it held. */
  windowMs: number;
  samples: number;
}

/** A stored series, as handed out by MemoryStorage.ref(). */
export type SeriesRef = Pick<MemSeries, 'id' | 'labels' | 'length' | 'isStale' | 'sampleBytes'>;
