/**
 * Watching what the Flink Kubernetes Operator did with a patch: a sequence of samples of the
 * resource's status (lifecycleState, jobStatus, reconciliationStatus) and, when reachable, of
 * the job over Flink REST, folded into one verdict — carried out IN PLACE or as an UPGRADE
 * (the job was stopped and submitted again), and for how long the job was not RUNNING.
 * Pure: the realizer takes the samples; this module only reads them. The signals and the
 * operator classes they come from are listed in docs/design/operator-rules.md.
 */
import type { FlinkResourceStatus } from './flink-resource.ts';

export interface StatusSample {
  at: number;
  generation?: number;
  lifecycleState?: string;
  reconciliationState?: string;
  observedGeneration?: number;
  jobState?: string;
  jobId?: string;
  startTime?: string;
  jmDeploymentStatus?: string;
  /** The job's state over Flink REST, when the agent can reach it (null: not found). */
  restState?: string | null;
}

/** Job states the operator reports only while it stops or redeploys the job (AbstractJobReconciler.reconcileSpecChange, the observers). */
const UPGRADE_JOB_STATES = new Set(['SUSPENDED', 'CANCELLING', 'CANCELED', 'FINISHED', 'RECONCILING']);
/** JobManager deployment states of a cluster being redeployed (JobManagerDeploymentStatus). */
const UPGRADE_JM_STATES = new Set(['DEPLOYING', 'MISSING', 'DEPLOYED_NOT_READY']);

export function sampleOf(at: number, status: FlinkResourceStatus | undefined, generation: number | undefined, restState?: string | null): StatusSample {
  const s: StatusSample = { at };
  if (generation !== undefined) s.generation = generation;
  if (status?.lifecycleState !== undefined) s.lifecycleState = status.lifecycleState;
  if (status?.reconciliationStatus?.state !== undefined) s.reconciliationState = status.reconciliationStatus.state;
  if (status?.observedGeneration !== undefined) s.observedGeneration = status.observedGeneration;
  if (status?.jobStatus?.state !== undefined) s.jobState = status.jobStatus.state;
  if (status?.jobStatus?.jobId !== undefined) s.jobId = status.jobStatus.jobId;
  if (status?.jobStatus?.startTime !== undefined) s.startTime = status.jobStatus.startTime;
  if (status?.jobManagerDeploymentStatus !== undefined) s.jmDeploymentStatus = status.jobManagerDeploymentStatus;
  if (restState !== undefined) s.restState = restState;
  return s;
}

export function isRunning(s: StatusSample): boolean {
  if (s.jobState !== undefined && s.jobState !== 'RUNNING') return false;
  if (s.restState !== undefined && s.restState !== 'RUNNING') return false;
  return s.jobState !== undefined || s.restState !== undefined;
}

export interface WatchVerdict {
  realized: 'in-place' | 'upgrade';
  /** What showed an upgrade (empty for in place). */
  evidence: string[];
  /**
   * Time between samples that began with the job not RUNNING, or across which the job was
   * submitted again (new startTime or jobId), ms: resolution the poll interval, an upper bound.
   */
  notRunningMs: number;
  /** The distinct (lifecycleState, reconciliation state, job state) steps seen, in order. */
  transitions: string[];
}

/** The job between two samples is another run: submitted again (startTime) or replaced (jobId). */
function replaced(a: StatusSample, b: StatusSample): boolean {
  return (a.startTime !== undefined && b.startTime !== undefined && a.startTime !== b.startTime)
    || (a.jobId !== undefined && b.jobId !== undefined && a.jobId !== b.jobId);
}

export function judge(baseline: StatusSample, samples: StatusSample[]): WatchVerdict {
  const evidence = new Set<string>();
  for (const s of samples) {
    if (baseline.startTime !== undefined && s.startTime !== undefined && s.startTime !== baseline.startTime) evidence.add(`jobStatus.startTime changed (${baseline.startTime} → ${s.startTime}): the job was submitted again`);
    if (baseline.jobId !== undefined && s.jobId !== undefined && s.jobId !== baseline.jobId) evidence.add(`jobStatus.jobId changed (${baseline.jobId} → ${s.jobId})`);
    if (s.jobState !== undefined && UPGRADE_JOB_STATES.has(s.jobState)) evidence.add(`jobStatus.state was ${s.jobState}`);
    if (s.lifecycleState === 'SUSPENDED') evidence.add('lifecycleState was SUSPENDED');
    if (s.jmDeploymentStatus !== undefined && UPGRADE_JM_STATES.has(s.jmDeploymentStatus)) evidence.add(`jobManagerDeploymentStatus was ${s.jmDeploymentStatus}`);
  }
  let notRunningMs = 0;
  const all = [baseline, ...samples];
  for (let i = 1; i < all.length; i++) {
    const prev = all[i - 1]!;
    const cur = all[i]!;
    // A gap that began not RUNNING counts; so does one between two RUNNING samples of different
    // job runs (a slow poll, e.g. on a loaded host, missed the whole restart): it lies in that gap.
    if (!isRunning(prev) || replaced(prev, cur)) notRunningMs += cur.at - prev.at;
  }
  const transitions: string[] = [];
  for (const s of all) {
    const t = `${s.lifecycleState ?? '-'}/${s.reconciliationState ?? '-'}/${s.jobState ?? '-'}${s.restState !== undefined ? `/rest:${s.restState ?? 'gone'}` : ''}`;
    if (transitions[transitions.length - 1] !== t) transitions.push(t);
  }
  return { realized: evidence.size > 0 ? 'upgrade' : 'in-place', evidence: [...evidence], notRunningMs, transitions: transitions.slice(-20) };
}

/** The operator has reconciled generation `gen` (status.observedGeneration, or our change seen in lastReconciledSpec). */
export function reconciledGeneration(status: FlinkResourceStatus | undefined, gen: number | undefined, changeSeen: (lastReconciledSpec: unknown) => boolean): boolean {
  if (gen !== undefined && status?.observedGeneration !== undefined && status.observedGeneration >= gen) return true;
  const raw = status?.reconciliationStatus?.lastReconciledSpec;
  if (typeof raw !== 'string' || raw === '') return false;
  try {
    return changeSeen(JSON.parse(raw) as unknown);
  } catch {
    return false;
  }
}

/**
 * The time the job was not RUNNING, from Flink's own job-details `timestamps` (when the job last
 * entered each JobStatus, on the JobManager's clock): when it entered RUNNING again after
 * `baselineRunningAt` (read before the patch), it left RUNNING at the earliest other state
 * entered since then. Exact where the sampled measure is bounded by the poll interval; only
 * for the same job (a resubmitted job has its own timestamps). Null when it tells nothing.
 */
export function restNotRunningMs(baselineRunningAt: number | undefined, timestamps: Record<string, number> | undefined): number | null {
  const runningAt = timestamps?.RUNNING;
  if (baselineRunningAt === undefined || runningAt === undefined || !(runningAt > baselineRunningAt)) return null;
  const left = Object.entries(timestamps ?? {})
    .filter(([s, t]) => s !== 'RUNNING' && t > baselineRunningAt && t <= runningAt)
    .map(([, t]) => t);
  return left.length > 0 ? runningAt - Math.min(...left) : null;
}
