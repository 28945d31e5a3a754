/**
 * The parts of Flink's REST wire format (research/flink-api.md §1.3) the collector reads. Only the
 * fields used are declared; everything is optional where Flink versions differ.
 */

export interface JobsOverview {
  jobs: Array<{ jid: string; name: string; state: string; 'start-time'?: number; 'last-modification'?: number }>;
}

export interface ClusterOverview {
  taskmanagers?: number;
  'slots-total'?: number;
  'slots-available'?: number;
  'jobs-running'?: number;
  'flink-version'?: string;
}

export interface PlanInput {
  num?: number;
  id: string;
  ship_strategy?: string;
  exchange?: string;
}

export interface JobDetails {
  jid: string;
  name: string;
  state: string;
  'start-time'?: number;
  maxParallelism?: number;
  now?: number;
  timestamps?: Record<string, number>;
  vertices: Array<{
    id: string;
    name: string;
    parallelism: number;
    maxParallelism?: number;
    status?: string;
    metrics?: Record<string, number | boolean>;
  }>;
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
  checkpointed_size?: number;
  state_size?: number;
  trigger_timestamp?: number;
  latest_ack_timestamp?: number;
}

export interface CheckpointingStatistics {
  counts?: { restored?: number; total?: number; in_progress?: number; completed?: number; failed?: number };
  latest?: {
    completed?: CheckpointSummary | null;
    failed?: (CheckpointSummary & { failure_timestamp?: number }) | null;
    savepoint?: CheckpointSummary | null;
    restored?: { id: number; restore_timestamp?: number; is_savepoint?: boolean } | null;
  };
}

export interface TaskManagersInfo {
  taskmanagers: Array<{ id: string; path?: string; slotsNumber?: number; freeSlots?: number; timeSinceLastHeartbeat?: number }>;
}

export const TERMINAL_JOB_STATES = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);
