/**
 * The per-subtask side of a job's execution graph: for every vertex, one record per subtask
 * with its ExecutionState, attempt number, TaskManager and state timestamps (what REST shows
 * under /jobs/:id and uses for metrics), plus the transitions a JobMaster applies to all of
 * them at once: schedule, restart (a new attempt), rescale (new parallelism), cancel, and the
 * loss of one TaskManager. A Map by vertex id, so readers keep using get().
 */
import type { JobGraph } from '../contracts/job-graph.ts';
import type { ExecutionState } from '../contracts/status.ts';

export interface SubtaskRecord {
  index: number;
  state: ExecutionState;
  attempt: number;
  taskManagerId: string | null;
  timestamps: Partial<Record<ExecutionState, number>>;
  /** RUNNING and its input has ended: it waits for the final checkpoint. */
  endOfInput?: boolean;
}

export const TERMINAL_TASK: ReadonlySet<ExecutionState> = new Set(['FINISHED', 'CANCELED', 'FAILED']);

function fresh(index: number, attempt: number): SubtaskRecord {
  return { index, state: 'CREATED', attempt, taskManagerId: null, timestamps: { CREATED: Date.now() } };
}

export class ExecutionRecords extends Map<string, SubtaskRecord[]> {
  static forGraph(graph: JobGraph): ExecutionRecords {
    const r = new ExecutionRecords();
    for (const v of graph.vertices) r.set(v.id, Array.from({ length: v.parallelism }, (_, i) => fresh(i, 0)));
    return r;
  }

  static setState(rec: SubtaskRecord, state: ExecutionState): void {
    if (state !== 'RUNNING') delete rec.endOfInput;
    rec.state = state;
    rec.timestamps[state] = Date.now();
  }

  every(pred: (r: SubtaskRecord) => boolean): boolean {
    for (const recs of this.values()) for (const r of recs) if (!pred(r)) return false;
    return true;
  }

  /** Waiting for slots: CREATED subtasks become SCHEDULED. */
  schedule(): void {
    for (const recs of this.values()) for (const r of recs) if (r.state === 'CREATED') ExecutionRecords.setState(r, 'SCHEDULED');
  }

  /** A restart: every subtask gets a new attempt, unplaced. */
  newAttempt(): void {
    for (const recs of this.values()) {
      for (const r of recs) {
        r.attempt++;
        r.taskManagerId = null;
        r.timestamps = {};
        ExecutionRecords.setState(r, 'CREATED');
      }
    }
  }

  /** A rescale: records for the new graph's parallelism, attempts continuing after the old ones. */
  rescaleTo(graph: JobGraph): void {
    for (const v of graph.vertices) {
      const attempt = (this.get(v.id) ?? []).reduce((m, r) => Math.max(m, r.attempt + 1), 0);
      this.set(v.id, Array.from({ length: v.parallelism }, (_, i) => fresh(i, attempt)));
    }
    for (const id of [...this.keys()]) if (!graph.vertices.some((v) => v.id === id)) this.delete(id);
  }

  /** The subtasks on a lost TaskManager fail; true when any was live there. */
  failOn(taskManagerId: string): boolean {
    let hit = false;
    for (const recs of this.values()) {
      for (const r of recs) {
        if (r.taskManagerId === taskManagerId && !TERMINAL_TASK.has(r.state)) {
          ExecutionRecords.setState(r, 'FAILED');
          hit = true;
        }
      }
    }
    return hit;
  }

  /** Live deployed subtasks become CANCELING; returns the TaskManagers to ask. */
  startCancel(): Set<string> {
    const tms = new Set<string>();
    for (const recs of this.values()) {
      for (const r of recs) {
        if (TERMINAL_TASK.has(r.state)) continue;
        if (r.taskManagerId) tms.add(r.taskManagerId);
        if (r.state !== 'CREATED' && r.state !== 'SCHEDULED') ExecutionRecords.setState(r, 'CANCELING');
      }
    }
    return tms;
  }

  /** Every subtask not yet terminal is CANCELED. */
  finishCancel(): void {
    for (const recs of this.values()) for (const r of recs) if (!TERMINAL_TASK.has(r.state)) ExecutionRecords.setState(r, 'CANCELED');
  }

  /** TaskManagers hosting subtasks of the current attempt (only source subtasks when asked). */
  taskManagers(graph: JobGraph, sourcesOnly: boolean): string[] {
    const ids = new Set<string>();
    for (const v of graph.vertices) {
      if (sourcesOnly && !(v.isSource || v.inputs.length === 0)) continue;
      for (const r of this.get(v.id) ?? []) if (r.taskManagerId) ids.add(r.taskManagerId);
    }
    return [...ids];
  }
}
