/**
 * JobObservation: one observation of one job, everything the decision engine reads. The
 * collector builds it from Flink's REST API and metrics; `flowpilot agent --record` writes it
 * as one JSON line; `flowpilot scale replay` and the simulator feed it back. The schema is
 * documented in docs/reference/replay.md and validated here with zod, so a bad line fails with its
 * line number and the field at fault.
 */
import { z } from 'zod';
import { FlowpilotError } from '../../common/errors.ts';

const minMax = z.object({
  avg: z.number().min(0).describe('mean over subtasks'),
  max: z.number().min(0).describe('the highest subtask'),
});

export const vertexObservationSchema = z.object({
  id: z.string().min(1).describe('job vertex id (hex in Flink)'),
  name: z.string().optional(),
  parallelism: z.number().int().min(1),
  maxParallelism: z.number().int().min(1).describe('number of key groups'),
  inputs: z
    .array(z.object({ id: z.string(), shipStrategy: z.string().describe('FORWARD, HASH, REBALANCE, RESCALE, BROADCAST, ...') }))
    .default([]),
  recordsIn: z.number().min(0).describe('cumulative records in, summed over subtasks (sources: records read)'),
  recordsOut: z.number().min(0).describe('cumulative records out, summed over subtasks'),
  busyMsPerSecond: minMax,
  backPressuredMsPerSecond: minMax,
  accumulatedBusyMs: z.number().min(0).optional().describe('cumulative busy time summed over subtasks (job details accumulated-busy-time), when reported'),
  accumulatedBackPressuredMs: z.number().min(0).optional().describe('cumulative backpressured time summed over subtasks (accumulated-backpressured-time), when reported'),
  pendingRecords: z.number().min(0).optional().describe('sources: sum of pendingRecords (lag), when reported'),
  partitions: z.number().int().min(0).optional().describe('sources: number of source partitions, when known'),
  slotSharingGroup: z.string().optional().describe('slot-sharing group id (job details slotSharingGroupId); vertices without one share the default group'),
  excluded: z
    .enum(['no-busy-time', 'finished'])
    .optional()
    .describe('the vertex keeps its parallelism, as the Flink operator excludes it from scaling: its busy time is NaN or missing (a legacy SourceFunction), or it has FINISHED (a bounded source)'),
});

export const jobObservationSchema = z.object({
  time: z.number().describe('observation time, ms since the epoch'),
  jobId: z.string().min(1),
  jobName: z.string().optional(),
  state: z.string().default('RUNNING').describe('Flink job status'),
  runningSince: z.number().optional().describe('ms timestamp of the last transition to RUNNING'),
  restarts: z.number().int().min(0).default(0).describe('cumulative job restarts (numRestarts)'),
  vertices: z.array(vertexObservationSchema).min(1),
  checkpoints: z
    .object({
      lastDurationMs: z.number().min(0).optional(),
      lastSizeBytes: z.number().min(0).optional(),
      failed: z.number().int().min(0).default(0).describe('cumulative failed checkpoints'),
      completed: z.number().int().min(0).default(0),
      lastRestoreMs: z.number().min(0).optional().describe('duration of the last restore, when known'),
      lastRestoreTime: z.number().optional().describe('ms timestamp of the last restore'),
    })
    .optional(),
  taskManagers: z
    .object({
      count: z.number().int().min(0),
      slotsPerTaskManager: z.number().int().min(1).default(1),
      heapUsedBytes: z.number().min(0).optional().describe('max over TaskManagers'),
      heapMaxBytes: z.number().min(0).optional(),
      gcTimeMsPerSecond: z.number().min(0).optional().describe('max over TaskManagers'),
      cpuLoad: minMax.optional().describe('process CPU load 0..1 over TaskManagers'),
    })
    .optional(),
});

export type VertexObservation = z.infer<typeof vertexObservationSchema>;
export type JobObservation = z.infer<typeof jobObservationSchema>;
/** What callers may write: defaults not yet applied. */
export type JobObservationInput = z.input<typeof jobObservationSchema>;

export function isSource(v: VertexObservation): boolean {
  return v.inputs.length === 0;
}

/** Vertices in topological order (sources first); throws on a cycle or a dangling input. */
export function topologicalOrder(vertices: readonly VertexObservation[]): VertexObservation[] {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  const out: VertexObservation[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (v: VertexObservation): void => {
    const s = state.get(v.id);
    if (s === 'done') return;
    if (s === 'visiting') throw new FlowpilotError('FP_OBSERVATION_INVALID', `the job graph has a cycle through vertex ${v.id}`);
    state.set(v.id, 'visiting');
    for (const input of v.inputs) {
      const u = byId.get(input.id);
      if (!u) throw new FlowpilotError('FP_OBSERVATION_INVALID', `vertex ${v.id} reads from unknown vertex ${input.id}`);
      visit(u);
    }
    state.set(v.id, 'done');
    out.push(v);
  };
  for (const v of vertices) visit(v);
  return out;
}

/** Parses and validates one JSON line; `where` names it in errors ("file:12"). */
export function parseObservationLine(line: string, where: string): JobObservation {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new FlowpilotError('FP_OBSERVATION_INVALID', `${where}: not JSON (${(err as Error).message}); each line must be one JSON object`);
  }
  return parseObservation(raw, where);
}

export function parseObservation(raw: unknown, where: string): JobObservation {
  const res = jobObservationSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const path = issue.path.join('.') || '(root)';
    throw new FlowpilotError('FP_OBSERVATION_INVALID', `${where}: field ${path}: ${issue.message}; see docs/reference/replay.md for the schema`);
  }
  topologicalOrder(res.data.vertices);
  return res.data;
}
