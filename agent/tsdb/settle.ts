/**
 * A major GC after a burst of series creation. Creating a series allocates several kB that die
 * soon after (the scraper's merged and canonicalized label sets, the store's interned copy, the
 * index and postings growing): at 100k new series (an agent's first scrape round of a large job)
 * that is hundreds of MB, much of it promoted before it dies, and V8's first mark-compact may come
 * only minutes later. The process's RSS keeps that high-water mark. Collecting once per
 * `everySeries` creations bounds the garbage of a burst; in the steady state (no new series) it
 * never runs.
 *
 * The collection is V8's own, asked for asynchronously (`gc({ type: 'major', execution: 'async' })`
 * runs it as a task, not inside the caller). `gc` is exposed at run time through
 * `v8.setFlagsFromString('--expose-gc')` when the process was not started with it; where that is
 * refused, settling is off.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** MemoryStorage's default: a collection per 10,000 series created (about 45 MB of their garbage at ~4.5 kB each). */
export const DEFAULT_SETTLE_AFTER_SERIES = 10_000;

export type GcFn = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

let gcFn: GcFn | null | undefined;

function exposedGc(): GcFn | null {
  if (gcFn !== undefined) return gcFn;
  try {
    const own = (globalThis as { gc?: GcFn }).gc;
    if (typeof own === 'function') gcFn = own;
    else {
      setFlagsFromString('--expose-gc');
      const g = runInNewContext('gc') as unknown;
      gcFn = typeof g === 'function' ? (g as GcFn) : null;
    }
  } catch {
    gcFn = null;
  }
  return gcFn;
}

export class CreationSettler {
  private created = 0;
  private inFlight = false;
  /** Collections asked for so far (metrics, tests). */
  settles = 0;

  private readonly everySeries: number;
  private readonly gc: () => GcFn | null;

  /** everySeries <= 0 turns settling off; `gc` finds the collector (tests pass their own). */
  constructor(everySeries: number, gc: () => GcFn | null = exposedGc) {
    this.everySeries = everySeries;
    this.gc = gc;
  }

  /** One series was created. */
  created1(): void {
    if (this.everySeries <= 0 || ++this.created < this.everySeries || this.inFlight) return;
    const gc = this.gc();
    if (gc === null) return;
    this.created = 0;
    this.settles++;
    this.inFlight = true;
    let done: unknown;
    try {
      done = gc({ type: 'major', execution: 'async' });
    } catch {
      this.inFlight = false;
      return;
    }
    // the promise (from the gc's own context) settles when the collection ran
    if (done !== null && typeof done === 'object' && typeof (done as { then?: unknown }).then === 'function') {
      (done as PromiseLike<unknown>).then(() => { this.inFlight = false; }, () => { this.inFlight = false; });
    } else this.inFlight = false;
  }
}
