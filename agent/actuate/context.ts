/**
 * What every actuator gets: the journal, the Flink REST and Kubernetes clients, where each
 * job lives (its jar for resubmission, its Deployment or FlinkDeployment), the timing
 * bounds, a clock and a cancellable sleep. An actuator is a function that drives one
 * journaled action from whatever step it is at to a finished step, so the same code runs a
 * fresh action and resumes one left behind by a crashed process.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { KubeClients } from '../kube/client.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import type { IntentHandle, IntentJournal } from './journal/intent.ts';
import type { ActuationOutcome, ActuationResult, JobSubmission, Realization } from './types.ts';

export interface WorkloadTarget {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  namespace?: string;
  /** Slots per TaskManager, to derive a replica count when the request gives none. */
  slotsPerTaskManager?: number;
}

/** A FlinkDeployment (the default) or a FlinkSessionJob the flink-deployment actuator rescales. */
export interface FlinkResourceTarget {
  name: string;
  namespace?: string;
  kind?: 'FlinkDeployment' | 'FlinkSessionJob';
}

/** @deprecated the older name of FlinkResourceTarget. */
export type FlinkDeploymentTarget = FlinkResourceTarget;

export interface ActuationTiming {
  /** How long to wait for a new parallelism to be RUNNING. */
  verifyTimeoutMs: number;
  /** How long to wait for a savepoint or stop to complete. */
  savepointTimeoutMs: number;
  pollIntervalMs: number;
  /** Attempts for a FlinkDeployment patch that keeps hitting 409 Conflict. */
  conflictRetries: number;
}

export const DEFAULT_TIMING: ActuationTiming = { verifyTimeoutMs: 120_000, savepointTimeoutMs: 300_000, pollIntervalMs: 1000, conflictRetries: 5 };

export interface ActuatorContext {
  journal: IntentJournal;
  flink?: FlinkRestClient;
  kube?: KubeClients;
  /** Per job key: how to resubmit it (savepoint mode, disaster recovery). */
  submission?: (jobKey: string) => JobSubmission | undefined;
  /** Per job key: the TaskManager Deployment/StatefulSet (kubernetes-deployment mode). */
  workload?: (jobKey: string) => WorkloadTarget | undefined;
  /** Per job key: the FlinkDeployment or FlinkSessionJob (flink-deployment mode). */
  flinkDeployment?: (jobKey: string) => FlinkResourceTarget | undefined;
  timing: ActuationTiming;
  clock: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Logger;
  signal?: AbortSignal;
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepTimer(ms, undefined, signal ? { signal } : undefined);
}

export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new FlowpilotError('FP_ACTUATE_CONFIG', `actuation needs ${what}; configure it for this job`);
  return v;
}

/** Polls `probe` until it returns a non-null value or `timeoutMs` passes (then null). */
export async function pollUntil<T>(ctx: ActuatorContext, timeoutMs: number, probe: () => Promise<T | null>): Promise<T | null> {
  const deadline = ctx.clock() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (ctx.clock() >= deadline) return null;
    await ctx.sleep(ctx.timing.pollIntervalMs, ctx.signal);
  }
}

export function resultOf(h: IntentHandle, resumed: boolean, fallbackJobId?: string): ActuationResult {
  const r = h.record;
  return {
    actionId: r.actionId, jobKey: r.jobKey, mode: r.mode,
    outcome: (r.outcome ?? 'failed') as ActuationOutcome,
    jobId: r.data.rollbackJobId ?? r.data.newJobId ?? fallbackJobId ?? r.request.jobId,
    message: r.message ?? '',
    steps: r.history.map((s) => s.step),
    ...(typeof r.data.errorCode === 'string' ? { errorCode: r.data.errorCode } : {}),
    ...(isRealization(r.data.realization) ? { realization: r.data.realization } : {}),
    resumed,
  };
}

function isRealization(v: unknown): v is Realization {
  return typeof v === 'object' && v !== null && typeof (v as Realization).realized === 'string' && typeof (v as Realization).expected === 'string';
}

/** Journal data naming the error's FP_ code, for results and alerts. */
export function errorData(err: unknown): { errorCode?: string } {
  return err instanceof FlowpilotError ? { errorCode: err.code } : {};
}

/** `[FP_CODE] message` for journal messages. */
export function describeError(err: unknown): string {
  return err instanceof FlowpilotError ? `[${err.code}] ${err.message}` : errorMessage(err);
}

export type StepRunner = (ctx: ActuatorContext, h: IntentHandle) => Promise<IntentHandle>;
