/**
 * Will a scale-down hold? The capacity a scale-down leaves must cover the load expected over the
 * time it has to last: the cool-down (no scale-up may follow within it without counting as a
 * reversal) plus the time the freed slots take to pay for the restart (restart seconds x slots
 * now / slots freed). Two views of that load: the forecast over that horizon, and the recent
 * peaks (the highest arrival rate over the look-back, which is at least that horizon). The step
 * down is sized to cover both; when nothing below the current parallelism does, it waits, and
 * says which peak or forecast holds it. Sizing the step to the recent bursts is what keeps a
 * burst to one restart: the next burst of the same height fits without a scale-up. The forecast
 * is asked one pre-scale horizon further (a pre-scale checked at the end of the hold would undo
 * the step), with the trend fitted over the minutes seen so far before its window is covered;
 * peaks that fall along a line are the way down, not a level that comes back. On such a steady
 * fall the step is sized for the trend (fallingStepNeed), as a pre-scale is on a rise. Pure.
 */
import type { VertexModel } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';
import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics';
import { forecast, TREND_MIN_R2, type ForecastState } from './forecast.ts';
import { predictedRate } from './capacity.ts';
import { PEAK_BUCKET_MS, PEAK_KEEP_MS } from './history.ts';

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
  /** when the job's recent rescales were carried out (the release budget of quietAfterBurst) */
  rescaleTimes?: readonly number[];
}

export interface HoldVerdict {
  /** the smallest parallelism that holds (>= the proposed one); >= p means: do not scale down */
  to: number;
  /** why the step is larger than proposed, or why it waits */
  why?: string;
  horizonSec: number;
  /** the step is sized to hold the bursts to come: the level it leaves is held until the next one and past it */
  burst?: boolean;
}

/** Seconds a scale-down from p to q must hold: the cool-down plus the restart payback time. */
export function holdHorizonSec(p: number, q: number, ctx: HoldContext): number {
  const freed = Math.max(1, p - q);
  return seconds(ctx.policy.cooldown) + (ctx.restartSec * p) / freed;
}

/** A rise of the arrival rate to this multiple of the lowest rate of the hour before is a burst. */
export const BURST_FACTOR = 1.5;

/**
 * The bursts in the kept peaks (5-minute maxima, oldest first): a burst starts at a bucket at
 * least BURST_FACTOR x the lowest bucket of the hour before it (its base), when the previous
 * bucket was not in a burst; its height is its highest bucket over that base.
 */
export function bursts(peaks: ReadonlyArray<{ time: number; rate: number }>): Array<{ start: number; height: number; base: number; end: number }> {
  const out: Array<{ start: number; base: number; height: number; end: number }> = [];
  let inBurst = false;
  let lo = 0;
  for (let i = 0; i < peaks.length; i++) {
    const pk = peaks[i]!;
    while (lo < i && peaks[lo]!.time < pk.time - 3600_000) lo++;
    let base = Number.POSITIVE_INFINITY;
    for (let j = lo; j < i; j++) base = Math.min(base, peaks[j]!.rate);
    const cur = out[out.length - 1];
    const burst = Number.isFinite(base) && pk.rate >= BURST_FACTOR * Math.max(base, 1e-9);
    if (burst && !inBurst) out.push({ start: pk.time, base, height: pk.rate / Math.max(base, 1e-9), end: pk.time });
    else if (burst && cur) {
      cur.height = Math.max(cur.height, pk.rate / Math.max(cur.base, 1e-9));
      cur.end = pk.time;
    }
    inBurst = burst;
  }
  return out;
}

export function burstStarts(peaks: ReadonlyArray<{ time: number; rate: number }>): number[] {
  return bursts(peaks).map((b) => b.start);
}

/** Gaps between bursts needed before their spread is judged (regularBursts). */
export const REGULAR_MIN_GAPS = 6;
/** Bursts are regular when the shortest gap is at least this fraction of the longest (Poisson bursts are far from it). */
export const REGULAR_SPREAD = 0.3;

/** A release (quietAfterBurst) is taken within this long after the last burst bucket, or not in this gap. */
export const RELEASE_WITHIN_MS = 3 * PEAK_BUCKET_MS;

export interface RegularBursts {
  n: number;
  shortestSec: number;
  longestSec: number;
  last: { start: number; end: number; base: number; height: number };
}

/**
 * Bursts that come at bounded intervals (spikes every 1-3 h): at least REGULAR_MIN_GAPS gaps in
 * the kept day, the shortest at least REGULAR_SPREAD of the longest. Their next one is neither
 * due before the shortest gap has passed nor unlikely after the longest: a scale-down just after a
 * burst holds until the next, and one after a quiet longer than the longest gap meets it. Poisson
 * bursts (gaps of any length, the shortest a few minutes) are not regular. Undefined otherwise.
 */
export function regularBursts(peaks: ReadonlyArray<{ time: number; rate: number }>): RegularBursts | undefined {
  const b = bursts(peaks);
  if (b.length < REGULAR_MIN_GAPS + 1) return undefined;
  const gaps = b.slice(1).map((x, i) => (x.start - b[i]!.start) / 1000).sort((x, y) => x - y);
  const shortestSec = gaps[0]!;
  const longestSec = gaps[gaps.length - 1]!;
  if (shortestSec < REGULAR_SPREAD * longestSec) return undefined;
  return { n: b.length, shortestSec, longestSec, last: b[b.length - 1]! };
}

/**
 * Regular bursts, the last one over and the next not due before the hold ends (the time since the
 * last began, plus the horizon and one peak bucket for where a start falls in its bucket, within
 * the shortest gap): the highest rate since the last burst ended, with why. The capacity for the
 * burst is not held across the quiet (start-at-peak: 11 slots all week where 5 carry the rate
 * between spikes); it is raised at the next burst, two rescales a burst, taken while the job's
 * rescales over the kept day stay within `scaleDown.releaseBudget` an hour, and while the restart
 * is within `restart.prior`. Over the budget, rate is undefined and why says so (held).
 */
export function quietAfterBurst(ctx: HoldContext, horizonSec: number): { rate?: number; why: string; endedMs: number } | undefined {
  const budget = ctx.policy.scaleDown.releaseBudget;
  if (!(budget > 0) || ctx.peaks.length === 0) return undefined;
  // With a restart longer than the prior, the scale-up at the next burst costs lag past the SLO
  // at each one (30 GB of state, ~170 s restarts: start-at-peak/single 50-100 SLO-minutes a week
  // held, 840-970 released, over the baseline's on seed 4): the capacity is held.
  if (ctx.restartSec > seconds(ctx.policy.restart.prior)) return undefined;
  const reg = regularBursts(ctx.peaks);
  if (!reg) return undefined;
  const sinceSec = (ctx.now - reg.last.start) / 1000;
  if (sinceSec + horizonSec + PEAK_BUCKET_MS / 1000 > reg.shortestSec) return undefined;
  const after = ctx.peaks.filter((pk) => pk.time > reg.last.end && pk.time <= ctx.now);
  // Right after the burst or not at all: later in the quiet the next one comes nearer, and the
  // shortest gap of one day is not the shortest to come (start-at-peak seed 4: a drop 56 min
  // after a spike began, the shortest gap 81 min, the next spike 10 min later).
  if (after.length === 0 || ctx.now - reg.last.end > RELEASE_WITHIN_MS) return undefined;
  const rate = Math.max(...after.map((pk) => pk.rate));
  if (rate >= BURST_FACTOR * reg.last.base) return undefined;
  const min = (x: number): number => Math.round(x / 60);
  const head = `the next of ${reg.n} regular bursts (gaps ${min(reg.shortestSec)}-${min(reg.longestSec)} min in the last day) is not due within ${min(horizonSec)} min (${min(sinceSec)} min since the last began)`;
  // The budget over the span the peaks cover (up to the kept day): this drop and the scale-up at
  // the next burst are two more rescales.
  const spanMs = Math.min(PEAK_KEEP_MS, ctx.now - ctx.peaks[0]!.time);
  const used = (ctx.rescaleTimes ?? []).filter((t) => t >= ctx.now - spanMs).length;
  const allowed = (budget * spanMs) / 3600_000;
  if (used + 2 > allowed) {
    return { endedMs: ctx.now - reg.last.end, why: `${head}, but dropping its capacity and raising it at the next is two more rescales over the ${used} of the last ${min(spanMs / 1000)} min (releaseBudget ${budget}/h): held` };
  }
  return { rate, endedMs: ctx.now - reg.last.end, why: `${head}: the capacity for it is not held across the quiet; ${Math.round(rate)} rec/s since it ended` };
}

/**
 * The look-back for recent peaks: `scaleDown.peakLookback`, extended on bursty input (3 or more
 * bursts in the kept day) to the `burstQuantile` of the gaps between them plus the horizon
 * (capped at `maxLookback`): the last burst's capacity is held across the usual quiet before the
 * next one, so a burst costs one scale-up, and the scale-down comes only after a quiet longer
 * than most, early enough before the next burst to pay for itself.
 */
export function peakLookback(ctx: HoldContext, horizonSec: number): { sec: number; note: string } {
  const sd = ctx.policy.scaleDown;
  const base = seconds(sd.peakLookback);
  if (!(sd.burstQuantile > 0)) return { sec: base, note: '' };
  const starts = burstStarts(ctx.peaks);
  if (starts.length < 3) return { sec: base, note: '' };
  const gaps = starts.slice(1).map((t, i) => (t - starts[i]!) / 1000).sort((x, y) => x - y);
  const q = gaps[Math.min(gaps.length - 1, Math.floor(sd.burstQuantile * gaps.length))]!;
  // The longest of n gaps seen understates the longest to come (by about 1/n of it for evenly
  // spread gaps): past it, the next burst is due, not unlikely.
  const sec = Math.min(seconds(sd.maxLookback), q * (1 + 1 / gaps.length) + horizonSec);
  // Regular bursts after a quiet longer than their longest gap: the next one is overdue, not
  // unlikely. The look-back reaches back to the last one (start-at-peak seed 10: "10 -> 4" 151
  // min into a quiet, a spike 4 minutes later).
  const reg = regularBursts(ctx.peaks);
  if (reg) {
    const sinceSec = (ctx.now - reg.last.start) / 1000;
    const overdue = Math.min(seconds(sd.maxLookback), sinceSec + horizonSec + PEAK_BUCKET_MS / 1000);
    if (sinceSec > reg.longestSec && overdue > sec && overdue > base) {
      return { sec: overdue, note: `: the next of ${reg.n} regular bursts is overdue (${Math.round(sinceSec / 60)} min since the last began, the longest gap of the last day ${Math.round(reg.longestSec / 60)} min)` };
    }
  }
  if (sec <= base) return { sec: base, note: '' };
  return { sec, note: `: ${Math.round(sd.burstQuantile * 100)}th percentile of the gaps between the ${starts.length} bursts of the last day, plus 1/${gaps.length} of it and the horizon` };
}

/** Peak buckets a falling line must explain before the look-back's older peaks are let go. */
export const FALLING_MIN_BUCKETS = 6;

/**
 * When the peaks of the look-back fall along a line (r^2 >= TREND_MIN_R2, at least
 * FALLING_MIN_BUCKETS of them, the highest at the look-back's start), the older, higher ones
 * are the way down, not a level that comes back: the peak to hold is the line now plus the
 * largest amount any bucket rose above it. A burst or a gap is no line and keeps the plain
 * look-back. Returns undefined when the peaks do not fall steadily.
 */
export function fallingPeaks(peaks: ReadonlyArray<{ time: number; rate: number }>, now: number, lookbackSec: number): { rate: number; why: string } | undefined {
  const inWindow = peaks.filter((pk) => pk.time >= now - lookbackSec * 1000 && pk.time <= now);
  if (inWindow.length < FALLING_MIN_BUCKETS) return undefined;
  // The look-back must start at the top of the fall (its highest bucket among the first fifth,
  // for noise), else a rise inside it (the top of a ramp, a burst) is not yet behind.
  let topAt = 0;
  for (let i = 1; i < inWindow.length; i++) if (inWindow[i]!.rate > inWindow[topAt]!.rate) topAt = i;
  if (topAt >= Math.max(2, Math.ceil(inWindow.length / 5))) return undefined;
  const top = inWindow[topAt]!.rate;
  const pts = inWindow.map((pk) => [(pk.time - now) / 1000, pk.rate]);
  const reg = linearRegression(pts);
  if (!(reg.m < 0)) return undefined;
  const line = linearRegressionLine(reg);
  const r2 = rSquared(pts, line);
  if (!(r2 >= TREND_MIN_R2)) return undefined;
  let above = 0;
  for (const [t, r] of pts) above = Math.max(above, r! - line(t!));
  const rate = line(0) + above;
  return {
    rate,
    why: `the peaks of the last ${Math.round(lookbackSec / 60)} min fall steadily (${Math.round(reg.m * 60)} rec/s a minute, r2 ${r2.toFixed(2)}, ${inWindow.length} buckets from ${Math.round(top)} rec/s): ${Math.round(line(0))} rec/s now, plus ${Math.round(above)} for the bucket furthest above the line`,
  };
}

/** The highest arrival rate expected over the horizon, with where it comes from. */
export function expectedPeak(ctx: HoldContext, horizonSec: number): { rate: number; why: string; burst?: boolean; quiet?: boolean } {
  const lb = peakLookback(ctx, horizonSec);
  const baseSec = Math.max(horizonSec, seconds(ctx.policy.scaleDown.peakLookback));
  const lookbackSec = Math.max(horizonSec, lb.sec);
  let best: { rate: number; why: string; burst?: boolean; quiet?: boolean } = { rate: 0, why: '' };
  const q = quietAfterBurst(ctx, horizonSec);
  const quiet = q?.rate !== undefined ? { rate: q.rate, why: q.why, quiet: true } : undefined;
  const falling = ctx.policy.forecast.enabled ? fallingPeaks(ctx.peaks, ctx.now, baseSec) : undefined;
  if (quiet) best = quiet;
  else if (falling) best = { rate: falling.rate, why: falling.why };
  else {
    for (const pk of ctx.peaks) {
      if (pk.time < ctx.now - baseSec * 1000 || pk.rate <= best.rate) continue;
      best = { rate: pk.rate, why: `a peak of ${Math.round(pk.rate)} rec/s ${Math.round((ctx.now - pk.time) / 60_000)} min ago (look-back ${Math.round(baseSec / 60)} min)` };
    }
  }
  if (lookbackSec > baseSec && !quiet) {
    // Beyond the plain look-back, hold for a typical burst (the median height over the rate
    // under it) at today's rate, and never above what the look-back saw (burstHold 'typical').
    const heights = bursts(ctx.peaks).map((b) => b.height).sort((x, y) => x - y);
    // burstHold 'highest': the highest burst of the kept day at today's rate, uncapped (a burst on
    // a higher base than any seen is as likely as one on the bases seen: Poisson bursts do not
    // care about the daily cycle's phase).
    const highest = ctx.policy.scaleDown.burstHold === 'highest';
    const h = highest ? heights[heights.length - 1]! : heights[Math.floor(heights.length / 2)]!;
    let seen = 0;
    for (const pk of ctx.peaks) if (pk.time >= ctx.now - lookbackSec * 1000) seen = Math.max(seen, pk.rate);
    const rate = highest ? h * ctx.arrivalRate : Math.min(seen, h * ctx.arrivalRate);
    if (rate > best.rate) best = { rate, burst: true, why: `${highest ? 'the highest' : 'a typical'} burst (${h.toFixed(1)}x the rate under it) of ${Math.round(rate)} rec/s may come back (look-back ${Math.round(lookbackSec / 60)} min${lb.note})` };
  }
  // A release over its budget: say so with what holds the capacity.
  if (q && q.rate === undefined) best = { ...best, why: `${best.why}; ${q.why}` };
  const f = ctx.policy.forecast;
  if (f.enabled && ctx.arrivalRate > 0) {
    // Plus the pre-scale's horizon: a forecast pre-scale checked at the end of the hold looks that
    // far ahead, and capacity under what it asks for would be raised again (a ramp's first
    // minutes: "6 -> 5", then "5 -> 8: pre-scaling for the forecast" 10 minutes later).
    const fcHorizonSec = horizonSec + seconds(f.horizon);
    const fc = forecast(ctx.forecastState, ctx.now, ctx.arrivalRate, { horizonSec: fcHorizonSec, minHistorySec: seconds(f.minHistory), trendWindowSec: seconds(f.trendWindow), minSeasons: f.minSeasons, gapReturns: true, earlyTrend: true });
    if (fc && fc.rate > best.rate) best = { rate: fc.rate, why: `the forecast over the next ${Math.round(fcHorizonSec / 60)} min (${fc.note})` };
  }
  return best;
}

/**
 * The parallelism a vertex needs so that, at source arrival rate `rate`, it runs at most at the
 * band's max utilization (no scale-up would trigger). `align` rounds to a balanced parallelism.
 */
export function needAt(m: VertexModel, arrivalRate: number, rate: number, units: number | undefined, maxU: number, lo: number, hi: number, align: (q: number) => number): number {
  const cap = m.sizingRate ?? m.trueRate;
  if (!(cap > 0) || !(arrivalRate > 0)) return m.parallelism;
  const load = m.targetRate * (rate / arrivalRate);
  // A source sized on its delivered rate (a lower bound) is scaled linearly: never more per subtask at more of them.
  const b = m.sizingRate !== undefined ? 1 : m.scalingExponent;
  for (let q = Math.max(1, lo); q <= hi; q++) {
    if (predictedRate(cap, m.parallelism, q, b, units) * maxU >= load) return Math.max(q, align(q));
  }
  return hi;
}

/**
 * A scale-down on a steady fall, sized as a pre-scale on a rise is, for the trend over the
 * forecast horizon: at the band's target for the rate the trend reaches by then, and never
 * above the band's max for the rate now (plus the catch-up of the restart's backlog). Sized for
 * the rate now alone, each step is followed by the next as soon as the fall takes utilization
 * under the band's min: a restart every scale-down delay all the way down.
 */
export function fallingStepNeed(m: VertexModel, o: { arrivalRate: number; nowRate: number; aheadRate: number; units: number | undefined; restartSec: number; catchUpSec: number; policy: ScalingPolicy; lo: number; hi: number; align: (q: number) => number }): number {
  const cap = m.sizingRate ?? m.trueRate;
  if (!(cap > 0) || !(o.arrivalRate > 0)) return m.parallelism;
  const u = o.policy.utilization;
  const share = m.targetRate / o.arrivalRate;
  const now = share * o.nowRate;
  const ahead = share * Math.max(0, o.aheadRate);
  // With a restart longer than the prior every rescale costs lag past the SLO: the rate now is left
  // at the band's target, not its max, so a step down is not one more restart at night and one
  // more in the morning (long restarts, gaps/single seed 9: "7 -> 4" at 03:10, "4 -> 7" at 07:39).
  const uNow = o.restartSec > seconds(o.policy.restart.prior) ? u.target : u.max;
  const required = Math.max(now / uNow, ahead / u.target) + (o.catchUpSec > 0 ? (now * o.restartSec) / o.catchUpSec : 0);
  const b = m.sizingRate !== undefined ? 1 : m.scalingExponent;
  for (let q = Math.max(1, o.lo); q <= o.hi; q++) if (predictedRate(cap, m.parallelism, q, b, o.units) >= required) return Math.max(q, o.align(q));
  return o.hi;
}

/**
 * Sizes a triggered scale-up to the recent peak as well (within the look-back): the restart is
 * paid anyway, and a burst that ramps over a few intervals is then one restart, not two.
 */
export function scaleUpForPeak(m: VertexModel, proposed: number, cap: number, units: number | undefined, bounds: { lo: number; hi: number }, ctx: HoldContext, align: (q: number) => number): { to: number; why?: string } {
  const peak = expectedPeak(ctx, seconds(ctx.policy.cooldown));
  // A triggered scale-up is sized on the recent intervals: scale the peak against their arrivals.
  const ref = ctx.recentArrivalRate > 0 ? ctx.recentArrivalRate : ctx.arrivalRate;
  if (peak.rate <= ref) return { to: proposed };
  const need = Math.min(cap, needAt(m, ref, peak.rate, units, ctx.policy.utilization.target, bounds.lo, bounds.hi, align));
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
  if (need <= proposed) return { to: proposed, horizonSec, ...(peak.quiet ? { why: `vertex ${id}: scale-down to ${proposed}: ${peak.why}` } : {}) };
  const span = `${Math.round(horizonSec / 60)} min (cool-down + restart payback)`;
  if (need >= p) {
    return { to: p, horizonSec, why: `vertex ${id}: scale-down to ${proposed} would not hold for ${span}: ${peak.why} needs ${need}; waiting` };
  }
  // A partial step now and the rest later is two restarts for one drop: take it only when it
  // frees at least half of what the full step would, else wait for the full step. Capacity held
  // for the bursts to come is held for hours: the step down to it pays for itself.
  if (p - need < (p - proposed) / 2 && !peak.burst) {
    return { to: p, horizonSec, why: `vertex ${id}: scale-down to ${proposed} would not hold for ${span}: ${peak.why} needs ${need}, a step too small to pay for its restart; waiting` };
  }
  return { to: need, horizonSec, why: `vertex ${id}: scale-down sized to ${need}, not ${proposed}, to hold for ${span}: ${peak.why}`, ...(peak.burst ? { burst: true } : {}) };
}
