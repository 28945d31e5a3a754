/**
 * The parts of Flink's REST wire format (research/flink-api.md §1.3) the agent reads and writes,
 * for collection and actuation alike. Only the fields used are declared; everything is optional
 * where Flink versions differ (docs/guide/real-flink.md lists which version sends what). Numbers Flink
 * cannot represent (NaN, ±Infinity) arrive as quoted strings ("NaN"), as Jackson writes them.
 */

export interface JobOverview {
  jid: string;
  name: string;
  state: string;
  'start-time'?: number;
  'last-modification'?: number;
}

export interface JobsOverview {
  jobs: JobOverview[];
}

export interface ClusterOverview {
  taskmanagers?: number;
  'slots-total'?: number;
  'slots-available'?: number;
  'jobs-running'?: number;
  'flink-version'?: string;
}

/** GET /config: the web UI's dashboard configuration (every version since 1.13 sends these). */
export interface DashboardConfig {
  'refresh-interval'?: number;
  'timezone-name'?: string;
  'timezone-offset'?: number;
  'flink-version'?: string;
  'flink-revision'?: string;
  features?: Record<string, boolean>;
}

export interface PlanInput {
  num?: number;
  id: string;
  ship_strategy?: string;
  exchange?: string;
}

export interface JobVertex {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism?: number;
  /** ExecutionState of the vertex: RUNNING, FINISHED (a bounded source in a streaming job), ... */
  status?: string;
  /** Flink ≥ 1.20 (FLINK-20090); absent before. */
  slotSharingGroupId?: string;
  tasks?: Record<string, number>;
  /** read-records, write-records, accumulated-busy-time ("NaN" when busy time is not measured), ... */
  metrics?: Record<string, number | string | boolean>;
}

export interface JobDetails {
  jid: string;
  name: string;
  state: string;
  'start-time'?: number;
  maxParallelism?: number;
  now?: number;
  timestamps?: Record<string, number>;
  vertices: JobVertex[];
  plan?: { nodes?: Array<{ id: string; parallelism?: number; inputs?: PlanInput[] }> };
}

export interface VertexDetails {
  id: string;
  parallelism: number;
  subtasks: Array<{
    subtask: number;
    status?: string;
    attempt?: number;
    endpoint?: string;
    host?: string;
    'taskmanager-id'?: string;
  }>;
}

export interface CheckpointSummary {
  id: number;
  status?: string;
  end_to_end_duration?: number;
  /** Flink ≥ 1.15; 1.14 has only state_size. */
  checkpointed_size?: number;
  state_size?: number;
  trigger_timestamp?: number;
  latest_ack_timestamp?: number;
  external_path?: string;
}

export interface CheckpointingStatistics {
  counts?: { restored?: number; total?: number; in_progress?: number; completed?: number; failed?: number };
  latest?: {
    completed?: CheckpointSummary | null;
    failed?: (CheckpointSummary & { failure_timestamp?: number }) | null;
    savepoint?: CheckpointSummary | null;
    restored?: { id: number; restore_timestamp?: number; is_savepoint?: boolean; external_path?: string } | null;
  };
}

export interface TaskManagersInfo {
  taskmanagers: Array<{ id: string; path?: string; slotsNumber?: number; freeSlots?: number; timeSinceLastHeartbeat?: number }>;
}

export type ResourceRequirements = Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;

export type AsyncOperation =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string }
  | { status: 'FAILED'; cause: string };

export interface CheckpointPaths {
  latestCompleted: string | null;
  latestSavepoint: string | null;
  restored: string | null;
}

export const TERMINAL_JOB_STATES = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);

/** True when every vertex in `target` runs at its target parallelism with all subtasks RUNNING. */
export function runsAt(job: JobDetails, target: Record<string, number>): boolean {
  if (job.state !== 'RUNNING') return false;
  for (const [vid, p] of Object.entries(target)) {
    const v = job.vertices.find((x) => x.id === vid);
    if (!v || v.parallelism !== p) return false;
    const running = v.tasks?.RUNNING ?? v.tasks?.running;
    if (running !== undefined && running !== p) return false;
  }
  return true;
}
