import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bursts, expectedPeak, holdingScaleDown, peakLookback, quietAfterBurst, regularBursts, RELEASE_WITHIN_MS, type HoldContext } from './hold.ts';
import { emptyForecast } from './forecast.ts';
import { policySchema } from './policy-schema.ts';
import type { VertexModel } from './decision.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

/** 5-minute peak buckets of 3000 rec/s with 9000 rec/s spikes of 10 min starting at `starts` (minutes), up to `toMin`. */
function spikes(starts: number[], toMin: number): Array<{ time: number; rate: number }> {
  const out: Array<{ time: number; rate: number }> = [];
  for (let m = 0; m <= toMin; m += 5) out.push({ time: T0 + m * MIN, rate: starts.some((s) => m >= s && m < s + 10) ? 9000 : 3000 });
  return out;
}

function ctxOf(now: number, peaks: Array<{ time: number; rate: number }>, over: Partial<HoldContext> = {}, policy: Record<string, unknown> = {}): HoldContext {
  return { now, arrivalRate: 3000, recentArrivalRate: 3000, restartSec: 20, peaks, forecastState: emptyForecast(600, 86400), policy: policySchema.parse(policy), ...over };
}

// Spikes every 110-160 min (start-at-peak's 1-3 h, narrowed): 8 of them, the last at 960 min.
const STARTS = [60, 180, 290, 430, 540, 660, 800, 960];
const model = (p: number): VertexModel => ({ parallelism: p, trueRate: p * 1000, targetRate: 3000, scalingExponent: 1 }) as unknown as VertexModel;
const bounds = { lo: 1, hi: 100 };
const id = (q: number): number => q;

describe('regularBursts: spikes at bounded intervals, not Poisson bursts', () => {
  it('finds spikes whose shortest gap is at least 0.3 of the longest, with 6 gaps or more', () => {
    const reg = regularBursts(spikes(STARTS, 1000));
    assert.ok(reg, 'regular');
    assert.equal(reg.n, 8);
    assert.equal(reg.shortestSec, 110 * 60);
    assert.equal(reg.longestSec, 160 * 60);
    assert.equal((reg.last.start - T0) / MIN, 960);
    assert.equal((reg.last.end - T0) / MIN, 965);
  });

  it('is undefined for gaps of any length (Poisson: bursty seed 6 had gaps of 51-202 min) or too few bursts', () => {
    assert.equal(regularBursts(spikes([60, 75, 300, 340, 600, 615, 900, 1000], 1100)), undefined);
    assert.equal(regularBursts(spikes([60, 110, 310, 420, 530, 640, 850, 900], 1000)), undefined); // 50 of 210 min: 0.24
    assert.equal(regularBursts(spikes(STARTS.slice(0, 6), 700)), undefined);
    assert.equal(bursts(spikes(STARTS.slice(0, 6), 700)).length, 6);
  });
});

describe('quietAfterBurst: the capacity for a regular burst is not held across the quiet after it', () => {
  const peaks = spikes(STARTS, 980); // 15 min after the last spike ended
  const now = T0 + 980 * MIN;

  it('drops to the rate between spikes right after one, and says why', () => {
    const pk = expectedPeak(ctxOf(now, peaks), 660);
    assert.equal(pk.rate, 3000);
    assert.equal(pk.quiet, true);
    assert.match(pk.why, /the next of 8 regular bursts \(gaps 110-160 min in the last day\) is not due within 11 min \(20 min since the last began\)/);
    // 10 subtasks of 1000 rec/s; 3000 rec/s needs 4 at the band's max. Before, the typical spike
    // (9000 rec/s, the look-back covering the longest gap) held all 10.
    const v = holdingScaleDown('v', model(10), 4, undefined, bounds, ctxOf(now, peaks), id);
    assert.equal(v.to, 4);
    assert.match(v.why ?? '', /vertex v: scale-down to 4: the next of 8 regular bursts/);
    assert.equal(v.burst, undefined);
  });

  it('holds the spike when the next one could come before the hold ends, or well after the last ended', () => {
    // A hold horizon reaching within a bucket of the shortest gap (110 min): 20 + 86 + 5 > 110.
    assert.equal(quietAfterBurst(ctxOf(now, peaks), 86 * 60), undefined);
    assert.equal(quietAfterBurst(ctxOf(now, peaks), 85 * 60)?.rate, 3000);
    // Later than RELEASE_WITHIN_MS after the last spike bucket: not in this gap.
    const late = T0 + 965 * MIN + RELEASE_WITHIN_MS + MIN;
    const latePeaks = spikes(STARTS, 965 + RELEASE_WITHIN_MS / MIN + 1);
    assert.equal(quietAfterBurst(ctxOf(late, latePeaks), 660), undefined);
    const v = holdingScaleDown('v', model(10), 4, undefined, bounds, ctxOf(late, latePeaks), id);
    assert.equal(v.to, 10);
    assert.match(v.why ?? '', /a peak of 9000 rec\/s 21 min ago/);
    // While the spike is on (no bucket after it): no release either.
    assert.equal(quietAfterBurst(ctxOf(T0 + 965 * MIN, spikes(STARTS, 965)), 660), undefined);
  });

  it('keeps to releaseBudget: two more rescales must fit the budget over the kept peaks', () => {
    // The peaks span 980 min; at 0.85 an hour that is 13.9 rescales: 12 done leave no room for 2.
    const busy = Array.from({ length: 12 }, (_, i) => now - (i + 1) * 60 * MIN);
    const q = quietAfterBurst(ctxOf(now, peaks, { rescaleTimes: busy }), 660);
    assert.ok(q && q.rate === undefined, 'over the budget');
    assert.match(q.why, /two more rescales over the 12 of the last 980 min \(releaseBudget 0\.85\/h\): held/);
    const pk = expectedPeak(ctxOf(now, peaks, { rescaleTimes: busy }), 660);
    assert.equal(pk.rate, 9000);
    assert.match(pk.why, /a peak of 9000 rec\/s 20 min ago .*; the next of 8 regular bursts .*: held/);
    assert.equal(quietAfterBurst(ctxOf(now, peaks, { rescaleTimes: busy.slice(0, 11) }), 660)?.rate, 3000);
    assert.equal(quietAfterBurst(ctxOf(now, peaks, {}, { scaleDown: { releaseBudget: 0 } }), 660), undefined);
  });

  it('holds it with a restart longer than restart.prior (each next burst would cost a long restart under it)', () => {
    assert.equal(quietAfterBurst(ctxOf(now, peaks, { restartSec: 60 }), 660)?.rate, 3000);
    assert.equal(quietAfterBurst(ctxOf(now, peaks, { restartSec: 170 }), 660), undefined);
    const v = holdingScaleDown('v', model(10), 4, undefined, bounds, ctxOf(now, peaks, { restartSec: 170 }), id);
    assert.equal(v.to, 10);
  });
});

describe('peakLookback: the next regular burst after a quiet longer than the longest gap is overdue', () => {
  it('reaches back to the last burst, so a scale-down still holds it', () => {
    // 200 min after the last spike began: past the longest gap (160 min) plus 1/7 of it and the
    // horizon (160 x 8/7 + 11 = 193.9 min).
    const now = T0 + (960 + 200) * MIN;
    const peaks = spikes(STARTS, 1160);
    const lb = peakLookback(ctxOf(now, peaks), 660);
    assert.equal(lb.sec, (200 + 11 + 5) * 60);
    assert.match(lb.note, /the next of 8 regular bursts is overdue \(200 min since the last began, the longest gap of the last day 160 min\)/);
    // Before: the look-back (160 x 8/7 min + the horizon) no longer saw the spike, and "10 -> 4" went ahead.
    const v = holdingScaleDown('v', model(10), 4, undefined, bounds, ctxOf(now, peaks), id);
    assert.equal(v.to, 10);
    assert.match(v.why ?? '', /a typical burst .*overdue/);
  });
});
