/**
 * Flink's per-task time accounting and rate views. A task is always in exactly one of three
 * states: busy (processing, or awaiting an async processBatch), idle (no input) or
 * backpressured (blocked on output credit); an idle stretch of an I/O-bound task counts as busy
 * in proportion to its occupancy (see TaskTimer.setOccupancy). `TaskTimer` integrates time per state; `RateView`
 * turns any growing total into a per-second rate averaged over a window (Flink's MeterView and
 * TimerGauge: 60 s window, updated every 5 s), so busy + idle + backpressured ≈ 1000 ms/s.
 */
import { performance } from 'node:perf_hooks';

export const BUSY = 0;
export const IDLE = 1;
export const BACKPRESSURED = 2;
export type TaskTimeState = typeof BUSY | typeof IDLE | typeof BACKPRESSURED;

export class TaskTimer {
  private readonly accum = [0, 0, 0];
  state: TaskTimeState;
  private since: number;
  /** How full an I/O-bound task is while it waits for input (0..1); see setOccupancy. */
  private occupancy: (() => number) | null = null;
  private occupancyAtStart = 0;

  constructor(initial: TaskTimeState = IDLE) {
    this.state = initial;
    this.since = performance.now();
  }

  /**
   * An async operator keeps requests in flight while its task waits for input. That time is not
   * idle capacity: with `occupancy` = in-flight ÷ capacity, that share of every idle stretch counts
   * as busy (Little's law), so busy time follows the load smoothly instead of staying near 0 until
   * the operator saturates.
   */
  setOccupancy(read: () => number): void {
    this.occupancy = read;
    this.occupancyAtStart = this.readOccupancy();
  }

  switchTo(state: TaskTimeState): void {
    if (state === this.state) return;
    this.flush(performance.now());
    this.state = state;
  }

  /** Total ms spent in `state`, including the current stretch. */
  total(state: TaskTimeState): number {
    if (this.state === IDLE && this.occupancy) this.flush(performance.now());
    const base = this.accum[state]!;
    return state === this.state ? base + (performance.now() - this.since) : base;
  }

  private flush(now: number): void {
    const d = now - this.since;
    if (this.state === IDLE && this.occupancy) {
      const end = this.readOccupancy();
      const busyShare = (this.occupancyAtStart + end) / 2;
      this.accum[BUSY]! += d * busyShare;
      this.accum[IDLE]! += d * (1 - busyShare);
      this.occupancyAtStart = end;
    } else {
      this.accum[this.state]! += d;
    }
    this.since = now;
  }

  private readOccupancy(): number {
    const v = this.occupancy ? this.occupancy() : 0;
    return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  }
}

/** A per-second rate of a growing total, averaged over a sliding window of periodic samples. */
export class RateView {
  private readonly read: () => number;
  private readonly values: number[];
  private readonly times: number[];
  private readonly size: number;
  private count = 0;
  private pos = 0;

  /** `slots` = window / update interval; one more sample is kept so the window is complete. */
  constructor(read: () => number, slots: number) {
    this.read = read;
    this.size = Math.max(1, slots) + 1;
    this.values = new Array<number>(this.size).fill(0);
    this.times = new Array<number>(this.size).fill(0);
    this.update(performance.now());
  }

  update(now: number): void {
    this.values[this.pos] = this.read();
    this.times[this.pos] = now;
    this.pos = (this.pos + 1) % this.size;
    if (this.count < this.size) this.count++;
  }

  /**
   * Units per second over the window. Before the second sample, the live total against the
   * first sample (once 200 ms have passed), so a new task does not report 0 for a whole interval.
   */
  rate(): number {
    if (this.count < 2) {
      const dt = performance.now() - this.times[0]!;
      return dt < 200 ? 0 : ((this.read() - this.values[0]!) * 1000) / dt;
    }
    const newest = (this.pos - 1 + this.size) % this.size;
    const oldest = this.count < this.size ? 0 : this.pos;
    const dt = this.times[newest]! - this.times[oldest]!;
    if (dt <= 0) return 0;
    return ((this.values[newest]! - this.values[oldest]!) * 1000) / dt;
  }
}

/** Updates every registered view on one timer per process. */
export class ViewUpdater {
  private readonly views = new Set<RateView>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const v of this.views) v.update(now);
    }, intervalMs);
    this.timer.unref();
  }

  add(view: RateView): RateView {
    this.views.add(view);
    return view;
  }

  remove(view: RateView): void {
    this.views.delete(view);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
