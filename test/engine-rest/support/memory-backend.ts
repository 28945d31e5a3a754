/**
 * An in-memory RestBackend with realistic cluster data, for testing the HTTP layer on its own:
 * an order-enrichment job (4 vertices, one backpressured, checkpointing on, adaptive
 * scheduler), a finished word-count job (checkpointing off), and two TaskManagers. Commands
 * really change the state (cancel, savepoints that complete on the second poll, stop, resource
 * requirements that rescale), and submitJob really imports the uploaded module and calls its
 * default export, so a module that throws surfaces as FP_JOB_BUILD. The JobManager's own
 * integration tests cover the real backend.
 */
import { pathToFileURL } from 'node:url';
import { FlowpilotError, errorMessage } from '../../../common/errors.ts';
import { validateResourceRequirements } from '../../../engine/contracts/resources.ts';
import type {
  CheckpointConfigView, CheckpointStatsView, CheckpointView, ExecutionState, JobView, MetricValues, ResourceRequirements,
  ResourceRequirementsOutcome, RestBackend, SavepointOperation, SavepointRequest, SubmitJobRequest, SubtaskView, TaskManagerView, VertexView,
} from '../../../engine/rest/backend.ts';

export const T0 = 1_763_700_000_000;
export const NOW = T0 + 3_600_000;
export const ORDERS_JOB = '5e20cb6b0f357591171dfcca2eea09de';
export const WORDCOUNT_JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const V_SOURCE = 'bc764cd8ddf7a0cff126f51c16239658';
export const V_ENRICH = '20ba6b65f97481d5570070de90e4e791';
export const V_WINDOW = '6d2677a0ecc3fd8df0b72ec675edf8f4';
export const V_SINK = 'ea632d67b7d595e5b851708ae9ad79d6';
export const TM1 = '127.0.0.1:40125-5a1c3e';
export const TM2 = '127.0.0.1:40377-9f02bd';

const MiB = 1024 * 1024;

function subtasks(n: number, status: ExecutionState, start: number): SubtaskView[] {
  return Array.from({ length: n }, (_, index) => {
    const tm = index % 2 === 0 ? TM1 : TM2;
    const ts: SubtaskView['statusTimestamps'] = { CREATED: start, SCHEDULED: start + 5, DEPLOYING: start + 20 };
    if (status !== 'CREATED') {
      ts.INITIALIZING = start + 60;
      ts.RUNNING = start + 400 + index;
    }
    if (status === 'FINISHED' || status === 'CANCELED') ts[status] = start + 900_000;
    return { index, status, attempt: 0, endpoint: tm === TM1 ? '127.0.0.1:40125' : '127.0.0.1:40377', taskManagerId: tm, statusTimestamps: ts };
  });
}

function vertex(id: string, name: string, operators: string[], p: number, inputs: VertexView['inputs'], status: ExecutionState, start: number): VertexView {
  return { id, name, parallelism: p, maxParallelism: 128, operatorNames: operators, inputs, subtasks: subtasks(p, status, start) };
}

function ordersJob(): JobView {
  return {
    jobId: ORDERS_JOB,
    name: 'order-enrichment',
    status: 'RUNNING',
    jobType: 'STREAMING',
    statusTimestamps: { INITIALIZING: T0, CREATED: T0 + 50, RUNNING: T0 + 400 },
    endTime: -1,
    maxParallelism: -1,
    schedulerType: 'Adaptive',
    parallelism: 2,
    restartStrategy: 'Restart with fixed delay (1000 ms). #3 restart attempts.',
    config: { 'execution.checkpointing.interval': '10 s', 'pipeline.object-reuse': 'false' },
    vertices: [
      vertex(V_SOURCE, 'Source: orders', ['Source: orders'], 2, [], 'RUNNING', T0 + 100),
      vertex(V_ENRICH, 'Async enrichment -> Map', ['Async enrichment', 'Map'], 4, [{ sourceVertexId: V_SOURCE, ship: 'REBALANCE' }], 'RUNNING', T0 + 100),
      vertex(V_WINDOW, 'TumblingEventTimeWindows(10000)', ['TumblingEventTimeWindows(10000)'], 4, [{ sourceVertexId: V_ENRICH, ship: 'HASH' }], 'RUNNING', T0 + 100),
      vertex(V_SINK, 'Sink: file', ['Sink: file'], 2, [{ sourceVertexId: V_WINDOW, ship: 'REBALANCE' }], 'RUNNING', T0 + 100),
    ],
    exceptions: [
      {
        exceptionName: 'Error',
        stacktrace: 'Error: enrichment service timed out\n    at enrich (engine/jobs/order-enrichment.ts:42:11)',
        timestamp: T0 + 1_200_000,
        taskName: 'Async enrichment -> Map (3/4)#0',
        endpoint: '127.0.0.1:40377',
        taskManagerId: TM2,
        failureLabels: { type: 'user' },
        concurrentExceptions: [],
      },
      { exceptionName: 'FlowpilotError', stacktrace: 'FlowpilotError: TaskManager lost', timestamp: T0 + 600_000, failureLabels: {} },
    ],
  };
}

function wordCountJob(): JobView {
  return {
    jobId: WORDCOUNT_JOB,
    name: 'word-count',
    status: 'FINISHED',
    jobType: 'STREAMING',
    statusTimestamps: { INITIALIZING: T0 - 7_200_000, CREATED: T0 - 7_199_990, RUNNING: T0 - 7_199_600, FINISHED: T0 - 7_200_000 + 900_100 },
    endTime: T0 - 7_200_000 + 900_100,
    maxParallelism: -1,
    schedulerType: 'Default',
    parallelism: 1,
    restartStrategy: 'Cluster level default restart strategy',
    config: {},
    vertices: [
      vertex('0a448493b4782967b150582570326227', 'Source: lines -> Flat Map', ['Source: lines', 'Flat Map'], 1, [], 'FINISHED', T0 - 7_200_000),
      vertex('3d3c4b8d4b3e4c2f9a1b2c3d4e5f6a7b', 'Count -> Sink: log', ['Count', 'Sink: log'], 1,
        [{ sourceVertexId: '0a448493b4782967b150582570326227', ship: 'HASH' }], 'FINISHED', T0 - 7_200_000),
    ],
    exceptions: [],
  };
}

function taskManager(id: string, port: number, freeSlots: number, jobId: string): TaskManagerView {
  return {
    id,
    path: `flowpilot://127.0.0.1:${port - 1}/taskmanager`,
    dataPort: port,
    jmxPort: -1,
    lastHeartbeat: NOW - 1200,
    slotsNumber: 4,
    freeSlots,
    hardware: { cpuCores: 2, physicalMemory: 8 * 1024 * MiB, freeMemory: 512 * MiB, managedMemory: 0 },
    memory: {
      frameworkHeap: 128 * MiB, taskHeap: 384 * MiB, frameworkOffHeap: 128 * MiB, taskOffHeap: 0, networkMemory: 64 * MiB,
      managedMemory: 0, jvmMetaspace: 0, jvmOverhead: 0, totalFlinkMemory: 704 * MiB, totalProcessMemory: 704 * MiB,
    },
    allocatedSlots: Array.from({ length: 4 - freeSlots }, () => ({ jobId })),
  };
}

/** Realistic per-subtask metrics: the window vertex is the bottleneck, so the enrichment upstream is backpressured. */
function taskMetrics(v: VertexView, index: number): MetricValues {
  const busy = v.id === V_WINDOW ? 910 + index * 20 : v.id === V_SOURCE ? 120 + index : 240 + index * 10;
  const bp = v.id === V_ENRICH ? 640 - index * 40 : 0;
  const rate = v.id === V_SOURCE ? 1000 : 500;
  const m: MetricValues = {
    numRecordsIn: v.id === V_SOURCE ? 0 : 1_800_000 + index * 1_000,
    numRecordsOut: 1_800_000 + index * 900,
    numRecordsInPerSecond: v.id === V_SOURCE ? 0 : rate,
    numRecordsOutPerSecond: rate,
    numBytesIn: v.id === V_SOURCE ? 0 : 90_000_000 + index,
    numBytesOut: 91_000_000 + index,
    busyTimeMsPerSecond: busy,
    idleTimeMsPerSecond: Math.max(0, 1000 - busy - bp),
    backPressuredTimeMsPerSecond: bp,
    isBackPressured: bp > 500,
    accumulateBusyTimeMs: busy * 3600.5,
    accumulateIdleTimeMs: Math.max(0, 1000 - busy - bp) * 3600,
    accumulateBackPressuredTimeMs: bp * 3600,
    currentInputWatermark: v.id === V_SOURCE ? '-9223372036854775808' : NOW - 2_000,
    currentOutputWatermark: NOW - 2_000,
  };
  if (v.id === V_SOURCE) {
    m['Source__orders.pendingRecords'] = 1500 + index * 250;
    m['Source__orders.numRecordsOut'] = 1_800_000 + index * 900;
    m['Source__orders.numRecordsOutPerSecond'] = rate;
  }
  return m;
}

function checkpoint(id: number, status: CheckpointView['status'], trigger: number, extra: Partial<CheckpointView> = {}): CheckpointView {
  const done = status === 'COMPLETED';
  return {
    id, status, isSavepoint: false, savepointFormat: null, checkpointType: 'CHECKPOINT', triggerTimestamp: trigger,
    latestAckTimestamp: trigger + (done ? 800 + id * 10 : 300), checkpointedSize: done ? 2_000_000 + id * 1000 : 0,
    stateSize: done ? 8_000_000 + id * 4000 : 0, endToEndDuration: done ? 800 + id * 10 : 300, processedData: 0, persistedData: 0,
    numSubtasks: 12, numAcknowledgedSubtasks: done ? 12 : 5,
    ...(done ? { externalPath: `file:/tmp/flowpilot/checkpoints/${ORDERS_JOB}/chk-${id}`, discarded: false } : {}),
    tasks: {
      [V_WINDOW]: {
        status, latestAckTimestamp: trigger + 700, checkpointedSize: done ? 1_900_000 : 0, stateSize: done ? 7_900_000 : 0,
        endToEndDuration: 700, numSubtasks: 4, numAcknowledgedSubtasks: done ? 4 : 1,
      },
    },
    ...extra,
  };
}

export class MemoryBackend implements RestBackend {
  readonly jobs = new Map<string, JobView>();
  readonly taskManagers: TaskManagerView[];
  readonly requirements = new Map<string, ResourceRequirements>();
  readonly triggers = new Map<string, { polls: number; location: string; failure?: string; onDone?: () => void }>();
  savepointDir: string | null = null;
  submitted: SubmitJobRequest[] = [];
  private counter = 0;

  constructor() {
    for (const j of [ordersJob(), wordCountJob()]) this.jobs.set(j.jobId, j);
    this.taskManagers = [taskManager(TM1, 40125, 0, ORDERS_JOB), taskManager(TM2, 40377, 0, ORDERS_JOB)];
    const orders = this.jobs.get(ORDERS_JOB)!;
    this.requirements.set(ORDERS_JOB, Object.fromEntries(orders.vertices.map((v) => [v.id, { lowerBound: 1, upperBound: v.parallelism }])));
  }

  jobManagerConfig(): Record<string, string> {
    return { 'rest.port': '8081', 'jobmanager.scheduler': 'adaptive', 'parallelism.default': '2', 'metrics.reporter.prom.port': '9249' };
  }

  listJobs(): JobView[] {
    return [...this.jobs.values()];
  }

  getJob(jobId: string): JobView | undefined {
    return this.jobs.get(jobId);
  }

  listTaskManagers(): TaskManagerView[] {
    return this.taskManagers;
  }

  jobManagerMetrics(): MetricValues {
    const total = this.taskManagers.reduce((s, t) => s + t.slotsNumber, 0);
    const free = this.taskManagers.reduce((s, t) => s + t.freeSlots, 0);
    return {
      taskSlotsTotal: total, taskSlotsAvailable: free, numRegisteredTaskManagers: this.taskManagers.length,
      numRunningJobs: [...this.jobs.values()].filter((j) => j.status === 'RUNNING').length,
      'Status.JVM.Memory.Heap.Used': 61_203_456, 'Status.JVM.Memory.Heap.Max': 4_345_298_944,
    };
  }

  jobMetrics(jobId: string): MetricValues | undefined {
    const job = this.jobs.get(jobId);
    if (!job) return undefined;
    return {
      uptime: job.status === 'RUNNING' ? NOW - (job.statusTimestamps.RUNNING ?? NOW) : 0,
      downtime: 0, numRestarts: jobId === ORDERS_JOB ? 2 : 0, fullRestarts: jobId === ORDERS_JOB ? 2 : 0,
      ...(jobId === ORDERS_JOB
        ? { lastCheckpointDuration: 920, lastCheckpointSize: 2_012_000, numberOfCompletedCheckpoints: 12, numberOfFailedCheckpoints: 1, numberOfInProgressCheckpoints: 1 }
        : {}),
    };
  }

  subtaskMetrics(jobId: string, vertexId: string): MetricValues[] | undefined {
    const v = this.jobs.get(jobId)?.vertices.find((x) => x.id === vertexId);
    if (!v) return undefined;
    if (this.jobs.get(jobId)!.status !== 'RUNNING') return [];
    return v.subtasks.map((st) => taskMetrics(v, st.index));
  }

  taskManagerMetrics(taskManagerId: string): MetricValues | undefined {
    const i = this.taskManagers.findIndex((t) => t.id === taskManagerId);
    if (i < 0) return undefined;
    return {
      'Status.JVM.Memory.Heap.Used': 150_000_000 + i * 20_000_000, 'Status.JVM.Memory.Heap.Committed': 210_000_000,
      'Status.JVM.Memory.Heap.Max': 402_653_184, 'Status.JVM.Memory.NonHeap.Used': 40_000_000,
      'Status.JVM.Memory.NonHeap.Committed': 48_000_000, 'Status.JVM.Memory.NonHeap.Max': -1,
      'Status.JVM.Memory.Metaspace.Used': 0, 'Status.Flink.Memory.Managed.Used': 0,
      'Status.JVM.GarbageCollector.Scavenge.Count': 310 + i, 'Status.JVM.GarbageCollector.Scavenge.Time': 820,
      'Status.JVM.GarbageCollector.MarkSweepCompact.Count': 4, 'Status.JVM.GarbageCollector.MarkSweepCompact.Time': 95,
      'Status.JVM.GarbageCollector.All.TimeMsPerSecond': 3.5, 'Status.JVM.CPU.Load': 0.42,
    };
  }

  checkpointStats(jobId: string): CheckpointStatsView | undefined {
    if (jobId !== ORDERS_JOB) return undefined;
    const c12 = checkpoint(12, 'COMPLETED', NOW - 10_000);
    const c11 = checkpoint(11, 'COMPLETED', NOW - 20_000);
    const f10 = checkpoint(10, 'FAILED', NOW - 30_000, { failureTimestamp: NOW - 29_000, failureMessage: 'Checkpoint expired before completing.' });
    const p13 = checkpoint(13, 'IN_PROGRESS', NOW - 200);
    return {
      counts: { restored: 0, total: 13, inProgress: 1, completed: 11, failed: 1 },
      history: [p13, c12, c11, f10],
      latestCompleted: c12, latestSavepoint: null, latestFailed: f10, restored: null,
    };
  }

  checkpointConfig(jobId: string): CheckpointConfigView | undefined {
    if (jobId !== ORDERS_JOB) return undefined;
    return {
      mode: 'EXACTLY_ONCE', interval: 10_000, timeout: 600_000, minPause: 0, maxConcurrent: 1,
      externalization: { enabled: true, deleteOnCancellation: false }, stateBackend: 'HashMapStateBackend',
      checkpointStorage: 'FileSystemCheckpointStorage', unalignedCheckpoints: false, tolerableFailedCheckpoints: 0,
      alignedCheckpointTimeout: 0, checkpointsAfterTasksFinish: true, stateChangelogEnabled: false,
      changelogStorage: 'memory', changelogPeriodicMaterializationInterval: 600_000,
    };
  }

  getResourceRequirements(jobId: string): ResourceRequirements | undefined {
    return this.requirements.get(jobId);
  }

  async setResourceRequirements(jobId: string, requested: ResourceRequirements): Promise<ResourceRequirementsOutcome> {
    const job = this.jobs.get(jobId)!;
    if (job.schedulerType !== 'Adaptive') throw new FlowpilotError('FP_REST_BAD_REQUEST', 'Job is not using the adaptive scheduler.');
    const requirements = validateResourceRequirements(job.vertices, requested);
    this.requirements.set(jobId, requirements);
    job.vertices = job.vertices.map((v) => {
      const p = requirements[v.id]!.upperBound;
      return p === v.parallelism ? v : { ...v, parallelism: p, subtasks: subtasks(p, 'RUNNING', NOW - 1000) };
    });
    const parallelism = Object.fromEntries(Object.entries(requirements).map(([id, b]) => [id, b.upperBound]));
    return { requirements, parallelism, availableSlots: Number.MAX_SAFE_INTEGER, rescaling: true, lowerBoundUnmet: [] };
  }

  async submitJob(request: SubmitJobRequest): Promise<{ jobId: string }> {
    this.submitted.push(request);
    let built: { name?: unknown };
    try {
      const mod = (await import(pathToFileURL(request.modulePath).href)) as { default: (args: string[]) => { name?: unknown } };
      built = mod.default(request.programArgs);
    } catch (err) {
      throw new FlowpilotError('FP_JOB_BUILD', `The job module ${request.modulePath} threw while building the job: ${errorMessage(err)}`, { cause: err });
    }
    const jobId = request.jobId ?? (++this.counter).toString(16).padStart(32, '0');
    const p = request.parallelism ?? 1;
    const name = typeof built.name === 'string' ? built.name : 'job';
    this.jobs.set(jobId, {
      ...wordCountJob(), jobId, name, status: 'RUNNING', endTime: -1, parallelism: p,
      statusTimestamps: { INITIALIZING: NOW - 500, CREATED: NOW - 490, RUNNING: NOW - 100 },
      vertices: [vertex(`${jobId.slice(0, 24)}00000001`, `Source: ${name}`, [`Source: ${name}`], p, [], 'RUNNING', NOW - 480)],
    });
    return { jobId };
  }

  async cancelJob(jobId: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) throw new FlowpilotError('FP_REST_NOT_FOUND', 'Job could not be found.');
    if (job.status === 'CANCELED') return;
    if (job.status === 'FINISHED' || job.status === 'FAILED') {
      throw new FlowpilotError('FP_REST_CONFLICT', `Job cancellation failed because the job has already reached another terminal state (${job.status}).`);
    }
    job.status = 'CANCELED';
    job.statusTimestamps = { ...job.statusTimestamps, CANCELLING: NOW, CANCELED: NOW + 5 };
    job.endTime = NOW + 5;
  }

  private newTrigger(jobId: string, req: SavepointRequest, onDone?: () => void): { triggerId: string } {
    const dir = req.targetDirectory ?? this.savepointDir;
    if (!dir) {
      throw new FlowpilotError('FP_REST_BAD_REQUEST',
        'Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.');
    }
    const triggerId = req.triggerId ?? `${(++this.counter).toString(16).padStart(8, '0')}${'5'.repeat(24)}`;
    const location = `file:${dir}/savepoint-${jobId.slice(0, 6)}-${triggerId.slice(0, 12)}`;
    this.triggers.set(`${jobId}/${triggerId}`, {
      polls: 0, location, ...(dir.includes('fail') ? { failure: 'disk full' } : {}), ...(onDone ? { onDone } : {}),
    });
    return { triggerId };
  }

  async triggerSavepoint(jobId: string, request: SavepointRequest & { cancelJob: boolean }): Promise<{ triggerId: string }> {
    return this.newTrigger(jobId, request, request.cancelJob ? () => void this.cancelJob(jobId) : undefined);
  }

  async stopWithSavepoint(jobId: string, request: SavepointRequest & { drain: boolean }): Promise<{ triggerId: string }> {
    return this.newTrigger(jobId, request, () => {
      const job = this.jobs.get(jobId)!;
      job.status = 'FINISHED';
      job.endTime = NOW + 10;
    });
  }

  savepointStatus(jobId: string, triggerId: string): SavepointOperation | undefined {
    const t = this.triggers.get(`${jobId}/${triggerId}`);
    if (!t) return undefined;
    t.polls++;
    if (t.polls < 2) return { status: 'IN_PROGRESS' };
    if (t.polls === 2) t.onDone?.();
    if (t.failure) {
      return { status: 'COMPLETED', failure: { className: 'FlowpilotError', message: t.failure, stackTrace: `FlowpilotError: ${t.failure}` } };
    }
    return { status: 'COMPLETED', location: t.location };
  }
}
