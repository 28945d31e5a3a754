/**
 * The autoscaler state as it is saved between processes: one ScalingHistory per job (rescale
 * records with their measured downtime, the learned restart cost, per-vertex scalability
 * points, edge ratios, the forecast's profile and trend points, pending scale-down triggers,
 * ineffective-scale-up blocks, overload episodes, and the recent observations of the metric
 * window). The store is untrusted input: `checkHistory` accepts a saved value only when it has
 * the shape decide() relies on, else the state is discarded (as the operator's
 * KubernetesAutoScalerStateStore discards an entry it cannot read). `shrinkHistory` is the size
 * bound: one step of trimming, least valuable first, called until the saved form fits.
 */
import type { ScalingHistory } from './history.ts';

export const STATE_FORMAT = 1;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number';

/** The saved value, checked; null when it is not a history this version can use. */
export function checkHistory(raw: unknown): ScalingHistory | null {
  if (!isObj(raw) || raw.format !== STATE_FORMAT || !isObj(raw.history)) return null;
  const h = raw.history;
  const ok = typeof h.jobId === 'string' && Array.isArray(h.recent) && Array.isArray(h.rescales) && isNum(h.restartSamples)
    && isObj(h.points) && isObj(h.ratios) && isObj(h.knownRates) && isObj(h.pendingDown) && Array.isArray(h.recommendations)
    && isObj(h.ineffective) && isObj(h.forecast) && isObj((h.forecast as Record<string, unknown>).profile)
    && Array.isArray((h.forecast as Record<string, unknown>).recent) && isNum(h.lastArrivalSample) && isObj(h.sourceObserved)
    && Array.isArray(h.episodes) && (h.peaks === undefined || Array.isArray(h.peaks)) && (h.sourceDelivered === undefined || isObj(h.sourceDelivered))
    && (h.restartCostSec === undefined || (isNum(h.restartCostSec) && h.restartCostSec >= 0))
    && h.rescales.every((r) => isObj(r) && isNum(r.time) && isObj(r.from) && isObj(r.to) && Array.isArray(r.checked) && typeof r.direction === 'string');
  return ok ? (h as unknown as ScalingHistory) : null;
}

/** The value to save for a history. */
export function stateValue(h: ScalingHistory): { format: number; history: ScalingHistory } {
  return { format: STATE_FORMAT, history: h };
}

/**
 * One trimming step, or null when nothing is left to drop. Order: the recent observations
 * (older half first; a new leader then warms up again, which costs a few intervals), the
 * forecast's trend points, the sliding-max recommendations, the recent peaks beyond the last
 * hour, the scalability points beyond the
 * newest 4 per vertex, the rescale records but the last (the cool-down and restart cost need
 * only the last one and the EWMA), then the forecast's profile.
 */
export function shrinkHistory(h: ScalingHistory): ScalingHistory | null {
  if (h.recent.length > 0) return { ...h, recent: h.recent.slice(Math.ceil(h.recent.length / 2)) };
  if (h.forecast.recent.length > 0) return { ...h, forecast: { ...h.forecast, recent: h.forecast.recent.slice(Math.ceil(h.forecast.recent.length / 2)) } };
  if (h.recommendations.length > 1) return { ...h, recommendations: h.recommendations.slice(-1) };
  if ((h.peaks?.length ?? 0) > 12) return { ...h, peaks: h.peaks!.slice(-12) };
  if (Object.values(h.points).some((p) => p.length > 4)) return { ...h, points: Object.fromEntries(Object.entries(h.points).map(([v, p]) => [v, p.slice(-4)])) };
  if (h.rescales.length > 1) return { ...h, rescales: h.rescales.slice(-1) };
  if (Object.keys(h.forecast.profile).length > 0) return { ...h, forecast: { ...h.forecast, profile: {} } };
  return null;
}

/** The same step for the saved value. */
export function shrinkState(v: { format: number; history: ScalingHistory }): { format: number; history: ScalingHistory } | null {
  const h = shrinkHistory(v.history);
  return h ? { ...v, history: h } : null;
}
