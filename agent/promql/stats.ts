/**
 * Query statistics for `stats=...` on /api/v1/query and /query_range, in the shape of
 * Prometheus 2.42's `data.stats` (util/stats/query_stats.go):
 *
 *   { timings: { evalTotalTime, resultSortTime, queryPreparationTime, innerEvalTime,
 *                execQueueTime, execTotalTime },            // seconds
 *     samples: { totalQueryableSamplesPerStep?: [[t, n], ...],  // only with stats=all
 *                totalQueryableSamples, peakSamples } }
 *
 * What is counted, as Prometheus's engine counts it: an instant-vector selector adds 1 per
 * series per step at which it yields a sample; a range selector (or a subquery used as a
 * range) adds, per step, the samples inside that step's window, so overlapping windows of a
 * range query count a sample once per window; the samples a subquery's inner expression
 * selects are not counted (Prometheus avoids counting them twice), the points of its result
 * each outer window sees are. peakSamples is the most samples the query held at
 * once: the evaluator holds everything its selectors loaded until the query ends (the
 * figure max_samples is checked against), plus, for a range query evaluated in chunks, the
 * result points already merged. Timings: queryPreparationTime is the time spent selecting
 * series and copying their samples out of the store (Prometheus's series population),
 * innerEvalTime the rest of evaluation, resultSortTime the final name dropping, merging and
 * sorting, evalTotalTime their sum, execQueueTime the wait for a query slot and the worker,
 * execTotalTime the queue wait plus evalTotalTime. Prometheus 3 adds more fields
 * (samplesRead...); the agent answers as 2.42 does, which is what Grafana reads.
 *
 * A query without `stats` carries no collector: the evaluator then only does its usual
 * sample counting for max_samples.
 */
import type { Queryable } from '../tsdb/storage.ts';
import type { StepContext } from './eval-types.ts';

export interface QueryStatsJson {
  timings: {
    evalTotalTime: number;
    resultSortTime: number;
    queryPreparationTime: number;
    innerEvalTime: number;
    execQueueTime: number;
    execTotalTime: number;
  };
  samples: {
    totalQueryableSamplesPerStep?: Array<[number, number]>;
    totalQueryableSamples: number;
    peakSamples: number;
  };
}

export class QueryStats {
  /** stats=all: keep a count per step of the query. */
  readonly perStep: boolean;
  total = 0;
  peak = 0;
  /** Added to the evaluator's held samples when updating the peak (result points of earlier chunks). */
  peakBase = 0;
  selectMs = 0;
  evalMs = 0;
  sortMs = 0;
  queueMs = 0;
  private steps: Float64Array | null = null;
  private start = 0;
  private interval = 1;
  /** Above 0 while a subquery's inner expression runs: its samples are not counted. */
  suspended = 0;
  private top: StepContext | null = null;
  private topOffset = 0;

  constructor(perStep: boolean) {
    this.perStep = perStep;
  }

  /** The query's step grid (an instant query is one step at its time). Once per query. */
  initSteps(start: number, end: number, interval: number): void {
    if (this.steps !== null || !this.perStep) return;
    this.start = start;
    this.interval = interval > 0 ? interval : 1;
    this.steps = new Float64Array(Math.floor((end - start) / this.interval) + 1);
  }

  /** The step context the evaluator runs the query (or one chunk of it) in. */
  enter(ctx: StepContext): void {
    this.top = ctx;
    this.topOffset = Math.round((ctx.start - this.start) / this.interval);
  }

  /** n samples counted at step k of ctx; only steps of the query's own context are kept per step. */
  add(ctx: StepContext, k: number, n: number): void {
    if (this.suspended > 0) return;
    this.total += n;
    if (this.steps !== null && ctx === this.top) {
      const i = this.topOffset + k;
      if (i >= 0 && i < this.steps.length) this.steps[i]! += n;
    }
  }

  held(n: number): void {
    if (n + this.peakBase > this.peak) this.peak = n + this.peakBase;
  }

  toJSON(): QueryStatsJson {
    const sec = (ms: number): number => ms / 1000;
    const innerMs = Math.max(0, this.evalMs - this.selectMs);
    const evalTotalMs = this.selectMs + innerMs + this.sortMs;
    const timings: QueryStatsJson['timings'] = {
      evalTotalTime: sec(evalTotalMs),
      resultSortTime: sec(this.sortMs),
      queryPreparationTime: sec(this.selectMs),
      innerEvalTime: sec(innerMs),
      execQueueTime: sec(this.queueMs),
      execTotalTime: sec(this.queueMs + evalTotalMs),
    };
    const counts = { totalQueryableSamples: this.total, peakSamples: this.peak };
    if (this.steps === null) return { timings, samples: counts };
    const perStep: Array<[number, number]> = [];
    for (let i = 0; i < this.steps.length; i++) perStep.push([(this.start + i * this.interval) / 1000, this.steps[i]!]);
    // Prometheus's JSON puts the per-step list first.
    return { timings, samples: { totalQueryableSamplesPerStep: perStep, ...counts } };
  }
}

/** The store, with the time spent selecting from it added to stats.selectMs. */
export function timedStorage(storage: Queryable, stats: QueryStats): Queryable {
  const timed: Queryable = {
    select(matchers, minT, maxT) {
      const t0 = performance.now();
      try {
        return storage.select(matchers, minT, maxT);
      } finally {
        stats.selectMs += performance.now() - t0;
      }
    },
  };
  if (storage.selectLatest !== undefined) {
    const latest = storage.selectLatest.bind(storage);
    timed.selectLatest = (matchers, minT, maxT) => {
      const t0 = performance.now();
      try {
        return latest(matchers, minT, maxT);
      } finally {
        stats.selectMs += performance.now() - t0;
      }
    };
  }
  return timed;
}

/** `stats` as Prometheus reads it: any non-empty value asks for stats, `all` adds the per-step counts. */
export function statsParam(value: string | null | undefined): QueryStats | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  return new QueryStats(value === 'all');
}

/** Epoch milliseconds with sub-millisecond precision, comparable across worker threads. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
