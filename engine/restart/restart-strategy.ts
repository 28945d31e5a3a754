/**
 * Flink's restart strategies as pure decision objects: told "a failure happened at time t",
 * they answer "restart after d ms" or "give up (the job FAILS)". Keys and defaults are Flink's
 * (restart-strategy.type and restart-strategy.fixed-delay.* / .exponential-delay.*); with no
 * type set, jobs with checkpointing get exponential-delay and others none, as Flink ≥ 1.19.
 * fixed-delay: `attempts` restarts, each after `delay`. exponential-delay: the backoff starts
 * at initial-backoff and is multiplied per attempt up to max-backoff, with ±jitter-factor
 * randomness; a failure more than reset-backoff-threshold after the last restart resets backoff
 * and the attempt count; more than attempts-before-reset-backoff attempts without a reset gives
 * up; failures that arrive while a restart is still pending are merged into it. No timers here:
 * the JobManager schedules the restart itself.
 */
import { z } from 'zod';
import { FlowpilotError } from '../../common/errors.ts';
import { flinkDurationMs } from '../config/options.ts';

const INT_MAX = 2147483647;

const durationMs = (def: number) => flinkDurationMs().pipe(z.number().int().min(0)).default(def);

export const restartConfigSchema = z.object({
  'restart-strategy.type': z.string().optional().describe('none (off, disable), fixed-delay or exponential-delay; absent: exponential-delay with checkpointing, else none.'),
  'restart-strategy.fixed-delay.attempts': z.coerce.number().int().min(0).default(1).describe('Restarts before the job fails (fixed-delay).'),
  'restart-strategy.fixed-delay.delay': durationMs(1000).describe('Pause before each restart (fixed-delay).'),
  'restart-strategy.exponential-delay.initial-backoff': durationMs(1000).describe('First pause (exponential-delay).'),
  'restart-strategy.exponential-delay.max-backoff': durationMs(60_000).describe('Largest pause (exponential-delay).'),
  'restart-strategy.exponential-delay.backoff-multiplier': z.coerce.number().min(1).default(1.5).describe('Growth factor of the pause per attempt.'),
  'restart-strategy.exponential-delay.reset-backoff-threshold': durationMs(3_600_000).describe('Running this long after a restart resets the pause and the attempt count.'),
  'restart-strategy.exponential-delay.jitter-factor': z.coerce.number().min(0).max(1).default(0.1).describe('Random ± share of the pause.'),
  'restart-strategy.exponential-delay.attempts-before-reset-backoff': z.coerce.number().int().min(0).default(INT_MAX).describe('Restarts without a reset before the job fails.'),
});

export type RestartStrategyType = 'none' | 'fixed-delay' | 'exponential-delay';

export interface RestartStrategyConfig {
  type: RestartStrategyType;
  fixedDelay: { attempts: number; delayMs: number };
  exponentialDelay: {
    initialBackoffMs: number;
    maxBackoffMs: number;
    multiplier: number;
    resetThresholdMs: number;
    jitterFactor: number;
    attemptsBeforeReset: number;
  };
}

const TYPE_ALIASES: Record<string, RestartStrategyType> = {
  none: 'none', off: 'none', disable: 'none',
  'fixed-delay': 'fixed-delay', fixeddelay: 'fixed-delay',
  'exponential-delay': 'exponential-delay', exponentialdelay: 'exponential-delay',
};

/** Reads the restart strategy from a job's (or the cluster's) config map. Throws FP_RESTART_CONFIG. */
export function parseRestartStrategyConfig(config: Record<string, string | number | undefined>, opts: { checkpointingEnabled?: boolean } = {}): RestartStrategyConfig {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(restartConfigSchema.shape)) if (config[key] !== undefined) input[key] = config[key];
  const parsed = restartConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FlowpilotError('FP_RESTART_CONFIG', `invalid restart strategy configuration: ${issues}`, { details: { httpStatus: 400 } });
  }
  const c = parsed.data;
  const raw = c['restart-strategy.type'];
  let type: RestartStrategyType;
  if (raw === undefined) type = opts.checkpointingEnabled ? 'exponential-delay' : 'none';
  else {
    const t = TYPE_ALIASES[raw.trim().toLowerCase()];
    if (!t) throw new FlowpilotError('FP_RESTART_CONFIG', `restart-strategy.type "${raw}" is not supported; use none, fixed-delay or exponential-delay`, { details: { httpStatus: 400 } });
    type = t;
  }
  const initial = c['restart-strategy.exponential-delay.initial-backoff'];
  const max = c['restart-strategy.exponential-delay.max-backoff'];
  if (type === 'exponential-delay' && max < initial) {
    throw new FlowpilotError('FP_RESTART_CONFIG', `restart-strategy.exponential-delay.max-backoff (${max} ms) is below initial-backoff (${initial} ms)`, { details: { httpStatus: 400 } });
  }
  return {
    type,
    fixedDelay: { attempts: c['restart-strategy.fixed-delay.attempts'], delayMs: c['restart-strategy.fixed-delay.delay'] },
    exponentialDelay: {
      initialBackoffMs: initial,
      maxBackoffMs: max,
      multiplier: c['restart-strategy.exponential-delay.backoff-multiplier'],
      resetThresholdMs: c['restart-strategy.exponential-delay.reset-backoff-threshold'],
      jitterFactor: c['restart-strategy.exponential-delay.jitter-factor'],
      attemptsBeforeReset: c['restart-strategy.exponential-delay.attempts-before-reset-backoff'],
    },
  };
}

export type RestartDecision =
  /** Restart after `delayMs`; `attempt` counts restarts since the last reset (1-based); `merged` when it joined a pending restart. */
  | { restart: true; delayMs: number; attempt: number; merged: boolean }
  | { restart: false; reason: string };

export interface RestartBackoff {
  readonly type: RestartStrategyType;
  /** Decide on a failure that happened at `now` (epoch ms). */
  onFailure(now: number): RestartDecision;
  /** Restarts granted so far (Flink's numRestarts counts these). */
  readonly numRestarts: number;
  /** Flink's description for the job config view. */
  describe(): string;
}

class NoRestart implements RestartBackoff {
  readonly type = 'none' as const;
  readonly numRestarts = 0;
  onFailure(): RestartDecision {
    return { restart: false, reason: 'Recovery is suppressed by NoRestartBackoffTimeStrategy.' };
  }
  describe(): string {
    return 'Restart deactivated.';
  }
}

class FixedDelay implements RestartBackoff {
  readonly type = 'fixed-delay' as const;
  numRestarts = 0;
  private readonly c: RestartStrategyConfig['fixedDelay'];
  constructor(c: RestartStrategyConfig['fixedDelay']) {
    this.c = c;
  }
  onFailure(): RestartDecision {
    if (this.numRestarts >= this.c.attempts) {
      return { restart: false, reason: `Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=${this.c.attempts}, backoffTimeMS=${this.c.delayMs}).` };
    }
    this.numRestarts++;
    return { restart: true, delayMs: this.c.delayMs, attempt: this.numRestarts, merged: false };
  }
  describe(): string {
    return `Restart with fixed delay (${this.c.delayMs} ms). #${this.c.attempts} restart attempts.`;
  }
}

class ExponentialDelay implements RestartBackoff {
  readonly type = 'exponential-delay' as const;
  numRestarts = 0;
  private readonly c: RestartStrategyConfig['exponentialDelay'];
  private readonly random: () => number;
  private attempt = 0;
  private backoff: number;
  /** When the pending (or last) restart happens; -1 before the first failure. */
  private nextRestartAt = -1;

  constructor(c: RestartStrategyConfig['exponentialDelay'], random: () => number) {
    this.c = c;
    this.random = random;
    this.backoff = c.initialBackoffMs;
  }

  onFailure(now: number): RestartDecision {
    if (this.nextRestartAt >= 0 && now <= this.nextRestartAt) {
      return { restart: true, delayMs: this.nextRestartAt - now, attempt: this.attempt, merged: true };
    }
    if (this.nextRestartAt < 0 || now - this.nextRestartAt >= this.c.resetThresholdMs) {
      this.attempt = 0;
      this.backoff = this.c.initialBackoffMs;
    } else {
      this.backoff = Math.min(this.backoff * this.c.multiplier, this.c.maxBackoffMs);
    }
    this.attempt++;
    if (this.attempt > this.c.attemptsBeforeReset) {
      return { restart: false, reason: `Recovery is suppressed by ExponentialDelayRestartBackoffTimeStrategy: ${this.c.attemptsBeforeReset} restart attempts without a reset.` };
    }
    const spread = this.backoff * this.c.jitterFactor;
    const delayMs = Math.max(0, Math.round(this.backoff + spread * (2 * this.random() - 1)));
    this.nextRestartAt = now + delayMs;
    this.numRestarts++;
    return { restart: true, delayMs, attempt: this.attempt, merged: false };
  }

  describe(): string {
    const c = this.c;
    return `Restart with exponential delay: starting at ${c.initialBackoffMs} ms, increasing by ${c.multiplier}, with maximum ${c.maxBackoffMs} ms. Delay resets after ${c.resetThresholdMs} ms with jitter ${c.jitterFactor}. #${c.attemptsBeforeReset} restart attempts before reset.`;
  }
}

/** A fresh decision object for one job. `random` (default Math.random) drives the jitter. */
export function createRestartStrategy(config: RestartStrategyConfig, opts: { random?: () => number } = {}): RestartBackoff {
  switch (config.type) {
    case 'fixed-delay':
      return new FixedDelay(config.fixedDelay);
    case 'exponential-delay':
      return new ExponentialDelay(config.exponentialDelay, opts.random ?? Math.random);
    default:
      return new NoRestart();
  }
}
