/**
 * The scrape loop, Prometheus's way. Each target is scraped on its own interval; every sample
 * gets the target's labels (honor_labels semantics, target.ts) and the scrape's start time unless
 * it carries its own timestamp. After each attempt the loop records `up`, `scrape_duration_seconds`,
 * `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling` and `scrape_series_added` with
 * the target labels, at the scrape's start time, exactly as Prometheus does.
 *
 * Staleness: a series seen in the previous successful scrape but not in this one gets a stale
 * marker; a failed scrape marks every series of the last good scrape stale; a target that leaves
 * the pool marks its series and its report series stale. Series with explicit timestamps are not
 * tracked (Prometheus's default, track_timestamps_staleness: false).
 *
 * Unlike Prometheus, a failing target is retried with exponential backoff (interval × 2^(n−1),
 * capped at maxBackoffMs; a maxBackoffMs at or below the interval retries at every tick, as
 * Prometheus does, which the Flink REST collector's target uses). Ticks skipped while backing
 * off still record `up` 0 (with zero duration and counts), so `up` stays a continuous series
 * and `up == 0` alerts behave alike. A scrape that overruns its interval (a timeout above the
 * interval) skips the ticks it overlapped; they are not replayed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { labelsFromRecord, labelsHash, sameLabels, type Labels, type SeriesRef } from '../tsdb/index.ts';
import { ScrapeSlots } from './scrape-slots.ts';
import { MAX_AHEAD_MS, Staged, type StagedBuffers } from './staged.ts';
import { mergeTargetLabels, mergesTo, targetKey, type ScrapeTarget, type SourceResult } from './target.ts';
import { KNOWN_SERIES, type FamilyMetadata, type ParsedSample } from './prometheus-text.ts';

/**
 * The part of the tsdb the scraper writes to (MemoryStorage implements it). Scraped series are
 * appended through references (`ref`), so the store's label set is the only one kept per series.
 */
export interface SampleAppender {
  append(labels: Labels, tMs: number, value: number): unknown;
  appendStaleMarker(labels: Labels, tMs: number): unknown;
  /** The stored series for a label set (created when new), or null when the series limit refuses it. */
  ref(labels: Labels): SeriesRef | null;
  appendRef(ref: SeriesRef, tMs: number, value: number): unknown;
  appendStaleMarkerRef(ref: SeriesRef, tMs: number): unknown;
}

export type TargetHealthState = 'up' | 'down' | 'unknown';

/** Per-target health, in the spirit of Prometheus's /api/v1/targets. */
export interface TargetHealth {
  pool: string;
  labels: Record<string, string>;
  scrapeUrl: string;
  health: TargetHealthState;
  lastError: string;
  /** ms since the epoch of the last attempt's start, or null before the first. */
  lastScrape: number | null;
  lastScrapeDurationSeconds: number;
  lastSamples: number;
  consecutiveFailures: number;
  /** ms since the epoch; attempts are skipped before this while backing off. */
  nextAttemptAt: number;
  intervalMs: number;
  timeoutMs: number;
}

export interface ScrapeMetrics {
  parseErrors: Counter<'job'>;
  outOfBounds: Counter<'job'>;
  failures: Counter<'job'>;
  duration: Histogram<'job'>;
}

export function createScrapeMetrics(registry?: Registry, healthOf?: () => TargetHealth[]): ScrapeMetrics {
  const registers = registry ? [registry] : [];
  if (registry && healthOf) {
    new Gauge({
      name: 'flowpilot_scrape_targets',
      help: 'Scrape targets by job and health (up, down, unknown).',
      labelNames: ['job', 'health'],
      registers,
      collect() {
        this.reset();
        for (const t of healthOf()) this.inc({ job: t.labels.job ?? '', health: t.health });
      },
    });
  }
  return {
    parseErrors: new Counter({ name: 'flowpilot_scrape_parse_errors_total', help: 'Exposition lines or values that could not be parsed and were skipped.', labelNames: ['job'], registers }),
    outOfBounds: new Counter({ name: 'flowpilot_scrape_samples_out_of_bounds_total', help: 'Scraped samples refused for a timestamp more than 10 minutes ahead of the scrape (Prometheus: prometheus_target_scrapes_sample_out_of_bounds_total).', labelNames: ['job'], registers }),
    failures: new Counter({ name: 'flowpilot_scrape_failures_total', help: 'Scrape attempts that failed (connection, timeout, HTTP status).', labelNames: ['job'], registers }),
    duration: new Histogram({
      name: 'flowpilot_scrape_duration_seconds',
      help: 'Duration of scrape attempts.',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}

export interface ScrapeLoopOptions {
  pool: string;
  appender: SampleAppender;
  metrics: ScrapeMetrics;
  logger?: Logger;
  /** Wall clock in ms; injectable for tests. */
  now?: () => number;
  /** Called after every successful scrape with what was appended (used by the Flink collector). */
  onScraped?: (startMs: number) => void;
  /** Shared bound on scrapes in flight at once (ScrapeManager gives every loop the same one). */
  slots?: ScrapeSlots;
}


const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

export class ScrapeLoop {
  readonly target: ScrapeTarget;
  readonly key: string;
  private readonly opts: ScrapeLoopOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly job: string;
  private readonly reportLabels: Labels[];
  /**
   * The scrape cache: the hash of a series text (or, for sources without text, of the final
   * labels) → the stored series. Texts themselves are not kept (about 400 bytes each at Flink's
   * label sets); the parser's 53-bit hash plus 32 check bits stand for them. It holds exactly
   * the series of the last successful scrape; `gen` says when an entry was last seen, so no
   * per-scrape maps are built. `seriesRefs` counts staleness-tracked entries per stored series
   * (two texts can name one series), so a marker is written only when the last of them is gone.
   */
  private cache = new Map<number, CacheEntry>();
  private seriesRefs = new Map<object, number>();
  private gen = 0;
  /** Entry by sample position in the last good scrape: most lines repeat in place. */
  private order: Array<CacheEntry | undefined> = [];
  private spare: StagedBuffers<CacheEntry> | null = null; // the arrays of the scrape before the last, reused (staged.ts)
  private readonly isKnown = (_series: string, ordinal: number, hash: number, check: number): boolean => this.lookup(ordinal, hash, check, null) !== undefined;
  private timer: NodeJS.Timeout | null = null;
  private readonly stopController = new AbortController();
  private running: Promise<void> | null = null;
  private state: TargetHealth;
  /** Metric families of the last successful scrape, as the target described them. */
  private families: ReadonlyMap<string, FamilyMetadata> = new Map();

  constructor(target: ScrapeTarget, opts: ScrapeLoopOptions) {
    this.target = target;
    this.key = targetKey(target);
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger()).child({ target: target.source.url, job: target.labels.job });
    this.now = opts.now ?? Date.now;
    this.job = target.labels.job ?? '';
    this.reportLabels = REPORT_NAMES.map((n) => labelsFromRecord({ ...target.labels, __name__: n }));
    this.state = {
      pool: opts.pool,
      labels: { ...target.labels },
      scrapeUrl: target.source.url,
      health: 'unknown',
      lastError: '',
      lastScrape: null,
      lastScrapeDurationSeconds: 0,
      lastSamples: 0,
      consecutiveFailures: 0,
      nextAttemptAt: 0,
      intervalMs: target.intervalMs,
      timeoutMs: target.timeoutMs,
    };
  }

  health(): TargetHealth {
    return { ...this.state, labels: { ...this.state.labels } };
  }

  /** `# TYPE` and `# HELP` of each family of the last successful scrape. */
  metadata(): ReadonlyMap<string, FamilyMetadata> {
    return this.families;
  }

  /**
   * Where in each interval this target is scraped (ms after a multiple of the interval): a
   * stable hash of the target, as Prometheus spreads its targets, so a pool's scrapes (and the
   * memory their bodies and parsed samples take) do not all land in the same instant.
   */
  get offsetMs(): number {
    return scrapeOffset(this.key, this.target.intervalMs);
  }

  /**
   * Starts scraping at the target's next offset in the interval (at most one interval from now)
   * and then every interval; missed ticks are skipped, not replayed.
   */
  start(): void {
    const now0 = this.now();
    const interval = this.target.intervalMs;
    const wait = (((this.offsetMs - (now0 % interval)) % interval) + interval) % interval;
    const first = now0 + wait;
    const tick = (): void => {
      if (this.stopController.signal.aborted) return;
      this.running = this.scrapeOnce().finally(() => {
        this.running = null;
        if (this.stopController.signal.aborted) return;
        const now = this.now();
        const elapsed = now - first;
        const next = first + (Math.floor(elapsed / this.target.intervalMs) + 1) * this.target.intervalMs;
        this.timer = setTimeout(tick, Math.max(0, next - now));
      });
    };
    if (wait === 0) tick();
    else this.timer = setTimeout(tick, wait);
  }

  /** Stops the loop. With `markStale`, writes stale markers for all of the target's series now. */
  async stop(markStale: boolean): Promise<void> {
    this.stopController.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    if (markStale) {
      const t = this.now();
      this.markAllStale(t);
      for (const labels of this.reportLabels) this.opts.appender.appendStaleMarker(labels, t);
    }
    this.cache.clear();
    this.seriesRefs.clear();
    this.order = [];
  }

  /** Stale markers for every tracked series of the last good scrape; empties the cache. */
  private markAllStale(t: number): void {
    const done = new Set<object>();
    for (const first of this.cache.values()) {
      for (let e: CacheEntry | null = first; e !== null; e = e.next) {
        if (!e.tracked || e.ref === null || done.has(e.ref)) continue;
        done.add(e.ref);
        this.opts.appender.appendStaleMarkerRef(e.ref, t);
      }
    }
    this.cache = new Map();
    this.seriesRefs = new Map();
    this.order = [];
  }

  /**
   * The cache entry for a series text's hash (or, with `labels`, for a label set's hash): first
   * the entry at the same position of the last scrape, then the map.
   */
  private lookup(ordinal: number, hash: number, check: number, labels: Labels | null): CacheEntry | undefined {
    const at = this.order[ordinal];
    if (at !== undefined && at.hash === hash && at.check === check && (labels === null || sameLabels(entryLabels(at), labels))) return at;
    for (let e = this.cache.get(hash) ?? null; e !== null; e = e.next) {
      if (e.check === check && (labels === null || sameLabels(entryLabels(e), labels))) return e;
    }
    return undefined;
  }

  private insert(entry: CacheEntry): void {
    const first = this.cache.get(entry.hash);
    if (first !== undefined) entry.next = first;
    this.cache.set(entry.hash, entry);
  }

  /** Removes an entry from its hash chain. */
  private remove(entry: CacheEntry): void {
    const first = this.cache.get(entry.hash);
    if (first === entry) {
      if (entry.next === null) this.cache.delete(entry.hash);
      else this.cache.set(entry.hash, entry.next);
      return;
    }
    for (let e = first ?? null; e !== null; e = e.next) {
      if (e.next === entry) {
        e.next = entry.next;
        return;
      }
    }
  }

  /** One tick: an attempt, or, while backing off, an `up` 0 report without a request. */
  async scrapeOnce(): Promise<void> {
    const start = this.now();
    if (start < this.state.nextAttemptAt) {
      this.report(start, 0, 0, 0, 0);
      return;
    }
    let release: (() => void) | null = null;
    if (this.opts.slots) {
      try {
        release = await this.opts.slots.acquire(this.stopController.signal);
      } catch {
        return; // stopped while waiting for a slot
      }
    }
    try {
      // The sample time is when the request goes out, after any wait for a slot.
      await this.attempt(release === null ? start : this.now());
    } finally {
      release?.();
    }
  }

  /**
   * One request. A streaming source hands its samples over while the body arrives; each is
   * resolved to its stored series at once (the scrape cache, new series created), but the
   * samples are appended only when the whole body is in, in one synchronous pass, so a rule
   * evaluation never sees half a scrape (Prometheus commits a scrape's appender at its end).
   * The duration covers request, parse and ingest, as Prometheus's scrape_duration_seconds does.
   */
  private async attempt(start: number): Promise<void> {
    const t0 = performance.now();
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.stopController.signal.reason);
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => controller.abort(new Error(`context deadline exceeded (scrape timeout ${this.target.timeoutMs} ms)`)), this.target.timeoutMs);
    const staged = new Staged<CacheEntry>(++this.gen, start, this.spare);
    this.spare = null;
    const onBatch = (batch: ParsedSample[]): void => {
      for (const s of batch) this.stage(s, staged);
    };
    let result;
    try {
      result = await this.target.source.fetch(controller.signal, this.isKnown, onBatch);
    } catch (err) {
      const reason = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : err;
      this.spare = staged.buffers(staged.order);
      this.fail(start, (performance.now() - t0) / 1000, errorMessage(reason));
      return;
    } finally {
      clearTimeout(timer);
      this.stopController.signal.removeEventListener('abort', onStop);
    }
    if (this.stopController.signal.aborted) return;
    this.succeed(t0, result, staged, onBatch);
  }

  /**
   * Resolves one scraped sample (position `staged.n` of this scrape) to its cache entry and
   * stored series, and stages its value; counts it in `staged.added` when it starts a new series
   * for this target.
   */
  private stage(s: ParsedSample, staged: Staged<CacheEntry>): void {
    const { appender } = this.opts;
    const { gen } = staged;
    const i = staged.n++;
    staged.order[i] = undefined; // the array is reused: no entry from an older scrape at i
    let entry: CacheEntry | undefined;
    let merged: Labels | null = null;
    let hash: number;
    let check: number;
    if (s.seriesHash !== undefined) {
      hash = s.seriesHash;
      check = s.seriesCheck!;
      entry = this.lookup(i, hash, check, null);
    } else {
      // A source without series text (the Flink REST collector): key on the final labels. The
      // series at the same position of the last scrape is checked first against the scraped
      // labels themselves (the usual case: a collection yields its series in the same order),
      // without building the final label set, sorting it and hashing it for every sample.
      const at = this.order[i];
      if (at !== undefined && at.check === 0 && mergesTo(s.labels, this.target.labels, entryLabels(at))) {
        entry = at;
        hash = at.hash;
      } else {
        merged = labelsFromRecord(mergeTargetLabels(s.labels, this.target.labels, this.target.honorLabels));
        hash = labelsHash(merged);
        entry = this.lookup(i, hash, 0, merged);
      }
      check = 0;
    }
    if (entry === undefined) {
      if (s.labels === KNOWN_SERIES) return;
      merged ??= labelsFromRecord(mergeTargetLabels(s.labels, this.target.labels, this.target.honorLabels));
      if (s.timestampMs !== undefined && s.timestampMs > staged.start + MAX_AHEAD_MS) {
        staged.refuse(merged, s.timestampMs); // before the series is created, as Prometheus's appender refuses it
        return;
      }
      const ref = appender.ref(merged);
      entry = { hash, check, ref, labels: ref === null ? merged : null, gen: -1, tracked: false, next: null };
      if (ref !== null) {
        // Another spelling of a series this target already has is not a new series.
        const refs = this.seriesRefs.get(ref) ?? 0;
        if (refs > 0) entry.gen = gen - 1;
      }
      this.insert(entry);
    } else if (entry.ref === null) this.retryRef(entry);
    staged.order[i] = entry;
    const ref = entry.ref;
    if (s.timestampMs === undefined) {
      if (!entry.tracked && ref !== null) {
        entry.tracked = true;
        this.seriesRefs.set(ref, (this.seriesRefs.get(ref) ?? 0) + 1);
      }
      if (entry.gen < gen - 1) staged.added++;
      entry.gen = gen;
      if (ref !== null) staged.push(ref, staged.start, s.value);
      return;
    }
    entry.gen = gen;
    if (s.timestampMs > staged.start + MAX_AHEAD_MS) {
      staged.refuse(ref?.labels ?? merged ?? entry.labels ?? labelsFromRecord({}), s.timestampMs);
      return;
    }
    if (ref !== null) staged.push(ref, s.timestampMs, s.value);
  }

  private succeed(t0: number, result: SourceResult, staged: Staged<CacheEntry>, onBatch: (batch: ParsedSample[]) => void): void {
    const { gen, start } = staged;
    let { parseErrors, firstParseError } = result;
    let summary = result.streamed;
    if (summary === undefined && result.parse !== undefined) summary = result.parse(onBatch);
    else if (summary === undefined) onBatch(result.samples);
    if (summary !== undefined) {
      ({ parseErrors, firstParseError } = summary);
      if (summary.metadata !== undefined) this.families = summary.metadata;
    }
    const samplesLength = summary?.samples ?? result.samples.length;
    staged.commit(this.opts.appender);
    const previous = this.order;
    this.order = staged.order;
    if (this.order.length > staged.n) this.order.length = staged.n;
    this.spare = staged.buffers(previous);
    for (const first of this.cache.values()) {
      for (let e: CacheEntry | null = first; e !== null; e = e.next) {
        if (e.gen === gen) continue;
        this.remove(e);
        if (!e.tracked || e.ref === null) continue;
        const left = (this.seriesRefs.get(e.ref) ?? 1) - 1;
        if (left > 0) this.seriesRefs.set(e.ref, left);
        else {
          this.seriesRefs.delete(e.ref);
          this.opts.appender.appendStaleMarkerRef(e.ref, start);
        }
      }
    }
    const durationS = (performance.now() - t0) / 1000;
    if (parseErrors > 0) {
      this.opts.metrics.parseErrors.inc({ job: this.job }, parseErrors);
      this.log.warn({ parseErrors, first: firstParseError }, 'skipped malformed exposition lines');
    }
    const refused = staged.refusedMessage();
    if (refused !== '') {
      this.opts.metrics.outOfBounds.inc({ job: this.job }, staged.outOfBounds);
      this.log.warn({ outOfBounds: staged.outOfBounds }, refused);
    }
    this.opts.metrics.duration.observe({ job: this.job }, durationS);
    if (this.state.consecutiveFailures > 0) this.log.info({ after: this.state.consecutiveFailures }, 'target is back up');
    Object.assign(this.state, {
      health: 'up',
      lastError: [parseErrors > 0 ? `skipped ${parseErrors} malformed line(s); ${firstParseError ?? ''}` : '', refused].filter((x) => x !== '').join('; '),
      lastScrape: start,
      lastScrapeDurationSeconds: durationS,
      lastSamples: samplesLength,
      consecutiveFailures: 0,
      nextAttemptAt: 0,
    });
    this.report(start, 1, durationS, samplesLength, staged.added);
    this.opts.onScraped?.(start);
  }

  /** A series the store refused (series limit) is asked for again on every scrape that has it. */
  private retryRef(entry: CacheEntry): void {
    const ref = this.opts.appender.ref(entry.labels!);
    if (ref === null) return;
    entry.ref = ref;
    entry.labels = null;
  }

  private fail(start: number, durationS: number, message: string): void {
    this.markAllStale(start);
    const failures = this.state.consecutiveFailures + 1;
    const backoff = Math.min(this.target.intervalMs * 2 ** (failures - 1), Math.max(this.target.maxBackoffMs, this.target.intervalMs));
    this.opts.metrics.failures.inc({ job: this.job });
    this.opts.metrics.duration.observe({ job: this.job }, durationS);
    if (failures === 1 || failures % 10 === 0) this.log.warn({ err: message, failures, backoffMs: backoff }, 'scrape failed');
    Object.assign(this.state, {
      health: 'down',
      lastError: message,
      lastScrape: start,
      lastScrapeDurationSeconds: durationS,
      lastSamples: 0,
      consecutiveFailures: failures,
      nextAttemptAt: start + backoff,
    });
    this.report(start, 0, durationS, 0, 0);
  }

  private report(t: number, up: number, durationS: number, scraped: number, added: number): void {
    const values = [up, durationS, scraped, scraped, added];
    for (let i = 0; i < values.length; i++) this.opts.appender.append(this.reportLabels[i]!, t, values[i]!);
  }
}

/** A target's scrape offset within its interval: FNV-1a of its key, modulo the interval. */
export function scrapeOffset(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % Math.max(1, Math.floor(intervalMs));
}

interface CacheEntry {
  /** The series text's hash (53 bits) and check bits, or the final labels' hash and 0. */
  hash: number;
  check: number;
  /** The stored series; null while the store's series limit refuses it. */
  ref: SeriesRef | null;
  /** The final labels, kept only while `ref` is null (to retry). */
  labels: Labels | null;
  /** The scrape generation that last saw this series. */
  gen: number;
  /** Seen without an explicit timestamp, so staleness applies. */
  tracked: boolean;
  /** The next entry with the same hash (a chain, almost always empty). */
  next: CacheEntry | null;
}

function entryLabels(e: CacheEntry): Labels {
  return e.ref !== null ? e.ref.labels : e.labels!;
}

export interface ScrapeManagerOptions {
  appender: SampleAppender;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
  /** Scrapes in flight at once over every pool (default 32). */
  maxConcurrentScrapes?: number;
}

export { ScrapeSlots };

export const DEFAULT_MAX_CONCURRENT_SCRAPES = 32;

/**
 * Owns the scrape loops of every pool (a static list, a Kubernetes discovery, the Flink REST
 * collector). `sync` replaces a pool's target set: new targets start, vanished ones stop and
 * their series go stale, unchanged ones keep running with their state.
 */
export class ScrapeManager {
  private readonly pools = new Map<string, Map<string, ScrapeLoop>>();
  private readonly opts: ScrapeManagerOptions;
  readonly metrics: ScrapeMetrics;
  readonly slots: ScrapeSlots;

  constructor(opts: ScrapeManagerOptions) {
    this.opts = opts;
    this.slots = new ScrapeSlots(opts.maxConcurrentScrapes ?? DEFAULT_MAX_CONCURRENT_SCRAPES);
    this.metrics = createScrapeMetrics(opts.registry, () => this.targets());
  }

  async sync(pool: string, targets: ScrapeTarget[], onScraped?: (target: ScrapeTarget, startMs: number) => void): Promise<void> {
    const current = this.pools.get(pool) ?? new Map<string, ScrapeLoop>();
    const wanted = new Map(targets.map((t) => [targetKey(t), t]));
    const stops: Promise<void>[] = [];
    for (const [key, loop] of current) {
      if (!wanted.has(key)) {
        current.delete(key);
        stops.push(loop.stop(true));
      }
    }
    for (const [key, target] of wanted) {
      if (current.has(key)) continue;
      const loop = new ScrapeLoop(target, {
        pool,
        appender: this.opts.appender,
        metrics: this.metrics,
        slots: this.slots,
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
        ...(this.opts.now ? { now: this.opts.now } : {}),
        ...(onScraped ? { onScraped: (t: number) => onScraped(target, t) } : {}),
      });
      current.set(key, loop);
      loop.start();
    }
    this.pools.set(pool, current);
    await Promise.all(stops);
  }

  /** Every target's health with the metric families it described at its last successful scrape. */
  targetMetadata(): Array<{ target: TargetHealth; families: ReadonlyMap<string, FamilyMetadata> }> {
    const out: Array<{ target: TargetHealth; families: ReadonlyMap<string, FamilyMetadata> }> = [];
    for (const loops of this.pools.values()) for (const loop of loops.values()) out.push({ target: loop.health(), families: loop.metadata() });
    return out;
  }

  targets(): TargetHealth[] {
    const out: TargetHealth[] = [];
    for (const loops of this.pools.values()) for (const loop of loops.values()) out.push(loop.health());
    return out;
  }

  /** Null when every target has been attempted at least once, else a reason. */
  notReadyReason(): string | null {
    const pending = this.targets().filter((t) => t.lastScrape === null);
    return pending.length === 0 ? null : `${pending.length} target(s) not scraped yet`;
  }

  /** Stops every loop (no stale markers: the process is going away). */
  async stop(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const loops of this.pools.values()) for (const loop of loops.values()) stops.push(loop.stop(false));
    this.pools.clear();
    await Promise.all(stops);
  }
}
