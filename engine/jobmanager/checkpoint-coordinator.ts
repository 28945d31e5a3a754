/**
 * One job's checkpoint coordinator: it triggers aligned checkpoints at the sources every
 * `execution.checkpointing.interval` (one at a time, honouring min-pause and timeout),
 * collects every subtask's snapshot, writes them with engine/checkpoint's storage (one fsync'd
 * state file per subtask, indexed per key group with CRCs, then `_metadata` last and atomically),
 * keeps the newest `state.checkpoints.num-retained`, and only then tells the subtasks the
 * checkpoint completed (sinks commit). A failed or timed-out checkpoint is counted and the job
 * goes on. The latest completed checkpoint is what a restart restores (restore plans from
 * engine/checkpoint/restore.ts; TaskManagers read their own chunks). A savepoint is the same
 * protocol written to a directory the user chose, outside retention; it is self-contained.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { CheckpointConfigView, CheckpointStatsView, CheckpointView } from '../rest/backend.ts';
import { snapshotFromWire, type SubtaskSnapshotWire } from '../runtime/deployment.ts';
import { ensureDir, externalPointer, savepointDirName } from '../checkpoint/paths.ts';
import { writeSubtaskState } from '../checkpoint/state-files.ts';
import { buildMetadata } from '../checkpoint/pending.ts';
import { loadCheckpoint, writeMetadataAtomically, type LoadedCheckpoint } from '../checkpoint/storage.ts';
import type { SubtaskStateHandle } from '../checkpoint/metadata.ts';

export interface CheckpointHost {
  readonly jobId: string;
  readonly executionId: string;
  readonly jobName: string;
  /** The graph of the current attempt. */
  graph(): JobGraph;
  /** Vertex id → parallelism, for the current attempt. */
  vertexParallelism(): Map<string, number>;
  /** True when the job and every subtask are RUNNING. */
  canCheckpoint(): boolean;
  /** Task managers hosting source subtasks / any subtask of the current attempt. */
  taskManagers(sourcesOnly: boolean): string[];
  send(taskManagerId: string, msg: Record<string, unknown> & { t: string }): void;
}

export interface CompletedCheckpoint {
  id: number;
  executionId: string;
  completedAt: number;
  path: string;
  /** Its `_metadata` and directory; restore plans are cut from it. */
  loaded: LoadedCheckpoint;
}

export interface SavepointRequest {
  /** The directory that will hold `savepoint-<job>-<random>/`. */
  targetDirectory: string;
  /** Called once the savepoint is stored (location) or failed (error). */
  done(result: { location: string } | { error: string }): void;
}

interface Pending {
  savepoint?: SavepointRequest;
  id: number;
  executionId: string;
  triggeredAt: number;
  expected: number;
  acks: Map<string, { vertexId: string; subtaskIndex: number; snapshot: SubtaskSnapshotWire }>;
  bytes: number;
  timer: NodeJS.Timeout;
}

const HISTORY = 10;

export class CheckpointCoordinator {
  readonly interval: number;
  readonly timeout: number;
  readonly minPause: number;
  readonly retained: number;
  private readonly host: CheckpointHost;
  private readonly dir: string;
  private readonly log: Logger;
  private ticker: NodeJS.Timeout | null = null;
  private nextId = 1;
  private pending: Pending | null = null;
  private lastEnd = 0;
  private lastTrigger = 0;
  latest: CompletedCheckpoint | null = null;
  private readonly retainedPaths: string[] = [];
  readonly history: CheckpointView[] = [];
  counts = { restored: 0, total: 0, inProgress: 0, completed: 0, failed: 0 };
  latestFailed: CheckpointView | null = null;
  restored: { id: number; restoreTimestamp: number; externalPath: string; isSavepoint: boolean } | null = null;
  /** Set when the job started from a savepoint: it counts as the latest completed checkpoint. */
  private fromSavepoint = false;

  constructor(host: CheckpointHost, config: Record<string, string>, dir: string, log: Logger) {
    this.host = host;
    this.dir = dir;
    this.log = log;
    const num = (k: string, d: number) => {
      const v = Number.parseInt(config[k] ?? '', 10);
      return Number.isFinite(v) ? v : d;
    };
    this.interval = num('execution.checkpointing.interval', 0);
    this.timeout = num('execution.checkpointing.timeout', 600_000);
    this.minPause = num('execution.checkpointing.min-pause', 0);
    this.retained = Math.max(1, num('state.checkpoints.num-retained', 1));
  }

  get inProgress(): boolean {
    return this.pending !== null;
  }

  start(): void {
    if (this.interval <= 0 || this.ticker) return;
    // The first periodic checkpoint is due one interval after the job runs, not at once.
    this.lastTrigger = Date.now();
    this.ticker = setInterval(() => this.trigger(), Math.max(10, Math.min(this.interval / 10, 100)));
    this.ticker.unref();
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.abortPending('the job stopped');
  }

  /** Triggers a checkpoint if one is due (or a savepoint now); returns its id, or null. */
  trigger(force = false, savepoint?: SavepointRequest): number | null {
    const now = Date.now();
    if (this.pending || !this.host.canCheckpoint()) return null;
    // Flink's timing: the next periodic checkpoint is due at max(lastTrigger + interval, lastEnd + min-pause).
    if (!force && (now - this.lastTrigger < this.interval || now - this.lastEnd < this.minPause)) return null;
    const id = this.nextId++;
    this.lastTrigger = now;
    let expected = 0;
    for (const p of this.host.vertexParallelism().values()) expected += p;
    const p: Pending = {
      id,
      executionId: this.host.executionId,
      triggeredAt: now,
      expected,
      acks: new Map(),
      bytes: 0,
      timer: setTimeout(() => this.fail(id, `Checkpoint expired before completing (timeout ${this.timeout} ms).`), this.timeout),
    };
    if (savepoint) p.savepoint = savepoint;
    p.timer.unref();
    this.pending = p;
    this.counts.total++;
    this.counts.inProgress = 1;
    for (const tm of this.host.taskManagers(true)) {
      this.host.send(tm, { t: 'triggerCheckpoint', executionId: p.executionId, checkpointId: id, timestamp: now });
    }
    return id;
  }

  onAcknowledge(executionId: string, vertexId: string, subtaskIndex: number, checkpointId: number, snapshot: SubtaskSnapshotWire | null, failure?: string): void {
    const p = this.pending;
    if (!p || p.id !== checkpointId || p.executionId !== executionId) return;
    if (!snapshot) {
      this.fail(checkpointId, `Task ${vertexId} (${subtaskIndex}) declined the checkpoint: ${failure ?? 'no snapshot'}`);
      return;
    }
    p.acks.set(`${vertexId}#${subtaskIndex}`, { vertexId, subtaskIndex, snapshot });
    for (const o of snapshot.operators) {
      for (const [, b] of o.keyGroups) p.bytes += b.byteLength;
      for (const b of o.operatorState) p.bytes += b.byteLength;
      for (const b of o.unionState) p.bytes += b.byteLength;
    }
    if (p.acks.size === p.expected) void this.complete(p);
  }

  private async complete(p: Pending): Promise<void> {
    clearTimeout(p.timer);
    const chk = p.savepoint ? join(p.savepoint.targetDirectory, savepointDirName(this.host.jobId)) : join(this.dir, `chk-${p.id}`);
    let loaded: LoadedCheckpoint;
    try {
      await ensureDir(chk);
      const handles = new Map<string, SubtaskStateHandle>();
      await Promise.all(
        [...p.acks].map(async ([key, a]) => {
          handles.set(key, await writeSubtaskState(chk, a.vertexId, a.subtaskIndex, snapshotFromWire(a.snapshot)));
        }),
      );
      const kind = p.savepoint ? 'SAVEPOINT' : 'CHECKPOINT';
      const metadata = buildMetadata(this.host.graph(), { checkpointId: p.id, kind, formatType: 'CANONICAL', triggerTimestamp: p.triggeredAt, acks: handles }, this.host.jobName, this.host.jobId, Date.now());
      await writeMetadataAtomically(chk, metadata);
      loaded = { dir: chk, externalPath: externalPointer(chk), metadata };
    } catch (err) {
      this.fail(p.id, `could not write checkpoint ${p.id}: ${(err as Error).message}`);
      return;
    }
    if (this.pending !== p) return; // aborted while writing
    this.pending = null;
    const now = Date.now();
    this.lastEnd = now;
    this.counts.inProgress = 0;
    this.counts.completed++;
    this.latest = { id: p.id, executionId: p.executionId, completedAt: now, path: chk, loaded };
    this.pushHistory(this.view(p, 'COMPLETED', now, chk));
    if (p.savepoint) p.savepoint.done({ location: chk });
    else this.retainedPaths.push(chk);
    while (this.retainedPaths.length > this.retained) await rm(this.retainedPaths.shift()!, { recursive: true, force: true }).catch(() => undefined);
    for (const tm of this.host.taskManagers(false)) {
      this.host.send(tm, { t: 'notifyCheckpointComplete', executionId: p.executionId, checkpointId: p.id });
    }
    this.log.debug({ checkpointId: p.id, bytes: p.bytes, ms: now - p.triggeredAt }, 'checkpoint completed');
  }

  private fail(id: number, message: string): void {
    const p = this.pending;
    if (!p || p.id !== id) return;
    clearTimeout(p.timer);
    this.pending = null;
    this.lastEnd = Date.now();
    this.counts.inProgress = 0;
    this.counts.failed++;
    const v = this.view(p, 'FAILED', Date.now());
    v.failureTimestamp = Date.now();
    v.failureMessage = message;
    this.latestFailed = v;
    this.pushHistory(v);
    p.savepoint?.done({ error: message });
    this.log.warn({ checkpointId: id, reason: message }, 'checkpoint failed');
  }

  /** On failover: the pending checkpoint cannot complete. */
  abortPending(reason: string): void {
    if (this.pending) this.fail(this.pending.id, `Checkpoint was aborted: ${reason}`);
  }

  markRestored(): void {
    if (!this.latest) return;
    this.counts.restored++;
    this.restored = { id: this.latest.id, restoreTimestamp: Date.now(), externalPath: this.latest.path, isSavepoint: this.fromSavepoint };
  }

  /** Starts the job from a loaded savepoint (or retained checkpoint); ids continue after it. */
  startFrom(cp: CompletedCheckpoint): void {
    this.latest = cp;
    this.fromSavepoint = true;
    this.nextId = Math.max(this.nextId, cp.id + 1);
  }

  private view(p: Pending, status: CheckpointView['status'], now: number, path?: string): CheckpointView {
    const v: CheckpointView = {
      id: p.id,
      status,
      isSavepoint: p.savepoint !== undefined,
      savepointFormat: p.savepoint ? 'CANONICAL' : null,
      checkpointType: p.savepoint ? 'SAVEPOINT' : 'CHECKPOINT',
      triggerTimestamp: p.triggeredAt,
      latestAckTimestamp: now,
      checkpointedSize: p.bytes,
      stateSize: p.bytes,
      endToEndDuration: now - p.triggeredAt,
      processedData: 0,
      persistedData: 0,
      numSubtasks: p.expected,
      numAcknowledgedSubtasks: p.acks.size,
    };
    if (path) {
      v.externalPath = path;
      v.discarded = false;
    }
    return v;
  }

  private pushHistory(v: CheckpointView): void {
    this.history.unshift(v);
    if (this.history.length > HISTORY) this.history.length = HISTORY;
  }

  stats(): CheckpointStatsView {
    const latestCompleted = this.history.find((h) => h.status === 'COMPLETED' && !h.isSavepoint) ?? null;
    const latestSavepoint = this.history.find((h) => h.status === 'COMPLETED' && h.isSavepoint) ?? null;
    return {
      counts: { ...this.counts },
      history: this.history.map((h) => ({ ...h })),
      latestCompleted,
      latestSavepoint,
      latestFailed: this.latestFailed,
      restored: this.restored ? { id: this.restored.id, restoreTimestamp: this.restored.restoreTimestamp, isSavepoint: this.restored.isSavepoint, externalPath: this.restored.externalPath } : null,
    };
  }

  config(): CheckpointConfigView {
    return {
      mode: 'EXACTLY_ONCE',
      interval: this.interval,
      timeout: this.timeout,
      minPause: this.minPause,
      maxConcurrent: 1,
      externalization: { enabled: false, deleteOnCancellation: true },
      stateBackend: 'HashMapStateBackend',
      checkpointStorage: 'FileSystemCheckpointStorage',
      unalignedCheckpoints: false,
      tolerableFailedCheckpoints: 0,
      alignedCheckpointTimeout: 0,
      checkpointsAfterTasksFinish: false,
      stateChangelogEnabled: false,
      changelogStorage: 'memory',
      changelogPeriodicMaterializationInterval: 600000,
    };
  }

  /** Flink's job-scope checkpoint gauges. */
  metrics(): Record<string, number> {
    const last = this.history.find((h) => h.status === 'COMPLETED');
    return {
      totalNumberOfCheckpoints: this.counts.total,
      numberOfInProgressCheckpoints: this.counts.inProgress,
      numberOfCompletedCheckpoints: this.counts.completed,
      numberOfFailedCheckpoints: this.counts.failed,
      lastCheckpointRestoreTimestamp: this.restored?.restoreTimestamp ?? -1,
      lastCheckpointSize: last?.checkpointedSize ?? -1,
      lastCheckpointFullSize: last?.stateSize ?? -1,
      lastCheckpointDuration: last?.endToEndDuration ?? -1,
      lastCheckpointProcessedData: 0,
      lastCheckpointPersistedData: 0,
      lastCompletedCheckpointId: last?.id ?? -1,
      lastCheckpointCompletedTimestamp: last ? last.latestAckTimestamp : -1,
    };
  }
}

/**
 * Loads a savepoint or retained checkpoint for a restore, checking its `_metadata` CRC, every
 * reference, every state file's size and every chunk's CRC (engine/checkpoint/storage.ts), so a
 * corrupt or partial snapshot is refused before anything starts. Errors are HTTP 400.
 */
export async function loadCompletedCheckpoint(path: string, allowedRoots: readonly string[]): Promise<CompletedCheckpoint> {
  const loaded = await loadCheckpoint(path, { allowedRoots, verify: 'full' });
  return { id: loaded.metadata.checkpointId, executionId: '', completedAt: loaded.metadata.completionTimestamp, path: loaded.dir, loaded };
}
