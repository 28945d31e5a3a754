/**
 * A TaskManager process: it serves data connections (ShuffleService), registers with the
 * JobManager and offers its slots, heartbeats with a metric snapshot, runs the subtasks it is
 * deployed (one TaskExecutor each), and reports their ExecutionStates. Each subtask's checkpoint
 * snapshot is written by this process into the checkpoint's directory (checkpoint-writer.ts)
 * and acknowledged with its small state handle. When the JobManager
 * connection is lost it cancels its subtasks and registers again until the registration
 * timeout. /metrics carries Flink's TaskManager, task and operator series.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../common/log.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { startOpsServer, type OpsServer } from '../../common/service-http.ts';
import { debloatOptions, type TaskManagerConfig } from '../config/options.ts';
import { FlinkRegistry, type FlinkSample } from '../metrics/flink-registry.ts';
import { ProcessMetrics } from '../metrics/process-metrics.ts';
import { ShuffleService } from '../network/shuffle-service.ts';
import { RpcConnection, type RpcEnvelope } from '../rpc/connection.ts';
import {
  asTaskManagerBound,
  type AcknowledgeCheckpointMessage,
  type HeartbeatMessage,
  type MetricSnapshot,
  type RegisterMessage,
  type TaskStateMessage,
} from '../rpc/messages.ts';
import type { JobDeployment, TaskDeployment } from '../runtime/deployment.ts';
import type { SubtaskStateHandle } from '../checkpoint/metadata.ts';
import { CheckpointWriter, isCheckpointOptions } from './checkpoint-writer.ts';
import { loadJobProgram, type ProgramLoader } from '../runtime/program-loader.ts';
import { TaskExecutor, isTerminal } from '../runtime/task-executor.ts';
import { ViewUpdater } from '../runtime/time-accounting.ts';
import { JobModules } from './job-modules.ts';
import v8 from 'node:v8';

export interface TaskManagerDeps {
  config: TaskManagerConfig;
  log: Logger;
  loader?: ProgramLoader;
}

interface RunningExecution {
  deployment: JobDeployment;
  executors: TaskExecutor[];
  /** Set by cancel; a deployment still loading its module then starts nothing. */
  canceled: boolean;
}

export class TaskManager {
  readonly config: TaskManagerConfig;
  readonly log: Logger;
  readonly registry = new FlinkRegistry();
  readonly shuffle: ShuffleService;
  id = '';
  metricsPort = 0;
  private readonly updater: ViewUpdater;
  private readonly process: ProcessMetrics;
  private readonly modules: JobModules;
  private readonly executions = new Map<string, RunningExecution>();
  readonly checkpointWriter = new CheckpointWriter();
  private ops: OpsServer | null = null;
  private conn: RpcConnection | null = null;
  private registered = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly stopController = new AbortController();
  private connectLoop: Promise<void> | null = null;

  constructor(deps: TaskManagerDeps) {
    this.config = deps.config;
    this.log = deps.log;
    const c = deps.config;
    this.updater = new ViewUpdater(c['metrics.view.update-interval']);
    this.process = new ProcessMetrics(this.updater, this.viewSlots);
    this.modules = new JobModules(c['taskmanager.state.dir'], deps.loader ?? loadJobProgram);
    this.shuffle = new ShuffleService({
      host: c['taskmanager.host'],
      port: c['taskmanager.data.port'],
      capacity: c['taskmanager.network.memory.buffers-per-channel'],
      log: deps.log,
    });
  }

  private get viewSlots(): number {
    return Math.max(1, Math.round(this.config['metrics.view.window'] / this.config['metrics.view.update-interval']));
  }

  get host(): string {
    return this.config['taskmanager.host'];
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  async start(): Promise<void> {
    const dataPort = await this.shuffle.start();
    this.id = this.config['taskmanager.resource-id'] ?? `${this.host}:${dataPort}-${randomBytes(3).toString('hex')}`;
    this.registry.addCollector(() => this.prometheusSamples());
    this.ops = await startOpsServer(this.config['metrics.reporter.prom.host'], this.config['metrics.reporter.prom.port'], {
      registry: this.registry,
      ready: () => (this.registered ? null : 'not registered with the JobManager'),
    });
    this.metricsPort = this.ops.port;
    this.log.info({ taskManagerId: this.id, dataPort, metricsPort: this.metricsPort, slots: this.config['taskmanager.numberOfTaskSlots'] }, 'TaskManager started');
    this.connectLoop = this.keepConnected();
  }

  /** Connects and registers, and does so again whenever the connection is lost. */
  private async keepConnected(): Promise<void> {
    const [host, portText] = splitHostPort(this.config['jobmanager.address']);
    const port = Number(portText);
    let since = Date.now();
    let backoff = 100;
    while (!this.stopping) {
      try {
        const conn = await RpcConnection.connect(host, port, this.config['rpc.ask-timeout'], this.stopController.signal);
        conn.handler = (msg) => this.handle(msg);
        await this.register(conn);
        backoff = 100;
        await new Promise<void>((resolve) => conn.onClosed(() => resolve()));
        this.onJobManagerLost();
        since = Date.now();
      } catch (err) {
        if (this.stopping) return;
        if (Date.now() - since > this.config['taskmanager.registration.timeout']) {
          this.log.error({ err: errorMessage(err) }, 'could not register with the JobManager in time; exiting');
          throw new FlowpilotError('FP_TM_REGISTRATION_TIMEOUT', `could not register with the JobManager at ${this.config['jobmanager.address']}`, { cause: err });
        }
        this.log.warn({ err: errorMessage(err), retryMs: backoff }, 'JobManager not reachable; retrying');
        await sleep(backoff, this.stopController.signal);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /** Settles when the connection loop gives up (registration timeout) or the TM stops. */
  get running(): Promise<void> {
    return this.connectLoop ?? Promise.resolve();
  }

  private async register(conn: RpcConnection): Promise<void> {
    const msg: RegisterMessage = {
      t: 'register',
      taskManagerId: this.id,
      host: this.host,
      dataPort: this.shuffle.port,
      metricsPort: this.metricsPort,
      slots: this.config['taskmanager.numberOfTaskSlots'],
      hardware: { cpuCores: os.availableParallelism(), physicalMemory: os.totalmem(), freeMemory: os.freemem() },
      heapMax: v8.getHeapStatistics().heap_size_limit,
    };
    // The JobManager may deploy to us (from inside its registration handler) before its reply
    // arrives; task state reports for that deployment must go out on this connection, not be dropped.
    this.conn = conn;
    let reply: RpcEnvelope;
    try {
      reply = await conn.request(msg, this.config['rpc.ask-timeout'], this.stopController.signal);
    } catch (err) {
      if (this.conn === conn) this.conn = null;
      throw err;
    }
    this.registered = true;
    const interval = Number(reply.heartbeatIntervalMs ?? this.config['heartbeat.interval']);
    this.log.info({ jobManagerId: reply.jobManagerId }, 'registered with the JobManager');
    this.heartbeat = setInterval(() => this.sendHeartbeat(), interval);
    this.sendHeartbeat();
  }

  private onJobManagerLost(): void {
    this.registered = false;
    this.conn = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.stopping) return;
    this.log.warn('lost the JobManager; cancelling all subtasks');
    for (const executionId of [...this.executions.keys()]) void this.cancelExecution(executionId).then(() => this.release(executionId));
  }

  private sendHeartbeat(): void {
    const conn = this.conn;
    if (!conn || conn.closed) return;
    const hb: HeartbeatMessage = { t: 'heartbeat', taskManagerId: this.id, metrics: this.snapshot() };
    try {
      conn.send(hb);
    } catch {
      // the close handler re-registers
    }
  }

  /** Metric values for the JobManager's REST metric endpoints. */
  snapshot(): MetricSnapshot {
    const tasks: MetricSnapshot['tasks'] = [];
    for (const [executionId, ex] of this.executions) {
      for (const t of ex.executors) {
        tasks.push({
          jobId: ex.deployment.jobId,
          executionId,
          vertexId: t.deps.task.vertexId,
          subtaskIndex: t.deps.task.subtaskIndex,
          attemptNumber: t.deps.task.attemptNumber,
          values: t.metrics.restValues(),
        });
      }
    }
    return { taskManager: this.taskManagerValues(), tasks };
  }

  /** TaskManager-scope values: the process's Status.JVM.* plus the shuffle's buffer use. */
  taskManagerValues(): Record<string, number> {
    const { total, used } = this.shuffle.bufferStats();
    const segment = 32 * 1024; // nominal bytes per buffer, as Flink's default segment size
    return {
      ...this.process.values(),
      'Status.Shuffle.Netty.TotalMemorySegments': total,
      'Status.Shuffle.Netty.UsedMemorySegments': used,
      'Status.Shuffle.Netty.AvailableMemorySegments': total - used,
      'Status.Shuffle.Netty.TotalMemory': total * segment,
      'Status.Shuffle.Netty.UsedMemory': used * segment,
      'Status.Shuffle.Netty.AvailableMemory': (total - used) * segment,
      'Status.Shuffle.Netty.RequestedMemoryUsage': total === 0 ? 0 : used / total,
    };
  }

  private handle(envelope: RpcEnvelope): unknown {
    const msg = asTaskManagerBound(envelope);
    if (msg instanceof Error) throw new FlowpilotError('FP_RPC_UNKNOWN', `TaskManager got a bad message: ${msg.message}`);
    switch (msg.t) {
      case 'deploy':
        return this.deploy(msg.deployment);
      case 'cancel':
        return this.cancelExecution(msg.executionId).then(() => ({}));
      case 'release':
        this.release(msg.executionId);
        return {};
      case 'triggerCheckpoint': {
        // Every TaskManager of the job gets the trigger: its subtasks write into msg.options.dir.
        if (this.executions.has(msg.executionId)) this.checkpointWriter.setTarget(msg.executionId, msg.checkpointId, msg.options);
        for (const t of this.executions.get(msg.executionId)?.executors ?? []) t.triggerCheckpoint(msg.checkpointId, msg.options);
        return undefined;
      }
      case 'notifyCheckpointComplete': {
        for (const t of this.executions.get(msg.executionId)?.executors ?? []) t.notifyCheckpointComplete(msg.checkpointId);
        return undefined;
      }
      case 'disconnect':
        this.conn?.destroy();
        return undefined;
    }
  }

  private async deploy(dep: JobDeployment): Promise<object> {
    // Registered before the module loads, so a cancel or release that overtakes the load is seen.
    let execution = this.executions.get(dep.executionId);
    if (!execution) {
      execution = { deployment: dep, executors: [], canceled: false };
      this.executions.set(dep.executionId, execution);
    }
    let program;
    try {
      program = await this.modules.program(dep);
    } catch (err) {
      if (this.executions.get(dep.executionId) === execution && execution.executors.length === 0) this.executions.delete(dep.executionId);
      throw err;
    }
    if (execution.canceled || this.executions.get(dep.executionId) !== execution || this.stopping) {
      for (const task of dep.tasks) this.reportState(dep, task.vertexId, task.subtaskIndex, task.attemptNumber, 'CANCELED');
      return {};
    }
    const c = this.config;
    for (const task of dep.tasks) {
      const executor = new TaskExecutor({
        taskManagerId: this.id,
        shuffle: this.shuffle,
        program,
        job: { jobId: dep.jobId, jobName: dep.jobName, executionId: dep.executionId, config: dep.config },
        task,
        options: { batchSize: c['taskmanager.network.batch-size'], segmentBytes: c['taskmanager.memory.segment-size'], bufferTimeoutMs: c['execution.buffer-timeout'], viewSlots: this.viewSlots, creditPerChannel: c['taskmanager.network.memory.buffers-per-channel'], debloat: debloatOptions(c) },
        updater: this.updater,
        log: this.log.child({ vertex: task.taskName, subtask: task.subtaskIndex }),
        onState: (state, failure) => this.reportState(dep, task.vertexId, task.subtaskIndex, task.attemptNumber, state, failure),
        onEndOfInput: () => this.reportState(dep, task.vertexId, task.subtaskIndex, task.attemptNumber, 'RUNNING', undefined, true),
        onCheckpoint: (checkpointId, snapshot, failure, options, timing) => {
          if (!snapshot) return this.acknowledge(dep, task, checkpointId, null, failure ?? 'no snapshot');
          // The barrier names the directory; without it the writer waits for the trigger's.
          if (isCheckpointOptions(options)) this.checkpointWriter.setTarget(dep.executionId, checkpointId, options);
          // The task goes on processing; the ack goes out once the state file is fsync'd.
          const writeStart = performance.now();
          this.checkpointWriter.write(dep.executionId, task.vertexId, task.subtaskIndex, checkpointId, snapshot).then(
            (handle) => {
              if (timing && this.log.isLevelEnabled('debug')) {
                const ms = (v: number) => Math.round(v * 1000) / 1000;
                this.log.debug(
                  { checkpointId, vertex: task.vertexId, subtask: task.subtaskIndex, syncMs: ms(timing.syncMs), alignmentMs: ms(timing.alignmentMs), startDelayMs: ms(timing.startDelayMs), asyncMs: ms(performance.now() - writeStart), bytes: handle.size },
                  'checkpoint state written',
                );
              }
              this.acknowledge(dep, task, checkpointId, handle);
            },
            (err: unknown) => {
              this.log.warn({ err: errorMessage(err), checkpointId, vertex: task.taskName, subtask: task.subtaskIndex }, 'could not write the checkpoint state file; declining');
              this.acknowledge(dep, task, checkpointId, null, `could not write the state file: ${errorMessage(err)}`);
            },
          );
        },
      });
      execution.executors.push(executor);
      executor.start().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'task crashed'));
    }
    // Report the new subtasks' metrics soon rather than at the next heartbeat.
    setTimeout(() => this.sendHeartbeat(), 200).unref();
    return {};
  }

  /** Acknowledges (handle) or declines (null, failure) a checkpoint for one subtask. */
  private acknowledge(dep: JobDeployment, task: TaskDeployment, checkpointId: number, handle: SubtaskStateHandle | null, failure?: string): void {
    const ack: AcknowledgeCheckpointMessage = {
      t: 'acknowledgeCheckpoint',
      taskManagerId: this.id,
      jobId: dep.jobId,
      executionId: dep.executionId,
      vertexId: task.vertexId,
      subtaskIndex: task.subtaskIndex,
      checkpointId,
      handle,
    };
    if (failure !== undefined) ack.failure = failure;
    try {
      this.conn?.send(ack);
    } catch {
      // the JobManager is gone; the checkpoint times out there
    }
  }

  private reportState(dep: JobDeployment, vertexId: string, subtaskIndex: number, attemptNumber: number, state: TaskStateMessage['state'], failure?: string, endOfInput?: boolean): void {
    const msg: TaskStateMessage = {
      t: 'taskState',
      taskManagerId: this.id,
      jobId: dep.jobId,
      executionId: dep.executionId,
      vertexId,
      subtaskIndex,
      attemptNumber,
      state,
      timestamp: Date.now(),
    };
    if (failure !== undefined) msg.failure = failure;
    if (endOfInput) msg.endOfInput = true;
    try {
      this.conn?.send(msg);
    } catch {
      // the JobManager is gone; it will learn the outcome from the cancellation
    }
  }

  private async cancelExecution(executionId: string): Promise<void> {
    const ex = this.executions.get(executionId);
    if (!ex) return;
    ex.canceled = true;
    await Promise.all(ex.executors.map((t) => t.cancel()));
  }

  private release(executionId: string): void {
    const ex = this.executions.get(executionId);
    if (ex) {
      for (const t of ex.executors) if (!isTerminal(t.state)) void t.cancel();
      for (const t of ex.executors) t.dispose();
      this.executions.delete(executionId);
    }
    this.checkpointWriter.release(executionId);
    this.shuffle.releaseExecution(executionId);
  }

  private *prometheusSamples(): Iterable<FlinkSample> {
    const tmLabels = { host: this.host, tm_id: this.id };
    for (const [name, value] of Object.entries(this.taskManagerValues())) yield { scope: 'taskmanager', name, labels: tmLabels, value };
    for (const ex of this.executions.values()) {
      const d = ex.deployment;
      for (const t of ex.executors) {
        if (isTerminal(t.state)) continue;
        const task = t.deps.task;
        const labels = {
          host: this.host,
          tm_id: this.id,
          job_id: d.jobId,
          job_name: d.jobName,
          task_id: task.vertexId,
          task_name: task.taskName,
          task_attempt_id: task.attemptId,
          task_attempt_num: String(task.attemptNumber),
          subtask_index: String(task.subtaskIndex),
        };
        const opLabels = { ...labels, operator_id: task.headOperator.id, operator_name: task.headOperator.name };
        for (const s of t.metrics.samples()) {
          if (s.scope === 'task') yield { scope: 'taskmanager_job_task', name: s.name, labels, value: s.value };
          else yield { scope: 'taskmanager_job_task_operator', name: s.name, labels: s.labels ? { ...opLabels, ...s.labels } : opLabels, value: s.value };
        }
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopController.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.all([...this.executions.keys()].map((id) => this.cancelExecution(id)));
    this.conn?.close();
    await this.ops?.close();
    await this.shuffle.close();
    this.process.stop();
    this.updater.stop();
  }
}

export function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i <= 0) throw new FlowpilotError('FP_ENGINE_CONFIG', `bad address "${address}": expected HOST:PORT`);
  return [address.slice(0, i), address.slice(i + 1)];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
