/**
 * Flink's restart strategies as a small state machine: given the configuration and how many
 * restarts happened, whether another restart is allowed and after what delay. fixed-delay
 * (attempts, delay), exponential-delay (initial/max backoff, multiplier, attempts) and none.
 */
import type { JobManagerConfig } from '../config/options.ts';

export interface RestartDecision {
  restart: boolean;
  delayMs: number;
}

export class RestartStrategy {
  private readonly c: Pick<JobManagerConfig, `restart-strategy.${string}` & keyof JobManagerConfig>;
  private restarts = 0;
  private backoff: number;

  constructor(config: JobManagerConfig) {
    this.c = config;
    this.backoff = config['restart-strategy.exponential-delay.initial-backoff'];
  }

  /** Flink's description of the strategy for the REST job config. */
  describe(): string {
    const c = this.c;
    switch (c['restart-strategy.type']) {
      case 'fixed-delay':
        return `Restart with fixed delay (${c['restart-strategy.fixed-delay.delay']} ms). #${c['restart-strategy.fixed-delay.attempts']} restart attempts.`;
      case 'exponential-delay':
        return `Restart with exponential delay: starting at ${c['restart-strategy.exponential-delay.initial-backoff']} ms, increasing by ${c['restart-strategy.exponential-delay.backoff-multiplier']}, with maximum ${c['restart-strategy.exponential-delay.max-backoff']} ms.`;
      default:
        return 'Restart deactivated.';
    }
  }

  next(): RestartDecision {
    const c = this.c;
    switch (c['restart-strategy.type']) {
      case 'fixed-delay':
        if (this.restarts >= c['restart-strategy.fixed-delay.attempts']) return { restart: false, delayMs: 0 };
        this.restarts++;
        return { restart: true, delayMs: c['restart-strategy.fixed-delay.delay'] };
      case 'exponential-delay': {
        if (this.restarts >= c['restart-strategy.exponential-delay.attempts-before-reset-backoff']) return { restart: false, delayMs: 0 };
        this.restarts++;
        const delay = this.backoff;
        this.backoff = Math.min(this.backoff * c['restart-strategy.exponential-delay.backoff-multiplier'], c['restart-strategy.exponential-delay.max-backoff']);
        return { restart: true, delayMs: delay };
      }
      default:
        return { restart: false, delayMs: 0 };
    }
  }
}
