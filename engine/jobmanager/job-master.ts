/**
 * One job's execution graph and its life: status with Flink's JobStatus and timestamps,
 * per-subtask ExecutionState and attempts, slot allocation (slot sharing: slot i hosts subtask
 * i of every vertex), deployment to TaskManagers, and failover. A failed subtask or a lost
 * TaskManager cancels the current execution attempt and, if the restart strategy allows,
 * redeploys a new attempt on the slots that remain (RESTARTING → RUNNING); otherwise the job
 * fails. Every attempt restores from the latest completed checkpoint (restore plans from
 * engine/checkpoint/restore.ts); an in-place rescale is a restart at new parallelisms. Its
 * parts: execution-records.ts (subtask states), deployment-plan.ts (TaskDeployments),
 * task-manager-gateway.ts (RPC to TaskManagers), job-savepoints.ts, job-metrics.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/log.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type { JobGraph, JobSubmission } from '../contracts/job-graph.ts';
import {
  parallelismWithin, validateResourceRequirements, type ResourceRequirements, type ResourceRequirementsOutcome,
} from '../contracts/resources.ts';
import type { ExceptionView, JobStatus } from '../contracts/status.ts';
import type { AcknowledgeCheckpointMessage, TaskStateMessage } from '../rpc/messages.ts';
import { CheckpointCoordinator, type CheckpointHost, type CompletedCheckpoint } from './checkpoint-coordinator.ts';
import type { SavepointOperation } from '../contracts/checkpoints.ts';
import { JobSavepoints, type AfterSavepoint } from './job-savepoints.ts';
import { jobMetrics } from './job-metrics.ts';
import { assignRestoreState, type RestoreAssignment } from '../checkpoint/restore.ts';
import { withMaxParallelism } from '../checkpoint/restore.ts';
import type { TaskLocation } from '../runtime/deployment.ts';
import { planDeployments } from './deployment-plan.ts';
import { TaskManagerGateway } from './task-manager-gateway.ts';
import { ExecutionRecords, TERMINAL_TASK } from './execution-records.ts';
export type { SubtaskRecord } from './execution-records.ts';
import type { ResourceManager, SlotRef } from './resource-manager.ts';
import type { RestartBackoff } from '../restart/restart-strategy.ts';

export interface JobModule {
  sha256: string;
  fileName: string;
  bytes: Uint8Array;
}

export interface JobMasterDeps {
  jobId: string;
  graph: JobGraph;
  submission: JobSubmission;
  module: JobModule;
  resources: ResourceManager;
  /** engine/restart's decision object, built from the cluster's and the job's restart-strategy.* keys. */
  restart: RestartBackoff;
  askTimeoutMs: number;
  slotRequestTimeoutMs: number;
  /** Where this job's checkpoints go (chk-N directories). */
  checkpointDir: string;
  /** Savepoint directory when a request names none. */
  defaultSavepointDir: string;
  /** State to start from (a savepoint given at submission). */
  initialRestore?: CompletedCheckpoint;
  /** Rebuilds the job graph for a changed submission (in-place rescale). */
  rebuild(submission: JobSubmission): Promise<JobGraph>;
  log: Logger;
  onTerminal(job: JobMaster): void;
}

const TERMINAL_JOB: ReadonlySet<JobStatus> = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);

export function newId(): string {
  return randomBytes(16).toString('hex');
}

export class JobMaster {
  readonly jobId: string;
  /** Replaced by an in-place rescale. */
  graph: JobGraph;
  submission: JobSubmission;
  numRescales = 0;
  /** Upper bounds from PUT resource-requirements, by vertex id (reactive mode scales up to them). */
  readonly upperBounds: Record<string, number> = {};
  /** Lower bounds from PUT resource-requirements, by vertex id. */
  readonly lowerBounds: Record<string, number> = {};
  /** In-place rescales run one after another, in the order they were accepted. */
  private rescaleQueue: Promise<void> = Promise.resolve();
  readonly module: JobModule;
  status: JobStatus = 'INITIALIZING';
  readonly statusTimestamps: Partial<Record<JobStatus, number>> = {};
  /** Total ms spent per status, for <state>TimeTotal. */
  readonly statusTotals: Partial<Record<JobStatus, number>> = {};
  numRestarts = 0;
  readonly exceptions: ExceptionView[] = [];
  readonly subtasks: ExecutionRecords;
  executionId = '';
  private slots: SlotRef[] = [];
  private readonly deps: JobMasterDeps;
  private readonly log: Logger;
  private waitingSince = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private failingOver = false;
  /** Every job has one; it checkpoints periodically only when execution.checkpointing.interval is set. */
  readonly checkpoints: CheckpointCoordinator;
  private readonly savepoints: JobSavepoints;
  private readonly gateway: TaskManagerGateway;

  constructor(deps: JobMasterDeps) {
    this.deps = deps;
    this.jobId = deps.jobId;
    this.graph = deps.graph;
    this.submission = deps.submission;
    this.module = deps.module;
    this.log = deps.log.child({ jobId: deps.jobId });
    this.gateway = new TaskManagerGateway(deps.resources, deps.askTimeoutMs, this.log);
    this.setStatus('INITIALIZING');
    this.subtasks = ExecutionRecords.forGraph(deps.graph);
    this.setStatus('CREATED');
    this.checkpoints = new CheckpointCoordinator(this.checkpointHost(), deps.graph.config, deps.checkpointDir, this.log);
    if (deps.initialRestore) this.checkpoints.startFrom(deps.initialRestore);
    this.savepoints = new JobSavepoints(this);
  }

  /** True when the job checkpoints periodically or has taken a savepoint (REST then serves checkpoint stats). */
  get checkpointingEnabled(): boolean {
    return this.checkpoints.interval > 0 || this.checkpoints.counts.total > 0;
  }

  /** Takes (or joins) a savepoint into a checked `targetDirectory`, then cancels or stops the job as asked. Returns the trigger id. */
  requestSavepoint(targetDirectory: string, after: AfterSavepoint, requestedTriggerId?: string): string {
    return this.savepoints.request(targetDirectory, after, requestedTriggerId);
  }

  /** Where a savepoint goes when the request names no target: the job's savepoint dir, else the cluster's. */
  get defaultSavepointTarget(): string {
    return this.graph.config['execution.checkpointing.savepoint-dir'] ?? this.graph.config['state.savepoints.dir'] ?? this.deps.defaultSavepointDir;
  }

  savepointStatus(triggerId: string): SavepointOperation | undefined {
    return this.savepoints.status(triggerId);
  }

  /** The bounds in force: what PUT resource-requirements set, else 1 .. the vertex's current parallelism (Flink's default). */
  get resourceRequirements(): ResourceRequirements {
    return Object.fromEntries(this.graph.vertices.map((v) => [
      v.id, { lowerBound: this.lowerBounds[v.id] ?? 1, upperBound: this.upperBounds[v.id] ?? v.parallelism },
    ]));
  }

  /** Slots this job holds now (with slot sharing, its largest parallelism once deployed). */
  get heldSlots(): number {
    return this.slots.length;
  }

  /**
   * PUT /jobs/:id/resource-requirements, as Flink's adaptive scheduler: validates the request
   * once against the job's vertices (FP_REST_BAD_REQUEST listing every problem), keeps the
   * bounds, and runs each vertex at min(upper bound, `availableSlots`), so a bound above the
   * cluster's slots runs at what the slots allow. With no slot known (no TaskManager), the job
   * keeps its parallelism within the new bounds. Resolves once the rescale is accepted (the new
   * graph is built) or nothing needs to change; the restart itself follows in order.
   */
  async setResourceRequirements(requested: ResourceRequirements, availableSlots: number): Promise<ResourceRequirementsOutcome> {
    if (this.isTerminal || this.status === 'CANCELLING') {
      throw new FlowpilotError('FP_REST_CONFLICT', `Job ${this.jobId} is ${this.status}; its resource requirements cannot change.`);
    }
    const requirements = validateResourceRequirements(this.graph.vertices, requested);
    const parallelism = availableSlots > 0
      ? parallelismWithin(requirements, availableSlots)
      : Object.fromEntries(this.graph.vertices.map((v) => [v.id, Math.min(v.parallelism, requirements[v.id]!.upperBound)]));
    for (const [id, b] of Object.entries(requirements)) {
      this.lowerBounds[id] = b.lowerBound;
      this.upperBounds[id] = b.upperBound;
    }
    const lowerBoundUnmet = Object.entries(requirements).filter(([id, b]) => b.lowerBound > parallelism[id]!).map(([id]) => id);
    if (lowerBoundUnmet.length > 0) {
      this.log.warn({ availableSlots, lowerBoundUnmet }, 'resource requirements: lower bound above the available slots; running at what the slots allow');
    }
    const rescaling = await this.rescale(parallelism);
    return { requirements, parallelism, availableSlots, rescaling, lowerBoundUnmet };
  }

  /**
   * In-place rescale (resource requirements, reactive mode): builds the graph at the new
   * per-vertex parallelism, then (after any rescale accepted before it) takes a checkpoint,
   * stops the current attempt and redeploys the new graph restoring from that checkpoint. Counts
   * as a restart and a rescale, as in Flink. Resolves true once the rescale is queued, false when
   * nothing changes; a build error rejects (the job is untouched).
   */
  async rescale(parallelism: Record<string, number>): Promise<boolean> {
    const changes: Record<string, number> = {};
    for (const v of this.graph.vertices) {
      const p = parallelism[v.id];
      if (p !== undefined && p !== v.parallelism) changes[v.id] = p;
    }
    if (Object.keys(changes).length === 0 || this.isTerminal) return false;
    const submission: JobSubmission = { ...this.submission, parallelismOverrides: { ...this.submission.parallelismOverrides, ...changes } };
    const graph = await this.deps.rebuild(submission);
    const run = this.rescaleQueue.then(() => this.applyRescale(graph, submission));
    this.rescaleQueue = run.catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'in-place rescale failed');
      this.record(err instanceof Error ? err : new Error(String(err)), undefined);
    });
    return true;
  }

  private async applyRescale(graph: JobGraph, submission: JobSubmission): Promise<void> {
    if (this.isTerminal) return;
    if (graph.vertices.every((v) => this.graph.vertices.find((c) => c.id === v.id)?.parallelism === v.parallelism)) return;
    if (this.status === 'RUNNING' && this.slots.length > 0) await this.checkpointNow();
    if (this.isTerminal) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.failingOver = true;
    this.setStatus('RESTARTING');
    this.checkpoints.abortPending('the job is rescaling');
    await this.cancelAttempt();
    this.graph = graph;
    this.submission = submission;
    this.subtasks.rescaleTo(graph);
    this.numRestarts++;
    this.numRescales++;
    this.failingOver = false;
    this.log.info({ parallelism: Object.fromEntries(graph.vertices.map((v) => [v.name, v.parallelism])) }, 'rescaling in place');
    this.setStatus('RUNNING');
    this.tryDeploy();
  }

  /** Triggers a checkpoint and waits (bounded) until it completes, so a rescale loses no progress. */
  private async checkpointNow(): Promise<void> {
    const before = this.checkpoints.latest?.id ?? 0;
    const deadline = Date.now() + Math.min(this.checkpoints.timeout, 30_000);
    while (Date.now() < deadline && !this.isTerminal) {
      if ((this.checkpoints.latest?.id ?? 0) > before) return;
      if (!this.checkpoints.inProgress) this.checkpoints.trigger(true);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stop-with-savepoint's second half: the savepoint holds everything, so the subtasks end and the job is FINISHED. */
  async finishAfterStop(): Promise<void> {
    if (this.isTerminal || this.status === 'CANCELLING') return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.failingOver = true; // no failover for the subtasks we are stopping
    await this.cancelAttempt();
    this.failingOver = false;
    this.finishWith('FINISHED');
  }

  private checkpointHost(): CheckpointHost {
    const job = this;
    return {
      jobId: this.jobId,
      get executionId() {
        return job.executionId;
      },
      get jobName() {
        return job.name;
      },
      graph: () => this.graph,
      vertexParallelism: () => new Map(this.graph.vertices.map((v) => [v.id, v.parallelism])),
      canCheckpoint: () => this.status === 'RUNNING' && !this.failingOver && this.slots.length > 0 && this.subtasks.every((r) => r.state === 'RUNNING'),
      allInputEnded: () => this.subtasks.every((r) => r.state === 'RUNNING' && r.endOfInput === true),
      taskManagers: (sourcesOnly) => this.subtasks.taskManagers(this.graph, sourcesOnly),
      send: (tmId, msg) => this.gateway.send(tmId, msg),
      failJob: (err) => {
        if (this.status === 'RUNNING') this.failover(err, undefined);
      },
    };
  }

  /** A subtask's state handle (its file is already on storage) or refusal for a checkpoint. */
  onCheckpointAck(msg: AcknowledgeCheckpointMessage): void {
    this.checkpoints.onAcknowledge(msg.executionId, msg.vertexId, msg.subtaskIndex, msg.checkpointId, msg.handle, msg.failure);
  }

  /** Flink's description of the job's restart strategy, for the REST job config. */
  get restartDescription(): string {
    return this.deps.restart.describe();
  }

  get name(): string {
    return this.graph.jobName;
  }

  get isTerminal(): boolean {
    return TERMINAL_JOB.has(this.status);
  }

  /** Slots the job needs with slot sharing: its largest parallelism. */
  get requiredSlots(): number {
    return Math.max(1, ...this.graph.vertices.map((v) => v.parallelism));
  }

  private setStatus(status: JobStatus): void {
    const now = Date.now();
    const prev = this.status;
    const since = this.statusTimestamps[prev];
    if (since !== undefined && prev !== status) this.statusTotals[prev] = (this.statusTotals[prev] ?? 0) + (now - since);
    this.status = status;
    this.statusTimestamps[status] = now;
  }

  /** Starts scheduling; the job is RUNNING while it waits for slots, as in Flink. */
  start(): void {
    this.setStatus('RUNNING');
    this.checkpoints.start();
    this.tryDeploy();
  }

  /** Called when slots may have become available. */
  tryDeploy(): void {
    if (this.status !== 'RUNNING' || this.slots.length > 0 || this.failingOver) return;
    const slots = this.deps.resources.allocate(this.jobId, this.requiredSlots);
    if (!slots) {
      if (this.waitingSince === 0) {
        this.waitingSince = Date.now();
        this.subtasks.schedule();
        this.log.info({ required: this.requiredSlots, available: this.deps.resources.availableSlots }, 'waiting for slots');
      } else if (Date.now() - this.waitingSince > this.deps.slotRequestTimeoutMs) {
        this.fail(new Error(`NoResourceAvailableException: could not acquire the minimum required resources (${this.requiredSlots} slots) within ${this.deps.slotRequestTimeoutMs} ms`), undefined);
      }
      return;
    }
    this.waitingSince = 0;
    this.slots = slots;
    void this.deployAttempt();
  }

  private async deployAttempt(): Promise<void> {
    // A checkpoint still being finalized (its _metadata or HA pointer written) decides the restore point first.
    const finalizing = this.checkpoints.settled();
    if (finalizing) await finalizing;
    this.executionId = newId();
    const executionId = this.executionId;
    const locations = new Map<string, TaskLocation[]>();
    const tmOf = (slotIndex: number) => this.deps.resources.taskManagers.get(this.slots[slotIndex]!.taskManagerId);
    for (const v of this.graph.vertices) {
      const locs: TaskLocation[] = [];
      const recs = this.subtasks.get(v.id)!;
      for (let i = 0; i < v.parallelism; i++) {
        const tm = tmOf(i);
        if (!tm) {
          this.failover(new Error('a TaskManager holding a slot of this job went away before deployment'), undefined);
          return;
        }
        locs.push({ taskManagerId: tm.id, dataAddress: `${tm.host}:${tm.dataPort}` });
        recs[i]!.taskManagerId = tm.id;
        ExecutionRecords.setState(recs[i]!, 'DEPLOYING');
      }
      locations.set(v.id, locs);
    }
    const latest = this.checkpoints.latest;
    let assignment: RestoreAssignment | null = null;
    if (latest) {
      try {
        // The same program (failover, in-place rescale) or one checked at submission: state it lacks is skipped.
        assignment = assignRestoreState(latest.loaded, this.graph, { allowNonRestoredState: true });
      } catch (err) {
        this.fail(new Error(`cannot restore checkpoint ${latest.id}: ${errorMessage(err)}`), undefined);
        return;
      }
      this.checkpoints.markRestored();
      this.graph = withMaxParallelism(this.graph, assignment.maxParallelism);
    }
    const perTm = planDeployments(this.graph, executionId, this.subtasks, locations, assignment);
    const base = { jobId: this.jobId, jobName: this.name, executionId, module: this.module, submission: this.submission, config: this.graph.config };
    await this.gateway.deploy(base, perTm, (tmId, err) => {
      if (this.executionId === executionId) this.failover(err, tmId);
    });
  }

  private vertex(id: string) {
    const v = this.graph.vertices.find((x) => x.id === id);
    if (!v) throw new Error(`unknown vertex ${id}`);
    return v;
  }

  /** A state report from a TaskManager. */
  onTaskState(msg: TaskStateMessage): void {
    if (msg.executionId !== this.executionId) return;
    const rec = this.subtasks.get(msg.vertexId)?.[msg.subtaskIndex];
    if (!rec || rec.attempt !== msg.attemptNumber || TERMINAL_TASK.has(rec.state)) return;
    if (msg.endOfInput && msg.state === 'RUNNING' && rec.state === 'RUNNING') {
      // Its input ended; once every subtask's has, the next checkpoint is the final one, and it
      // is due at once (the ticker would take up to a tenth of the interval to see it).
      rec.endOfInput = true;
      if (this.checkpoints.interval > 0 && this.subtasks.every((r) => r.state === 'RUNNING' && r.endOfInput === true)) this.checkpoints.trigger();
      return;
    }
    ExecutionRecords.setState(rec, msg.state);
    if ((msg.state === 'FAILED' || msg.state === 'CANCELED') && !this.failingOver && this.status === 'RUNNING') {
      // CANCELED without the JobManager asking: the TaskManager is shutting down or lost us.
      const v = this.vertex(msg.vertexId);
      const why = msg.state === 'FAILED' ? (msg.failure ?? 'task failed') : `the task was canceled by TaskManager ${msg.taskManagerId} (shutting down?)`;
      this.failover(new Error(why), msg.taskManagerId, `${v.name} (${msg.subtaskIndex + 1}/${v.parallelism})`);
      return;
    }
    if (msg.state === 'FINISHED' && this.status === 'RUNNING' && this.subtasks.every((r) => r.state === 'FINISHED')) {
      this.finishWith('FINISHED');
    }
  }

  /** A TaskManager was lost: its subtasks of the current attempt failed. */
  onTaskManagerLost(tmId: string, reason: string): void {
    if (this.isTerminal) return;
    this.slots = this.slots.filter((s) => s.taskManagerId !== tmId);
    const hit = this.subtasks.failOn(tmId);
    if (!hit) return;
    const err = new Error(`org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id ${tmId} is no longer reachable. ${reason}`);
    if (!this.failingOver && (this.status === 'RUNNING' || this.status === 'RESTARTING')) this.failover(err, tmId);
    // Already failing over (often a consumer noticed the broken data connection first): keep the root cause too.
    else this.record(err, tmId);
  }

  private record(err: Error, tmId: string | undefined, taskName?: string): void {
    const tm = tmId ? this.deps.resources.taskManagers.get(tmId) : undefined;
    const view: ExceptionView = { exceptionName: err.name || 'Error', stacktrace: err.stack ?? err.message, timestamp: Date.now() };
    if (taskName) view.taskName = taskName;
    if (tmId) view.taskManagerId = tmId;
    if (tm) view.endpoint = `${tm.host}:${tm.dataPort}`;
    view.stacktrace = err.message.includes('\n') ? err.message : view.stacktrace;
    this.exceptions.unshift(view);
    if (this.exceptions.length > 16) this.exceptions.length = 16;
  }

  /** Cancels the current attempt and restarts it under the restart strategy, or fails the job. */
  private failover(err: Error, tmId: string | undefined, taskName?: string): void {
    if (this.failingOver || this.isTerminal) return;
    this.record(err, tmId, taskName);
    const decision = this.deps.restart.onFailure(Date.now());
    // A failure while a restart is still pending joins it (Flink's exponential-delay merging).
    if (decision.restart && decision.merged && this.restartTimer) return;
    this.checkpoints.abortPending('the job is failing over');
    this.failingOver = true;
    this.log.warn({ err: err.message.split('\n')[0], restart: decision.restart }, 'job failover');
    this.setStatus(decision.restart ? 'RESTARTING' : 'FAILING');
    void this.cancelAttempt().then(() => {
      this.failingOver = false;
      if (!decision.restart) {
        this.log.warn({ reason: decision.reason }, 'no restart');
        this.finishWith('FAILED');
        return;
      }
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.status !== 'RESTARTING') return;
        this.numRestarts++;
        this.subtasks.newAttempt();
        this.setStatus('RUNNING');
        this.tryDeploy();
      }, decision.delayMs);
    });
  }

  private fail(err: Error, tmId: string | undefined): void {
    this.record(err, tmId);
    this.setStatus('FAILING');
    void this.cancelAttempt().then(() => this.finishWith('FAILED'));
  }

  /** Cancels every running subtask of the current attempt and frees the job's slots. */
  private async cancelAttempt(): Promise<void> {
    const executionId = this.executionId;
    const tms = this.subtasks.startCancel();
    await this.gateway.cancel(executionId, tms);
    this.subtasks.finishCancel();
    this.releaseAttempt();
  }

  private releaseAttempt(): void {
    const executionId = this.executionId;
    this.gateway.release(executionId, this.slots.map((s) => s.taskManagerId));
    this.deps.resources.releaseSlots(this.slots);
    this.slots = [];
  }

  /** PATCH /jobs/:id: cancel the job. */
  async cancel(): Promise<void> {
    if (this.isTerminal || this.status === 'CANCELLING') return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.setStatus('CANCELLING');
    await this.cancelAttempt();
    this.finishWith('CANCELED');
  }

  /**
   * The JobManager is shutting down: the job becomes SUSPENDED (locally terminal, as in Flink)
   * without RPC; TaskManagers cancel its subtasks themselves when the JobManager goes away.
   */
  suspend(): void {
    if (this.isTerminal) return;
    this.checkpoints.stop();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.deps.resources.releaseSlots(this.slots);
    this.slots = [];
    this.setStatus('SUSPENDED');
  }

  private finishWith(status: JobStatus): void {
    if (this.isTerminal) return;
    this.checkpoints.stop();
    if (status === 'FINISHED') this.releaseAttempt();
    this.setStatus(status);
    this.log.info({ status }, 'job reached a terminal state');
    this.deps.onTerminal(this);
  }

  get endTime(): number {
    return this.isTerminal ? (this.statusTimestamps[this.status] ?? -1) : -1;
  }

  /** Job-scope metrics on the JobManager under Flink's names. */
  metrics(): Record<string, number> {
    return jobMetrics({
      status: this.status,
      isTerminal: this.isTerminal,
      statusTimestamps: this.statusTimestamps,
      statusTotals: this.statusTotals,
      numRestarts: this.numRestarts,
      numRescales: this.numRescales,
      checkpointMetrics: this.checkpointingEnabled ? this.checkpoints.metrics() : null,
    });
  }
}
