/**
 * The JobManager process: the RPC endpoint TaskManagers register with, the ResourceManager
 * that tracks them, the dispatcher that builds submitted job modules into graphs and runs one
 * JobMaster per job, and /metrics with Flink's jobmanager and jobmanager_job series. The REST
 * API is served through `createRestBackend` (rest-backend.ts) over this object.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from '../../common/log.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { startOpsServer, type OpsServer } from '../../common/service-http.ts';
import { JOB_SCOPE_KEYS, type JobManagerConfig } from '../config/options.ts';
import { parseCheckpointConfig } from '../checkpoint/config.ts';
import { parseFlinkDuration } from '../../common/duration.ts';
import type { JobSubmission } from '../contracts/job-graph.ts';
import { FlinkRegistry, type FlinkSample } from '../metrics/flink-registry.ts';
import { ProcessMetrics } from '../metrics/process-metrics.ts';
import { listenRpc, type RpcConnection, type RpcEnvelope } from '../rpc/connection.ts';
import { asJobManagerBound } from '../rpc/messages.ts';
import { loadJobProgram, type ProgramLoader } from '../runtime/program-loader.ts';
import { ViewUpdater } from '../runtime/time-accounting.ts';
import { DEFAULT_JOB_DIRS, resolveModulePath, sha256 } from '../runtime/module-resolver.ts';
import { JobMaster, newId } from './job-master.ts';
import { loadCompletedCheckpoint, type CompletedCheckpoint } from './checkpoint-coordinator.ts';
import { assignRestoreState, type RestoreAssignment } from '../checkpoint/restore.ts';
import { withMaxParallelism } from '../checkpoint/restore.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import { ResourceManager } from './resource-manager.ts';
import { ReactiveScaler, reactiveTarget } from './reactive-scaler.ts';
import { resolveAllowedPath } from '../checkpoint/paths.ts';
import { createHaServices } from '../ha/create.ts';
import type { HaServices, JobGraphRecord } from '../ha/ha-services.ts';
import { createRestartStrategy, parseRestartStrategyConfig, type RestartBackoff } from '../restart/restart-strategy.ts';

export interface JobManagerDeps {
  config: JobManagerConfig;
  log: Logger;
  loader?: ProgramLoader;
}

export interface SubmitOptions {
  modulePath: string;
  programArgs?: string[];
  parallelism?: number;
  parallelismOverrides?: Record<string, number>;
  jobId?: string;
  configuration?: Record<string, string>;
  /** Start from this savepoint (or retained checkpoint) directory. */
  savepointPath?: string;
  /** Allow savepoint state for operators the job no longer has. */
  allowNonRestoredState?: boolean;
  /** HA recovery by a new leader: the job's latest checkpoint (if any) and its checkpoint counter. */
  recovery?: { checkpoint: CompletedCheckpoint | null; isSavepoint: boolean; counter: number };
}

export class JobManager {
  readonly config: JobManagerConfig;
  readonly log: Logger;
  readonly registry = new FlinkRegistry();
  readonly resources: ResourceManager;
  readonly jobs = new Map<string, JobMaster>();
  readonly startedAt = Date.now();
  readonly id = newId();
  rpcPort = 0;
  metricsPort = 0;
  private readonly loader: ProgramLoader;
  private readonly updater: ViewUpdater;
  readonly process: ProcessMetrics;
  private rpc: { close(): Promise<void> } | null = null;
  private ops: OpsServer | null = null;
  private tick: NodeJS.Timeout | null = null;
  private readonly reactive: ReactiveScaler | null = null;
  /** HA services (engine/ha); null when high-availability.type is none. */
  private ha: HaServices | null = null;
  /** Job-scope options set on the cluster: every job's configuration starts from them. */
  private readonly jobDefaults: Record<string, string>;

  constructor(deps: JobManagerDeps) {
    this.config = deps.config;
    this.log = deps.log;
    this.jobDefaults = clusterJobDefaults(deps.config);
    this.loader = deps.loader ?? loadJobProgram;
    const c = deps.config;
    this.updater = new ViewUpdater(c['metrics.view.update-interval']);
    this.process = new ProcessMetrics(this.updater, Math.max(1, Math.round(c['metrics.view.window'] / c['metrics.view.update-interval'])));
    this.resources = new ResourceManager(deps.log, c['heartbeat.timeout'], c['heartbeat.interval']);
    this.resources.onLost((tm, reason) => {
      for (const job of this.jobs.values()) job.onTaskManagerLost(tm.id, reason);
      this.reactive?.resourcesChanged();
    });
    this.resources.onRegistered(() => {
      this.scheduleWaiting();
      this.reactive?.resourcesChanged();
    });
    if (c['scheduler-mode'] === 'reactive') {
      this.reactive = new ReactiveScaler({
        stabilizationMs: c['jobmanager.adaptive-scheduler.resource-stabilization-timeout'],
        totalSlots: () => this.resources.totalSlots,
        jobs: () => this.jobs.values(),
        log: deps.log,
      });
    }
  }

  get host(): string {
    return this.config['jobmanager.rpc.address'];
  }

  async start(): Promise<void> {
    const c = this.config;
    const rpc = await listenRpc(c['jobmanager.rpc.address'], c['jobmanager.rpc.port'], (conn) => this.accept(conn));
    this.rpc = rpc;
    this.rpcPort = rpc.port;
    this.registry.addCollector(() => this.prometheusSamples());
    this.ops = await startOpsServer(c['metrics.reporter.prom.host'], c['metrics.reporter.prom.port'], { registry: this.registry, ready: () => null });
    this.metricsPort = this.ops.port;
    this.tick = setInterval(() => this.scheduleWaiting(), 1000);
    this.tick.unref();
    this.ha = await createHaServices(c, this.log);
    if (this.ha) {
      await this.ha.grantLeadership({ address: `${this.host}:${this.rpcPort}`, restAddress: `${c['rest.address']}:${c['rest.port']}`, sessionId: this.id });
      await this.recoverJobs(this.ha);
    }
    this.log.info({ rpcPort: this.rpcPort, metricsPort: this.metricsPort, ha: this.ha?.type ?? 'none' }, 'JobManager started');
  }

  /**
   * A new leader recovers every job graph in the HA store under its own job id, each from its
   * latest completed checkpoint; a job that cannot be recovered is logged and left in the store.
   */
  private async recoverJobs(ha: HaServices): Promise<void> {
    for (const { record, moduleBytes } of await ha.jobGraphs()) {
      const started = Date.now();
      try {
        const pointer = await ha.latestCheckpoint(record.jobId);
        const counter = await ha.checkpointCounter(record.jobId);
        const checkpoint = pointer ? await loadCompletedCheckpoint(pointer.path, [dirname(pointer.path)]) : null;
        const modulePath = await this.recoveredModulePath(record.submission.modulePath, record.module, moduleBytes);
        await this.submit({
          modulePath,
          programArgs: record.submission.programArgs,
          parallelism: record.submission.parallelism,
          parallelismOverrides: record.submission.parallelismOverrides,
          jobId: record.jobId,
          configuration: record.configuration,
          recovery: { checkpoint, isSavepoint: pointer?.isSavepoint ?? false, counter },
        });
        this.log.info({ jobId: record.jobId, checkpointId: checkpoint?.id ?? null, ms: Date.now() - started }, 'job recovered from the HA store');
      } catch (err) {
        this.log.error({ jobId: record.jobId, err: errorMessage(err) }, 'could not recover a job from the HA store');
      }
    }
  }

  /** The submitted module path when it still holds the same bytes, else a copy of the stored bytes. */
  private async recoveredModulePath(path: string, module: { sha256: string; fileName: string }, bytes: Uint8Array): Promise<string> {
    try {
      if (sha256(await readFile(path)) === module.sha256) return path;
    } catch {
      // gone (a new pod): use the stored copy
    }
    const dir = join(resolve(this.config['state.dir']), 'recovered', module.sha256.slice(0, 16));
    await mkdir(dir, { recursive: true });
    const copy = join(dir, basename(module.fileName));
    await writeFile(copy, bytes);
    return copy;
  }

  private accept(conn: RpcConnection): void {
    let tmId: string | null = null;
    conn.handler = (envelope: RpcEnvelope) => {
      const msg = asJobManagerBound(envelope);
      if (msg instanceof Error) {
        throw new FlowpilotError('FP_RPC_UNKNOWN', `JobManager got a bad message from ${tmId ?? 'an unregistered peer'}: ${msg.message}`);
      }
      switch (msg.t) {
        case 'register': {
          tmId = msg.taskManagerId;
          this.resources.register(conn, msg);
          return { jobManagerId: this.id, heartbeatIntervalMs: this.config['heartbeat.interval'] };
        }
        case 'heartbeat': {
          if (!this.resources.heartbeat(msg.taskManagerId, msg.metrics)) conn.send({ t: 'disconnect', reason: 'not registered' });
          return undefined;
        }
        case 'taskState': {
          this.jobs.get(msg.jobId)?.onTaskState(msg);
          return undefined;
        }
        case 'acknowledgeCheckpoint': {
          this.jobs.get(msg.jobId)?.onCheckpointAck(msg);
          return undefined;
        }
      }
    };
  }

  private scheduleWaiting(): void {
    for (const job of this.jobs.values()) job.tryDeploy();
  }

  /** Builds the job module's graph and starts the job. A module that throws gives FP_JOB_BUILD; the cluster is unaffected. */
  async submit(opts: SubmitOptions): Promise<JobMaster> {
    const given = resolve(opts.modulePath);
    let bytes: Buffer;
    try {
      bytes = await readFile(given);
    } catch (err) {
      throw new FlowpilotError('FP_JOB_BUILD', `cannot read job module ${given}: ${errorMessage(err)}`, { cause: err });
    }
    const moduleSha = sha256(bytes);
    const extraDirs = this.config['jobmanager.job-dirs'].split(',').map((d) => d.trim()).filter((d) => d !== '').map((d) => resolve(d));
    const modulePath = resolveModulePath(given, moduleSha, [...DEFAULT_JOB_DIRS, ...extraDirs]) ?? given;
    const submission: JobSubmission = {
      modulePath,
      programArgs: opts.programArgs ?? [],
      parallelism: opts.parallelism ?? this.config['parallelism.default'],
    };
    const overrides = { ...parseVertexParallelismOverrides(opts.configuration?.[VERTEX_OVERRIDES_KEY]), ...opts.parallelismOverrides };
    if (Object.keys(overrides).length > 0) submission.parallelismOverrides = overrides;
    await this.checkBeforeLoading(opts);
    let program = await this.loader(submission);
    // Reactive mode ignores the submitted parallelism: every vertex starts at what the cluster's
    // slots allow (up to its max parallelism), as later TaskManager changes rescale it to.
    const slots = this.resources.totalSlots;
    if (this.config['scheduler-mode'] === 'reactive' && slots > 0) {
      const target = reactiveTarget({ graph: program.graph, upperBounds: {} }, slots);
      if (target) {
        submission.parallelismOverrides = { ...submission.parallelismOverrides, ...target };
        program = await this.loader(submission);
      }
    }
    const restore = opts.savepointPath ? await this.loadSavepoint(opts.savepointPath, program.graph, opts.allowNonRestoredState ?? false) : undefined;
    const initialRestore = restore?.checkpoint;
    const jobId = opts.jobId ?? newId();
    if (this.jobs.has(jobId)) throw new FlowpilotError('FP_REST_CONFLICT', `job ${jobId} already exists`);
    const built = restore?.graph ?? program.graph;
    const graph = { ...built, jobId, config: { ...this.jobDefaults, ...built.config, ...(opts.configuration ?? {}) } };
    const checkpointRoot = await this.checkpointRoot(graph.config);
    const ha = this.ha;
    const job: JobMaster = new JobMaster({
      jobId,
      graph,
      submission,
      module: { sha256: moduleSha, fileName: basename(given), bytes },
      resources: this.resources,
      restart: this.restartStrategyFor(graph.config),
      askTimeoutMs: this.config['rpc.ask-timeout'],
      slotRequestTimeoutMs: this.config['slot.request.timeout'],
      checkpointDir: join(checkpointRoot, jobId),
      defaultSavepointDir: this.defaultSavepointDir,
      rebuild: async (s) => {
        const p = await this.loader(s);
        return { ...p.graph, jobId, config: { ...this.jobDefaults, ...p.graph.config, ...(opts.configuration ?? {}) } };
      },
      initialRestore,
      log: this.log,
      onTerminal: (j) => {
        this.scheduleWaiting();
        // Globally terminal: a new leader must not recover it (SUSPENDED never gets here).
        if (ha) void ha.removeJob(j.jobId).catch((err: unknown) => this.log.warn({ jobId: j.jobId, err: errorMessage(err) }, 'could not remove the job from the HA store'));
      },
    });
    if (opts.recovery) await job.checkpoints.recover(opts.recovery.checkpoint, opts.recovery.isSavepoint, opts.recovery.counter);
    if (ha) {
      const record = (): JobGraphRecord => ({ jobId, submission: job.submission, configuration: opts.configuration ?? {}, module: { sha256: moduleSha, fileName: basename(given) }, submittedAt: Date.now() });
      let stored = job.submission;
      await ha.putJobGraph(record(), bytes);
      job.checkpoints.onCompleted = async (cp, nextId) => {
        if (job.isTerminal) return;
        // An in-place rescale changed the submission: a new leader starts at the new parallelism.
        if (job.submission !== stored) {
          await ha.putJobGraph(record(), bytes);
          stored = job.submission;
        }
        await ha.addCheckpoint(jobId, { checkpointId: cp.id, path: cp.path, isSavepoint: cp.isSavepoint }, nextId);
      };
    }
    this.jobs.set(jobId, job);
    this.log.info({ jobId, name: graph.jobName, vertices: graph.vertices.length }, 'job submitted');
    job.start();
    return job;
  }

  /**
   * What a submission alone decides, checked before the job module is imported: loading runs the
   * module's top-level code (as Flink runs a jar's main()), so a request that must fail anyway
   * (a taken job id, a restore path outside the allowed roots, a bad restart strategy or
   * checkpoint directory in its configuration) fails without running it.
   */
  private async checkBeforeLoading(opts: SubmitOptions): Promise<void> {
    if (opts.jobId !== undefined && this.jobs.has(opts.jobId)) throw new FlowpilotError('FP_REST_CONFLICT', `job ${opts.jobId} already exists`);
    if (opts.savepointPath) {
      const pointer = opts.savepointPath.startsWith('/') || opts.savepointPath.startsWith('file:') ? opts.savepointPath : resolve(opts.savepointPath);
      await this.checkSavepointPath(pointer, 'savepoint path');
    }
    const configuration = opts.configuration ?? {};
    this.restartStrategyFor(configuration);
    await this.checkpointRoot(configuration);
  }

  /**
   * Directories that savepoint targets and restore paths must lie under. From the cluster config
   * only (a job's own config must not widen them): flowpilot.savepoint.allowed-roots, else
   * state.dir and the cluster savepoint dir. Never an implicit one such as the working directory
   * (a savepoint could otherwise land in the source tree the JobManager was started from).
   */
  get savepointRoots(): string[] {
    const listed = this.config['flowpilot.savepoint.allowed-roots'].split(',').map((r) => r.trim()).filter((r) => r !== '');
    if (listed.length > 0) return listed.map((r) => resolve(r));
    return [resolve(this.config['state.dir']), this.defaultSavepointDir];
  }

  /**
   * Where a job's `<job-id>/chk-<n>` directories go: its execution.checkpointing.dir (old key
   * state.checkpoints.dir), which must lie under the allowed roots, else `<state.dir>/checkpoints`.
   * TaskManagers write their state files there, so it must be shared storage every one reaches.
   */
  private async checkpointRoot(config: Record<string, string>): Promise<string> {
    const dir = config['execution.checkpointing.dir'] ?? config['state.checkpoints.dir'];
    if (dir === undefined) return join(resolve(this.config['state.dir']), 'checkpoints');
    return resolveAllowedPath(dir, this.savepointRoots, 'checkpoint directory');
  }

  get defaultSavepointDir(): string {
    return resolve(this.config['state.savepoints.dir'] ?? join(this.config['state.dir'], 'savepoints'));
  }

  /** The real path of a savepoint target or restore path; FP_SAVEPOINT_PATH (HTTP 400) when it lies outside the allowed roots. */
  async checkSavepointPath(path: string, what: string): Promise<string> {
    return resolveAllowedPath(path, this.savepointRoots, what);
  }

  /**
   * The job's restart strategy (engine/restart): the cluster's restart-strategy.* values,
   * overlaid by the job's own keys, as Flink merges cluster and job configuration.
   */
  restartStrategyFor(jobConfig: Record<string, string>): RestartBackoff {
    const merged: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(this.config)) if (k.startsWith('restart-strategy.') && v !== undefined) merged[k] = v as string | number;
    for (const [k, v] of Object.entries(jobConfig)) if (k.startsWith('restart-strategy.')) merged[k] = v;
    return createRestartStrategy(parseRestartStrategyConfig(merged, { checkpointingEnabled: jobConfig['execution.checkpointing.interval'] !== undefined }));
  }

  /**
   * Loads a savepoint (or retained checkpoint) under the allowed roots, fully verified, and checks
   * that it fits the job (Flink's rules: state for operators the job lacks needs
   * allowNonRestoredState; parallelism ≤ maxParallelism; maxParallelism adopted from the state
   * when the job does not set it). Returns the checkpoint and the graph to run. Errors are 400s.
   */
  private async loadSavepoint(path: string, graph: JobGraph, allowNonRestoredState: boolean): Promise<{ checkpoint: CompletedCheckpoint; graph: JobGraph }> {
    const pointer = path.startsWith('/') || path.startsWith('file:') ? path : resolve(path);
    const checkpoint = await loadCompletedCheckpoint(pointer, this.savepointRoots);
    for (const v of graph.vertices) {
      if (v.parallelism > v.maxParallelism) {
        throw new FlowpilotError('FP_RESTORE_PARALLELISM', `The parallelism ${v.parallelism} of ${v.name} is higher than its max parallelism ${v.maxParallelism}.`, { details: { httpStatus: 400 } });
      }
    }
    const assignment: RestoreAssignment = assignRestoreState(checkpoint.loaded, graph, { allowNonRestoredState });
    return { checkpoint, graph: withMaxParallelism(graph, assignment.maxParallelism) };
  }

  get numRunningJobs(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.status === 'RUNNING') n++;
    return n;
  }

  /** JobManager-scope values by Flink REST id. */
  jobManagerValues(): Record<string, number> {
    return {
      numRegisteredTaskManagers: this.resources.taskManagers.size,
      numPendingTaskManagers: 0,
      taskSlotsTotal: this.resources.totalSlots,
      taskSlotsAvailable: this.resources.availableSlots,
      numRunningJobs: this.numRunningJobs,
      ...this.process.values(),
    };
  }

  private *prometheusSamples(): Iterable<FlinkSample> {
    const host = { host: this.host };
    for (const [name, value] of Object.entries(this.jobManagerValues())) yield { scope: 'jobmanager', name, labels: host, value };
    for (const job of this.jobs.values()) {
      const labels = { host: this.host, job_id: job.jobId, job_name: job.name };
      for (const [name, value] of Object.entries(job.metrics())) yield { scope: 'jobmanager_job', name, labels, value };
    }
  }

  async stop(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.reactive?.stop();
    for (const job of this.jobs.values()) job.suspend();
    await this.ha?.close();
    this.resources.stop();
    await this.rpc?.close();
    await this.ops?.close();
    this.process.stop();
    this.updater.stop();
  }
}

/** Flink's per-vertex parallelism option, as `/jars/:id/run` passes it in flinkConfiguration. */
export const VERTEX_OVERRIDES_KEY = 'pipeline.jobvertex-parallelism-overrides';

/** Parses Flink's `vertexId:parallelism,...` form; a malformed entry is a 400 naming it. */
export function parseVertexParallelismOverrides(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const entry of text.split(',')) {
    const m = /^\s*([0-9a-f]{32})\s*:\s*(\d+)\s*$/.exec(entry);
    if (!m || Number(m[2]) < 1) {
      throw new FlowpilotError('FP_REST_BAD_REQUEST', `${VERTEX_OVERRIDES_KEY}: "${entry.trim()}" is not <32-hex vertex id>:<parallelism ≥ 1>`);
    }
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * The job-scope options of the cluster configuration, checked once (a bad value stops the
 * JobManager at start, not a job later) and with durations in milliseconds, the form a job's own
 * configuration carries them in (StreamExecutionEnvironment.enableCheckpointing(ms)).
 */
function clusterJobDefaults(config: JobManagerConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of JOB_SCOPE_KEYS) {
    const v = config[key];
    if (v !== undefined) out[key] = v;
  }
  try {
    parseCheckpointConfig(out);
  } catch (err) {
    throw new FlowpilotError('FP_ENGINE_CONFIG', `invalid JobManager configuration: ${errorMessage(err)}`, { cause: err });
  }
  for (const key of ['execution.checkpointing.interval', 'execution.checkpointing.timeout', 'execution.checkpointing.min-pause'] as const) {
    if (out[key] !== undefined) out[key] = String(Math.floor(parseFlinkDuration(out[key])));
  }
  return out;
}
