/**
 * The actuation contract: what the lead's loop hands to actuate/ (RescaleRequest) and what it
 * gets back (ActuationResult). Parallelism maps are keyed by Flink job vertex id (32 hex).
 * actuate/ never imports scaling/; the mapping from a decision to a request is the caller's.
 */

export type ActuationMode = 'in-place' | 'savepoint' | 'kubernetes-deployment' | 'flink-deployment' | 'dry-run';

export interface RescaleRequest {
  jobId: string;
  jobName?: string;
  /** Current parallelism per vertex id. */
  current: Record<string, number>;
  /** Target parallelism per vertex id. */
  target: Record<string, number>;
  /** Desired TaskManager count (Kubernetes modes). */
  taskManagers?: number;
  reasons: string[];
  mode: ActuationMode;
}

export type ActuationOutcome =
  | 'succeeded'
  /** the change was undone; the job runs at its old parallelism */
  | 'rolled-back'
  /** nothing was changed (e.g. the savepoint failed; the job keeps running) */
  | 'rejected'
  /** the change was made but could not be confirmed in time */
  | 'timed-out'
  /** dry-run: recorded as a recommendation only */
  | 'recommended'
  /** the action failed and the job may need attention (see message) */
  | 'failed';

export interface ActuationResult {
  actionId: string;
  jobKey: string;
  mode: ActuationMode;
  outcome: ActuationOutcome;
  /** The job id after the action (changes after a savepoint redeploy). */
  jobId: string;
  message: string;
  /** The journal steps this action went through, in order. */
  steps: string[];
  /** The FP_... code of the error that ended the action, if any (e.g. FP_KUBE_FORBIDDEN). */
  errorCode?: string;
  /** How the Flink Kubernetes Operator carried a flink-deployment rescale out. */
  realization?: Realization;
  /** True when this result came from resuming an action journaled by an earlier process. */
  resumed: boolean;
}

/**
 * What the operator did with a FlinkDeployment/FlinkSessionJob patch: the path it was expected
 * to take, the one it took (unobserved: the resource has no status, no operator reconciles
 * it), and how long the job was not RUNNING meanwhile.
 */
export interface Realization {
  expected: 'in-place' | 'upgrade';
  realized: 'in-place' | 'upgrade' | 'unobserved';
  notRunningMs: number;
  evidence?: string[];
  transitions?: string[];
  /** Upgrade where in place was expected: alerted (metric) and reported (Warning Event). */
  unexpectedUpgrade?: boolean;
}

/** What the savepoint path needs to resubmit a job: Flink's POST /jars/:jarid/run inputs. */
export interface JobSubmission {
  jarId: string;
  entryClass?: string;
  programArgsList?: string[];
  /** Where stop-with-savepoint writes (Flink `targetDirectory`). */
  savepointDirectory: string;
  allowNonRestoredState?: boolean;
  /** Send `pipeline.jobvertex-parallelism-overrides` in flinkConfiguration (Flink ≥ 1.18; the engine). */
  perVertexOverrides?: boolean;
  /** Extra flinkConfiguration entries for every submission. */
  flinkConfiguration?: Record<string, string>;
}

/** The stable key of a job across resubmissions: its name when known, else its id. */
export function jobKeyOf(req: { jobId: string; jobName?: string }): string {
  return req.jobName && req.jobName !== '' ? req.jobName : req.jobId;
}

/** `pipeline.jobvertex-parallelism-overrides` value: "vertexId:p,vertexId:p", ids sorted. */
export function formatVertexOverrides(target: Record<string, number>): string {
  return Object.keys(target).sort().map((v) => `${v}:${target[v]}`).join(',');
}

export function parseVertexOverrides(s: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (s ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.lastIndexOf(':');
    if (i > 0) out[part.slice(0, i)] = Number(part.slice(i + 1));
  }
  return out;
}

export function maxParallelism(p: Record<string, number>): number {
  return Math.max(1, ...Object.values(p));
}
