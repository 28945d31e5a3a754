import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bursts, burstStarts, expectedPeak, holdHorizonSec, holdingScaleDown, peakLookback, type HoldContext } from './hold.ts';
import { deliveredBound } from './vertex-plan.ts';
import { addArrival, emptyForecast, forecast, type ForecastState } from './forecast.ts';
import { policySchema } from './policy-schema.ts';
import type { VertexModel } from './decision.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const DAY = 86400;

/** 5-minute peak buckets from a rate function of minutes since T0, over `hours`. */
function peaksOf(hours: number, rate: (min: number) => number): Array<{ time: number; rate: number }> {
  const out: Array<{ time: number; rate: number }> = [];
  for (let m = 0; m < hours * 60; m += 5) out.push({ time: T0 + m * MIN, rate: rate(m) });
  return out;
}

function ctxOf(over: Partial<Omit<HoldContext, 'policy'>> & { policy?: Record<string, unknown> } = {}): HoldContext {
  const { policy, ...rest } = over;
  return {
    now: T0,
    arrivalRate: 1000,
    recentArrivalRate: 1000,
    restartSec: 30,
    peaks: [],
    forecastState: emptyForecast(600, DAY),
    ...rest,
    policy: policySchema.parse(policy ?? {}),
  };
}

describe('bursts: rises to 1.5x the lowest rate of the hour before', () => {
  it('finds each burst once, at its first bucket, with its highest bucket as the height', () => {
    // 1000 rec/s; bursts at 60-75 min (3x, its middle bucket 3.5x) and at 180-190 min (2x).
    const peaks = peaksOf(5, (m) => (m >= 60 && m < 75 ? (m === 65 ? 3500 : 3000) : m >= 180 && m < 190 ? 2000 : 1000));
    const b = bursts(peaks);
    assert.deepEqual(b.map((x) => (x.start - T0) / MIN), [60, 180]);
    assert.deepEqual(b.map((x) => x.height), [3.5, 2]);
    assert.deepEqual(burstStarts(peaks), b.map((x) => x.start));
  });

  it('does not count a smooth rise (a daily cycle) or a rise under 1.5x as a burst', () => {
    // +20 % an hour for 5 hours: over any hour the rise is 1.2x.
    assert.deepEqual(bursts(peaksOf(5, (m) => 1000 * Math.pow(1.2, m / 60))), []);
    assert.deepEqual(bursts(peaksOf(3, (m) => (m >= 60 && m < 70 ? 1400 : 1000))), []);
  });

  it('needs an hour before it: the first bucket is no burst, whatever its height', () => {
    assert.deepEqual(bursts([{ time: T0, rate: 9000 }, { time: T0 + 5 * MIN, rate: 1000 }]), []);
  });

  it('measures a burst against the quiet before it, not against an earlier burst', () => {
    // Two bursts 20 min apart: the lowest bucket of the hour before the second is 1000, not 3000.
    const peaks = peaksOf(3, (m) => ((m >= 60 && m < 70) || (m >= 90 && m < 100) ? 3000 : 1000));
    assert.deepEqual(bursts(peaks).map((x) => [(x.start - T0) / MIN, x.height]), [[60, 3], [90, 3]]);
  });
});

describe('peakLookback: held across the usual quiet between bursts', () => {
  // Bursts every 90 min (from 60 min), 10 min each, 3x.
  const peaks = peaksOf(8, (m) => (m >= 60 && (m - 60) % 90 < 10 ? 3000 : 1000));
  const now = T0 + 8 * 60 * MIN;

  it('stays at scaleDown.peakLookback with fewer than 3 bursts, or with burstQuantile 0', () => {
    const few = peaksOf(3, (m) => (m >= 60 && m < 70 ? 3000 : 1000));
    assert.equal(burstStarts(few).length, 1);
    assert.equal(peakLookback(ctxOf({ now, peaks: few }), 600).sec, 3600);
    assert.equal(peakLookback(ctxOf({ now, peaks, policy: { scaleDown: { burstQuantile: 0 } } }), 600).sec, 3600);
  });

  it('grows to the longest gap (plus 1/n of it) plus the horizon, capped at maxLookback', () => {
    const starts = burstStarts(peaks);
    assert.equal(starts.length, 5); // 60, 150, 240, 330, 420 min
    const n = starts.length - 1;
    const lb = peakLookback(ctxOf({ now, peaks }), 600);
    assert.equal(lb.sec, 5400 * (1 + 1 / n) + 600);
    assert.match(lb.note, /gaps between the 5 bursts/);
    const capped = peakLookback(ctxOf({ now, peaks, policy: { scaleDown: { maxLookback: '2h' } } }), 600);
    assert.equal(capped.sec, 7200);
  });

  it('holds a typical burst at today\'s rate past the plain look-back, never above what it saw', () => {
    // 100 min after the last burst: outside the 1 h look-back, inside the burst look-back.
    const later = peaks.filter((p) => p.time <= T0 + 530 * MIN);
    const at = T0 + 530 * MIN;
    const pk = expectedPeak(ctxOf({ now: at, peaks: later }), 600);
    assert.equal(pk.burst, true);
    assert.equal(pk.rate, 3000);
    // At half today's rate, the typical burst (3x) is 1500 rec/s.
    assert.equal(expectedPeak(ctxOf({ now: at, peaks: later, arrivalRate: 500 }), 600).rate, 1500);
  });
});

describe('the hold horizon and the hold itself', () => {
  it('is the cool-down plus the restart paid back by the freed slots', () => {
    // 10 min + 30 s x 10 slots / 2 freed = 600 + 150.
    assert.equal(holdHorizonSec(10, 8, ctxOf()), 750);
    assert.equal(holdHorizonSec(10, 10, ctxOf()), 600 + 300);
  });

  const model = (p: number, trueRate: number, targetRate: number): VertexModel => ({ parallelism: p, trueRate, targetRate, scalingExponent: 1 }) as unknown as VertexModel;
  const bounds = { lo: 1, hi: 100 };
  const id = (q: number): number => q;

  it('sizes a scale-down to cover a peak of the look-back, and waits when none below holds', () => {
    // 10 subtasks of 1000 rec/s; 2000 rec/s now; a peak of 5000 rec/s 30 min ago needs 6 at 0.95.
    const peaks = [{ time: T0 - 30 * MIN, rate: 5000 }, { time: T0, rate: 2000 }];
    const v = holdingScaleDown('v', model(10, 10_000, 2000), 3, undefined, bounds, ctxOf({ peaks, arrivalRate: 2000, recentArrivalRate: 2000 }), id);
    assert.equal(v.to, 6);
    assert.match(v.why ?? '', /sized to 6, not 3.*a peak of 5000 rec\/s 30 min ago/);
    const high = [{ time: T0 - 30 * MIN, rate: 9800 }, { time: T0, rate: 2000 }];
    const w = holdingScaleDown('v', model(10, 10_000, 2000), 3, undefined, bounds, ctxOf({ peaks: high, arrivalRate: 2000, recentArrivalRate: 2000 }), id);
    assert.equal(w.to, 10);
    assert.match(w.why ?? '', /would not hold/);
  });

  it('does not scale down into a gap when the daily profile says the usual rate is due back', () => {
    // Two days at 4000 rec/s; on day three the input stalls to 40 rec/s (a gap) for 70 min, so
    // the 1 h look-back no longer sees the rate before it.
    let fs: ForecastState = emptyForecast(600, DAY);
    const gapFrom = 2 * DAY + 10 * 3600;
    const rate = (t: number): number => (t >= gapFrom ? 40 : 4000);
    for (let t = 0; t <= gapFrom + 70 * 60; t += 60) fs = addArrival(fs, T0 + t * 1000, rate(t), 1800);
    const now = T0 + (gapFrom + 70 * 60) * 1000;
    const peaks = peaksOf(72, (m) => rate(m * 60)).filter((p) => p.time <= now);
    const ctx = ctxOf({ now, peaks, arrivalRate: 40, recentArrivalRate: 40, forecastState: fs });
    const pk = expectedPeak(ctx, 600);
    assert.ok(pk.rate > 3900, `expected the usual 4000 rec/s back, got ${pk.rate} (${pk.why})`);
    assert.match(pk.why, /a gap, its usual rate comes back/);
    const v = holdingScaleDown('v', model(5, 5000, 40), 1, undefined, bounds, ctx, id);
    assert.equal(v.to, 5);
    // Without the profile (forecast off) nothing holds it: the step goes ahead.
    const off = holdingScaleDown('v', model(5, 5000, 40), 1, undefined, bounds, ctxOf({ now, peaks, arrivalRate: 40, recentArrivalRate: 40, forecastState: fs, policy: { forecast: { enabled: false } } }), id);
    assert.equal(off.to, 1);
  });
});

describe('forecast: gaps do not move the level', () => {
  const opts = { horizonSec: 1800, minHistorySec: DAY, trendWindowSec: 1800, minSeasons: 2 };

  it('keeps today\'s level at 1 when two of the last three days had a gap at this hour', () => {
    let s: ForecastState = emptyForecast(600, DAY);
    // 4000 rec/s every day; gaps at 11:00-11:30 on days two and three; day four at 11:00 runs normally.
    const rate = (t: number): number => {
      const day = Math.floor(t / DAY);
      const h = (t % DAY) / 3600;
      return (day === 1 || day === 2) && h >= 11 && h < 11.5 ? 40 : 4000;
    };
    // Asked at 11:00 on day four, before today's first sample of the bucket is in the profile.
    for (let t = 0; t < 3 * DAY + 11 * 3600; t += 60) s = addArrival(s, T0 + t * 1000, rate(t), 1800);
    const f = forecast(s, T0 + (3 * DAY + 11 * 3600) * 1000, 4000, opts);
    assert.ok(f === undefined || f.rate < 4400, `the level was taken against a gap: ${f?.rate}`);
  });

  it('reports a gap as such only when asked (gapReturns)', () => {
    let s: ForecastState = emptyForecast(600, DAY);
    for (let t = 0; t < 2 * DAY + 3600; t += 60) s = addArrival(s, T0 + t * 1000, 4000, 1800);
    const now = T0 + (2 * DAY + 3600) * 1000;
    const plain = forecast(s, now, 40, opts);
    assert.ok(plain === undefined || plain.rate <= 2000, `the level is clamped at half: ${plain?.rate}`);
    const gap = forecast(s, now, 40, { ...opts, gapReturns: true });
    assert.ok(gap && Math.abs(gap.rate - 4000) < 1, `gap: ${gap?.rate}`);
  });
});

describe('deliveredBound: what a source delivered bounds its capacity from below', () => {
  it('carries a rate up to higher parallelism unchanged and down linearly per subtask', () => {
    const pts = [{ p: 4, rate: 4000 }, { p: 8, rate: 6000 }];
    assert.equal(deliveredBound(pts, 8, undefined).rate, 6000);
    assert.equal(deliveredBound(pts, 12, undefined).rate, 6000); // never less with more subtasks
    // At 6: 4000 from p 4 carried up, or 6000 x 6/8 = 4500 from p 8 scaled down linearly: the higher.
    assert.deepEqual(deliveredBound(pts, 6, undefined), { rate: 4500, from: { p: 8, rate: 6000 } });
    assert.equal(deliveredBound(pts, 2, undefined).rate, 2000); // 4000 x 2/4 beats 6000 x 2/8
    assert.equal(deliveredBound(pts, 4, undefined).rate, 4000);
  });

  it('ignores points without a rate and is 0 without points', () => {
    assert.equal(deliveredBound([{ p: 4, rate: 0 }], 4, undefined).rate, 0);
    assert.equal(deliveredBound(undefined, 4, undefined).rate, 0);
  });
});

describe('burstHold: the burst a scale-down must still hold', () => {
  // Bursts of 2x and 3x (twice) on 1000 rec/s; then today's base is 2000 rec/s.
  const peaks = peaksOf(8, (m) => {
    if (m >= 60 && (m - 60) % 90 < 10) return (m - 60) % 270 < 10 ? 2000 : 3000;
    return 1000;
  });
  const now = T0 + 530 * MIN;
  const later = peaks.filter((p) => p.time <= now);

  it('typical: the median height at today\'s rate, never above the highest rate the look-back saw', () => {
    assert.deepEqual(bursts(later).map((b) => b.height), [2, 3, 3, 2, 3]);
    const pk = expectedPeak(ctxOf({ now, peaks: later, arrivalRate: 2000 }), 600);
    assert.equal(pk.rate, 3000); // 3x 2000 = 6000, capped at the 3000 seen
    assert.match(pk.why, /a typical burst \(3\.0x/);
  });

  it('highest: the highest height at today\'s rate, uncapped', () => {
    const pk = expectedPeak(ctxOf({ now, peaks: later, arrivalRate: 2000, policy: { scaleDown: { burstHold: 'highest' } } }), 600);
    assert.equal(pk.rate, 6000);
    assert.match(pk.why, /the highest burst \(3\.0x/);
  });
});
