/**
 * decide(inputs, history, policy, clock) -> ScaleDecision: the decision engine, a pure
 * function. It windows the observations of the current epoch (ignoring the measured restart
 * transient), runs the capacity model, plans each vertex, then applies the guards in order:
 * job state, rescale in progress, schedules (floors, ceilings, blackouts), forecast
 * pre-scaling, alerts (trigger or veto), memory pressure, ineffective scale-ups, the
 * scale-down delay with its sliding max, the cool-down against reversals, step factors,
 * limits and quotas. Every guard that stops a change says so in `blockedBy` and `reasons`.
 */
import type { JobObservation } from './observation.ts';
import type { ScaleDecision, Guard } from './decision.ts';
import { slotGroups, slotsFor } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';
import type { ScalingHistory } from './history.ts';
import { deliveredPoints, lastRescale } from './history.ts';
import { epochSamples, metricInterval, windowStats } from './rates.ts';
import { computeRates } from './capacity.ts';
import { forecast } from './forecast.ts';
import { scheduleEffect } from './schedule.ts';
import { planVertex, type VertexPlan } from './vertex-plan.ts';
import { proposeTargets, type AlertAction } from './proposals.ts';
import { applyCapacityLimits } from './limits.ts';

export interface FiringAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface DecisionInputs {
  observation: JobObservation;
  /** alerts firing now (from the rule engine), with their labels */
  alerts?: readonly FiringAlert[];
  /** an action for this job is still being carried out (e.g. a savepoint redeploy being verified) */
  actionInFlight?: boolean;
}

export interface Clock {
  now(): number;
}

export function restartCost(history: ScalingHistory, obs: JobObservation, policy: ScalingPolicy): number {
  if (history.restartCostSec !== undefined) return history.restartCostSec;
  const ck = obs.checkpoints;
  return Math.max(seconds(policy.restart.prior), (ck?.lastRestoreMs ?? 0) / 1000, (ck?.lastDurationMs ?? 0) / 1000);
}

/** An alert that names a job (job_id or job_name) speaks only for that job; one without names every job. */
function concernsJob(a: FiringAlert, obs: JobObservation): boolean {
  const { job_id: id, job_name: name } = a.labels;
  if (id !== undefined && id !== obs.jobId) return false;
  if (name !== undefined && obs.jobName !== undefined && name !== obs.jobName) return false;
  return true;
}

function alertActions(alerts: readonly FiringAlert[], label: string, obs: JobObservation): AlertAction[] {
  const out: AlertAction[] = [];
  for (const a of alerts) {
    const action = a.labels[label];
    if (!action || !concernsJob(a, obs)) continue;
    const vertex = a.labels.vertex_id ?? a.labels.task_id;
    out.push({ action, name: a.labels.alertname ?? 'alert', ...(vertex ? { vertex } : {}) });
  }
  return out;
}


export function decide(inputs: DecisionInputs, history: ScalingHistory, policy: ScalingPolicy, clock: Clock): ScaleDecision {
  const obs = inputs.observation;
  const now = clock.now();
  const current = Object.fromEntries(obs.vertices.map((v) => [v.id, v.parallelism]));
  const restartSec = restartCost(history, obs, policy);
  const d: ScaleDecision = {
    time: now, jobId: obs.jobId, ...(obs.jobName !== undefined ? { jobName: obs.jobName } : {}),
    utilizationBand: { min: policy.utilization.min, target: policy.utilization.target, max: policy.utilization.max },
    action: 'none', parallelism: current, recommended: { ...current }, reasons: [], perVertex: {}, backlogMode: false,
    restartCostSec: restartSec, arrivalRate: 0, recentArrivalRate: 0, capacityRate: 0, lagSeconds: 0,
  };
  const block = (guard: Guard, reason: string): ScaleDecision => {
    d.blockedBy = guard;
    d.reasons.push(reason);
    return d;
  };
  if (obs.state !== 'RUNNING') return block('job-not-running', `job is ${obs.state}, not RUNNING`);
  if (inputs.actionInFlight) return block('rescale-in-progress', 'an action for this job is still being carried out; deciding again once it ends');

  const last = lastRescale(history);
  const arrived = (to: Record<string, number>): boolean => obs.vertices.every((v) => to[v.id] === undefined || to[v.id] === v.parallelism);
  if (last && last.notCarriedOut !== undefined && last.completedAt === undefined) {
    // The job never moved: no waiting for it to take effect, a back-off before asking again.
    // policy.retryAfterFailed
    if (now - last.time < seconds(policy.retryAfterFailed) * 1000) {
      return block('cooldown', `the rescale requested at ${new Date(last.time).toISOString()} was not carried out (${last.notCarriedOut}); asking again ${policy.retryAfterFailed} after it`);
    }
  } else if (last && last.completedAt === undefined && !arrived(last.to)) {
    const waitSec = Math.max(300, 3 * restartSec);
    if (now - last.time < waitSec * 1000) return block('rescale-in-progress', `rescale requested at ${new Date(last.time).toISOString()} has not taken effect yet`);
  }

  // The restart transient: measured restore time plus a number of intervals, from RUNNING.
  const interval = metricInterval([...history.recent.slice(-10), obs]);
  const epoch = epochSamples(history.recent, obs, Number.NEGATIVE_INFINITY);
  const epochStart = obs.runningSince ?? epoch[0]!.time;
  const restoreSec = obs.checkpoints?.lastRestoreTime !== undefined && obs.checkpoints.lastRestoreTime >= epochStart - 60_000 ? (obs.checkpoints.lastRestoreMs ?? 0) / 1000 : 0;
  const ignoreUntil = epochStart + Math.max(restoreSec + policy.restart.transientIntervals * interval, seconds(policy.restart.stabilization)) * 1000 - 1;
  const samples = epochSamples(history.recent, obs, ignoreUntil);
  if (samples.length < 2) return block('warming-up', `collecting samples after (re)start: ${samples.length} of 2 usable (restart transient ignored until ${new Date(ignoreUntil).toISOString()})`);

  const windowMs = seconds(policy.metricsWindow) * 1000;
  const longSamples = samples.filter((o) => o.time >= obs.time - windowMs - 1);
  const ls = longSamples.length >= 2 ? longSamples : samples.slice(-2);
  const k = policy.upConfirmIntervals;
  const shortSamples = samples.slice(-(k + 1));
  const catchUpSec = seconds(policy.catchUp);
  const modelInputs = { catchUpSec, knownRatios: history.ratios, knownRates: history.knownRates };
  const long = computeRates(obs, windowStats(ls), modelInputs);
  const short = computeRates(obs, windowStats(shortSamples), modelInputs);
  const intervals = [];
  for (let i = Math.max(1, samples.length - k); i < samples.length; i++) intervals.push(computeRates(obs, windowStats([samples[i - 1]!, samples[i]!]), modelInputs));
  d.edgeRatios = long.ratios;
  d.arrivalRate = long.arrivalRate;
  d.lagSeconds = Number.isFinite(short.lagSeconds) ? short.lagSeconds : 1e9;
  d.recentArrivalRate = short.arrivalRate;
  d.capacityRate = jobCapacity(short);
  const lagThreshold = seconds(policy.backlog.lagThreshold);
  d.backlogMode = long.lagSeconds > lagThreshold || short.lagSeconds > lagThreshold;

  // Forecast: how much more than today's arrival rate the next horizon may bring.
  let forecastFactor = 1;
  // The forecast one horizon further: a vertex that would ask for its own pre-scale within the
  // next horizon joins a rescale that restarts the job now (see rideAlong in proposals.ts).
  let join: { factor: number; note: string } | undefined;
  if (policy.forecast.enabled && long.arrivalRate > 0) {
    const opts = { horizonSec: seconds(policy.forecast.horizon), minHistorySec: seconds(policy.forecast.minHistory), trendWindowSec: seconds(policy.forecast.trendWindow), minSeasons: policy.forecast.minSeasons };
    const fc = forecast(history.forecast, now, long.arrivalRate, opts);
    if (fc) {
      d.forecastRate = fc.rate;
      const f = (fc.rate * policy.forecast.headroom) / long.arrivalRate;
      if (f > 1) {
        forecastFactor = Math.min(f, policy.scaleUp.maxFactor);
        d.reasons.push(`forecast: ${fc.note}`);
      }
    }
    const far = forecast(history.forecast, now, long.arrivalRate, { ...opts, horizonSec: 2 * opts.horizonSec });
    const jf = far ? (far.rate * policy.forecast.headroom) / long.arrivalRate : 1;
    if (far && jf > 1) join = { factor: Math.min(jf, policy.scaleUp.maxFactor), note: far.note };
  }

  const plans = new Map<string, VertexPlan>();
  for (const v of obs.vertices) {
    const lv = long.vertices.get(v.id);
    const sv = short.vertices.get(v.id);
    if (!lv || !sv) continue;
    const plan = planVertex({
      v,
      long: lv,
      short: sv,
      recent: intervals.map((m) => m.vertices.get(v.id)).filter((x) => x !== undefined),
      policy,
      restartSec,
      catchUpSec,
      points: history.points[v.id] ?? [],
      forecastFactor,
      joinFactor: join?.factor ?? 1,
      sourceObserved: history.sourceObserved[v.id],
      sourceDelivered: deliveredPoints(history.sourceDelivered?.[v.id]),
    });
    plans.set(v.id, plan);
    d.perVertex[v.id] = plan.model;
    d.recommended[v.id] = plan.model.recommended;
  }
  checkEffectiveness(d, history, policy);
  return applyGuards(d, obs, plans, history, policy, inputs.alerts ?? [], now);
}

/** The job's sustainable rate in source records/s: the tightest vertex, scaled by its share of the arrivals. */
function jobCapacity(m: ReturnType<typeof computeRates>): number {
  let cap = Number.POSITIVE_INFINITY;
  for (const v of m.vertices.values()) if (v.targetRate > 0 && v.trueRate > 0) cap = Math.min(cap, (v.trueRate / v.targetRate) * m.arrivalRate);
  return Number.isFinite(cap) ? cap : 0;
}

/** Did the last scale-up deliver? Compare the rate now with the rate before and the one expected. */
function checkEffectiveness(d: ScaleDecision, history: ScalingHistory, policy: ScalingPolicy): void {
  const last = lastRescale(history);
  if (!policy.effectiveness.enabled || !last || last.completedAt === undefined) return;
  for (const [v, m] of Object.entries(d.perVertex)) {
    const from = last.from[v];
    const to = last.to[v];
    if (from === undefined || to === undefined || to <= from || last.checked.includes(v) || m.parallelism !== to) continue;
    if (m.trueRateBasis === 'unknown' || m.busyMax < 0.25) continue;
    (d.effectivenessChecked ??= []).push(v);
    const before = last.before[v] ?? 0;
    const expected = last.expected[v] ?? 0;
    if (!(expected > before) || before <= 0) continue;
    const gain = (m.trueRate - before) / (expected - before);
    if (gain < policy.effectiveness.threshold) {
      (d.ineffective ??= {})[v] =
        `scale-up ${from} -> ${to} was ineffective: rate ${Math.round(before)} -> ${Math.round(m.trueRate)} rec/s, expected ${Math.round(expected)} ` +
        `(${Math.round(gain * 100)} % of the gain); further scale-up blocked for ${policy.effectiveness.blockFor}`;
    }
  }
}

function applyGuards(
  d: ScaleDecision,
  obs: JobObservation,
  plans: Map<string, VertexPlan>,
  history: ScalingHistory,
  policy: ScalingPolicy,
  alerts: readonly FiringAlert[],
  now: number,
): ScaleDecision {
  const current = d.parallelism;
  const actions = alertActions(alerts, policy.alerts.label, obs);
  const vetoAll = actions.find((a) => a.action === 'block');
  const vetoDown = actions.find((a) => a.action === 'block_scale_down');
  const vetoUp = actions.find((a) => a.action === 'block_scale_up');
  const heap = obs.taskManagers?.heapMaxBytes ? (obs.taskManagers.heapUsedBytes ?? 0) / obs.taskManagers.heapMaxBytes : 0;
  const gc = (obs.taskManagers?.gcTimeMsPerSecond ?? 0) / 1000;
  const memoryPressure = heap > policy.memory.heapThreshold || gc > policy.memory.gcThreshold;
  const first = history.recent.find((o) => o.time >= now - seconds(policy.metricsWindow) * 1000);
  const checkpointsFailing = (obs.checkpoints?.failed ?? 0) > (first?.checkpoints?.failed ?? obs.checkpoints?.failed ?? 0);

  const proposal = proposeTargets({ d, obs, plans, history, policy, actions, now, memoryPressure, heap, gc });
  const target = proposal.target;
  const reasons = proposal.reasons;
  const blockedVertices = proposal.blockedVertices;

  // Schedules: floors and ceilings always hold; a blackout stops everything.
  const sched = scheduleEffect(policy.schedules, now, Object.keys(current));
  for (const [id, f] of Object.entries(sched.floor)) if ((target[id] ?? 0) < f) { target[id] = f; reasons.push(`vertex ${id}: floor ${f} from schedule`); }
  for (const [id, c] of Object.entries(sched.ceiling)) if ((target[id] ?? 0) > c) { target[id] = c; reasons.push(`vertex ${id}: ceiling ${c} from schedule`); }

  const ups = Object.keys(target).filter((id) => target[id]! > current[id]!);
  const downs = Object.keys(target).filter((id) => target[id]! < current[id]!);
  d.reasons.push(...reasons);
  if (ups.length === 0 && downs.length === 0) {
    if (blockedVertices.length > 0) return finish(d, proposal.absorbing ? 'absorbing-short-overload' : 'ineffective-scale-up');
    if (d.blockedBy) return d;
    d.reasons.push('all vertices within the utilization band');
    return finish(d, 'within-band');
  }
  const stop = (guard: Guard, why: string): ScaleDecision => {
    d.reasons.push(why);
    d.blockedBy = guard;
    return d;
  };
  if (sched.blackout) return stop('blackout', `blackout window "${sched.blackout}" is active`);
  if (vetoAll) return stop('alert-veto', `alert ${vetoAll.name} vetoes scaling`);
  if (downs.length > 0 && (vetoDown || checkpointsFailing || (memoryPressure && policy.memory.onPressure === 'scale-out'))) {
    const why = vetoDown ? `alert ${vetoDown.name} vetoes scale-down` : checkpointsFailing ? 'checkpoints are failing: no scale-down' : 'memory pressure: no scale-down';
    for (const id of downs) target[id] = current[id]!;
    d.reasons.push(why);
    if (ups.length === 0) return finish(d, vetoDown ? 'alert-veto' : 'memory-pressure');
  }
  if (ups.length > 0 && vetoUp) return stop('alert-veto', `alert ${vetoUp.name} vetoes scale-up`);
  if (memoryPressure && policy.memory.onPressure === 'block') return stop('memory-pressure', `memory pressure (heap ${Math.round(heap * 100)} %, GC ${Math.round(gc * 100)} %): scaling blocked`);

  const finalUps = Object.keys(target).filter((id) => target[id]! > current[id]!);
  const finalDowns = Object.keys(target).filter((id) => target[id]! < current[id]!);
  // Direction by slots, as cost and reversals are counted.
  const groups = slotGroups(obs.vertices);
  const slotsOf = (p: Record<string, number>): number => slotsFor(p, policy.limits.slotSharing, groups);
  const delta = slotsOf(target) - slotsOf(current);
  const direction = delta > 0 ? 'up' : delta < 0 ? 'down' : finalUps.length > 0 && finalDowns.length > 0 ? 'mixed' : finalUps.length > 0 ? 'up' : 'down';
  const last = lastRescale(history);
  if (last && last.notCarriedOut === undefined && now - last.time < seconds(policy.cooldown) * 1000) {
    const reversal = (last.direction === 'up' && direction === 'down') || (last.direction === 'down' && direction === 'up');
    if (reversal) {
      // Sitting saturated to avoid a reversal is the worse failure: a scale-up the SLO needs goes ahead.
      const atStake = sloAtStake(d, policy);
      if (direction !== 'up' || !atStake) return stop('cooldown', `cool-down: last rescale (${last.direction}) ${Math.round((now - last.time) / 1000)} s ago; no reversal within ${policy.cooldown}`);
      d.reasons.push(`cool-down (last rescale ${last.direction} ${Math.round((now - last.time) / 1000)} s ago) overridden: the SLO is at stake (${atStake})`);
    }
  }
  if (finalUps.length === 0) {
    const saved = slotsOf(current) - slotsOf(target);
    // minGain is worth a restart of the prior's length; a longer restart (large state: lag past the
    // SLO on every rescale) must free proportionally more, so a falling load is followed in fewer,
    // larger steps. At most 30 %: past it, capacity raised for a spike cannot come back down in
    // one step and is held for hours (start-at-peak/single: 1.55x slot-hours at 50 %, 1.23x at 30 %).
    const minGain = Math.min(0.3, policy.scaleDown.minGain * Math.max(1, d.restartCostSec / Math.max(1, seconds(policy.restart.prior))));
    // The first step down after a burst's scale-up, to the level that holds the bursts to come:
    // that level lasts until the next burst and past it (the burst fits), for hours, and a slot
    // freed for hours pays for one restart (start-at-peak: "11 -> 10" held back as 9 % of the job,
    // 11 slots kept for days). Later small steps follow today's rate and stay under minGain.
    const afterUp = last !== undefined && last.direction === 'up';
    const heldForBursts = afterUp && proposal.burstHeld.length > 0 && finalDowns.every((id) => proposal.burstHeld.includes(id));
    if (saved > 0 && saved < minGain * slotsOf(current) && heldForBursts && d.restartCostSec <= seconds(policy.restart.prior)) {
      d.reasons.push(`scale-down frees ${saved} slot(s), under ${Math.round(minGain * 100)} % of the job, to the level that holds the bursts to come (held for hours): worth the restart`);
    } else if (saved < minGain * slotsOf(current)) {
      const why = minGain > policy.scaleDown.minGain ? ` (minGain ${policy.scaleDown.minGain * 100} % x the ${Math.round(d.restartCostSec)} s restart over the ${policy.restart.prior} prior)` : '';
      return stop('not-worth-restart', `scale-down would free ${saved} slot(s): below ${Math.round(minGain * 100)} % of the job${why}, not worth a restart`);
    }
  }
  const limited = applyCapacityLimits(target, current, plans, policy, obs.taskManagers?.slotsPerTaskManager, groups);
  d.reasons.push(...limited.reasons);
  if (Object.keys(target).every((id) => limited.parallelism[id] === current[id])) return stop(limited.guard ?? 'limits', 'limits leave no change');
  if (!policy.execute) return stop('disabled', 'execution disabled by policy (execute: false): recommendation only');
  d.action = 'rescale';
  d.parallelism = limited.parallelism;
  d.direction = direction;
  d.taskManagers = limited.taskManagers;
  return d;
}

/** Why the SLO is at stake now (the job cannot keep up, or the backlog is past its threshold), or undefined. */
export function sloAtStake(d: ScaleDecision, policy: ScalingPolicy): string | undefined {
  if (d.backlogMode) return `backlog ${Math.round(d.lagSeconds)} s of arrivals, above ${policy.backlog.lagThreshold}`;
  if (d.capacityRate > 0 && d.recentArrivalRate > d.capacityRate * 1.02) {
    return `arrivals ${Math.round(d.recentArrivalRate)} rec/s above the ${Math.round(d.capacityRate)} rec/s the job sustains`;
  }
  return undefined;
}

function finish(d: ScaleDecision, guard: Guard): ScaleDecision {
  d.blockedBy ??= guard;
  return d;
}
