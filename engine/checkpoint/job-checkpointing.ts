/**
 * One job's fault tolerance in one object, for the JobMaster: the checkpoint configuration
 * (allowed roots from the cluster only), the storage, the CheckpointCoordinator, the restart
 * strategy, and the restore plans of the next deployment. The plans come from the savepoint
 * the job was submitted with, then from the newest checkpoint after a failover or a rescale.
 * A restore adopts the state's maxParallelism where the job's was auto-configured, so the
 * JobMaster deploys `graph` (not the graph it passed in). `create` checks a savepoint fully
 * before anything exists, so a bad one is refused with a 400 and nothing is started.
 */
import type { Logger } from '../../common/log.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { JobStatus } from '../rest/backend.ts';
import { createRestartStrategy, parseRestartStrategyConfig, type RestartBackoff, type RestartDecision } from '../restart/restart-strategy.ts';
import { parseCheckpointConfig, type CheckpointConfig } from './config.ts';
import { CheckpointCoordinator, type CheckpointCoordinatorDeps } from './coordinator.ts';
import { assignRestoreState, type RestoreAssignment, type SubtaskRestorePlan } from './restore.ts';
import { CheckpointStorage, loadCheckpoint } from './storage.ts';
import type { Timers } from './timers.ts';

export interface JobCheckpointingOptions extends Pick<CheckpointCoordinatorDeps, 'triggerSources' | 'notifyComplete' | 'notifyAborted' | 'onFailureThresholdExceeded'> {
  jobId: string;
  jobName: string;
  /** The graph as built (its config holds the job's own keys). */
  graph: JobGraph;
  /** The JobManager's own configuration, as the key/values the user set (strings). */
  clusterConfig: Record<string, string>;
  /** Checkpoint directory when neither cluster nor job sets one, e.g. `<state.dir>/checkpoints`. */
  defaultCheckpointDir: string;
  /** `/jars/:id/run` with savepointPath. */
  restoreFrom?: { path: string; allowNonRestoredState: boolean };
  timers?: Timers;
  log?: Logger;
  /** Jitter source of exponential-delay (default Math.random). */
  random?: () => number;
}

/** The graph with each vertex's maxParallelism replaced where a restore adopted the state's. */
export function withMaxParallelism(graph: JobGraph, maxParallelism: Record<string, number>): JobGraph {
  return { ...graph, vertices: graph.vertices.map((v) => (maxParallelism[v.id] !== undefined && maxParallelism[v.id] !== v.maxParallelism ? { ...v, maxParallelism: maxParallelism[v.id]! } : v)) };
}

export class JobCheckpointing {
  readonly config: CheckpointConfig;
  readonly coordinator: CheckpointCoordinator;
  readonly restart: RestartBackoff;
  private assignment: RestoreAssignment | null;
  private current: JobGraph;

  private constructor(config: CheckpointConfig, coordinator: CheckpointCoordinator, restart: RestartBackoff, graph: JobGraph, assignment: RestoreAssignment | null) {
    this.config = config;
    this.coordinator = coordinator;
    this.restart = restart;
    this.current = graph;
    this.assignment = assignment;
  }

  /** Throws FP_CHECKPOINT_CONFIG, FP_RESTART_CONFIG, FP_SAVEPOINT_* or FP_RESTORE_* (HTTP 400) before anything runs. */
  static async create(o: JobCheckpointingOptions): Promise<JobCheckpointing> {
    const cluster = { ...o.clusterConfig };
    if (cluster['execution.checkpointing.dir'] === undefined && cluster['state.checkpoints.dir'] === undefined) {
      cluster['execution.checkpointing.dir'] = o.defaultCheckpointDir;
    }
    const effective = { ...cluster, ...o.graph.config };
    const config = parseCheckpointConfig(effective, { clusterConfig: cluster });
    const restart = createRestartStrategy(parseRestartStrategyConfig(effective, { checkpointingEnabled: config.intervalMs !== null }), { random: o.random });
    const storage = new CheckpointStorage({ checkpointDir: config.checkpointDir, savepointDir: config.savepointDir, allowedRoots: config.allowedRoots });
    let graph = o.graph;
    let assignment: RestoreAssignment | null = null;
    const loaded = o.restoreFrom ? await loadCheckpoint(o.restoreFrom.path, { allowedRoots: config.allowedRoots, verify: 'full' }) : null;
    if (loaded) {
      assignment = assignRestoreState(loaded, graph, { allowNonRestoredState: o.restoreFrom!.allowNonRestoredState });
      graph = withMaxParallelism(graph, assignment.maxParallelism);
    }
    const coordinator = new CheckpointCoordinator({
      jobId: o.jobId,
      jobName: o.jobName,
      graph,
      config,
      storage,
      triggerSources: o.triggerSources,
      notifyComplete: o.notifyComplete,
      notifyAborted: o.notifyAborted,
      onFailureThresholdExceeded: o.onFailureThresholdExceeded,
      timers: o.timers,
      log: o.log,
    });
    if (loaded) coordinator.recordRestore(loaded);
    return new JobCheckpointing(config, coordinator, restart, graph, assignment);
  }

  /** The graph to deploy: parallelism as asked, maxParallelism as the restored state needs. */
  get graph(): JobGraph {
    return this.current;
  }

  /** What subtask `subtaskIndex` of `vertexId` restores in the next deployment; undefined: it starts empty. */
  restorePlan(vertexId: string, subtaskIndex: number): SubtaskRestorePlan | undefined {
    return this.assignment?.subtasks[vertexId]?.[subtaskIndex];
  }

  /** State operators skipped under allowNonRestoredState. */
  get nonRestored(): string[] {
    return this.assignment?.nonRestored ?? [];
  }

  /** Every subtask of the execution is RUNNING. */
  executionRunning(): void {
    this.coordinator.start();
  }

  /** The execution is going away (failover, cancel, rescale): no triggers, pending checkpoints aborted. */
  executionStopping(reason = 'Checkpoint Coordinator is suspending.'): void {
    this.coordinator.stop();
    this.coordinator.abortPending(reason);
  }

  /** A failure at `now`: restart after a delay, or give up. */
  onFailure(now = Date.now()): RestartDecision {
    return this.restart.onFailure(now);
  }

  /**
   * Before redeploying after a failover (same graph) or for a rescale (`graph` with new
   * parallelism): plans from the newest retained checkpoint, or from the savepoint the job
   * started with. Returns the directory restored from, or null when the job starts empty.
   */
  async prepareRestore(graph: JobGraph = this.current): Promise<string | null> {
    const dir = this.coordinator.restorePointForFailover();
    if (dir === null) {
      this.assignment = null;
      this.current = graph;
      this.coordinator.setGraph(graph);
      return null;
    }
    const loaded = await loadCheckpoint(dir);
    const assignment = assignRestoreState(loaded, graph, { allowNonRestoredState: true });
    this.assignment = assignment;
    this.current = withMaxParallelism(graph, assignment.maxParallelism);
    this.coordinator.setGraph(this.current);
    this.coordinator.recordRestore(loaded);
    return loaded.dir;
  }

  /** The job reached a terminal state. */
  async terminate(status: JobStatus): Promise<void> {
    await this.coordinator.shutdown(status);
  }
}
