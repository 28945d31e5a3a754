/**
 * Job views in Flink's wire format: the job list and overview, job details (vertices, status
 * counts, timestamps, plan), job config, exception history, vertex details and backpressure.
 * Pure functions from backend views (plus the clock and per-subtask metric maps) to the JSON
 * Flink writes; field names, units and derived values follow research/flink-api.md §1.3.
 */
import {
  EXECUTION_STATES, JOB_STATUSES,
  type ExecutionState, type ExceptionView, type JobStatus, type JobView, type MetricValues, type SubtaskView, type VertexView,
} from './backend.ts';

const TERMINAL_EXECUTION: ReadonlySet<ExecutionState> = new Set(['FINISHED', 'CANCELED', 'FAILED']);
export const GLOBALLY_TERMINAL: ReadonlySet<JobStatus> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

/** Flink's ExecutionJobVertex.getAggregateJobVertexState. */
export function aggregateVertexState(subtasks: SubtaskView[], parallelism: number): ExecutionState {
  const n = countStates(subtasks);
  if (n.FAILED > 0) return 'FAILED';
  if (n.CANCELING > 0) return 'CANCELING';
  if (n.CANCELED > 0) return 'CANCELED';
  if (n.INITIALIZING > 0) return 'INITIALIZING';
  if (n.RUNNING > 0) return 'RUNNING';
  if (n.FINISHED > 0) return n.FINISHED === parallelism ? 'FINISHED' : 'RUNNING';
  return 'CREATED';
}

export function countStates(subtasks: SubtaskView[]): Record<ExecutionState, number> {
  const out = Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as Record<ExecutionState, number>;
  for (const st of subtasks) out[st.status]++;
  return out;
}

export function jobStartTime(job: JobView): number {
  return job.statusTimestamps.INITIALIZING ?? job.statusTimestamps.CREATED ?? -1;
}

export function jobDuration(job: JobView, now: number): number {
  const start = jobStartTime(job);
  if (start < 0) return -1;
  return (job.endTime > 0 ? job.endTime : now) - start;
}

function lastModification(job: JobView): number {
  let last = 0;
  for (const t of Object.values(job.statusTimestamps)) if (t !== undefined && t > last) last = t;
  for (const v of job.vertices) {
    for (const st of v.subtasks) for (const t of Object.values(st.statusTimestamps)) if (t !== undefined && t > last) last = t;
  }
  return last;
}

/** `GET /jobs` entry. */
export function jobIdWithStatus(job: JobView): { id: string; status: JobStatus } {
  return { id: job.jobId, status: job.status };
}

/** `GET /jobs/overview` entry (JobDetails). */
export function jobOverview(job: JobView, now: number): Record<string, unknown> {
  const counts = countStates(job.vertices.flatMap((v) => v.subtasks));
  const tasks: Record<string, number> = { total: job.vertices.reduce((s, v) => s + v.subtasks.length, 0) };
  for (const s of EXECUTION_STATES) tasks[s.toLowerCase()] = counts[s];
  return {
    jid: job.jobId,
    name: job.name,
    'start-time': jobStartTime(job),
    'end-time': job.endTime,
    duration: jobDuration(job, now),
    'last-modification': lastModification(job),
    state: job.status,
    tasks,
    jobType: job.jobType,
    schedulerType: job.schedulerType,
    'pending-operators': 0,
  };
}

/** Flink's vertex start/end/duration: earliest DEPLOYING, latest terminal, -1 while running. */
function vertexTimes(v: VertexView, now: number): { start: number; end: number; duration: number } {
  let start = Infinity;
  let end = -1;
  let allTerminal = true;
  for (const st of v.subtasks) {
    const deployed = st.statusTimestamps.DEPLOYING ?? 0;
    if (deployed > 0) start = Math.min(start, deployed);
    allTerminal &&= TERMINAL_EXECUTION.has(st.status);
    end = Math.max(end, st.statusTimestamps[st.status] ?? 0);
  }
  if (start === Infinity) return { start: -1, end: -1, duration: -1 };
  if (!allTerminal) return { start, end: -1, duration: now - start };
  return { start, end, duration: end - start };
}

const IO_KEYS = [
  'read-bytes', 'write-bytes', 'read-records', 'write-records',
  'accumulated-backpressured-time', 'accumulated-idle-time', 'accumulated-busy-time',
] as const;

function num(values: MetricValues | undefined, id: string): number | undefined {
  const v = values?.[id];
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** IOMetricsInfo of one subtask from its metric map (Flink reads the same metric names). */
export function ioMetrics(values: MetricValues | undefined): Record<string, number | boolean> {
  const complete = values !== undefined && Object.keys(values).length > 0;
  const long = (id: string) => Math.trunc(num(values, id) ?? 0);
  return {
    'read-bytes': long('numBytesIn'),
    'read-bytes-complete': complete,
    'write-bytes': long('numBytesOut'),
    'write-bytes-complete': complete,
    'read-records': long('numRecordsIn'),
    'read-records-complete': complete,
    'write-records': long('numRecordsOut'),
    'write-records-complete': complete,
    'accumulated-backpressured-time': long('accumulateBackPressuredTimeMs'),
    'accumulated-idle-time': long('accumulateIdleTimeMs'),
    'accumulated-busy-time': num(values, 'accumulateBusyTimeMs') ?? 0,
  };
}

function sumIo(parts: Array<Record<string, number | boolean>>): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const k of IO_KEYS) out[k] = parts.reduce((s, p) => s + (p[k] as number), 0);
  for (const k of ['read-bytes', 'write-bytes', 'read-records', 'write-records']) {
    out[`${k}-complete`] = parts.every((p) => p[`${k}-complete`] === true);
  }
  return Object.fromEntries(
    ['read-bytes', 'read-bytes-complete', 'write-bytes', 'write-bytes-complete', 'read-records', 'read-records-complete',
      'write-records', 'write-records-complete', ...IO_KEYS.slice(4)].map((k) => [k, out[k]!]),
  );
}

function stateCounts(subtasks: SubtaskView[]): Record<string, number> {
  return countStates(subtasks);
}

/** Deterministic 32-hex slot sharing group id when the backend has none (one group per job). */
function defaultSlotSharingGroup(jobId: string): string {
  return [...jobId].reverse().join('');
}

export function planOf(job: JobView): Record<string, unknown> {
  return {
    jid: job.jobId,
    name: job.name,
    type: job.jobType,
    nodes: job.vertices.map((v) => ({
      id: v.id,
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: planDescription(v),
      ...(v.inputs.length > 0
        ? { inputs: v.inputs.map((e, i) => ({ num: i, id: e.sourceVertexId, ship_strategy: e.ship, exchange: 'pipelined_bounded' })) }
        : {}),
      optimizer_properties: {},
    })),
  };
}

function planDescription(v: VertexView): string {
  const names = v.operatorNames.length > 0 ? v.operatorNames : [v.name];
  return names.map((n, i) => (i === 0 ? `${n}<br/>` : `+- ${n}<br/>`)).join('');
}

/** `GET /jobs/:jobid` (JobDetailsInfo). */
export function jobDetails(job: JobView, now: number, metricsOf: (vertexId: string) => MetricValues[] | undefined): Record<string, unknown> {
  const timestamps: Record<string, number> = {};
  for (const s of JOB_STATUSES) timestamps[s] = job.statusTimestamps[s] ?? 0;
  const statusCounts = Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as Record<string, number>;
  const vertices = job.vertices.map((v) => {
    const status = aggregateVertexState(v.subtasks, v.parallelism);
    statusCounts[status]!++;
    const times = vertexTimes(v, now);
    const metrics = metricsOf(v.id);
    return {
      id: v.id,
      slotSharingGroupId: v.slotSharingGroupId ?? defaultSlotSharingGroup(job.jobId),
      name: v.name,
      maxParallelism: v.maxParallelism,
      parallelism: v.parallelism,
      status,
      'start-time': times.start,
      'end-time': times.end,
      duration: times.duration,
      tasks: stateCounts(v.subtasks),
      metrics: sumIo(v.subtasks.map((st) => ioMetrics(metrics?.[st.index]))),
    };
  });
  return {
    jid: job.jobId,
    name: job.name,
    isStoppable: false,
    state: job.status,
    'job-type': job.jobType,
    'start-time': jobStartTime(job),
    'end-time': job.endTime,
    duration: jobDuration(job, now),
    maxParallelism: job.maxParallelism,
    now,
    timestamps,
    vertices,
    'status-counts': statusCounts,
    plan: planOf(job),
    'pending-operators': 0,
    schedulerType: job.schedulerType,
  };
}

/** `GET /jobs/:jobid/config` — the wire names (jid, name, execution-config), not the spec's. */
export function jobConfig(job: JobView): Record<string, unknown> {
  return {
    jid: job.jobId,
    name: job.name,
    'execution-config': {
      'restart-strategy': job.restartStrategy,
      'job-parallelism': job.parallelism,
      'object-reuse-mode': job.config['pipeline.object-reuse'] === 'true',
      'user-config': job.config,
    },
  };
}

function exceptionEntry(e: ExceptionView, root: boolean): Record<string, unknown> {
  return {
    exceptionName: e.exceptionName,
    stacktrace: e.stacktrace,
    timestamp: e.timestamp,
    ...(e.taskName !== undefined ? { taskName: e.taskName } : {}),
    ...(e.endpoint !== undefined ? { endpoint: e.endpoint } : {}),
    ...(e.taskManagerId !== undefined ? { taskManagerId: e.taskManagerId } : {}),
    failureLabels: e.failureLabels ?? {},
    ...(root ? { concurrentExceptions: (e.concurrentExceptions ?? []).map((c) => exceptionEntry(c, false)) } : {}),
  };
}

/** `GET /jobs/:jobid/exceptions` (JobExceptionsInfoWithHistory, 2.x shape). */
export function jobExceptions(job: JobView, maxExceptions: number, labelFilter: Array<[string, string]>): Record<string, unknown> {
  const matching = job.exceptions.filter((e) => labelFilter.every(([k, v]) => e.failureLabels?.[k] === v));
  const entries = matching.slice(0, maxExceptions).map((e) => exceptionEntry(e, true));
  return { exceptionHistory: { entries, truncated: matching.length > maxExceptions } };
}

const DURATION_STATES: ExecutionState[] = ['CREATED', 'SCHEDULED', 'DEPLOYING', 'INITIALIZING', 'RUNNING'];

function statusDurations(st: SubtaskView, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  const ended = TERMINAL_EXECUTION.has(st.status) ? (st.statusTimestamps[st.status] ?? now) : now;
  DURATION_STATES.forEach((s, i) => {
    const start = st.statusTimestamps[s] ?? 0;
    if (start <= 0) {
      out[s] = -1;
      return;
    }
    let end = ended;
    for (const later of DURATION_STATES.slice(i + 1)) {
      const t = st.statusTimestamps[later] ?? 0;
      if (t > 0) {
        end = t;
        break;
      }
    }
    out[s] = Math.max(0, end - start);
  });
  return out;
}

function subtaskDetails(st: SubtaskView, now: number, metrics: MetricValues | undefined): Record<string, unknown> {
  const start = st.statusTimestamps.DEPLOYING ?? 0;
  const end = TERMINAL_EXECUTION.has(st.status) ? (st.statusTimestamps[st.status] ?? -1) : -1;
  return {
    subtask: st.index,
    status: st.status,
    attempt: st.attempt,
    endpoint: st.endpoint,
    'start-time': start,
    'end-time': end,
    duration: start > 0 ? (end > 0 ? end : now) - start : -1,
    metrics: ioMetrics(metrics),
    'taskmanager-id': st.taskManagerId ?? '(unassigned)',
    'status-duration': statusDurations(st, now),
    start_time: start,
  };
}

function stats(xs: number[]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const at = (q: number) => (n === 0 ? 0 : Math.trunc(s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!));
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    min: n === 0 ? 0 : Math.trunc(s[0]!), max: n === 0 ? 0 : Math.trunc(s[n - 1]!),
    avg: n === 0 ? 0 : Math.trunc(sum / n), sum: Math.trunc(sum),
    median: at(0.5), p25: at(0.25), p75: at(0.75), p95: at(0.95),
  };
}

/** `GET /jobs/:jobid/vertices/:vertexid` (JobVertexDetailsInfo). */
export function vertexDetails(v: VertexView, now: number, metrics: MetricValues[] | undefined): Record<string, unknown> {
  const subtasks = v.subtasks.map((st) => subtaskDetails(st, now, metrics?.[st.index]));
  const aggMetrics: Record<string, Record<string, number>> = {};
  for (const k of IO_KEYS) aggMetrics[k] = stats(subtasks.map((s) => (s.metrics as Record<string, number>)[k]!));
  const aggDurations: Record<string, Record<string, number>> = {};
  for (const s of DURATION_STATES) aggDurations[s] = stats(subtasks.map((x) => (x['status-duration'] as Record<string, number>)[s]!));
  return {
    id: v.id,
    name: v.name,
    maxParallelism: v.maxParallelism,
    parallelism: v.parallelism,
    now,
    subtasks,
    aggregated: { metrics: aggMetrics, 'status-duration': aggDurations },
  };
}

function level(ratio: number): 'ok' | 'low' | 'high' {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

function ratioOf(values: MetricValues, id: string): number {
  const n = num(values, id);
  return n === undefined ? 0 : n / 1000;
}

/** `GET .../backpressure` (metric-based, Flink ≥ 1.13); both level spellings, as Flink writes. */
export function backpressure(metrics: MetricValues[] | undefined, now: number): Record<string, unknown> {
  if (metrics === undefined || metrics.every((m) => m === undefined || Object.keys(m).length === 0)) {
    return { status: 'deprecated' };
  }
  let max = 0;
  const subtasks = metrics.map((m, index) => {
    const values = m ?? {};
    const ratio = ratioOf(values, 'backPressuredTimeMsPerSecond');
    max = Math.max(max, ratio);
    const lvl = level(ratio);
    return {
      subtask: index,
      'backpressure-level': lvl,
      ratio,
      idleRatio: ratioOf(values, 'idleTimeMsPerSecond'),
      busyRatio: ratioOf(values, 'busyTimeMsPerSecond'),
      backpressureLevel: lvl,
    };
  });
  const lvl = level(max);
  return { status: 'ok', 'backpressure-level': lvl, 'end-timestamp': now, subtasks, backpressureLevel: lvl };
}
