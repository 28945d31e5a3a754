/**
 * One job's checkpoint coordinator: it triggers aligned checkpoints at the sources every
 * `execution.checkpointing.interval` (one at a time, honouring min-pause and timeout). It
 * creates the checkpoint's directory (`chk-<n>` under the job's checkpoint dir, or a
 * `savepoint-*` directory under the user's target) and names it in the trigger every
 * TaskManager of the job gets; each subtask writes its own state file there and acknowledges
 * with a small handle (engine/taskmanager/checkpoint-writer.ts). When every handle is in, the
 * coordinator checks the files and writes `_metadata` last and atomically, keeps the newest
 * `state.checkpoints.num-retained`, and only then tells the subtasks the checkpoint completed
 * (sinks commit). A declined, failed or expired checkpoint is counted, its directory removed
 * (tolerantly: TaskManagers may still be writing into it), and the job goes on, unless more than
 * `execution.checkpointing.tolerable-failed-checkpoints` fail in a row: then the job fails over
 * (its restart strategy decides) and restarts from the latest completed checkpoint. A savepoint
 * is the same protocol, outside retention and the failure count; it is self-contained.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { CheckpointOptions } from '../contracts/task.ts';
import type { CheckpointConfigView, CheckpointStatsView, CheckpointView } from '../contracts/checkpoints.ts';
import { inlineThresholdOf, parseCheckpointConfig } from '../checkpoint/config.ts';
import { ensureDir, externalPointer, parseCheckpointDirName, savepointDirName } from '../checkpoint/paths.ts';
import { buildMetadata, checkHandle, verifyStateFiles } from '../checkpoint/pending.ts';
import { loadCheckpoint, removeCheckpointDir, writeMetadataAtomically, type LoadedCheckpoint } from '../checkpoint/storage.ts';
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
  /** True when every subtask's input has ended (they wait for the final checkpoint). */
  allInputEnded?(): boolean;
  /** Task managers hosting source subtasks / any subtask of the current attempt. */
  taskManagers(sourcesOnly: boolean): string[];
  send(taskManagerId: string, msg: Record<string, unknown> & { t: string }): void;
  /** More consecutive checkpoints failed than tolerated: fail the job over (restart strategy applies). */
  failJob(err: Error): void;
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
  /** Absolute directory the subtasks write into and `_metadata` goes to. */
  dir: string;
  acks: Map<string, SubtaskStateHandle>;
  bytes: number;
  timer: NodeJS.Timeout;
  /** Set once `_metadata` is being written: from then on the checkpoint completes or fails on its own, never by an abort. */
  finalizing?: boolean;
  /** Triggered when every subtask's input had ended. */
  final?: boolean;
}

/** Records a completed checkpoint outside the process (HA store) before its completion is notified. */
export type CheckpointCompletedHook = (checkpoint: { id: number; path: string; isSavepoint: boolean }, nextId: number) => Promise<void>;

const HISTORY = 10;

export class CheckpointCoordinator {
  readonly interval: number;
  readonly timeout: number;
  readonly minPause: number;
  readonly retained: number;
  private readonly host: CheckpointHost;
  private readonly dir: string;
  /** state.storage.fs.memory-threshold: smaller subtask state is acknowledged inline and stored in _metadata. */
  private readonly inlineThreshold: number;
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
  /** execution.checkpointing.tolerable-failed-checkpoints; null: unlimited. */
  readonly tolerableFailed: number | null;
  /** Checkpoints failed in a row since the last completed one (Flink's CheckpointFailureManager count). */
  consecutiveFailures = 0;
  /**
   * HA: awaited after `_metadata` is written and before any subtask hears of the completion, so
   * a sink never commits output of a checkpoint a recovered JobManager would not restore. A
   * rejection fails the checkpoint.
   */
  onCompleted: CheckpointCompletedHook | null = null;
  private finalizing: Promise<void> | null = null;

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
    this.tolerableFailed = tolerableOf(config, log);
    this.inlineThreshold = inlineThresholdOf(config);
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
    if (!this.host.canCheckpoint()) return null;
    // A savepoint does not queue behind a periodic checkpoint (under backpressure that one can
    // take seconds): the periodic one is aborted, its barriers are overtaken by the savepoint's,
    // and it is not held against the tolerable-failure limit (Flink runs the two concurrently).
    if (savepoint && this.pending && !this.pending.savepoint) this.fail(this.pending.id, 'Checkpoint was aborted: subsumed by a savepoint', false);
    if (this.pending) return null;
    // Every subtask's input has ended: the final checkpoint is due now (the subtasks finish once it completes).
    const final = !savepoint && this.host.allInputEnded?.() === true;
    // Flink's timing: the next periodic checkpoint is due at max(lastTrigger + interval, lastEnd + min-pause).
    if (!force && !final && (now - this.lastTrigger < this.interval || now - this.lastEnd < this.minPause)) return null;
    const id = this.nextId++;
    this.lastTrigger = now;
    let expected = 0;
    for (const p of this.host.vertexParallelism().values()) expected += p;
    const p: Pending = {
      id,
      executionId: this.host.executionId,
      triggeredAt: now,
      expected,
      dir: savepoint ? join(savepoint.targetDirectory, savepointDirName(this.host.jobId)) : join(this.dir, `chk-${id}`),
      acks: new Map(),
      bytes: 0,
      timer: setTimeout(() => this.fail(id, `Checkpoint expired before completing (timeout ${this.timeout} ms).`), this.timeout),
    };
    if (savepoint) p.savepoint = savepoint;
    if (final) p.final = true;
    p.timer.unref();
    this.pending = p;
    this.counts.total++;
    this.counts.inProgress = 1;
    void this.begin(p);
    return id;
  }

  /** Creates the directory, then tells every TaskManager of the job where checkpoint `p.id` goes. */
  private async begin(p: Pending): Promise<void> {
    try {
      await ensureDir(p.dir);
    } catch (err) {
      this.fail(p.id, `could not create the checkpoint directory ${p.dir}: ${errorMessage(err)}`);
      return;
    }
    if (this.pending !== p) {
      await this.discard(p.dir); // expired or aborted while the directory was being created
      return;
    }
    const options: CheckpointOptions = { kind: p.savepoint ? 'SAVEPOINT' : 'CHECKPOINT', dir: p.dir, inlineThreshold: this.inlineThreshold };
    if (p.final) options.final = true;
    for (const tm of this.host.taskManagers(false)) {
      this.host.send(tm, { t: 'triggerCheckpoint', executionId: p.executionId, checkpointId: p.id, timestamp: p.triggeredAt, options });
    }
  }

  /** A subtask's state handle (its file is written and fsync'd in the checkpoint's directory) or its refusal. */
  onAcknowledge(executionId: string, vertexId: string, subtaskIndex: number, checkpointId: number, handle: SubtaskStateHandle | null, failure?: string): void {
    const p = this.pending;
    if (!p || p.id !== checkpointId || p.executionId !== executionId) return;
    if (!handle) {
      this.fail(checkpointId, `Task ${vertexId} (${subtaskIndex}) declined the checkpoint: ${failure ?? 'no state handle'}`);
      return;
    }
    const bad = checkHandle(this.host.graph(), checkpointId, vertexId, subtaskIndex, handle);
    if (bad) {
      this.fail(checkpointId, `Task ${vertexId} (${subtaskIndex}) acknowledged with a bad state handle: ${bad}`);
      return;
    }
    const key = `${vertexId}#${subtaskIndex}`;
    if (!p.acks.has(key)) p.bytes += handle.size;
    p.acks.set(key, handle);
    if (p.acks.size === p.expected) void this.complete(p);
  }

  /**
   * Settles once no checkpoint is being finalized. A new attempt picks its restore point only
   * after this: a checkpoint that completes later must not be overtaken by an older restore.
   */
  settled(): Promise<void> | null {
    if (!this.finalizing) return null;
    return (async () => {
      while (this.finalizing) await this.finalizing;
    })();
  }

  private complete(p: Pending): Promise<void> {
    const run = this.finalize(p);
    this.finalizing = run;
    return run.finally(() => {
      if (this.finalizing === run) this.finalizing = null;
    });
  }

  private async finalize(p: Pending): Promise<void> {
    clearTimeout(p.timer);
    const chk = p.dir;
    let loaded: LoadedCheckpoint;
    try {
      const kind = p.savepoint ? 'SAVEPOINT' : 'CHECKPOINT';
      const metadata = buildMetadata(this.host.graph(), { checkpointId: p.id, kind, formatType: 'CANONICAL', triggerTimestamp: p.triggeredAt, acks: p.acks }, this.host.jobName, this.host.jobId, Date.now());
      // The TaskManagers wrote the files; _metadata is only written once all are there at their acknowledged sizes.
      await verifyStateFiles(chk, metadata);
      if (this.pending !== p) return; // expired or aborted meanwhile
      // From here on an abort (failover, rescale, stop) does not discard this checkpoint: once
      // _metadata or the HA pointer may exist, it either completes or fails here.
      p.finalizing = true;
      await writeMetadataAtomically(chk, metadata);
      loaded = { dir: chk, externalPath: externalPointer(chk), metadata };
      await this.onCompleted?.({ id: p.id, path: chk, isSavepoint: p.savepoint !== undefined }, this.nextId);
    } catch (err) {
      p.finalizing = false;
      this.fail(p.id, `could not complete checkpoint ${p.id}: ${errorMessage(err)}`);
      return;
    }
    if (this.pending !== p) return;
    this.pending = null;
    const now = Date.now();
    this.lastEnd = now;
    this.counts.inProgress = 0;
    this.counts.completed++;
    this.consecutiveFailures = 0;
    this.latest = { id: p.id, executionId: p.executionId, completedAt: now, path: chk, loaded };
    this.pushHistory(this.view(p, 'COMPLETED', now, chk));
    if (p.savepoint) p.savepoint.done({ location: chk });
    else this.retainedPaths.push(chk);
    for (const tm of this.host.taskManagers(false)) {
      this.host.send(tm, { t: 'notifyCheckpointComplete', executionId: p.executionId, checkpointId: p.id });
    }
    this.log.debug({ checkpointId: p.id, bytes: p.bytes, ms: now - p.triggeredAt }, 'checkpoint completed');
    // Inputs ended while this one ran: the final checkpoint is due now, not at the next tick.
    if (!p.final && !p.savepoint && this.ticker && this.host.allInputEnded?.() === true) this.trigger();
    // Subsumed checkpoints go after the notification: removing their files is no reason to hold back commits.
    while (this.retainedPaths.length > this.retained) await this.discard(this.retainedPaths.shift()!);
  }

  /**
   * Checkpoint `id` failed: counted, its directory removed. `counts` false for an abort (failover,
   * rescale, stop), which Flink does not hold against the tolerable-failure limit; savepoint
   * failures are not held against it either.
   */
  private fail(id: number, message: string, counts = true): void {
    const p = this.pending;
    if (!p || p.id !== id || p.finalizing) return;
    clearTimeout(p.timer);
    this.pending = null;
    void this.discard(p.dir);
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
    if (!counts || p.savepoint || this.tolerableFailed === null) return;
    this.consecutiveFailures++;
    if (this.consecutiveFailures > this.tolerableFailed) {
      const failures = this.consecutiveFailures;
      this.consecutiveFailures = 0;
      this.host.failJob(
        new Error(
          `org.apache.flink.util.FlinkRuntimeException: Exceeded checkpoint tolerable failure threshold (${this.tolerableFailed}; ${failures} failed in a row). The latest checkpoint failed due to: ${message}`,
        ),
      );
    }
  }

  /** Removes a checkpoint directory that is no longer wanted; a failure is logged, never thrown. */
  private async discard(dir: string): Promise<void> {
    const why = await removeCheckpointDir(dir);
    if (why) this.log.warn({ dir, err: why }, 'could not remove a checkpoint directory');
  }

  /** On failover: the pending checkpoint cannot complete. */
  abortPending(reason: string): void {
    if (this.pending) this.fail(this.pending.id, `Checkpoint was aborted: ${reason}`, false);
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

  /**
   * HA recovery by a new leader: the job goes on from its latest completed checkpoint (null when
   * it had none), ids continue after the stored counter and after every `chk-<n>` left in the
   * job's directory, and the retained checkpoints other than the latest are swept.
   */
  async recover(cp: CompletedCheckpoint | null, isSavepoint: boolean, counter: number): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      // no checkpoint directory yet
    }
    let maxSeen = 0;
    for (const n of names) {
      const id = parseCheckpointDirName(n);
      if (id === null) continue;
      maxSeen = Math.max(maxSeen, id);
      if (cp && join(this.dir, n) === cp.path) continue;
      await this.discard(join(this.dir, n));
    }
    this.nextId = Math.max(this.nextId, counter, maxSeen + 1, (cp?.id ?? 0) + 1);
    if (!cp) return;
    this.latest = cp;
    this.fromSavepoint = isSavepoint;
    if (!isSavepoint && cp.path.startsWith(this.dir)) this.retainedPaths.push(cp.path);
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
      tolerableFailedCheckpoints: this.tolerableFailed ?? 2147483647,
      alignedCheckpointTimeout: 0,
      // Flink's execution.checkpointing.checkpoints-after-tasks-finish.enabled (true since 1.15), as
      // this engine behaves: a subtask whose input ended stays RUNNING (checkpoints go on) and
      // waits for the final checkpoint, which commits what the exactly-once sinks hold.
      checkpointsAfterTasksFinish: true,
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

/** execution.checkpointing.tolerable-failed-checkpoints from the job's config; null (unlimited) when absent. */
function tolerableOf(config: Record<string, string>, log: Logger): number | null {
  try {
    return parseCheckpointConfig({ 'execution.checkpointing.tolerable-failed-checkpoints': config['execution.checkpointing.tolerable-failed-checkpoints'] }).tolerableFailed;
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'ignoring execution.checkpointing.tolerable-failed-checkpoints');
    return null;
  }
}
