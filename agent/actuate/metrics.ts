/**
 * The agent's own actuation metrics (prom-client, registered on the registry the caller
 * passes): actions by mode and outcome, their duration, actions in flight, and the periodic
 * savepoint and disaster-recovery series the default alert rules watch.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ActuationResult } from './types.ts';

export interface ActuationMetrics {
  actions: Counter<'mode' | 'outcome'>;
  duration: Histogram<'mode'>;
  inFlight: Gauge;
  /** Operator rescales that became an upgrade where in place was expected (alert on any increase). */
  unexpectedUpgrades: Counter<'mode'>;
  /** How long the job was not RUNNING during an operator-carried rescale, by how it was carried out. */
  notRunning: Histogram<'realized'>;
  observe(r: ActuationResult, seconds: number): void;
}

export function createActuationMetrics(registry: Registry): ActuationMetrics {
  const actions = new Counter({ name: 'flowpilot_actuation_total', help: 'Actuation actions by mode and outcome.', labelNames: ['mode', 'outcome'] as const, registers: [registry] });
  const duration = new Histogram({
    name: 'flowpilot_actuation_duration_seconds', help: 'Time from intent to the end of an actuation action.', labelNames: ['mode'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600], registers: [registry],
  });
  const inFlight = new Gauge({ name: 'flowpilot_actuation_in_flight', help: 'Actuation actions running in this agent now.', registers: [registry] });
  const unexpectedUpgrades = new Counter({
    name: 'flowpilot_actuation_unexpected_upgrade_total', labelNames: ['mode'] as const, registers: [registry],
    help: 'Rescales the Flink Kubernetes Operator carried out as an upgrade (job restarted) where an in-place rescale was expected.',
  });
  const notRunning = new Histogram({
    name: 'flowpilot_actuation_job_not_running_seconds', labelNames: ['realized'] as const, registers: [registry],
    help: 'How long the job was not RUNNING during an operator-carried rescale, by how it was carried out (in-place, upgrade).',
    buckets: [0, 1, 5, 15, 30, 60, 120, 300, 600],
  });
  unexpectedUpgrades.inc({ mode: 'flink-deployment' }, 0);
  return {
    actions, duration, inFlight, unexpectedUpgrades, notRunning,
    observe(r, seconds) {
      actions.inc({ mode: r.mode, outcome: r.outcome });
      duration.observe({ mode: r.mode }, seconds);
      const z = r.realization;
      if (z && z.realized !== 'unobserved') notRunning.observe({ realized: z.realized }, z.notRunningMs / 1000);
      if (z?.unexpectedUpgrade) unexpectedUpgrades.inc({ mode: r.mode });
    },
  };
}

export interface PeriodicSavepointMetrics {
  total: Counter<'job' | 'outcome'>;
  duration: Histogram<'job'>;
  lastSuccess: Gauge<'job'>;
  retained: Gauge<'job'>;
  deleted: Counter<'job'>;
}

export function createPeriodicSavepointMetrics(registry: Registry): PeriodicSavepointMetrics {
  return {
    total: new Counter({ name: 'flowpilot_periodic_savepoint_total', help: 'Periodic savepoints by job and outcome (completed, failed, skipped).', labelNames: ['job', 'outcome'] as const, registers: [registry] }),
    duration: new Histogram({ name: 'flowpilot_periodic_savepoint_duration_seconds', help: 'Time from trigger to completion of a periodic savepoint.', labelNames: ['job'] as const, buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 600], registers: [registry] }),
    lastSuccess: new Gauge({ name: 'flowpilot_periodic_savepoint_last_success_timestamp_seconds', help: 'Unix time of the last completed periodic savepoint.', labelNames: ['job'] as const, registers: [registry] }),
    retained: new Gauge({ name: 'flowpilot_periodic_savepoint_retained', help: 'Periodic savepoints currently retained.', labelNames: ['job'] as const, registers: [registry] }),
    deleted: new Counter({ name: 'flowpilot_periodic_savepoint_deleted_total', help: 'Periodic savepoints deleted by retention.', labelNames: ['job'] as const, registers: [registry] }),
  };
}

export interface RecoveryMetrics {
  attempts: Counter<'job' | 'outcome'>;
  gaveUp: Gauge<'job'>;
}

export function createRecoveryMetrics(registry: Registry): RecoveryMetrics {
  return {
    attempts: new Counter({ name: 'flowpilot_recovery_attempts_total', help: 'Disaster-recovery resubmissions by job and outcome.', labelNames: ['job', 'outcome'] as const, registers: [registry] }),
    gaveUp: new Gauge({ name: 'flowpilot_recovery_gave_up', help: '1 while recovery of the job has exhausted its attempts and needs a human.', labelNames: ['job'] as const, registers: [registry] }),
  };
}
