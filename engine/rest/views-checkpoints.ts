/**
 * Checkpoint views in Flink's wire format: statistics (`counts`, `summary`, `latest`,
 * `history`, each checkpoint with its `className` discriminator and `tasks` empty), one
 * checkpoint's details (with per-vertex `tasks`), and the checkpoint config (with the
 * lower-case `mode` Flink really writes).
 */
import type { CheckpointConfigView, CheckpointStatsView, CheckpointView } from './backend.ts';

const CLASS_NAME: Record<CheckpointView['status'], string> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  IN_PROGRESS: 'in_progress',
};

/** One checkpoint; `withTasks` for the details endpoint (the overview always writes `{}`). */
export function checkpointStatistics(c: CheckpointView, withTasks: boolean): Record<string, unknown> {
  const tasks: Record<string, unknown> = {};
  if (withTasks) {
    for (const [vertexId, t] of Object.entries(c.tasks ?? {})) {
      tasks[vertexId] = {
        id: c.id,
        status: t.status,
        latest_ack_timestamp: t.latestAckTimestamp,
        checkpointed_size: t.checkpointedSize,
        state_size: t.stateSize,
        end_to_end_duration: t.endToEndDuration,
        alignment_buffered: 0,
        processed_data: 0,
        persisted_data: 0,
        num_subtasks: t.numSubtasks,
        num_acknowledged_subtasks: t.numAcknowledgedSubtasks,
      };
    }
  }
  const out: Record<string, unknown> = {
    className: CLASS_NAME[c.status],
    id: c.id,
    status: c.status,
    is_savepoint: c.isSavepoint,
    savepointFormat: c.savepointFormat,
    trigger_timestamp: c.triggerTimestamp,
    latest_ack_timestamp: c.latestAckTimestamp,
    checkpointed_size: c.checkpointedSize,
    state_size: c.stateSize,
    end_to_end_duration: c.endToEndDuration,
    alignment_buffered: 0,
    processed_data: c.processedData,
    persisted_data: c.persistedData,
    num_subtasks: c.numSubtasks,
    num_acknowledged_subtasks: c.numAcknowledgedSubtasks,
    checkpoint_type: c.checkpointType,
    tasks,
  };
  if (c.status === 'COMPLETED') {
    out.external_path = c.externalPath ?? '<checkpoint-not-externally-addressable>';
    out.discarded = c.discarded ?? false;
  } else if (c.status === 'FAILED') {
    out.failure_timestamp = c.failureTimestamp ?? c.latestAckTimestamp;
    out.failure_message = c.failureMessage ?? null;
  }
  return out;
}

/** Commons-math's default (legacy) percentile estimate, which Flink's histogram uses. */
export function percentile(sorted: number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const pos = (p / 100) * (n + 1);
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lo = Math.floor(pos);
  const d = pos - lo;
  return sorted[lo - 1]! + d * (sorted[lo]! - sorted[lo - 1]!);
}

/** StatsSummaryDto. With no data Flink's percentiles are NaN, which Jackson writes as the string "NaN". */
export function statsSummary(values: number[]): Record<string, number | string> {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const q = (p: number): number | string => (n === 0 ? 'NaN' : percentile(s, p));
  return {
    min: n === 0 ? 0 : s[0]!,
    max: n === 0 ? 0 : s[n - 1]!,
    avg: n === 0 ? 0 : Math.trunc(s.reduce((a, b) => a + b, 0) / n),
    p50: q(50), p90: q(90), p95: q(95), p99: q(99), p999: q(99.9),
  };
}

export function checkpointingStatistics(stats: CheckpointStatsView): Record<string, unknown> {
  const completed = (stats.summaryOf ?? stats.history).filter((c) => c.status === 'COMPLETED');
  const pick = (f: (c: CheckpointView) => number) => statsSummary(completed.map(f));
  return {
    counts: {
      restored: stats.counts.restored,
      total: stats.counts.total,
      in_progress: stats.counts.inProgress,
      completed: stats.counts.completed,
      failed: stats.counts.failed,
    },
    summary: {
      checkpointed_size: pick((c) => c.checkpointedSize),
      state_size: pick((c) => c.stateSize),
      end_to_end_duration: pick((c) => c.endToEndDuration),
      alignment_buffered: statsSummary(completed.map(() => 0)),
      processed_data: pick((c) => c.processedData),
      persisted_data: pick((c) => c.persistedData),
    },
    latest: {
      completed: stats.latestCompleted ? checkpointStatistics(stats.latestCompleted, false) : null,
      savepoint: stats.latestSavepoint ? checkpointStatistics(stats.latestSavepoint, false) : null,
      failed: stats.latestFailed ? checkpointStatistics(stats.latestFailed, false) : null,
      restored: stats.restored
        ? {
            id: stats.restored.id,
            restore_timestamp: stats.restored.restoreTimestamp,
            is_savepoint: stats.restored.isSavepoint,
            external_path: stats.restored.externalPath,
          }
        : null,
    },
    history: stats.history.map((c) => checkpointStatistics(c, false)),
  };
}

/** Finds one checkpoint by id among history and the latest ones. */
export function findCheckpoint(stats: CheckpointStatsView, id: number): CheckpointView | undefined {
  const pool = [...stats.history, stats.latestCompleted, stats.latestSavepoint, stats.latestFailed];
  return pool.find((c): c is CheckpointView => c !== null && c.id === id);
}

export function checkpointConfig(c: CheckpointConfigView): Record<string, unknown> {
  return {
    mode: c.mode.toLowerCase(),
    interval: c.interval,
    timeout: c.timeout,
    min_pause: c.minPause,
    max_concurrent: c.maxConcurrent,
    externalization: { enabled: c.externalization.enabled, delete_on_cancellation: c.externalization.deleteOnCancellation },
    state_backend: c.stateBackend,
    checkpoint_storage: c.checkpointStorage,
    unaligned_checkpoints: c.unalignedCheckpoints,
    tolerable_failed_checkpoints: c.tolerableFailedCheckpoints,
    aligned_checkpoint_timeout: c.alignedCheckpointTimeout,
    checkpoints_after_tasks_finish: c.checkpointsAfterTasksFinish,
    state_changelog_enabled: c.stateChangelogEnabled,
    changelog_storage: c.changelogStorage,
    changelog_periodic_materialization_interval: c.changelogPeriodicMaterializationInterval,
  };
}
