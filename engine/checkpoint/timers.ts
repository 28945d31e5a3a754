/**
 * The clock and timers the checkpoint coordinator and restart logic run on. Production uses
 * the real ones; `ManualTimers` is a deterministic clock for tests and simulations: time moves
 * only when `advance` is called, and due callbacks run in due-time order.
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Scheduled {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualTimers implements Timers {
  private t: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const s = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.queue.push(s);
    return s.id;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((s) => s.id !== handle);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.queue.length;
  }

  /** Time of the next timer, or null. */
  nextAt(): number | null {
    return this.queue.length ? Math.min(...this.queue.map((s) => s.at)) : null;
  }

  /** Moves time forward by `ms`, running every timer that falls due (including ones they schedule). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.queue.filter((s) => s.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.queue = this.queue.filter((s) => s !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}
