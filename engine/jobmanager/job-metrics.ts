/**
 * Job-scope metrics the JobManager reports under Flink's names: uptime, downtime, restarts,
 * rescales, the per-status `<status>Time`, `<status>TimeTotal` and `<status>State` gauges, and
 * the checkpoint gauges when the job checkpoints.
 */
import type { JobStatus } from '../contracts/status.ts';

export interface JobMetricsSource {
  status: JobStatus;
  isTerminal: boolean;
  statusTimestamps: Partial<Record<JobStatus, number>>;
  statusTotals: Partial<Record<JobStatus, number>>;
  numRestarts: number;
  numRescales: number;
  checkpointMetrics: Record<string, number> | null;
}

const TIMED: JobStatus[] = ['INITIALIZING', 'CREATED', 'RUNNING', 'FAILING', 'CANCELLING', 'RESTARTING'];

export function jobMetrics(j: JobMetricsSource, now = Date.now()): Record<string, number> {
  const s = j.status;
  const since = j.statusTimestamps[s] ?? now;
  const cur = (st: JobStatus) => (s === st ? now - since : 0);
  const total = (st: JobStatus) => (j.statusTotals[st] ?? 0) + cur(st);
  const out: Record<string, number> = {
    uptime: j.isTerminal ? -1 : s === 'RUNNING' ? now - since : 0,
    downtime: j.isTerminal ? -1 : s === 'FAILING' || s === 'RESTARTING' ? now - since : 0,
    numRestarts: j.numRestarts,
    fullRestarts: j.numRestarts,
    numRescales: j.numRescales,
    ...(j.checkpointMetrics ?? {}),
  };
  for (const st of TIMED) {
    const key = st.toLowerCase();
    out[`${key}Time`] = cur(st);
    out[`${key}TimeTotal`] = total(st);
    out[`${key}State`] = s === st ? 1 : 0;
  }
  return out;
}
