/**
 * Per-vertex planning: from the model numbers of the long window (for scale-down and the
 * explanation) and of the most recent intervals (for a fast scale-up), the recommended
 * parallelism with its sizing (utilization target, catch-up, learned restart cost, fitted
 * scaling exponent, key-group/partition balance, alignment), plus skew and effectiveness
 * findings. Guards across vertices (delay, cool-down, limits) are applied in decide().
 */
import type { VertexObservation } from './observation.ts';
import { isSource } from './observation.ts';
import type { VertexModel } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { balanceUnits, predictedRate, smallestSufficient, type VertexRates } from './capacity.ts';
import { alignParallelism } from './alignment.ts';
import { fitScaling, type ScalingPoint } from './scalability.ts';

export interface VertexPlanInput {
  v: VertexObservation;
  long: VertexRates;
  short: VertexRates;
  /** the model over each of the most recent intervals, oldest first */
  recent: VertexRates[];
  policy: ScalingPolicy;
  restartSec: number;
  catchUpSec: number;
  points: readonly ScalingPoint[];
  forecastFactor: number;
  /** the forecast factor one horizon further: a vertex it takes past the band's max joins a rescale */
  joinFactor?: number;
  /** sources: capacity last observed while catching up */
  sourceObserved?: { p: number; rate: number } | undefined;
  /** sources: the highest rate delivered at each parallelism, lower bounds of capacity */
  sourceDelivered?: ReadonlyArray<{ p: number; rate: number }> | undefined;
}

export interface VertexPlan {
  model: VertexModel;
  upTriggered: boolean;
  /** the recent window asks for more than the current parallelism: joins a rescale that happens anyway */
  rideAlongUp: number;
  /** why it would join ('' when rideAlongUp is the current parallelism) */
  rideAlongWhy: string;
  downCandidate: boolean;
  forecastUp: boolean;
  /** recommendation at the forecast rate (>= recommended) */
  forecastRecommended: number;
  /** a forecast pre-scale's size: for the forecast one horizon past the one that triggers it */
  preScaleTo: number;
  /** utilization at the forecast over the horizon (a pre-scale is due above 1: past its capacity) */
  forecastUtilization: number;
  lo: number;
  hi: number;
}

const fmt = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(2)) : String(x));

export function vertexBounds(v: VertexObservation, policy: ScalingPolicy): { lo: number; hi: number } {
  // Not sized (no busy time, or FINISHED): held where it is, as the operator's excluded vertices.
  if (v.excluded) return { lo: v.parallelism, hi: v.parallelism };
  const lim = policy.limits.vertices[v.id] ?? policy.limits.vertices[v.name ?? ''] ?? {};
  let hi = Math.min(lim.max ?? policy.limits.maxParallelism, policy.limits.maxParallelism, v.maxParallelism);
  if (isSource(v) && policy.alignment.capAtPartitions && v.partitions) hi = Math.min(hi, v.partitions);
  const lo = Math.min(Math.max(lim.min ?? policy.limits.minParallelism, policy.limits.minParallelism), hi);
  return { lo, hi: Math.max(hi, lo) };
}

function exponentFor(points: readonly ScalingPoint[], policy: ScalingPolicy, notes: string[]): number {
  if (!policy.scalability.fit) return 1;
  const fit = fitScaling(points, policy.scalability.minPoints);
  if (!fit) return 1;
  if (fit.b < policy.scalability.minExponent) {
    notes.push(`scales poorly: fitted rate ~ p^${fit.b.toFixed(2)} over ${fit.points} parallelisms; sized with p^${policy.scalability.minExponent}`);
    return policy.scalability.minExponent;
  }
  const b = Math.min(1, fit.b);
  if (b < 0.98) notes.push(`sublinear: fitted rate ~ p^${b.toFixed(2)} over ${fit.points} parallelisms`);
  return b;
}

function recommend(rates: VertexRates, p: number, b: number, units: number | undefined, required: number, lo: number, hi: number): number {
  if (rates.trueRate > 0) return smallestSufficient(rates.trueRate, p, required, b, units, lo, hi);
  return rates.targetRate + rates.catchUpRate > 0 ? p : lo;
}

/**
 * The capacity a source has at least at parallelism q, from what it delivered: never less at a
 * higher parallelism than at a lower one, and at a lower one at least the same rate per subtask
 * (scaling is at best linear, so a subtask never does less with fewer of them).
 */
export function deliveredBound(points: ReadonlyArray<{ p: number; rate: number }> | undefined, q: number, units: number | undefined): { rate: number; from: { p: number; rate: number } } {
  let best = { rate: 0, from: { p: q, rate: 0 } };
  for (const e of points ?? []) {
    if (!(e.rate > 0)) continue;
    const r = q >= e.p ? e.rate : predictedRate(e.rate, e.p, q, 1, units);
    if (r > best.rate) best = { rate: r, from: e };
  }
  return best;
}

export function planVertex(input: VertexPlanInput): VertexPlan {
  const { v, policy } = input;
  let { long, short, recent } = input;
  const p = v.parallelism;
  const notes: string[] = [];
  const units = balanceUnits(v);
  let sourceCapacityUnknown = false;
  if (isSource(v)) {
    // Busy time at sources lies: use the capacity seen while catching up, else never shrink.
    const o = input.sourceObserved;
    // What the source already delivered is a lower bound of its capacity: a "catch-up" rate below
    // it was not a saturated source (a small backlog drained at the arrival rate, e.g. in a gap).
    const floor = deliveredBound(input.sourceDelivered, p, units).rate;
    const raise = (r: VertexRates): VertexRates => (r.basis === 'observed-catch-up' && r.trueRate < floor ? { ...r, trueRate: floor, utilization: (r.targetRate + r.catchUpRate) / floor } : r);
    if (long.basis === 'observed-catch-up' && long.trueRate < floor) notes.push(`catch-up rate ${Math.round(long.trueRate)} rec/s is below the ${Math.round(floor)} rec/s the source delivered before: not its capacity, the delivered rate is used`);
    long = raise(long);
    short = raise(short);
    recent = recent.map(raise);
    if (o) {
      const remembered = predictedRate(o.rate, o.p, p, 1, units);
      const rate = Math.max(remembered, floor);
      if (long.basis !== 'observed-catch-up') {
        notes.push(`remembered source capacity ${Math.round(o.rate)} rec/s at parallelism ${o.p} (observed while catching up)` + (floor > remembered ? `, raised to the ${Math.round(floor)} rec/s it delivered` : ''));
      }
      const fix = (r: VertexRates): VertexRates => (r.basis === 'observed-catch-up' ? r : { ...r, trueRate: rate, basis: 'observed-catch-up', utilization: (r.targetRate + r.catchUpRate) / rate });
      long = fix(long);
      short = fix(short);
      recent = recent.map(fix);
    } else if (long.basis !== 'observed-catch-up') sourceCapacityUnknown = true;
  }
  const { lo, hi } = vertexBounds(v, policy);
  if (v.excluded) notes.push(v.excluded === 'finished' ? 'FINISHED: not sized, keeps its parallelism' : 'Flink reports no busy time (NaN: a legacy source): not sized, keeps its parallelism');
  const b = exponentFor(input.points, policy, notes);
  const u = policy.utilization;
  const k = policy.upConfirmIntervals;
  // An interval in which the vertex processed nothing and was not busy has no capacity figure:
  // demand over an unknown capacity is not heat. A backpressured source stalled for a whole
  // interval (a starved TaskManager, a stalled downstream) looked infinitely hot and rode along.
  const measured = recent.filter((r) => !unmeasured(r, u.target));
  if (measured.length < recent.length) notes.push(`${recent.length - measured.length} of the last ${recent.length} intervals without records or busy time: capacity unknown there, not counted as running hot`);
  const recentUtilization = measured.map((r) => r.utilization);
  const upTriggered = recentUtilization.length >= k && recentUtilization.slice(-k).every((x) => x > u.max);
  const basis = upTriggered ? short : long;
  const restartTerm = input.catchUpSec > 0 ? (basis.targetRate * input.restartSec) / input.catchUpSec : 0;
  const required = basis.targetRate / u.target + basis.catchUpRate + restartTerm;
  let rec = recommend(basis, p, b, units, required, lo, hi);
  // What the steady load alone needs (no backlog catch-up): the scale-down sliding max uses it,
  // so a drained spike's catch-up demand does not hold capacity for a whole window.
  const steadyRequired = long.targetRate / u.target + (input.catchUpSec > 0 ? (long.targetRate * input.restartSec) / input.catchUpSec : 0);
  const align = (q: number): number => {
    if (policy.alignment.mode === 'off') return q;
    const a = alignParallelism(q, p, units, { maxOvershoot: policy.alignment.maxOvershoot, upper: hi, isSource: isSource(v), capAtPartitions: policy.alignment.capAtPartitions });
    if (a.note && q !== p) notes.push(a.note);
    return Math.max(lo, Math.min(hi, a.parallelism));
  };
  rec = align(rec);
  const steadyRecommended = align(recommend(long, p, b, units, steadyRequired, lo, hi));
  const recentRequired = short.targetRate / u.target + (input.catchUpSec > 0 ? (short.targetRate * input.restartSec) / input.catchUpSec : 0);
  const recentNeed = align(recommend(short, p, b, units, recentRequired, lo, hi));
  // The forecast scales the arrivals; the backlog's catch-up is the reactive path's business.
  const fcRequired = required + (input.forecastFactor - 1) * (basis.targetRate / u.target + restartTerm);
  const forecastRecommended = input.forecastFactor > 1 ? Math.max(rec, align(recommend(basis, p, b, units, fcRequired, lo, hi))) : rec;
  // A pre-scale is bought ahead of need, at the last moment that is still ahead of it: when the
  // forecast over the horizon takes the vertex past its capacity, not past the band's max (the
  // reactive trigger's margin for noise in a measured utilization). Asked at the max, each step
  // came a few minutes before the next vertex's, and vertices restarted the job one after another
  // (ramp: 9 rescales in 8 h, now 6-8). On a rise slower than that margin over the horizon the
  // measured utilization reaches the band's max first, and the reactive step (sized on a higher
  // rate, with the restart's catch-up) would come before the pre-scale: there it is due at the
  // band's max, as before (long restarts, gaps/single: "8 -> 15" reactive instead of "7 -> 13").
  const nowUtilization = long.targetRate / Math.max(long.trueRate, 1e-9);
  const forecastUtilization = nowUtilization * input.forecastFactor;
  const slowRise = forecastUtilization > u.max && forecastUtilization - nowUtilization < 1 - u.max;
  const forecastUp = input.forecastFactor > 1 && forecastRecommended > p && (forecastUtilization > 1 || slowRise);

  const skew = long.busyAvg > 0.01 ? long.busyMax / long.busyAvg : 1;
  const expectedSkew = units ? Math.ceil(units / p) / (units / p) : 1;
  const skewedByKeys = !isSource(v) && units !== undefined && skew > policy.skew.threshold && skew > expectedSkew * 1.2;
  if (skewedByKeys) {
    notes.push(`skewed by keys: busiest subtask ${fmt(skew)}x the average (key groups alone explain ${fmt(expectedSkew)}x); more parallelism will not relieve the hot keys`);
  }
  if (long.basis === 'observed-catch-up') notes.push('source rate observed while catching up (busy time at sources is not trusted)');
  if (sourceCapacityUnknown && !(input.sourceDelivered?.length)) notes.push('source capacity not yet observed (busy time at sources is not trusted): no scale-down');
  let downCandidate = rec < p && long.utilization < u.min && !sourceCapacityUnknown;
  let steadyRec = steadyRecommended;
  let need = recentNeed;
  let sizingRate: number | undefined;
  const dlPoints = input.sourceDelivered ?? [];
  if (sourceCapacityUnknown && dlPoints.length > 0 && !upTriggered) {
    // Capacity not observed yet, but what the source delivered is a lower bound of it: size a
    // scale-down on that bound (never on busy time), so a job started at a spike sheds its source.
    const bound = (q: number): number => deliveredBound(dlPoints, q, units).rate;
    const dl = deliveredBound(dlPoints, p, units);
    const lbNeed = (required: number): number => {
      for (let q = Math.max(1, lo); q < p; q++) if (bound(q) >= required) return align(q);
      return p;
    };
    const lbSteady = Math.min(p, lbNeed(steadyRequired));
    const lbUtil = long.targetRate / bound(p);
    if (lbSteady < p && lbUtil < u.min) {
      rec = Math.max(Math.min(rec, p), lbSteady);
      steadyRec = Math.max(Math.min(steadyRec, p), lbSteady);
      need = Math.max(Math.min(need, p), Math.min(p, lbNeed(recentRequired)));
      downCandidate = rec < p;
      sizingRate = bound(p);
      notes.push(`source sized on the ${Math.round(dl.from.rate)} rec/s it delivered at parallelism ${dl.from.p} (a lower bound of its capacity)`);
    }
  }
  const model: VertexModel = {
    parallelism: p,
    maxParallelism: v.maxParallelism,
    trueRate: basis.trueRate,
    trueRateBasis: basis.basis,
    targetRate: basis.targetRate,
    catchUpRate: basis.catchUpRate,
    deliveredRate: long.inRate,
    utilization: Number.isFinite(long.utilization) ? long.utilization : 1e9,
    recentUtilization: recentUtilization.map((x) => (Number.isFinite(x) ? x : 1e9)),
    busyMax: long.busyMax,
    busyAvg: long.busyAvg,
    backPressured: long.backPressured,
    skew,
    skewedByKeys,
    requiredRate: required,
    scalingExponent: b,
    recommended: rec,
    steadyRecommended: steadyRec,
    recentNeed: need,
    expectedRate: basis.trueRate > 0 ? predictedRate(basis.trueRate, p, rec, b, units) : 0,
    notes,
  };
  if (long.pending !== undefined) model.pendingRecords = long.pending;
  if (sizingRate !== undefined) model.sizingRate = sizingRate;
  const recentRec = upTriggered ? rec : align(recommend(short, p, b, units, short.targetRate / u.target + short.catchUpRate + restartTermShort(short, input), lo, hi));
  const latest = recentUtilization.at(-1) ?? 0;
  // Joins a rescale if it runs hot now, or would run above target at the forecast arrivals.
  const forecastHot = input.forecastFactor > 1 && (long.targetRate * input.forecastFactor) / Math.max(long.trueRate, 1e-9) > u.target;
  // Or would ask for its own pre-scale within the next horizon: past the band's max at the
  // forecast one horizon further (a margin under the pre-scale's own trigger, its capacity, so a
  // pre-scale due a few minutes past the horizon joins too): sized for that, it does not restart
  // the job alone later.
  const jf = input.joinFactor ?? 1;
  const joinHot = jf > 1 && (long.targetRate * jf) / Math.max(long.trueRate, 1e-9) > u.max;
  // What keeps it at or under the band's max at that forecast: the pre-scale check (the same
  // test one horizon earlier) does not ask for it again within the next horizon.
  const farRecommended = jf > 1 ? Math.max(rec, align(recommend(basis, p, b, units, (basis.targetRate * jf) / u.max, lo, hi))) : rec;
  const joinRecommended = joinHot ? Math.max(forecastRecommended, farRecommended) : p;
  const hotNow = latest > u.target ? recentRec : p;
  const atForecast = forecastHot ? forecastRecommended : p;
  const rideAlongUp = Math.max(hotNow, atForecast, joinRecommended);
  const rideAlongWhy =
    rideAlongUp <= p ? ''
    : rideAlongUp === hotNow ? `utilization ${fmt(latest)} in the latest interval`
    : rideAlongUp === atForecast ? `utilization ${fmt((long.targetRate * input.forecastFactor) / Math.max(long.trueRate, 1e-9))} at the forecast, above the band's target`
    : `it would pre-scale on its own within the next forecast horizon: utilization ${fmt((long.targetRate * jf) / Math.max(long.trueRate, 1e-9))} at the forecast one horizon further`;
  // A pre-scale is triggered by the forecast one horizon ahead above the band's max; sized for
  // that forecast at the target, the next check asks again as soon as the rise takes the vertex
  // from the target to the max (a ramp: a restart every 20 % of growth). Also kept under the max
  // at the forecast one horizon further, each step lasts at least a horizon.
  const preScaleTo = forecastUp ? Math.max(forecastRecommended, farRecommended) : forecastRecommended;
  return { model, upTriggered: upTriggered && rec > p, rideAlongUp, rideAlongWhy, downCandidate, forecastUp, forecastRecommended, preScaleTo, forecastUtilization, lo, hi };
}

/** No capacity figure in this interval: nothing processed (or no remembered rate) and too little busy time to call it hot. */
export function unmeasured(r: VertexRates, busyHot: number): boolean {
  return !(r.trueRate > 0) && r.busyMax <= busyHot;
}

function restartTermShort(r: VertexRates, input: VertexPlanInput): number {
  return input.catchUpSec > 0 ? (r.targetRate * input.restartSec) / input.catchUpSec : 0;
}

export function describeUp(id: string, m: VertexModel, to: number, k: number, maxU: number): string {
  return (
    `vertex ${id}: ${m.parallelism} -> ${to}: utilization ${fmt(m.recentUtilization.at(-1) ?? m.utilization)} > ${maxU} for ${k} intervals ` +
    `(arrival ${fmt(m.targetRate)} + catch-up ${fmt(m.catchUpRate)} rec/s vs capacity ${fmt(m.trueRate)} rec/s; sized for ${fmt(m.requiredRate)} rec/s)`
  );
}

export function describeDown(id: string, m: VertexModel, to: number, minU: number): string {
  return `vertex ${id}: ${m.parallelism} -> ${to}: utilization ${fmt(m.utilization)} < ${minU} (arrival ${fmt(m.targetRate)} rec/s vs capacity ${fmt(m.trueRate)} rec/s)`;
}
