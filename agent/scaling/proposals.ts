/**
 * Proposals: the parallelism each vertex should move to before the job-level guards run. Per
 * vertex: a confirmed scale-up or a forecast pre-scale, an alert asking for a scale-up, a block
 * for a vertex whose last scale-up was ineffective, and a scale-down that has waited its delay
 * and takes the highest recommendation since it was first wanted (sliding max). Then, across
 * vertices: scale-out of keyed vertices under memory pressure, and hot vertices joining a
 * scale-up that restarts the job anyway.
 */
import type { JobObservation } from './observation.ts';
import type { ScaleDecision, VertexModel } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';
import type { ScalingHistory } from './history.ts';
import { lastRescale } from './history.ts';
import { describeDown, describeUp, type VertexPlan } from './vertex-plan.ts';
import { fallingStepNeed, holdHorizonSec, holdingScaleDown, quietAfterBurst, scaleUpForPeak, type HoldContext } from './hold.ts';
import { balanceUnits } from './capacity.ts';
import { alignParallelism } from './alignment.ts';
import { isSource } from './observation.ts';
import { trendFit, TREND_MIN_R2 } from './forecast.ts';

export interface AlertAction {
  action: string;
  name: string;
  vertex?: string;
}

export interface ProposalInput {
  d: ScaleDecision;
  obs: JobObservation;
  plans: Map<string, VertexPlan>;
  history: ScalingHistory;
  policy: ScalingPolicy;
  actions: readonly AlertAction[];
  now: number;
  memoryPressure: boolean;
  heap: number;
  gc: number;
}

export interface Proposal {
  target: Record<string, number>;
  reasons: string[];
  blockedVertices: string[];
  /** a scale-up was held to ride out a short overload */
  absorbing: boolean;
  /** vertices whose scale-down leaves the level that holds the bursts to come (held for hours) */
  burstHeld: string[];
}

export function proposeTargets(input: ProposalInput): Proposal {
  const { d, plans, history, policy, actions, now } = input;
  const current = d.parallelism;
  const target: Record<string, number> = { ...current };
  const reasons: string[] = [];
  const blockedVertices: string[] = [];
  const u = policy.utilization;
  const forceDown = actions.find((a) => a.action === 'scale_down');
  const delayMs = seconds(policy.scaleDown.delay) * 1000;
  const absorb = absorbVerdict(input);
  const settling: string[] = [];
  const burstHeld: string[] = [];
  const rescaleTimes = history.rescales.filter((r) => r.notCarriedOut === undefined).map((r) => r.time);
  const holdCtx: HoldContext = { now, arrivalRate: d.arrivalRate, recentArrivalRate: d.recentArrivalRate, restartSec: d.restartCostSec, peaks: history.peaks ?? [], forecastState: history.forecast, policy, rescaleTimes };
  const vertexById = new Map(input.obs.vertices.map((v) => [v.id, v]));
  const fall = steadyFallOf(history, policy, now);
  // A steady rise holds a scale-down only within one forecast horizon of the last scale-up (the
  // span its pre-scale was sized for); later, the hold weighs the forecast as for any step.
  const lastUp = lastRescale(history);
  const recentUp = lastUp !== undefined && lastUp.direction === 'up' && now - lastUp.time < seconds(policy.forecast.horizon) * 1000;
  const rise = recentUp ? steadyRiseOf(history, policy, now) : undefined;
  for (const [id, plan] of plans) {
    const m: VertexModel = plan.model;
    const p = m.parallelism;
    const vo = vertexById.get(id);
    const units = vo ? balanceUnits(vo) : undefined;
    const align = (q: number): number =>
      policy.alignment.mode === 'off' || !vo
        ? q
        : Math.max(plan.lo, Math.min(plan.hi, alignParallelism(q, p, units, { maxOvershoot: policy.alignment.maxOvershoot, upper: plan.hi, isSource: isSource(vo), capAtPartitions: policy.alignment.capAtPartitions }).parallelism));
    const upCap = Math.max(p + 1, Math.ceil(p * policy.scaleUp.maxFactor));
    const downFloor = Math.max(1, Math.ceil(p * (1 - policy.scaleDown.maxFactor)));
    const ineffective = history.ineffective[id] ?? (d.ineffective?.[id] ? { reason: d.ineffective[id]!, until: 0 } : undefined);
    let want = p;
    if (plan.upTriggered || plan.forecastUp) {
      want = Math.min(upCap, plan.upTriggered ? Math.max(m.recommended, plan.forecastRecommended) : plan.preScaleTo);
      let peakNote = '';
      if (plan.upTriggered) {
        const sized = scaleUpForPeak(m, want, upCap, units, plan, holdCtx, align);
        if (sized.why) peakNote = `; ${sized.why}`;
        want = sized.to;
      }
      reasons.push((plan.upTriggered ? describeUp(id, m, want, policy.upConfirmIntervals, u.max) : `vertex ${id}: ${p} -> ${want}: pre-scaling for the forecast (utilization ${plan.forecastUtilization.toFixed(2)} at it: ${plan.forecastUtilization > 1 ? 'past its capacity within the horizon' : `past the band's max on a rise slower than the band's margin, ahead of the reactive trigger`})` + (plan.preScaleTo > plan.forecastRecommended ? ` (sized for one horizon past it, not ${plan.forecastRecommended}, so the next check does not ask again at once)` : '')) + peakNote);
    }
    const alertUp = actions.find((a) => a.action === 'scale_up' && (a.vertex === undefined || a.vertex === id));
    if (alertUp && want <= p && (alertUp.vertex !== undefined || m.utilization >= u.target)) {
      want = Math.min(upCap, Math.max(m.recommended, p + 1, Math.ceil(p * 1.25)));
      reasons.push(`vertex ${id}: ${p} -> ${want}: alert ${alertUp.name} asks to scale up`);
    }
    if (want > p && plan.upTriggered && absorb) {
      blockedVertices.push(id);
      reasons.push(`vertex ${id}: scale-up held: ${absorb}`);
      want = p;
    }
    if (want > p && ineffective) {
      blockedVertices.push(id);
      reasons.push(`vertex ${id}: scale-up blocked: ${ineffective.reason}`);
      want = p;
    }
    if (want === p && (plan.downCandidate || (forceDown && m.recommended < p))) {
      const firstTrigger = history.pendingDown[id] ?? now;
      // Sliding max over the recommendations since the scale-down was first wanted (within the delay).
      let windowMax = Math.max(m.recommended, plan.forecastRecommended);
      // Between regular bursts, once the last is over (its end a metrics window and a minute
      // behind, for every vertex alike so they drop in one restart) and the next is not due
      // before the step's hold ends, the quiet is known to last: the step need not wait the full
      // delay, and is sized on the last minute's recommendations (those before still carry the
      // burst in their metrics window's arrivals: "11 -> 6", not 5).
      const quiet = forceDown ? undefined : quietAfterBurst(holdCtx, holdHorizonSec(p, Math.min(p - 1, m.recommended), holdCtx));
      const quietOk = quiet?.rate !== undefined && quiet.endedMs >= (Math.max(60, seconds(policy.metricsWindow)) + 60) * 1000;
      const since = quietOk ? now - 60_000 : Math.max(now - delayMs, firstTrigger);
      for (const r of history.recommendations) if (r.time >= since && r.rec[id] !== undefined) windowMax = Math.max(windowMax, r.rec[id]!);
      // Arrivals falling along a line over the trend window (which covers the delay): the window's
      // highest recommendation is the way down, not a level that comes back, and a step sized
      // for the need now is followed by the next one a delay later. Size it for the trend over
      // the forecast horizon (the rate now at the band's max), and do not wait for a window that
      // never settles.
      let steadyFall = false;
      if (fall && !forceDown) {
        const horizonSec = seconds(policy.forecast.horizon);
        const aheadRate = fall.at(now + horizonSec * 1000);
        const nowRate = Math.max(d.arrivalRate, d.recentArrivalRate);
        const stepNeed = fallingStepNeed(m, { arrivalRate: d.arrivalRate, nowRate, aheadRate, units, restartSec: d.restartCostSec, catchUpSec: seconds(policy.catchUp), policy, lo: plan.lo, hi: plan.hi, align });
        const fcNeed = plan.forecastRecommended > m.recommended ? plan.forecastRecommended : 0;
        const fallNeed = Math.max(stepNeed, fcNeed);
        if (fallNeed < windowMax) {
          reasons.push(
            `vertex ${id}: arrivals fall steadily (${fall.note}): sized for ${fallNeed}, not the window's highest ${windowMax}: ` +
              `the trend's ${Math.round(aheadRate)} rec/s in ${Math.round(horizonSec / 60)} min at the band's target, the ${Math.round(nowRate)} rec/s now at its max`,
          );
          windowMax = fallNeed;
          steadyFall = true;
        }
      }
      const down = Math.max(windowMax, downFloor);
      if (down >= p) {
        /* the sliding max says the load came back within the window */
      } else if (d.backlogMode) reasons.push(`vertex ${id}: no scale-down in backlog mode`);
      else if (!forceDown && !quietOk && now - firstTrigger < delayMs) {
        reasons.push(`vertex ${id}: scale-down to ${down} pending for ${Math.round((now - firstTrigger) / 1000)} s of ${policy.scaleDown.delay}`);
        if (!d.blockedBy) d.blockedBy = 'scale-down-delay';
      } else if (!forceDown && !steadyFall && m.recentNeed < windowMax * policy.scaleDown.settle) {
        // The load fell within the window: a step down now would only be partial; wait for the
        // window to hold the new level, then step down once.
        reasons.push(`vertex ${id}: load still falling (now needs ${m.recentNeed}, window max ${windowMax}): scale-down waits for the window to settle`);
        if (!d.blockedBy) d.blockedBy = 'scale-down-delay';
        settling.push(id);
      } else if (!forceDown && rise) {
        // Arrivals rising along a line: what a scale-down frees now, a pre-scale asks back within
        // the rise (ramp: "32 -> 26" 22 min after a pre-scale that alignment rounded up, with the
        // trend still rising). Two restarts for nothing; the drop waits for the rise to end.
        reasons.push(`vertex ${id}: no scale-down to ${down} while arrivals rise steadily (${rise.note})`);
        if (!d.blockedBy) d.blockedBy = 'scale-down-delay';
      } else {
        // Inside the cool-down of a scale-up the cool-down guard stops this reversal and names
        // itself; the hold applies once it has passed.
        const lastUp = lastRescale(history);
        const inCooldown = lastUp !== undefined && lastUp.direction === 'up' && now - lastUp.time < seconds(policy.cooldown) * 1000;
        const hold = forceDown || inCooldown ? { to: down } : holdingScaleDown(id, m, down, units, plan, holdCtx, align);
        if ('why' in hold && hold.why) reasons.push(hold.why);
        if (hold.to >= p) {
          if (!d.blockedBy) d.blockedBy = 'scale-down-delay';
        } else {
          want = hold.to;
          if ('burst' in hold && hold.burst) burstHeld.push(id);
          const over = quietOk ? 'the last minute, after a regular burst' : policy.scaleDown.delay;
          reasons.push(describeDown(id, m, want, u.min) + (forceDown ? ` (alert ${forceDown.name})` : ` (highest recommendation over ${over})`));
        }
      }
    }
    target[id] = want;
  }

  // Scale down once for the job: while another vertex's drop is still settling, the ready ones wait.
  const downs = Object.keys(target).filter((id) => target[id]! < current[id]!);
  const ups = Object.keys(target).some((id) => target[id]! > current[id]!);
  if (settling.length > 0 && downs.length > 0 && !ups && !forceDown) {
    for (const id of downs) target[id] = current[id]!;
    reasons.push(`scale-down of ${downs.join(', ')} waits for ${settling.join(', ')} to settle, so the job restarts once`);
  }
  memoryScaleOut(input, target, reasons);
  rideAlong(input, target, reasons);
  return { target, reasons, blockedVertices, absorbing: absorb !== undefined && blockedVertices.length > 0, burstHeld };
}

/**
 * Arrivals falling along a line over the whole trend window (r^2 >= TREND_MIN_R2), with the
 * window at least as long as the scale-down delay: then the delay's sliding max only remembers
 * the way down. Undefined otherwise (a drop, a gap, a burst's end are not lines), and with the
 * forecast off (no extrapolation at all).
 */
export function steadyFallOf(history: ScalingHistory, policy: ScalingPolicy, now: number): { slope: number; at: (t: number) => number; note: string } | undefined {
  const windowSec = seconds(policy.forecast.trendWindow);
  if (!policy.forecast.enabled || windowSec < seconds(policy.scaleDown.delay)) return undefined;
  const tr = trendFit(history.forecast, now, windowSec);
  if (!tr || tr.early || !(tr.slope < 0) || tr.r2 < TREND_MIN_R2) return undefined;
  return { slope: tr.slope, at: tr.at, note: `${Math.round(tr.slope * 60)} rec/s a minute over ${Math.round(tr.spanSec / 60)} min, r2 ${tr.r2.toFixed(2)}` };
}

/**
 * Arrivals rising along a line over the whole trend window (r^2 >= TREND_MIN_R2): the mirror of
 * steadyFallOf, undefined otherwise and with the forecast off.
 */
export function steadyRiseOf(history: ScalingHistory, policy: ScalingPolicy, now: number): { slope: number; note: string } | undefined {
  if (!policy.forecast.enabled) return undefined;
  const tr = trendFit(history.forecast, now, seconds(policy.forecast.trendWindow));
  if (!tr || tr.early || !(tr.slope > 0) || tr.r2 < TREND_MIN_R2) return undefined;
  return { slope: tr.slope, note: `+${Math.round(tr.slope * 60)} rec/s a minute over ${Math.round(tr.spanSec / 60)} min, r2 ${tr.r2.toFixed(2)}` };
}

/**
 * Restart cost as a decision input: when the overloads this job has seen were short, riding the
 * current one out may add less lag than the downtime of scaling up now and back down later.
 * Returns why the scale-up is held, or undefined to go ahead.
 */
function absorbVerdict(input: ProposalInput): string | undefined {
  const { d, history, policy, now } = input;
  if (!policy.restart.absorbShortOverloads || history.episodes.length < policy.restart.minEpisodes || d.recentArrivalRate <= 0) return undefined;
  const sorted = [...history.episodes].sort((a, b) => a - b);
  const typical = sorted[Math.floor(sorted.length / 2)]!;
  const elapsed = history.episode ? (now - history.episode.start) / 1000 : 0;
  if (elapsed >= typical) return undefined; // longer than usual: treat as a new level
  const overload = Math.max(0, (d.recentArrivalRate - d.capacityRate) / d.recentArrivalRate);
  const addedLag = d.lagSeconds + overload * (typical - elapsed);
  const cost = 2 * d.restartCostSec;
  if (addedLag >= cost) return undefined;
  return (
    `overloads of this job last ~${Math.round(typical)} s (median of ${sorted.length}); riding this one out adds ~${Math.round(addedLag)} s of lag, ` +
    `less than the ~${Math.round(cost)} s of downtime of scaling up now and back down later (learned restart cost ${Math.round(d.restartCostSec)} s)`
  );
}

/** Memory pressure with scale-out: spread the keyed state over more subtasks (and TaskManagers). */
function memoryScaleOut(input: ProposalInput, target: Record<string, number>, reasons: string[]): void {
  const { d, obs, plans, history, policy, now, heap, gc } = input;
  const current = d.parallelism;
  const last = lastRescale(history);
  const quiet = !last || now - last.time >= seconds(policy.cooldown) * 1000;
  if (!input.memoryPressure || policy.memory.onPressure !== 'scale-out' || !quiet) return;
  if (Object.keys(target).some((id) => target[id]! > current[id]!)) return;
  for (const v of obs.vertices) {
    const plan = plans.get(v.id);
    if (!plan || v.inputs.length === 0 || !v.inputs.some((i) => i.shipStrategy.toUpperCase() === 'HASH')) continue;
    const p = current[v.id]!;
    const to = Math.min(plan.hi, Math.max(p + 1, Math.ceil(p * 1.5)));
    if (to > p) {
      target[v.id] = to;
      reasons.push(`vertex ${v.id}: ${p} -> ${to}: memory pressure (heap ${Math.round(heap * 100)} %, GC ${Math.round(gc * 100)} %): spreading keyed state`);
    }
  }
}

/** A scale-up restarts the job anyway: vertices running hot in the latest interval join it. */
function rideAlong(input: ProposalInput, target: Record<string, number>, reasons: string[]): void {
  const { d, plans, history, policy } = input;
  const current = d.parallelism;
  if (!Object.keys(target).some((id) => target[id]! > current[id]!)) return;
  for (const [id, plan] of plans) {
    const p = current[id]!;
    if (target[id] === p && plan.rideAlongUp > p && !history.ineffective[id]) {
      target[id] = Math.min(plan.rideAlongUp, Math.max(p + 1, Math.ceil(p * policy.scaleUp.maxFactor)));
      reasons.push(`vertex ${id}: ${p} -> ${target[id]}: joins the rescale (${plan.rideAlongWhy})`);
    }
  }
}
