/**
 * Builds the JobObservation the autoscaler reads from what the Flink REST collector fetched.
 * The type itself belongs to agent/scaling/observation.ts (it landed first; docs/replay.md
 * documents it); this module is the only place that maps REST figures onto it, so the decision
 * engine never sees REST shapes. Every figure is finite and non-negative, as the schema demands:
 * a NaN busy time (busy-time measurement off) falls back to 1000 − idle − backpressured.
 */
import type { JobObservationInput } from '../scaling/observation.ts';
import type { AggregatedMetric } from './flink-rest-client.ts';
import type { CheckpointingStatistics, JobDetails, TaskManagersInfo } from './flink-rest-types.ts';

export type { JobObservation, JobObservationInput, VertexObservation } from '../scaling/observation.ts';
export { parseObservation, parseObservationLine } from '../scaling/observation.ts';

/** Aggregates of one vertex's subtask metrics, by metric id. */
export type VertexAggregates = Map<string, AggregatedMetric>;

export interface VertexFigures {
  aggregates: VertexAggregates;
  /** Distinct source partitions seen in operator metric ids (KafkaSourceReader...partition.N). */
  partitions?: number;
}

export interface TaskManagerFigures {
  info: TaskManagersInfo | null;
  aggregates: Map<string, AggregatedMetric>;
}

function finite(x: number | undefined): number | undefined {
  return x === undefined || !Number.isFinite(x) ? undefined : x;
}

function nonNeg(x: number | undefined, fallback = 0): number {
  const f = finite(x);
  return f === undefined ? fallback : Math.max(0, f);
}

function sumMatching(agg: VertexAggregates, test: (id: string) => boolean): number | undefined {
  let total: number | undefined;
  for (const [id, m] of agg) {
    if (!test(id)) continue;
    const s = finite(m.sum);
    if (s !== undefined) total = (total ?? 0) + s;
  }
  return total;
}

function minMax(agg: VertexAggregates, id: string): { avg: number; max: number } | undefined {
  const m = agg.get(id);
  const avg = finite(m?.avg);
  const max = finite(m?.max);
  return avg === undefined || max === undefined ? undefined : { avg: Math.max(0, avg), max: Math.max(0, max) };
}

function busyOf(agg: VertexAggregates): { avg: number; max: number } {
  const busy = minMax(agg, 'busyTimeMsPerSecond');
  if (busy) return busy;
  const idle = minMax(agg, 'idleTimeMsPerSecond');
  const bp = minMax(agg, 'backPressuredTimeMsPerSecond');
  if (!idle) return { avg: 0, max: 0 };
  const avg = Math.max(0, 1000 - idle.avg - (bp?.avg ?? 0));
  // The busiest subtask is at least as busy as the average one; without per-subtask data, the
  // least idle subtask bounds it from above.
  const max = Math.max(avg, Math.max(0, 1000 - (agg.get('idleTimeMsPerSecond')?.min ?? idle.avg) - (bp?.avg ?? 0)));
  return { avg, max };
}

export function buildJobObservation(args: {
  time: number;
  details: JobDetails;
  jobMetrics: Map<string, number>;
  checkpoints: CheckpointingStatistics | null;
  vertices: Map<string, VertexFigures>;
  taskManagers: TaskManagerFigures;
}): JobObservationInput {
  const { details, jobMetrics, checkpoints, taskManagers } = args;
  const planNodes = new Map((details.plan?.nodes ?? []).map((n) => [n.id, n]));
  const vertices = details.vertices.map((v) => {
    const figures = args.vertices.get(v.id);
    const agg: VertexAggregates = figures?.aggregates ?? new Map();
    const inputs = (planNodes.get(v.id)?.inputs ?? []).map((i) => ({ id: i.id, shipStrategy: i.ship_strategy ?? 'UNKNOWN' }));
    const isSource = inputs.length === 0;
    const taskIn = finite(agg.get('numRecordsIn')?.sum) ?? finite(Number(v.metrics?.['read-records']));
    const sourceIn = isSource ? sumMatching(agg, (id) => /^Source__.*\.numRecordsIn$/.test(id)) : undefined;
    const recordsOut = finite(agg.get('numRecordsOut')?.sum) ?? finite(Number(v.metrics?.['write-records']));
    const pending = isSource ? sumMatching(agg, (id) => id.endsWith('.pendingRecords')) : undefined;
    // Cumulative times from the job details (Flink >= 1.17): exact over any window, where the
    // per-second gauges are averages over the reporter's 60 s view and lag a change.
    const accBusy = finite(Number(v.metrics?.['accumulated-busy-time']));
    const accBp = finite(Number(v.metrics?.['accumulated-backpressured-time']));
    return {
      id: v.id,
      name: v.name,
      parallelism: Math.max(1, v.parallelism),
      maxParallelism: Math.max(1, v.maxParallelism ?? (details.maxParallelism !== undefined && details.maxParallelism > 0 ? details.maxParallelism : 128)),
      inputs,
      recordsIn: nonNeg(sourceIn !== undefined && (taskIn === undefined || taskIn === 0) ? sourceIn : taskIn),
      recordsOut: nonNeg(recordsOut),
      busyMsPerSecond: busyOf(agg),
      backPressuredMsPerSecond: minMax(agg, 'backPressuredTimeMsPerSecond') ?? { avg: 0, max: 0 },
      ...(accBusy !== undefined && accBusy >= 0 && accBp !== undefined && accBp >= 0 ? { accumulatedBusyMs: accBusy, accumulatedBackPressuredMs: accBp } : {}),
      ...(pending !== undefined ? { pendingRecords: Math.max(0, pending) } : {}),
      ...(figures?.partitions !== undefined ? { partitions: figures.partitions } : {}),
    };
  });

  const obs: JobObservationInput = {
    time: args.time,
    jobId: details.jid,
    jobName: details.name,
    state: details.state,
    restarts: Math.max(0, Math.floor(nonNeg(jobMetrics.get('numRestarts')))),
    vertices,
  };
  const running = details.timestamps?.RUNNING;
  if (running !== undefined && running > 0) obs.runningSince = running;

  if (checkpoints) {
    const completed = checkpoints.latest?.completed ?? null;
    const restored = checkpoints.latest?.restored ?? null;
    obs.checkpoints = {
      failed: Math.floor(nonNeg(checkpoints.counts?.failed)),
      completed: Math.floor(nonNeg(checkpoints.counts?.completed)),
      ...(completed && finite(completed.end_to_end_duration) !== undefined ? { lastDurationMs: nonNeg(completed.end_to_end_duration) } : {}),
      ...(completed && finite(completed.checkpointed_size) !== undefined ? { lastSizeBytes: nonNeg(completed.checkpointed_size) } : {}),
      ...(restored && restored.restore_timestamp !== undefined && restored.restore_timestamp > 0 ? { lastRestoreTime: restored.restore_timestamp } : {}),
    };
  }

  const tms = taskManagers.info?.taskmanagers;
  if (tms) {
    const ta = taskManagers.aggregates;
    const cpu = ta.get('Status.JVM.CPU.Load');
    obs.taskManagers = {
      count: tms.length,
      slotsPerTaskManager: Math.max(1, ...tms.map((t) => t.slotsNumber ?? 1)),
      ...(finite(ta.get('Status.JVM.Memory.Heap.Used')?.max) !== undefined ? { heapUsedBytes: nonNeg(ta.get('Status.JVM.Memory.Heap.Used')?.max) } : {}),
      ...(finite(ta.get('Status.JVM.Memory.Heap.Max')?.max) !== undefined ? { heapMaxBytes: nonNeg(ta.get('Status.JVM.Memory.Heap.Max')?.max) } : {}),
      ...(finite(ta.get('Status.JVM.GarbageCollector.All.TimeMsPerSecond')?.max) !== undefined
        ? { gcTimeMsPerSecond: nonNeg(ta.get('Status.JVM.GarbageCollector.All.TimeMsPerSecond')?.max) }
        : {}),
      ...(cpu && finite(cpu.avg) !== undefined && finite(cpu.max) !== undefined ? { cpuLoad: { avg: nonNeg(cpu.avg), max: nonNeg(cpu.max) } } : {}),
    };
  }
  return obs;
}
