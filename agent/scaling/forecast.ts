/**
 * Prediction of the job's arrival rate over the next horizon, from two sources:
 * - a seasonal profile: the mean arrival rate per time-of-season bucket (EWMA across
 *   seasons), used once the history spans `minHistory`; scaled to today's level;
 * - a linear trend fitted (simple-statistics) over the recent window, used when it spans most
 *   of its window, explains the data (r^2 >= 0.85: a step is not a trend) and points up.
 * The forecast is the maximum predicted over the horizon; decide() uses it to pre-scale
 * before a known peak and to hold scale-downs that the next peak would undo.
 */
import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics';

export interface ForecastState {
  first: number;
  bucketSec: number;
  seasonSec: number;
  /** IANA time zone whose midnight starts a season (the daily cycle's phase); UTC when absent */
  timeZone?: string;
  /** bucket index within the season -> EWMA of the arrival rate */
  profile: Record<string, { mean: number; n: number; lastSeason: number; seasons?: number[]; sn?: number }>;
  /** recent (time ms, rate) points for the trend */
  recent: Array<[number, number]>;
}

export function emptyForecast(bucketSec: number, seasonSec: number, timeZone?: string): ForecastState {
  return { first: Number.NaN, bucketSec, seasonSec, profile: {}, recent: [], ...(timeZone && timeZone !== 'UTC' ? { timeZone } : {}) };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Seconds the time zone is ahead of UTC at t (ms). */
export function zoneOffsetSec(t: number, timeZone: string | undefined): number {
  if (!timeZone || timeZone === 'UTC') return 0;
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return Math.round((local - Math.floor(t / 1000) * 1000) / 1000);
}

/** Local seconds (in the state's time zone) at t ms. */
function localSec(t: number, s: ForecastState): number {
  return t / 1000 + zoneOffsetSec(t, s.timeZone);
}

function bucketOf(t: number, s: ForecastState): number {
  return Math.floor((localSec(t, s) % s.seasonSec) / s.bucketSec);
}

/** Adds one arrival-rate sample; returns a new state. */
export function addArrival(state: ForecastState, t: number, rate: number, trendWindowSec: number): ForecastState {
  const s: ForecastState = { ...state, profile: { ...state.profile }, recent: state.recent.filter(([x]) => x >= t - trendWindowSec * 1000) };
  if (!Number.isFinite(s.first)) s.first = t;
  s.recent.push([t, rate]);
  const k = String(bucketOf(t, s));
  const season = Math.floor(localSec(t, s) / s.seasonSec);
  const old = s.profile[k];
  if (!old) s.profile[k] = { mean: rate, n: 1, lastSeason: season, seasons: [rate], sn: 1 };
  else {
    // Within one season a bucket is a plain mean; across seasons the newer season weighs half.
    const n = old.lastSeason === season ? old.n + 1 : 2;
    // Also each of the last three seasons' own plain mean, for a forecast that a one-off burst cannot make.
    const seasons = [...(old.seasons ?? [old.mean])];
    let sn = old.sn ?? 1;
    if (old.lastSeason === season) {
      sn += 1;
      seasons[seasons.length - 1] = seasons[seasons.length - 1]! + (rate - seasons[seasons.length - 1]!) / sn;
    } else {
      seasons.push(rate);
      sn = 1;
      while (seasons.length > 3) seasons.shift();
    }
    s.profile[k] = { mean: old.mean + (rate - old.mean) / n, n: old.lastSeason === season ? n : 1, lastSeason: season, seasons, sn };
  }
  return s;
}

export interface Forecast {
  rate: number;
  basis: 'seasonal' | 'trend';
  note: string;
}

export function forecast(
  state: ForecastState,
  now: number,
  current: number,
  opts: { horizonSec: number; minHistorySec: number; trendWindowSec: number; minSeasons?: number; gapReturns?: boolean; earlyTrend?: boolean },
): Forecast | undefined {
  // With minSeasons > 1 a bucket predicts the lowest of its last minSeasons seasons: a rise seen
  // on each of them (a daily pattern), not a burst that happened to fall there once.
  const k = Math.max(1, opts.minSeasons ?? 1);
  const seasonal = (b: ForecastState['profile'][string]): number | undefined => {
    if (k === 1) return b.mean;
    const ss = b.seasons ?? [b.mean];
    return ss.length >= k ? Math.min(...ss.slice(-k)) : undefined;
  };
  let best: Forecast | undefined;
  if (Number.isFinite(state.first) && now - state.first >= opts.minHistorySec * 1000) {
    const here = state.profile[String(bucketOf(now, state))];
    // The level of today against the profile: against the highest of this bucket's kept seasons
    // (up to three), so gaps (or a burst) in some of them do not scale every later bucket up (or
    // down): two days with a gap at the same time made the level 2x and pre-scaled for twice the peak.
    const hereRate = here ? Math.max(here.mean, ...(k > 1 ? (here.seasons ?? []) : [])) : 0;
    if (here && hereRate > 0) {
      // With gapReturns (a scale-down asking whether it will hold), today's rate under half the
      // profile's is a gap (input stalled upstream), not a new level: the usual rate comes back.
      const ratio = current / hereRate;
      const gap = opts.gapReturns === true && ratio < 0.5;
      const level = gap ? 1 : Math.min(2, Math.max(0.5, ratio));
      for (let dt = state.bucketSec; dt <= opts.horizonSec + 1e-9; dt += state.bucketSec) {
        const b = state.profile[String(bucketOf(now + dt * 1000, state))];
        // In a gap one season of this bucket is enough: the question is only whether the rate comes back.
        const m = b ? (seasonal(b) ?? (gap ? Math.min(...(b.seasons ?? [b.mean])) : undefined)) : undefined;
        if (m === undefined) continue;
        const rate = m * level;
        if (!best || rate > best.rate) {
          const why = gap ? ` (arrivals at ${Math.round(ratio * 100)} % of the profile's: a gap, its usual rate comes back)` : '';
          best = { rate, basis: 'seasonal', note: `seasonal profile predicts ${Math.round(rate)} rec/s within ${Math.round(dt / 60)} min${why}` };
        }
      }
    }
  }
  // Before the trend window is covered (the agent just started), earlyTrend fits what there is:
  // a scale-down asking whether it will hold must not wait 30 minutes to see a rise.
  const tr = trendFit(state, now, opts.trendWindowSec, opts.earlyTrend === true ? EARLY_TREND_POINTS : undefined);
  if (tr && tr.slope > 0 && tr.r2 >= TREND_MIN_R2) {
    const rate = tr.at(now + opts.horizonSec * 1000);
    const early = tr.early ? ` (fitted over the ${Math.round(tr.spanSec / 60)} min seen so far)` : '';
    if (!best || rate > best.rate) best = { rate, basis: 'trend', note: `trend (r2 ${tr.r2.toFixed(2)}) reaches ${Math.round(rate)} rec/s in ${Math.round(opts.horizonSec / 60)} min${early}` };
  }
  return best;
}

/** A linear trend explains the recent arrivals when r^2 is at least this (a step is not a trend). */
export const TREND_MIN_R2 = 0.85;
/** Points (one a minute) an early trend needs before the trend window is covered. */
export const EARLY_TREND_POINTS = 5;

export interface TrendFit {
  /** rec/s per second */
  slope: number;
  r2: number;
  spanSec: number;
  points: number;
  /** fitted over fewer points than the trend window needs */
  early: boolean;
  at(t: number): number;
}

/**
 * The linear trend of the recent arrivals (one point a minute): once they span most of the trend
 * window (10 points or more), or with `minEarlyPoints` over whatever span there is.
 */
export function trendFit(state: ForecastState, now: number, trendWindowSec: number, minEarlyPoints?: number): TrendFit | undefined {
  const pts0 = state.recent.filter(([t]) => t <= now);
  const span = pts0.length > 0 ? (now - pts0[0]![0]) / 1000 : 0;
  const full = pts0.length >= 10 && span >= trendWindowSec * 0.8;
  if (!full && !(minEarlyPoints !== undefined && pts0.length >= minEarlyPoints)) return undefined;
  const t0 = pts0[0]![0];
  const pts = pts0.map(([t, r]) => [(t - t0) / 1000, r]);
  const reg = linearRegression(pts);
  const line = linearRegressionLine(reg);
  // A flat line explains nothing (r^2 is undefined): report it as no fit.
  const r2 = reg.m === 0 ? 0 : rSquared(pts, line);
  return { slope: reg.m, r2: Number.isFinite(r2) ? r2 : 0, spanSec: span, points: pts.length, early: !full, at: (t) => line((t - t0) / 1000) };
}
