/**
 * Builds the JobObservation the autoscaler reads from what the Flink REST collector fetched.
 * The type itself belongs to agent/scaling/observation.ts (it landed first; docs/reference/replay.md
 * documents it); this module is the only place that maps REST figures onto it, so the decision
 * engine never sees REST shapes. Every figure is finite and non-negative, as the schema demands.
 *
 * The rules follow the operator's ScalingMetricCollector / ScalingMetrics:
 *  - a vertex whose busyTimeMsPerSecond is NaN or missing (a legacy SourceFunction reports NaN on
 *    purpose) is `excluded: 'no-busy-time'`: it keeps its parallelism (getBusyTimeMsPerSecond adds
 *    it to the excluded vertices); nothing is derived from idle or backpressured time;
 *  - a FINISHED vertex (a bounded source in a streaming job) is `excluded: 'finished'`, with its
 *    counters from the job details and no load (FlinkMetric.FINISHED_METRICS);
 *  - a source's records in: the task's numRecordsIn, else its source operator's numRecordsIn,
 *    else the source operator's numRecordsOut (getNumRecordsInPerSecond's three steps).
 */
import type { JobObservationInput } from '../scaling/observation.ts';
import type { AggregatedMetric } from '../flink/rest-client.ts';
import type { CheckpointingStatistics, JobDetails, TaskManagersInfo } from '../flink/rest-types.ts';

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
    const finished = v.status === 'FINISHED';
    const readRecords = finite(Number(v.metrics?.['read-records']));
    const writeRecords = finite(Number(v.metrics?.['write-records']));
    const taskIn = finished ? readRecords : finite(agg.get('numRecordsIn')?.sum) ?? readRecords;
    const sourceIn = isSource && !finished ? sumMatching(agg, (id) => /^Source__.*\.numRecordsIn$/.test(id)) : undefined;
    const sourceOut = isSource && !finished ? sumMatching(agg, (id) => /^Source__.*\.numRecordsOut$/.test(id)) : undefined;
    const recordsOut = finished ? writeRecords : finite(agg.get('numRecordsOut')?.sum) ?? writeRecords;
    const pending = isSource && !finished ? sumMatching(agg, (id) => id.endsWith('.pendingRecords')) : undefined;
    let recordsIn = taskIn;
    if (isSource && !(recordsIn !== undefined && recordsIn > 0)) {
      if (sourceIn !== undefined && sourceIn > 0) recordsIn = sourceIn;
      else if (sourceOut !== undefined && sourceOut > 0) recordsIn = sourceOut;
    }
    // Cumulative times from the job details (Flink >= 1.17): exact over any window, where the
    // per-second gauges are averages over the reporter's 60 s view and lag a change. A legacy
    // source sends "NaN" (quoted) for accumulated-busy-time.
    const accBusy = finite(Number(v.metrics?.['accumulated-busy-time']));
    const accBp = finite(Number(v.metrics?.['accumulated-backpressured-time']));
    const busy = finished ? { avg: 0, max: 0 } : minMax(agg, 'busyTimeMsPerSecond');
    const excluded: 'finished' | 'no-busy-time' | undefined = finished ? 'finished' : busy === undefined ? 'no-busy-time' : undefined;
    return {
      id: v.id,
      name: v.name,
      parallelism: Math.max(1, v.parallelism),
      maxParallelism: Math.max(1, v.maxParallelism ?? (details.maxParallelism !== undefined && details.maxParallelism > 0 ? details.maxParallelism : 128)),
      inputs,
      recordsIn: nonNeg(recordsIn),
      recordsOut: nonNeg(recordsOut),
      busyMsPerSecond: busy ?? { avg: 0, max: 0 },
      backPressuredMsPerSecond: (finished ? undefined : minMax(agg, 'backPressuredTimeMsPerSecond')) ?? { avg: 0, max: 0 },
      ...(!finished && excluded === undefined && accBusy !== undefined && accBusy >= 0 && accBp !== undefined && accBp >= 0
        ? { accumulatedBusyMs: accBusy, accumulatedBackPressuredMs: accBp }
        : {}),
      ...(pending !== undefined ? { pendingRecords: Math.max(0, pending) } : {}),
      ...(figures?.partitions !== undefined ? { partitions: figures.partitions } : {}),
      ...(v.slotSharingGroupId ? { slotSharingGroup: v.slotSharingGroupId } : {}),
      ...(excluded !== undefined ? { excluded } : {}),
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
      // checkpointed_size since Flink 1.15; 1.14 reports only state_size.
      ...(completed && finite(completed.checkpointed_size ?? completed.state_size) !== undefined ? { lastSizeBytes: nonNeg(completed.checkpointed_size ?? completed.state_size) } : {}),
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
