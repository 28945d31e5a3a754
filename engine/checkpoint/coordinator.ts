/**
 * The CheckpointCoordinator of one job, as Flink's: it triggers checkpoints periodically
 * (interval, min-pause, max-concurrent) and savepoints on request, collects every subtask's
 * acknowledgement (a SubtaskStateHandle pointing at the state file the task wrote), and on the
 * last one writes `_metadata` (last, atomically), then tells every task the checkpoint is
 * complete (sinks commit), then applies retention. A decline, an expiry (timeout) or a failed
 * finalize fails the checkpoint: it is counted and reported, its directory deleted, and the
 * job goes on (unless tolerable-failed-checkpoints is set and exceeded). It does no network
 * I/O: the JobManager passes callbacks that send triggers and notifications over RPC.
 */
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage, FlowpilotError } from '../../common/errors.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { CheckpointConfigView, CheckpointStatsView, JobStatus, SavepointOperation } from '../rest/backend.ts';
import { checkpointConfigView, type CheckpointConfig } from './config.ts';
import { metadataStateSize, type CheckpointMetadata, type SnapshotKind, type SubtaskStateHandle } from './metadata.ts';
import { resolveAllowedPath, pathError } from './paths.ts';
import { CheckpointStatsTracker } from './stats.ts';
import type { CheckpointLocation, CheckpointStorage, LoadedCheckpoint } from './storage.ts';
import { SavepointOperations } from './savepoint-operations.ts';
import { realTimers, type Timers } from './timers.ts';
import { buildMetadata, checkHandle, verifyStateFiles } from './pending.ts';

/** What the JobManager sends to every source subtask to start a checkpoint. */
export interface CheckpointTrigger {
  checkpointId: number;
  timestamp: number;
  kind: SnapshotKind;
  /** Absolute directory tasks write their state files into (writeSubtaskState). */
  dir: string;
  externalPath: string;
  /** Stop-with-savepoint with drain: sources emit MAX_WATERMARK before the barrier. */
  drain: boolean;
}

export interface CompletedCheckpoint {
  checkpointId: number;
  kind: SnapshotKind;
  location: CheckpointLocation;
  metadata: CheckpointMetadata;
  triggerTimestamp: number;
  completionTimestamp: number;
  stateSize: number;
}

export interface CheckpointCoordinatorDeps {
  jobId: string;
  jobName: string;
  /** The graph of the running execution (parallelism and effective maxParallelism per vertex). */
  graph: JobGraph;
  config: CheckpointConfig;
  storage: CheckpointStorage;
  /** Send the trigger to every source subtask of the current execution. */
  triggerSources(trigger: CheckpointTrigger): void;
  /** Send notifyCheckpointComplete to every subtask (sinks commit). */
  notifyComplete(checkpointId: number, kind: SnapshotKind): void;
  /** Tell subtasks a checkpoint was aborted, so they drop its alignment and pending output. */
  notifyAborted?(checkpointId: number, reason: string): void;
  /** Consecutive failed checkpoints exceeded tolerable-failed-checkpoints: fail the job. */
  onFailureThresholdExceeded?(err: FlowpilotError): void;
  timers?: Timers;
  log?: Logger;
}

export type AckResult = 'ACCEPTED' | 'UNKNOWN_CHECKPOINT' | 'UNEXPECTED_TASK' | 'DUPLICATE';

export interface SavepointTriggerRequest {
  kind?: 'SAVEPOINT' | 'SYNC_SAVEPOINT';
  targetDirectory?: string;
  formatType?: 'CANONICAL' | 'NATIVE';
  triggerId?: string;
  drain?: boolean;
  /** Runs after the savepoint completed, before the operation reports COMPLETED (stop the job, cancel it). */
  afterCompletion?(completed: CompletedCheckpoint): Promise<void>;
}

export class PendingCheckpoint {
  readonly checkpointId: number;
  readonly kind: SnapshotKind;
  readonly location: CheckpointLocation;
  readonly triggerTimestamp: number;
  readonly formatType: 'CANONICAL' | 'NATIVE';
  readonly acks = new Map<string, SubtaskStateHandle>();
  readonly expected: number;
  status: 'PENDING' | 'FINALIZING' | 'DONE' = 'PENDING';
  timer: unknown = null;
  readonly completion: Promise<CompletedCheckpoint>;
  resolve!: (c: CompletedCheckpoint) => void;
  reject!: (err: Error) => void;

  constructor(checkpointId: number, kind: SnapshotKind, location: CheckpointLocation, triggerTimestamp: number, formatType: 'CANONICAL' | 'NATIVE', expected: number) {
    this.checkpointId = checkpointId;
    this.kind = kind;
    this.location = location;
    this.triggerTimestamp = triggerTimestamp;
    this.formatType = formatType;
    this.expected = expected;
    this.completion = new Promise<CompletedCheckpoint>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.completion.catch(() => undefined); // failures are reported through stats; awaiting is optional
  }
}

function failure(message: string, cause?: unknown): FlowpilotError {
  return new FlowpilotError('FP_CHECKPOINT_FAILED', message, cause === undefined ? undefined : { cause });
}

export class CheckpointCoordinator {
  readonly jobId: string;
  private graph: JobGraph;
  readonly config: CheckpointConfig;
  private readonly deps: CheckpointCoordinatorDeps;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly stats = new CheckpointStatsTracker();
  private readonly savepoints: SavepointOperations;
  private readonly pending = new Map<number, PendingCheckpoint>();
  private retained: CompletedCheckpoint[] = [];
  private restoredFrom: { dir: string; checkpointId: number } | null = null;
  private nextId = 1;
  private running = false;
  private periodicTimer: unknown = null;
  private lastPeriodicTrigger = -1;
  private lastPeriodicEnd = -1;
  private syncSavepointInFlight = false;
  private consecutiveFailures = 0;

  constructor(deps: CheckpointCoordinatorDeps) {
    this.deps = deps;
    this.jobId = deps.jobId;
    this.graph = deps.graph;
    this.config = deps.config;
    this.timers = deps.timers ?? realTimers;
    this.log = (deps.log ?? silentLogger()).child({ jobId: deps.jobId, component: 'checkpoint-coordinator' });
    this.savepoints = new SavepointOperations(deps.jobId);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Periodic checkpoints are configured (REST /checkpoints answers 404 otherwise, as Flink). */
  get periodicEnabled(): boolean {
    return this.config.intervalMs !== null;
  }

  /** All tasks of the execution are RUNNING: start periodic triggering (first one after one interval). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastPeriodicTrigger = this.timers.now();
    this.scheduleNext();
  }

  /** The execution stopped (failover, cancel, rescale): no more triggers. Call abortPending too. */
  stop(): void {
    this.running = false;
    if (this.periodicTimer !== null) this.timers.clearTimeout(this.periodicTimer);
    this.periodicTimer = null;
  }

  /** The graph of the next execution (after a rescale or a restore that adopted maxParallelism). */
  setGraph(graph: JobGraph): void {
    this.graph = graph;
  }

  private pendingOfKind(kind: SnapshotKind): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.kind === kind && p.status === 'PENDING') n++;
    return n;
  }

  private scheduleNext(): void {
    if (this.periodicTimer !== null) this.timers.clearTimeout(this.periodicTimer);
    this.periodicTimer = null;
    const interval = this.config.intervalMs;
    if (!this.running || interval === null || this.syncSavepointInFlight) return;
    const now = this.timers.now();
    let due = this.lastPeriodicTrigger + interval;
    if (this.lastPeriodicEnd >= 0) due = Math.max(due, this.lastPeriodicEnd + this.config.minPauseMs);
    this.periodicTimer = this.timers.setTimeout(() => this.onPeriodic(), Math.max(0, due - now));
  }

  private onPeriodic(): void {
    this.periodicTimer = null;
    if (!this.running || this.syncSavepointInFlight) return;
    // At max-concurrent: wait; completion or failure of a pending one reschedules.
    if (this.pendingOfKind('CHECKPOINT') >= this.config.maxConcurrent) return;
    this.lastPeriodicTrigger = this.timers.now();
    this.trigger('CHECKPOINT').catch((err) => this.log.warn({ err: errorMessage(err) }, 'periodic checkpoint not triggered'));
    this.scheduleNext();
  }

  /**
   * Starts a checkpoint or savepoint: creates its directory, registers it pending, and calls
   * triggerSources. Explicit CHECKPOINT triggers honour max-concurrent (FP_CHECKPOINT_BUSY) but
   * not min-pause; savepoints are forced (neither applies), as in Flink.
   */
  async trigger(kind: SnapshotKind, opts: { target?: string; formatType?: 'CANONICAL' | 'NATIVE'; drain?: boolean } = {}): Promise<PendingCheckpoint> {
    if (!this.running) throw failure('Not all required tasks are currently running.');
    if (kind === 'CHECKPOINT' && this.pendingOfKind('CHECKPOINT') >= this.config.maxConcurrent) {
      throw new FlowpilotError('FP_CHECKPOINT_BUSY', `max-concurrent-checkpoints (${this.config.maxConcurrent}) are already in progress`);
    }
    const { checkpointId, location } = await this.allocate(kind, opts.target);
    const now = this.timers.now();
    const subtasksPerVertex: Record<string, number> = {};
    for (const v of this.graph.vertices) subtasksPerVertex[v.id] = v.parallelism;
    const expected = Object.values(subtasksPerVertex).reduce((a, b) => a + b, 0);
    const p = new PendingCheckpoint(checkpointId, kind, location, now, opts.formatType ?? 'CANONICAL', expected);
    this.pending.set(checkpointId, p);
    this.stats.reportPending({ checkpointId, kind, triggerTimestamp: now, formatType: p.formatType, subtasksPerVertex });
    p.timer = this.timers.setTimeout(() => this.failPending(p, 'Checkpoint expired before completing.', true), this.config.timeoutMs);
    if (kind === 'SYNC_SAVEPOINT') {
      this.syncSavepointInFlight = true;
      this.scheduleNext();
    }
    if (!this.running) {
      this.failPending(p, 'Checkpoint Coordinator is suspending.', false);
      return p;
    }
    this.log.debug({ checkpointId, kind, dir: location.dir }, 'triggering checkpoint');
    this.deps.triggerSources({ checkpointId, timestamp: now, kind, dir: location.dir, externalPath: location.externalPath, drain: opts.drain ?? false });
    return p;
  }

  /** The next checkpoint id and its directory; ids of completed checkpoints left by an earlier run with this job id are skipped. */
  private async allocate(kind: SnapshotKind, target: string | undefined): Promise<{ checkpointId: number; location: CheckpointLocation }> {
    for (let tries = 0; ; tries++) {
      const checkpointId = this.nextId++;
      try {
        const location =
          kind === 'CHECKPOINT'
            ? await this.deps.storage.initCheckpoint(this.jobId, checkpointId)
            : await this.deps.storage.initSavepoint(this.jobId, checkpointId, kind, target);
        return { checkpointId, location };
      } catch (err) {
        if (!(err instanceof FlowpilotError && err.code === 'FP_CHECKPOINT_EXISTS') || tries >= 10_000) throw err;
      }
    }
  }

  /** A subtask wrote its state and acknowledges; the last acknowledgement finalizes the checkpoint. */
  acknowledge(checkpointId: number, vertexId: string, subtaskIndex: number, handle: SubtaskStateHandle, metrics: { processedData?: number; persistedData?: number } = {}): AckResult {
    const p = this.pending.get(checkpointId);
    if (!p || p.status !== 'PENDING') return 'UNKNOWN_CHECKPOINT';
    const problem = checkHandle(this.graph, checkpointId, vertexId, subtaskIndex, handle);
    if (problem) {
      this.log.warn({ checkpointId, vertexId, subtaskIndex, problem }, 'ignoring an acknowledgement');
      return 'UNEXPECTED_TASK';
    }
    const key = `${vertexId}#${subtaskIndex}`;
    if (p.acks.has(key)) return 'DUPLICATE';
    p.acks.set(key, handle);
    this.stats.reportAck(checkpointId, vertexId, this.timers.now(), handle.size, metrics.processedData ?? 0, metrics.persistedData ?? 0);
    if (p.acks.size === p.expected) void this.finalize(p);
    return 'ACCEPTED';
  }

  /** A subtask could not take its snapshot: the checkpoint fails. */
  decline(checkpointId: number, vertexId: string, subtaskIndex: number, reason: string): void {
    const p = this.pending.get(checkpointId);
    if (!p || p.status !== 'PENDING') return;
    this.failPending(p, `Checkpoint was declined (task ${vertexId} subtask ${subtaskIndex}: ${reason}).`, true);
  }

  /** Fails every pending checkpoint (the execution is going away); not counted against the tolerance. */
  abortPending(reason = 'Checkpoint Coordinator is suspending.'): void {
    for (const p of [...this.pending.values()]) if (p.status === 'PENDING') this.failPending(p, reason, false);
  }

  private failPending(p: PendingCheckpoint, message: string, countsTowardTolerance: boolean): void {
    if (p.status === 'DONE') return;
    p.status = 'DONE';
    if (p.timer !== null) this.timers.clearTimeout(p.timer);
    this.pending.delete(p.checkpointId);
    const now = this.timers.now();
    this.stats.reportFailed(p.checkpointId, now, message);
    this.log.warn({ checkpointId: p.checkpointId, kind: p.kind, reason: message }, 'checkpoint failed');
    p.reject(failure(message));
    this.deps.notifyAborted?.(p.checkpointId, message);
    void this.deps.storage.discard(p.location).catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not delete a failed checkpoint'));
    if (p.kind === 'SYNC_SAVEPOINT') this.syncSavepointInFlight = false;
    if (p.kind === 'CHECKPOINT') {
      this.lastPeriodicEnd = now;
      if (countsTowardTolerance) this.countFailure(message);
    }
    this.scheduleNext();
  }

  private countFailure(message: string): void {
    this.consecutiveFailures++;
    const tolerable = this.config.tolerableFailed;
    if (tolerable !== null && this.consecutiveFailures > tolerable) {
      this.consecutiveFailures = 0;
      this.deps.onFailureThresholdExceeded?.(
        new FlowpilotError('FP_CHECKPOINT_TOLERABLE', `Exceeded checkpoint tolerable failure threshold (${tolerable}). The latest checkpoint failed: ${message}`),
      );
    }
  }

  private async finalize(p: PendingCheckpoint): Promise<void> {
    p.status = 'FINALIZING';
    if (p.timer !== null) this.timers.clearTimeout(p.timer);
    let meta: CheckpointMetadata;
    try {
      meta = buildMetadata(this.graph, p, this.deps.jobName, this.jobId, this.timers.now());
      await verifyStateFiles(p.location.dir, meta);
      await this.deps.storage.finalize(p.location, meta);
    } catch (err) {
      this.failPending(p, `Failure to finalize checkpoint: ${errorMessage(err)}`, true);
      return;
    }
    p.status = 'DONE';
    this.pending.delete(p.checkpointId);
    const completed: CompletedCheckpoint = {
      checkpointId: p.checkpointId,
      kind: p.kind,
      location: p.location,
      metadata: meta,
      triggerTimestamp: p.triggerTimestamp,
      completionTimestamp: meta.completionTimestamp,
      stateSize: metadataStateSize(meta),
    };
    this.stats.reportCompleted(p.checkpointId, p.location.externalPath, meta.completionTimestamp);
    this.log.info({ checkpointId: p.checkpointId, kind: p.kind, bytes: completed.stateSize, ms: meta.completionTimestamp - p.triggerTimestamp }, 'checkpoint completed');
    if (p.kind === 'CHECKPOINT') {
      this.consecutiveFailures = 0;
      this.lastPeriodicEnd = meta.completionTimestamp;
      for (const older of [...this.pending.values()]) {
        if (older.kind === 'CHECKPOINT' && older.checkpointId < p.checkpointId && older.status === 'PENDING') this.failPending(older, 'Checkpoint has been subsumed.', false);
      }
    }
    this.deps.notifyComplete(p.checkpointId, p.kind);
    p.resolve(completed);
    if (p.kind === 'CHECKPOINT') await this.applyRetention(completed);
    this.scheduleNext();
  }

  private async applyRetention(c: CompletedCheckpoint): Promise<void> {
    this.retained.push(c);
    this.retained.sort((a, b) => a.checkpointId - b.checkpointId);
    const before = this.retained;
    try {
      const kept = await this.deps.storage.retain(before.map((r) => r.location), this.config.numRetained);
      const keptIds = new Set(kept.map((l) => l.checkpointId));
      for (const r of before) if (!keptIds.has(r.checkpointId)) this.stats.reportDiscarded(r.checkpointId);
      this.retained = before.filter((r) => keptIds.has(r.checkpointId));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'checkpoint retention failed');
    }
  }

  /**
   * POST /jobs/:id/savepoints and /stop: validates the target (FP_SAVEPOINT_PATH, 400), applies
   * the second-request policy (see SavepointOperations), and runs the savepoint in the background.
   */
  async triggerSavepoint(req: SavepointTriggerRequest): Promise<{ triggerId: string }> {
    const kind = req.kind ?? 'SAVEPOINT';
    const raw = req.targetDirectory ?? this.config.savepointDir;
    if (!raw) throw pathError('Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.', '');
    const target = await resolveAllowedPath(raw, this.deps.storage.options.allowedRoots);
    const admission = this.savepoints.admit(kind, target, req.triggerId);
    if (admission.join) return { triggerId: admission.triggerId };
    const triggerId = admission.triggerId;
    this.savepoints.begin(triggerId, kind, target);
    void (async () => {
      try {
        const p = await this.trigger(kind, { target, formatType: req.formatType, drain: req.drain });
        const completed = await p.completion;
        await req.afterCompletion?.(completed);
        this.savepoints.complete(triggerId, completed.location.externalPath);
      } catch (err) {
        this.savepoints.fail(triggerId, err);
      }
    })();
    return { triggerId };
  }

  savepointStatus(triggerId: string): SavepointOperation | undefined {
    return this.savepoints.status(triggerId);
  }

  /** The job (re)started from `loaded`: stats, lastCheckpointRestoreTimestamp, and ids continue after it. */
  recordRestore(loaded: LoadedCheckpoint, restoreTimestamp = this.timers.now()): void {
    const m = loaded.metadata;
    this.stats.reportRestored({ checkpointId: m.checkpointId, restoreTimestamp, isSavepoint: m.kind !== 'CHECKPOINT', externalPath: loaded.externalPath });
    this.nextId = Math.max(this.nextId, m.checkpointId + 1);
    this.restoredFrom = { dir: loaded.dir, checkpointId: m.checkpointId };
  }

  /** The newest completed checkpoint still retained, or null. */
  latestCompleted(): CompletedCheckpoint | null {
    return this.retained.at(-1) ?? null;
  }

  /** Directory to restore from on failover: the newest retained checkpoint, else what the job was started from. */
  restorePointForFailover(): string | null {
    return this.latestCompleted()?.location.dir ?? this.restoredFrom?.dir ?? null;
  }

  statsView(): CheckpointStatsView {
    return this.stats.view();
  }

  configView(): CheckpointConfigView {
    return checkpointConfigView(this.config);
  }

  /** Job-scope checkpoint gauges under Flink's names. */
  metrics(): Record<string, number | string> {
    return this.stats.metrics();
  }

  /** The job reached a terminal state: stop, abort what is pending, apply externalized retention. */
  async shutdown(status: JobStatus): Promise<void> {
    this.stop();
    this.abortPending('Checkpoint Coordinator is suspending.');
    try {
      await this.deps.storage.onJobTerminal(this.jobId, status, this.config.retention);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not clean up checkpoints');
    }
  }
}
