/**
 * Checkpoint statistics as Flink's DefaultCheckpointStatsTracker keeps them: counts, a bounded
 * history (newest first, in-progress entries updated in place), the latest completed
 * checkpoint, savepoint, failure and restore, the completed checkpoints the summary is computed
 * over, and the job-scope gauges (lastCheckpointDuration, lastCheckpointSize, ...). It produces
 * exactly the REST layer's CheckpointStatsView (engine/rest/backend.ts); the REST layer turns
 * it into Flink's JSON. Durations follow Flink: end-to-end is latest ack - trigger (or failure
 * - trigger), -1 while nothing has been acknowledged.
 */
import type { CheckpointStatsView, CheckpointTaskView, CheckpointType, CheckpointView } from '../rest/backend.ts';
import type { SnapshotKind } from './metadata.ts';

export interface PendingStatsInit {
  checkpointId: number;
  kind: SnapshotKind;
  triggerTimestamp: number;
  formatType: 'CANONICAL' | 'NATIVE';
  /** Subtasks to acknowledge, per vertex id. */
  subtasksPerVertex: Record<string, number>;
}

interface Tracked {
  view: CheckpointView;
  tasks: Record<string, CheckpointTaskView>;
}

const CHECKPOINT_TYPE: Record<SnapshotKind, CheckpointType> = {
  CHECKPOINT: 'CHECKPOINT',
  SAVEPOINT: 'SAVEPOINT',
  SYNC_SAVEPOINT: 'SYNC_SAVEPOINT',
};

export class CheckpointStatsTracker {
  private readonly historySize: number;
  private readonly summarySize: number;
  private readonly tracked = new Map<number, Tracked>();
  private history: CheckpointView[] = [];
  private summary: CheckpointView[] = [];
  private counts = { restored: 0, total: 0, inProgress: 0, completed: 0, failed: 0 };
  private latestCompleted: CheckpointView | null = null;
  private latestSavepoint: CheckpointView | null = null;
  private latestFailed: CheckpointView | null = null;
  /** The latest completed checkpoint or savepoint (Flink's gauges follow both). */
  private lastDone: CheckpointView | null = null;
  private lastDoneAt = -1;
  private restored: CheckpointStatsView['restored'] = null;

  constructor(opts: { historySize?: number; summarySize?: number } = {}) {
    this.historySize = opts.historySize ?? 10;
    this.summarySize = opts.summarySize ?? 1000;
  }

  reportPending(p: PendingStatsInit): void {
    const isSavepoint = p.kind !== 'CHECKPOINT';
    const tasks: Record<string, CheckpointTaskView> = {};
    let numSubtasks = 0;
    for (const [vertexId, n] of Object.entries(p.subtasksPerVertex)) {
      numSubtasks += n;
      tasks[vertexId] = { status: 'IN_PROGRESS', latestAckTimestamp: -1, checkpointedSize: 0, stateSize: 0, endToEndDuration: -1, numSubtasks: n, numAcknowledgedSubtasks: 0 };
    }
    const view: CheckpointView = {
      id: p.checkpointId,
      status: 'IN_PROGRESS',
      isSavepoint,
      savepointFormat: isSavepoint ? p.formatType : null,
      checkpointType: CHECKPOINT_TYPE[p.kind],
      triggerTimestamp: p.triggerTimestamp,
      latestAckTimestamp: -1,
      checkpointedSize: 0,
      stateSize: 0,
      endToEndDuration: -1,
      processedData: 0,
      persistedData: 0,
      numSubtasks,
      numAcknowledgedSubtasks: 0,
      tasks,
    };
    this.tracked.set(p.checkpointId, { view, tasks });
    this.history.unshift(view);
    if (this.history.length > this.historySize) this.history.length = this.historySize;
    this.counts.total++;
    this.counts.inProgress++;
  }

  reportAck(checkpointId: number, vertexId: string, ackTimestamp: number, stateSize: number, processedData = 0, persistedData = 0): void {
    const t = this.tracked.get(checkpointId);
    if (!t) return;
    const v = t.view;
    v.numAcknowledgedSubtasks++;
    v.latestAckTimestamp = Math.max(v.latestAckTimestamp, ackTimestamp);
    v.endToEndDuration = Math.max(0, v.latestAckTimestamp - v.triggerTimestamp);
    v.stateSize += stateSize;
    v.checkpointedSize += stateSize;
    v.processedData += processedData;
    v.persistedData += persistedData;
    const task = t.tasks[vertexId];
    if (task) {
      task.numAcknowledgedSubtasks++;
      task.latestAckTimestamp = Math.max(task.latestAckTimestamp, ackTimestamp);
      task.endToEndDuration = Math.max(0, task.latestAckTimestamp - v.triggerTimestamp);
      task.stateSize += stateSize;
      task.checkpointedSize += stateSize;
      if (task.numAcknowledgedSubtasks === task.numSubtasks) task.status = 'COMPLETED';
    }
  }

  reportCompleted(checkpointId: number, externalPath: string, completionTimestamp: number): void {
    const t = this.tracked.get(checkpointId);
    if (!t) return;
    this.tracked.delete(checkpointId);
    const v = t.view;
    v.status = 'COMPLETED';
    v.externalPath = externalPath;
    v.discarded = false;
    if (v.latestAckTimestamp < 0) {
      v.latestAckTimestamp = completionTimestamp;
      v.endToEndDuration = Math.max(0, completionTimestamp - v.triggerTimestamp);
    }
    this.counts.inProgress--;
    this.counts.completed++;
    if (v.isSavepoint) this.latestSavepoint = v;
    else this.latestCompleted = v;
    this.lastDone = v;
    this.lastDoneAt = completionTimestamp;
    this.summary.push(v);
    if (this.summary.length > this.summarySize) this.summary.shift();
  }

  reportFailed(checkpointId: number, failureTimestamp: number, message: string): void {
    const t = this.tracked.get(checkpointId);
    if (!t) return;
    this.tracked.delete(checkpointId);
    const v = t.view;
    v.status = 'FAILED';
    v.failureTimestamp = failureTimestamp;
    v.failureMessage = message;
    v.endToEndDuration = Math.max(0, failureTimestamp - v.triggerTimestamp);
    for (const task of Object.values(t.tasks)) if (task.status === 'IN_PROGRESS') task.status = 'FAILED';
    this.counts.inProgress--;
    this.counts.failed++;
    this.latestFailed = v;
  }

  /** A completed checkpoint's files were deleted by retention. */
  reportDiscarded(checkpointId: number): void {
    for (const v of [...this.history, this.latestCompleted]) if (v && v.id === checkpointId && v.status === 'COMPLETED') v.discarded = true;
  }

  reportRestored(r: { checkpointId: number; restoreTimestamp: number; isSavepoint: boolean; externalPath: string | null }): void {
    this.counts.restored++;
    this.restored = { id: r.checkpointId, restoreTimestamp: r.restoreTimestamp, isSavepoint: r.isSavepoint, externalPath: r.externalPath };
  }

  /** The REST layer's view; copies, so callers cannot disturb the tracker. */
  view(): CheckpointStatsView {
    const copy = (v: CheckpointView | null): CheckpointView | null =>
      v === null ? null : { ...v, tasks: Object.fromEntries(Object.entries(v.tasks ?? {}).map(([k, t]) => [k, { ...t }])) };
    return {
      counts: { ...this.counts },
      history: this.history.map((v) => copy(v)!),
      summaryOf: this.summary.map((v) => copy(v)!),
      latestCompleted: copy(this.latestCompleted),
      latestSavepoint: copy(this.latestSavepoint),
      latestFailed: copy(this.latestFailed),
      restored: this.restored ? { ...this.restored } : null,
    };
  }

  /** Job-scope gauges under Flink's names (-1 / "n/a" when there is none yet). */
  metrics(): Record<string, number | string> {
    const d = this.lastDone;
    return {
      totalNumberOfCheckpoints: this.counts.total,
      numberOfInProgressCheckpoints: this.counts.inProgress,
      numberOfCompletedCheckpoints: this.counts.completed,
      numberOfFailedCheckpoints: this.counts.failed,
      lastCheckpointRestoreTimestamp: this.restored?.restoreTimestamp ?? -1,
      lastCheckpointSize: d ? d.checkpointedSize : -1,
      lastCheckpointFullSize: d ? d.stateSize : -1,
      lastCheckpointDuration: d ? d.endToEndDuration : -1,
      lastCheckpointProcessedData: d ? d.processedData : -1,
      lastCheckpointPersistedData: d ? d.persistedData : -1,
      lastCheckpointExternalPath: d?.externalPath ?? 'n/a',
      lastCompletedCheckpointId: d ? d.id : -1,
      lastCheckpointCompletedTimestamp: this.lastDoneAt,
    };
  }
}
