/**
 * The scaling policy schema: every tunable of the decision engine, with its default and a
 * description, in one zod schema. Validation, defaults and the generated reference
 * (docs/reference/scaling-policy.md, see policy-docs.ts) all come from here, so no constant hides in
 * the model. Durations are written as seconds or as Prometheus durations like "90s", "5m", "1h30m",
 * "1d" (common/duration.ts).
 */
import { z } from 'zod';
import { parseSecondsOrPromDuration } from '../../common/duration.ts';
import { secondsOrPromDuration } from '../../common/duration-schema.ts';

export const duration = secondsOrPromDuration;
export type Duration = number | string;

const cache = new Map<string, number>();
/** A policy duration in seconds (NaN when it is not one; the schema refuses those first). */
export function seconds(d: Duration): number {
  if (typeof d === 'number') return d;
  let v = cache.get(d);
  if (v === undefined) {
    try {
      v = parseSecondsOrPromDuration(d) / 1000;
    } catch {
      v = Number.NaN;
    }
    cache.set(d, v);
  }
  return v;
}

const fraction = () => z.number().min(0).max(1);
const optionalInt = () => z.number().int().min(1).nullable();

const vertexLimits = z
  .object({
    min: z.number().int().min(1).optional().describe('lowest parallelism for this vertex'),
    max: z.number().int().min(1).optional().describe('highest parallelism for this vertex'),
  })
  .strict();

const schedule = z
  .object({
    name: z.string().describe('shown in reasons'),
    cron: z.string().describe('cron expression (5 or 6 fields) for the start of each window'),
    duration: duration().describe('how long each window lasts'),
    timeZone: z.string().default('UTC').describe('IANA time zone of the cron expression'),
    floor: z.record(z.string(), z.number().int().min(1)).optional().describe('minimum parallelism per vertex id ("*" for all)'),
    ceiling: z.record(z.string(), z.number().int().min(1)).optional().describe('maximum parallelism per vertex id ("*" for all)'),
    blackout: z.boolean().default(false).describe('no rescale at all inside the window'),
  })
  .strict();
export type Schedule = z.infer<typeof schedule>;

export const policyShape = {
  execute: z.boolean().default(true).describe('false: compute and explain decisions but never ask for a rescale (recommendation only)'),
  metricsWindow: duration().default('3m').describe('window over which rates and busy time are averaged for the model and for scale-down'),
  upConfirmIntervals: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe('consecutive metric intervals a vertex must be above the band before a scale-up (a sustained step is acted on after this many)'),
  utilization: z
    .object({
      target: fraction().default(0.8).describe('utilization each vertex is sized for'),
      max: fraction().default(0.95).describe('scale up when a vertex would need more than this utilization'),
      min: fraction().default(0.5).describe('scale down when a vertex would need less than this utilization'),
    })
    .strict()
    .prefault({})
    .describe('the sizing target and the no-action band around it (hysteresis)'),
  catchUp: duration().default('5m').describe('time within which a backlog (pending records) should be consumed; 0 ignores backlog'),
  backlog: z
    .object({
      lagThreshold: duration().default('2m').describe('backlog mode when pending records / arrival rate exceeds this: size for catch-up, never scale down'),
    })
    .strict()
    .prefault({}),
  cooldown: duration().default('10m').describe('after a rescale, no rescale in the opposite direction for this long'),
  retryAfterFailed: duration()
    .default('1m')
    .describe('after a rescale that was not carried out (refused, failed, or not applied within the actuation timeout), the wait before asking again'),
  scaleUp: z
    .object({
      maxFactor: z.number().min(1).default(4).describe('one step multiplies a vertex parallelism by at most this'),
    })
    .strict()
    .prefault({}),
  scaleDown: z
    .object({
      delay: duration().default('20m').describe('a scale-down waits this long and then applies the highest recommendation seen over this window (sliding max); on a steady fall (arrivals along a falling line over forecast.trendWindow) it is sized for the trend over forecast.horizon instead'),
      maxFactor: fraction().default(0.8).describe('one step removes at most this fraction of a vertex parallelism'),
      settle: fraction()
        .default(0.8)
        .describe('when the need over the latest intervals is below this fraction of the window max, the load is still falling: wait until the window holds the new level, then step down once'),
      minGain: z.number().min(0).default(0.15).describe('skip a scale-down that frees less than this fraction of the job slots (not worth a restart); scaled up with a restart longer than restart.prior; with a restart within it, the first step down after a scale-up to the level that holds the bursts to come (held for hours) is taken whatever it frees'),
      peakLookback: duration()
        .default('1h')
        .describe('a scale-down must be expected to hold: the capacity it leaves covers the highest arrival rate seen over this window (and over the cool-down plus the restart payback time), and the forecast over that time'),
      burstQuantile: fraction()
        .default(1)
        .describe('on bursty input (3 or more bursts, rises to 1.5x the lowest rate of the hour before, in the last day) the look-back grows to this quantile of the gaps between bursts (1: the longest) plus the cool-down and restart payback, and holds a typical burst (the median height over the rate under it); capacity is held across the usual quiet between bursts instead of being dropped and raised again each time; 0: off'),
      releaseBudget: z
        .number()
        .min(0)
        .default(0.85)
        .describe('between regular bursts (spikes at bounded intervals: the shortest gap of the last day at least 0.3 of the longest), the capacity for the last burst is dropped once it is over, when the next is not due before the hold ends, and raised again at the next: two rescales a burst, taken while the job\'s rescales over the kept day stay within this many an hour, and only with a restart within restart.prior (a longer one costs lag past the SLO at every burst); 0: held across the quiet as for other bursts'),
      maxLookback: duration().default('6h').describe('the longest the burst-sized look-back may grow'),
      burstHold: z
        .enum(['typical', 'highest'])
        .default('typical')
        .describe('on bursty input, the burst a scale-down must still hold: typical (the median height over the rate under it, at most the highest rate the look-back saw: fewer slot-hours, but a burst higher than the median shortly after a scale-down is a reversal) or highest (the highest height of the kept day at today\'s rate: no such reversals, more slot-hours; bench/scaling/README.md has the figures)'),
    })
    .strict()
    .prefault({}),
  restart: z
    .object({
      prior: duration().default('60s').describe('restart downtime assumed before one has been observed'),
      ewmaAlpha: fraction().default(0.5).describe('weight of the newest observed downtime in the learned restart cost'),
      transientIntervals: z.number().int().min(0).default(1).describe('metric intervals after RUNNING whose rates are ignored, on top of the measured restore time'),
      stabilization: duration().default(0).describe('after the job (re)starts, ignore its metrics and do not rescale for at least this long (the operator\'s stabilization.interval); 0: only the measured transient above'),
      absorbShortOverloads: z
        .boolean()
        .default(true)
        .describe('ride out an overload expected to end soon (overloads seen so far were short) when the lag it adds is below the downtime of scaling up and back down'),
      minEpisodes: z.number().int().min(1).default(2).describe('past overload episodes needed before their typical length is trusted'),
    })
    .strict()
    .prefault({}),
  skew: z
    .object({
      threshold: z.number().min(1).default(1.5).describe('busy max / busy avg above which a keyed vertex is reported as skewed'),
    })
    .strict()
    .prefault({}),
  scalability: z
    .object({
      fit: z.boolean().default(true).describe('fit rate(p) = a*p^b per vertex from its history and size with it'),
      minPoints: z.number().int().min(2).default(3).describe('distinct (parallelism, rate) points needed before the fit is used'),
      minExponent: z.number().min(0).max(1).default(0.3).describe('lowest accepted exponent b (below it the vertex is treated as not scaling)'),
    })
    .strict()
    .prefault({}),
  effectiveness: z
    .object({
      enabled: z.boolean().default(true).describe('block further scale-up of a vertex whose rate did not follow the last scale-up'),
      threshold: fraction().default(0.3).describe('fraction of the expected rate gain below which a scale-up counts as ineffective'),
      blockFor: duration().default('30m').describe('how long a vertex stays blocked after an ineffective scale-up'),
    })
    .strict()
    .prefault({}),
  alignment: z
    .object({
      mode: z.enum(['divisors', 'off']).default('divisors').describe('divisors: prefer a parallelism that divides key groups (keyed inputs) or partitions (sources) evenly'),
      maxOvershoot: z.number().min(0).default(0.25).describe('accept an aligned parallelism up to this fraction above the computed one'),
      capAtPartitions: z.boolean().default(true).describe('never give a source more subtasks than it has partitions'),
    })
    .strict()
    .prefault({}),
  memory: z
    .object({
      heapThreshold: fraction().default(0.9).describe('heap used / max above which the job is under memory pressure'),
      gcThreshold: fraction().default(0.25).describe('GC time fraction above which the job is under memory pressure'),
      onPressure: z.enum(['scale-out', 'block']).default('scale-out').describe('scale-out: no scale-down, and keyed vertices grow x1.5 to spread their state; block: no rescale at all'),
    })
    .strict()
    .prefault({}),
  limits: z
    .object({
      minParallelism: z.number().int().min(1).default(1).describe('lowest parallelism of any vertex'),
      maxParallelism: z.number().int().min(1).default(200).describe('highest parallelism of any vertex (also capped by its key groups)'),
      maxTotalParallelism: optionalInt().default(null).describe('cap on the sum of all vertex parallelisms of the job'),
      vertices: z.record(z.string(), vertexLimits).default({}).describe('per vertex id: {min, max}'),
      slotSharing: z
        .boolean()
        .default(true)
        .describe('true (Flink\'s default): slots needed = the highest vertex parallelism in each slot-sharing group, summed over groups; false: the sum over vertices'),
      slotsPerTaskManager: z.number().int().min(1).default(1).describe('slots each TaskManager offers, when the observation does not say'),
      maxTaskManagers: optionalInt().default(null).describe('cap on TaskManagers'),
      taskManagerCpu: z.number().min(0).default(1).describe('CPU cores per TaskManager, for the quota'),
      taskManagerMemoryMb: z.number().min(0).default(4096).describe('memory per TaskManager in MiB, for the quota'),
      quotaCpu: z.number().min(0).nullable().default(null).describe('cap on total TaskManager CPU'),
      quotaMemoryMb: z.number().min(0).nullable().default(null).describe('cap on total TaskManager memory in MiB'),
    })
    .strict()
    .prefault({}),
  forecast: z
    .object({
      enabled: z.boolean().default(true).describe('pre-scale when the arrival rate forecast over the horizon takes a vertex past its capacity'),
      horizon: duration().default('30m').describe('how far ahead the forecast looks: a pre-scale is sized for the trend over this (longer than the cool-down, so a ramp takes fewer, larger steps) and kept under the band\'s max one horizon further; a vertex that would pre-scale within the next horizon joins a rescale'),
      bucket: duration().default('10m').describe('width of a time-of-day bucket of the seasonal profile'),
      season: duration().default('1d').describe('length of the season (one day, one week)'),
      minHistory: duration().default('1d').describe('history needed before the seasonal profile is used'),
      minSeasons: z
        .number()
        .int()
        .min(1)
        .max(3)
        .default(2)
        .describe('a time-of-day bucket predicts the lowest of its last this many seasons: only a rise seen on each of them (a daily pattern, not a one-off burst) is forecast'),
      timeZone: z
        .string()
        .refine((tz) => {
          try {
            new Intl.DateTimeFormat('en-US', { timeZone: tz });
            return true;
          } catch {
            return false;
          }
        }, 'not an IANA time zone (e.g. UTC, Europe/Berlin)')
        .default('UTC')
        .describe('IANA time zone of the daily cycle: its midnight starts a season (`scale replay --timezone` sets it)'),
      trendWindow: duration().default('30m').describe('recent window whose linear trend is extrapolated'),
      headroom: z.number().min(1).default(1.0).describe('multiplier on the forecast rate'),
    })
    .strict()
    .prefault({}),
  schedules: z.array(schedule).default([]).describe('cron windows with floors, ceilings or blackouts'),
  alerts: z
    .object({
      label: z.string().default('flowpilot_action').describe('alert label whose value scale_up, scale_down or block triggers or vetoes scaling'),
    })
    .strict()
    .prefault({}),
  history: z
    .object({
      maxDecisions: z.number().int().min(10).default(2000).describe('decisions kept for the explain API (ring, all jobs)'),
      maxAge: duration().default('8d').describe('rescale records (restart cost, effectiveness, cool-down) older than this are forgotten'),
    })
    .strict()
    .prefault({}),
};

export const policySchema = z
  .object({
    ...policyShape,
    jobs: z.record(z.string(), z.record(z.string(), z.unknown())).default({}).describe('per job id or job name: overrides of any key above'),
  })
  .strict();

export type ScalingPolicy = z.infer<typeof policySchema>;
