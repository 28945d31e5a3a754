/**
 * Will a scale-down hold? The capacity a scale-down leaves must cover the load expected over the
 * time it has to last: the cool-down (no scale-up may follow within it without counting as a
 * reversal) plus the time the freed slots take to pay for the restart (restart seconds x slots
 * now / slots freed). Two views of that load: the forecast over that horizon, and the recent
 * peaks (the highest arrival rate over the look-back, which is at least that horizon). The step
 * down is sized to cover both; when nothing below the current parallelism does, it waits, and
 * says which peak or forecast holds it. Sizing the step to the recent bursts is what keeps a
 * burst to one restart: the next burst of the same height fits without a scale-up. Pure.
 */
import type { VertexModel } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';
import { forecast, type ForecastState } from './forecast.ts';
import { predictedRate } from './capacity.ts';

export interface HoldContext {
  now: number;
  /** the job's arrival rate (long window), source records/s */
  arrivalRate: number;
  /** arrivals over the most recent intervals */
  recentArrivalRate: number;
  restartSec: number;
  peaks: ReadonlyArray<{ time: number; rate: number }>;
  forecastState: ForecastState;
  policy: ScalingPolicy;
}

export interface HoldVerdict {
  /** the smallest parallelism that holds (>= the proposed one); >= p means: do not scale down */
  to: number;
  /** why the step is larger than proposed, or why it waits */
  why?: string;
  horizonSec: number;
}

/** Seconds a scale-down from p to q must hold: the cool-down plus the restart payback time. */
export function holdHorizonSec(p: number, q: number, ctx: HoldContext): number {
  const freed = Math.max(1, p - q);
  return seconds(ctx.policy.cooldown) + (ctx.restartSec * p) / freed;
}

/** The highest arrival rate expected over the horizon, with where it comes from. */
export function expectedPeak(ctx: HoldContext, horizonSec: number): { rate: number; why: string } {
  const lookbackSec = Math.max(horizonSec, seconds(ctx.policy.scaleDown.peakLookback));
  let best = { rate: 0, why: '' };
  for (const pk of ctx.peaks) {
    if (pk.time < ctx.now - lookbackSec * 1000 || pk.rate <= best.rate) continue;
    best = { rate: pk.rate, why: `a peak of ${Math.round(pk.rate)} rec/s ${Math.round((ctx.now - pk.time) / 60_000)} min ago (look-back ${Math.round(lookbackSec / 60)} min)` };
  }
  const f = ctx.policy.forecast;
  if (f.enabled && ctx.arrivalRate > 0) {
    const fc = forecast(ctx.forecastState, ctx.now, ctx.arrivalRate, { horizonSec, minHistorySec: seconds(f.minHistory), trendWindowSec: seconds(f.trendWindow), minSeasons: f.minSeasons });
    if (fc && fc.rate > best.rate) best = { rate: fc.rate, why: `the forecast over the next ${Math.round(horizonSec / 60)} min (${fc.note})` };
  }
  return best;
}

/**
 * The parallelism a vertex needs so that, at source arrival rate `rate`, it runs at most at the
 * band's max utilization (no scale-up would trigger). `align` rounds to a balanced parallelism.
 */
export function needAt(m: VertexModel, arrivalRate: number, rate: number, units: number | undefined, maxU: number, lo: number, hi: number, align: (q: number) => number): number {
  if (!(m.trueRate > 0) || !(arrivalRate > 0)) return m.parallelism;
  const load = m.targetRate * (rate / arrivalRate);
  for (let q = Math.max(1, lo); q <= hi; q++) {
    if (predictedRate(m.trueRate, m.parallelism, q, m.scalingExponent, units) * maxU >= load) return Math.max(q, align(q));
  }
  return hi;
}

/**
 * Sizes a triggered scale-up to the recent peak as well (within the look-back): the restart is
 * paid anyway, and a burst that ramps over a few intervals is then one restart, not two.
 */
export function scaleUpForPeak(m: VertexModel, proposed: number, cap: number, units: number | undefined, bounds: { lo: number; hi: number }, ctx: HoldContext, align: (q: number) => number): { to: number; why?: string } {
  const peak = expectedPeak(ctx, seconds(ctx.policy.cooldown));
  if (peak.rate <= ctx.arrivalRate) return { to: proposed };
  const need = Math.min(cap, needAt(m, ctx.arrivalRate, peak.rate, units, ctx.policy.utilization.target, bounds.lo, bounds.hi, align));
  if (need <= proposed) return { to: proposed };
  return { to: need, why: `sized to ${need}, not ${proposed}, for ${peak.why}` };
}

/** Sizes a proposed scale-down of one vertex (p -> proposed) so it is expected to hold. */
export function holdingScaleDown(
  id: string,
  m: VertexModel,
  proposed: number,
  units: number | undefined,
  bounds: { lo: number; hi: number },
  ctx: HoldContext,
  align: (q: number) => number,
): HoldVerdict {
  const p = m.parallelism;
  const maxU = ctx.policy.utilization.max;
  // The horizon depends on the step; take it at the proposed step (the longest it gets).
  const horizonSec = holdHorizonSec(p, proposed, ctx);
  const peak = expectedPeak(ctx, horizonSec);
  if (ctx.recentArrivalRate > peak.rate) peak.rate = ctx.recentArrivalRate;
  if (ctx.recentArrivalRate > ctx.arrivalRate * 1.2) {
    return { to: p, horizonSec, why: `vertex ${id}: no scale-down while arrivals rise (${Math.round(ctx.recentArrivalRate)} rec/s now, ${Math.round(ctx.arrivalRate)} over the window)` };
  }
  if (peak.rate <= 0) return { to: proposed, horizonSec };
  const need = needAt(m, ctx.arrivalRate, peak.rate, units, maxU, bounds.lo, bounds.hi, align);
  if (need <= proposed) return { to: proposed, horizonSec };
  const span = `${Math.round(horizonSec / 60)} min (cool-down + restart payback)`;
  if (need >= p) {
    return { to: p, horizonSec, why: `vertex ${id}: scale-down to ${proposed} would not hold for ${span}: ${peak.why} needs ${need}; waiting` };
  }
  // A partial step now and the rest later is two restarts for one drop: take it only when it
  // frees at least half of what the full step would, else wait for the full step.
  if (p - need < (p - proposed) / 2) {
    return { to: p, horizonSec, why: `vertex ${id}: scale-down to ${proposed} would not hold for ${span}: ${peak.why} needs ${need}, a step too small to pay for its restart; waiting` };
  }
  return { to: need, horizonSec, why: `vertex ${id}: scale-down sized to ${need}, not ${proposed}, to hold for ${span}: ${peak.why}` };
}
