/**
 * A steady rise or fall in fewer, larger steps (issue 13, the ramp trace): a scale-down in the
 * first minutes of a rise waits for the trend, a steady fall is followed in steps sized for the
 * trend rather than for the window's highest rate, a pre-scale lasts at least a forecast
 * horizon, and a vertex that would pre-scale on its own within the next horizon joins the
 * rescale that restarts the job now; a pre-scale is due when the forecast takes a vertex past its
 * capacity, and a scale-down waits while the arrivals rise along a line after a pre-scale.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScalingController } from './controller.ts';
import { ObservationBuilder, type IntervalRates } from './observation-builder.ts';
import { policySchema } from './policy-schema.ts';
import type { ScaleDecision } from './decision.ts';
import { expectedPeak, fallingPeaks, fallingStepNeed, holdingScaleDown, type HoldContext } from './hold.ts';
import { addArrival, emptyForecast, trendFit, type ForecastState } from './forecast.ts';
import type { VertexModel } from './decision.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const DAY = 86400;

/** Records/s per subtask of each non-source vertex of the test job (linear scaling). */
const PER_SUBTASK: Record<string, number> = { a: 2500, b: 2100 };

interface Sim {
  b: ObservationBuilder;
  c: ScalingController;
  decisions: ScaleDecision[];
}

function sim(p: { a: number; b: number }, policy: Record<string, unknown> = {}): Sim {
  const b = new ObservationBuilder('job-r', [
    { id: 'src', parallelism: 4, partitions: 24 },
    { id: 'a', parallelism: p.a, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    { id: 'b', parallelism: p.b, inputs: [{ id: 'a', shipStrategy: 'HASH' }] },
  ], T0);
  return { b, c: new ScalingController(policySchema.parse(policy)), decisions: [] };
}

/** Runs `minutes` of 15 s intervals at `rate(minute)`; a rescale restarts the job (30 s). */
function run(s: Sim, minutes: number, rate: (min: number) => number, from = 0): void {
  for (let i = 0; i < minutes * 4; i++) {
    const arrival = rate(from + i / 4);
    const par = (id: string): number => s.b.vertices.find((v) => v.id === id)!.parallelism;
    const rates: Record<string, IntervalRates> = { src: { inRate: arrival, busy: 0.1, backPressured: 0, pending: 0 } };
    for (const id of ['a', 'b']) rates[id] = { inRate: arrival, busy: Math.min(1, arrival / (PER_SUBTASK[id]! * par(id))) };
    const d = s.c.step(s.b.next(15, rates));
    s.decisions.push(d);
    if (d.action === 'rescale') s.b.restart(d.parallelism, 30);
  }
}

const rescales = (s: Sim): ScaleDecision[] => s.decisions.filter((d) => d.action === 'rescale');

describe('a steady rise: pre-scales that last and vertices that join them', () => {
  // 6000 rec/s rising 100 rec/s a minute: a (4 x 2500) reaches the band's max first; b (7 x 2100)
  // would reach it about a forecast horizon later.
  const rise = (m: number): number => 6000 + 100 * m;

  it('a vertex that would pre-scale on its own within the next horizon joins the pre-scale now, and says why', () => {
    const s = sim({ a: 4, b: 7 });
    run(s, 60, rise);
    const first = rescales(s)[0];
    assert.ok(first, 'pre-scaled');
    assert.ok(first.parallelism.a! > 4, `a pre-scaled: ${JSON.stringify(first.parallelism)}`);
    assert.ok(first.parallelism.b! > 7, `b joined: ${JSON.stringify(first.parallelism)}`);
    assert.match(first.reasons.join('\n'), /vertex b: 7 -> \d+: joins the rescale \(it would pre-scale on its own within the next forecast horizon/);
  });

  it('a pre-scale leaves the vertex under the band\'s max at the forecast one horizon further', () => {
    const s = sim({ a: 4, b: 7 });
    run(s, 60, rise);
    const first = rescales(s)[0]!;
    const at = (first.time - T0) / MIN;
    // The trend one more horizon (30 min) past the one that triggered the pre-scale.
    const far = rise(at + 60);
    assert.ok(first.parallelism.a! * PER_SUBTASK.a! * 0.95 >= far, `a -> ${first.parallelism.a}: ${first.parallelism.a! * PER_SUBTASK.a!} rec/s for ${far} rec/s in 60 min`);
    // So the next pre-scale comes no sooner than a horizon later.
    const next = rescales(s)[1];
    assert.ok(next === undefined || next.time - first.time >= 30 * MIN, `next after ${next ? (next.time - first.time) / MIN : '-'} min`);
  });
});

describe('a steady rise: a pre-scale is due at capacity, and nothing is taken back during the rise', () => {
  // 6000 rec/s rising 40 rec/s a minute; a: 3 x 2500 rec/s. The trend (once its window is
  // covered) reaches the band's max (7125 rec/s) 30 min ahead at minute 0, a's capacity (7500)
  // at minute 9: the pre-scale comes at the first check, so start the rise lower.
  const slow = (m: number): number => 5000 + 40 * m;

  it('pre-scales when the forecast takes the vertex past its capacity, not past the band\'s max', () => {
    const s = sim({ a: 3, b: 4 });
    run(s, 90, slow);
    const first = rescales(s)[0];
    assert.ok(first, 'pre-scaled');
    const at = (first.time - T0) / MIN;
    // At the band's max: 5000 + 40 (m + 30) > 7125 from minute 23; at capacity (7500) from minute 32.5.
    assert.ok(slow(at + 30) > 3 * PER_SUBTASK.a!, `pre-scaled at minute ${at}: ${slow(at + 30)} rec/s in 30 min for ${3 * PER_SUBTASK.a!} rec/s`);
    assert.match(first.reasons.join('\n'), /vertex a: 3 -> \d+: pre-scaling for the forecast \(utilization 1\.\d\d at it: past its capacity within the horizon\)/);
    assert.ok(!s.decisions.some((d) => d.reasons.some((r) => /SLO|backlog/.test(r))), 'no overload before it');
  });

  it('holds a scale-down for a forecast horizon after a pre-scale while arrivals rise along a line, and says why', () => {
    // b has far more than it needs, held there by a schedule's floor for the first 45 minutes; a
    // pre-scales at minute ~34, and b's scale-down delay (20 min) starts again there.
    const s = sim({ a: 3, b: 20 }, { schedules: [{ name: 'morning', cron: '0 0 * * *', duration: '45m', floor: { b: 20 } }] });
    run(s, 90, slow);
    const up = rescales(s).find((d) => d.direction === 'up');
    assert.ok(up, 'pre-scaled');
    const down = rescales(s).find((d) => d.time > up.time && d.parallelism.b! < 20);
    assert.ok(!down || down.time - up.time >= 30 * MIN, `b scaled down ${down ? (down.time - up.time) / MIN : '-'} min after the pre-scale`);
    assert.ok(s.decisions.some((d) => d.time > up.time && d.reasons.some((r) => /vertex b: no scale-down to \d+ while arrivals rise steadily \(\+\d+ rec\/s a minute/.test(r))), 'the wait says why');
  });
});

describe('the first minutes of a rise: a scale-down waits for the trend', () => {
  const model = (p: number, trueRate: number, targetRate: number): VertexModel => ({ parallelism: p, trueRate, targetRate, scalingExponent: 1 }) as unknown as VertexModel;
  const ctxOf = (fs: ForecastState, now: number, rate: number): HoldContext => ({
    now, arrivalRate: rate, recentArrivalRate: rate, restartSec: 30, peaks: [{ time: now, rate }], forecastState: fs, policy: policySchema.parse({}),
  });

  it('fits the trend over the minutes seen so far and holds what the forecast pre-scale would ask for', () => {
    // The agent started 15 minutes ago (the 30 min trend window is not covered); arrivals rise
    // from 2000 by 60 rec/s a minute. 6 subtasks of 1000 rec/s at 2900 rec/s: the step to 4
    // covers the rate now, not the 4700 rec/s the trend reaches in 13 + 30 min.
    let fs = emptyForecast(600, DAY);
    for (let m = 0; m <= 15; m++) fs = addArrival(fs, T0 + m * MIN, 2000 + 60 * m, 1800);
    const now = T0 + 15 * MIN;
    const v = holdingScaleDown('v', model(6, 6000, 2900), 4, undefined, { lo: 1, hi: 100 }, ctxOf(fs, now, 2900), (q) => q);
    assert.equal(v.to, 6, v.why);
    assert.match(v.why ?? '', /would not hold .*the forecast over the next \d+ min \(trend .*fitted over the 15 min seen so far/);
    // Flat arrivals over the same minutes: nothing holds the step.
    let flat = emptyForecast(600, DAY);
    for (let m = 0; m <= 15; m++) flat = addArrival(flat, T0 + m * MIN, 2900 + (m % 2) * 10, 1800);
    assert.equal(holdingScaleDown('v', model(6, 6000, 2900), 4, undefined, { lo: 1, hi: 100 }, ctxOf(flat, now, 2900), (q) => q).to, 4);
  });

  it('needs a few points for an early trend, and reports a full one as not early', () => {
    let fs = emptyForecast(600, DAY);
    for (let m = 0; m <= 3; m++) fs = addArrival(fs, T0 + m * MIN, 2000 + 60 * m, 1800);
    assert.equal(trendFit(fs, T0 + 3 * MIN, 1800, 5), undefined);
    for (let m = 4; m <= 30; m++) fs = addArrival(fs, T0 + m * MIN, 2000 + 60 * m, 1800);
    const tr = trendFit(fs, T0 + 30 * MIN, 1800)!;
    assert.equal(tr.early, false);
    assert.ok(Math.abs(tr.slope - 1) < 1e-9 && tr.r2 > 0.999, `slope ${tr.slope} rec/s per s, r2 ${tr.r2}`);
  });
});

describe('a steady fall: the older peaks are the way down', () => {
  const peaksOf = (minutes: number, rate: (m: number) => number): Array<{ time: number; rate: number }> => {
    const out: Array<{ time: number; rate: number }> = [];
    for (let m = 0; m <= minutes; m += 5) out.push({ time: T0 + m * MIN, rate: rate(m) });
    return out;
  };
  const ctxOf = (peaks: Array<{ time: number; rate: number }>, now: number, rate: number): HoldContext => ({
    now, arrivalRate: rate, recentArrivalRate: rate, restartSec: 30, peaks, forecastState: emptyForecast(600, DAY), policy: policySchema.parse({}),
  });

  it('holds the falling line now (plus the bucket furthest above it), not the peak of an hour ago', () => {
    // 12000 rec/s falling 50 rec/s a minute for an hour, with +-100 of noise.
    const peaks = peaksOf(60, (m) => 12000 - 50 * m + (m % 10 === 0 ? 100 : -100));
    const now = T0 + 60 * MIN;
    const f = fallingPeaks(peaks, now, 3600);
    assert.ok(f, 'a steady fall');
    assert.ok(f.rate > 9000 && f.rate < 9400, `held ${f.rate}`);
    const pk = expectedPeak(ctxOf(peaks, now, 9000), 780);
    assert.equal(pk.rate, f.rate);
    assert.match(pk.why, /the peaks of the last 60 min fall steadily \(-50 rec\/s a minute/);
  });

  it('keeps the plain look-back for a burst that ended, a gap, or the top of a ramp', () => {
    const now = T0 + 60 * MIN;
    const burst = peaksOf(60, (m) => (m < 20 ? 9000 : 3000));
    assert.equal(fallingPeaks(burst, now, 3600), undefined);
    assert.equal(expectedPeak(ctxOf(burst, now, 3000), 780).rate, 9000);
    const top = peaksOf(60, (m) => 12000 - 100 * Math.abs(m - 20));
    assert.equal(fallingPeaks(top, now, 3600), undefined, 'the top is inside the look-back');
  });

  it('steps down in fewer, larger steps sized for the trend, and says so', () => {
    // 12 x 2500 (a) and 12 x 2100 (b) at 20000 rec/s, falling 60 rec/s a minute to 5000.
    const s = sim({ a: 12, b: 12 });
    const fall = (m: number): number => 20000 - 60 * m;
    run(s, 250, fall);
    const downs = rescales(s).filter((d) => d.direction === 'down');
    assert.ok(downs.length > 0 && downs.length <= 3, `${downs.length} scale-downs: ${downs.map((d) => `${Math.round((d.time - T0) / MIN)} min ${JSON.stringify(d.parallelism)}`).join(', ')}`);
    assert.ok(downs.some((d) => d.reasons.some((x) => /arrivals fall steadily \(-60 rec\/s a minute .*\): sized for \d+, not the window's highest \d+/.test(x))), 'named the trend');
    // Never above the band's max at the rate it stepped down at.
    for (const d of downs) {
      const r = fall((d.time - T0) / MIN);
      for (const id of ['a', 'b']) assert.ok(d.parallelism[id]! * PER_SUBTASK[id]! * 0.95 >= r, `${id} -> ${d.parallelism[id]} at ${r} rec/s`);
    }
    assert.ok(!s.decisions.some((d) => d.action === 'rescale' && d.direction === 'up'), 'no scale-up on the way down');
  });

  it('leaves the rate now at the band\'s max with a short restart, at its target with one longer than the prior', () => {
    // 20 subtasks of 1000 rec/s; 9500 rec/s now, the trend reaches 8000 in one horizon.
    const m = { parallelism: 20, trueRate: 20_000, targetRate: 9500, scalingExponent: 1 } as unknown as VertexModel;
    const o = { arrivalRate: 9500, nowRate: 9500, aheadRate: 8000, units: undefined, catchUpSec: 300, policy: policySchema.parse({}), lo: 1, hi: 100, align: (q: number) => q };
    // 30 s: max(9500 / 0.95, 8000 / 0.8) + 9500 x 30 / 300 = 10950 -> 11 subtasks.
    assert.equal(fallingStepNeed(m, { ...o, restartSec: 30 }), 11);
    // 180 s (past the 60 s prior): 9500 / 0.8 + 9500 x 180 / 300 = 17575 -> 18 subtasks.
    assert.equal(fallingStepNeed(m, { ...o, restartSec: 180 }), 18);
  });
});
