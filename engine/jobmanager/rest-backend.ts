/**
 * The JobManager's implementation of the REST layer's RestBackend (engine/rest/backend.ts):
 * plain-data views of jobs, vertices, subtasks and TaskManagers, metric values (JobManager and
 * job scope computed here; task, operator and TaskManager scope from the latest heartbeat
 * snapshots), and the submit and cancel commands.
 */
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type {
  JobView,
  MetricValues,
  RestBackend,
  SubmitJobRequest,
  SubtaskView,
  TaskManagerView,
  VertexView,
} from '../rest/backend.ts';
import { REST_ERROR_STATUS } from '../rest/backend.ts';
import type { JobManager } from './job-manager.ts';
import type { JobMaster } from './job-master.ts';
import type { RegisteredTaskManager } from './resource-manager.ts';

const MIB = 1024 * 1024;

/**
 * An error caused by what a request asked for: kept when it already maps to an HTTP status
 * (FP_REST_*, FP_JOB_BUILD, an explicit httpStatus), else a 400 with the reason.
 */
function requestError(err: unknown, what: string): Error {
  if (err instanceof FlowpilotError && (err.code in REST_ERROR_STATUS || typeof err.details?.httpStatus === 'number')) return err;
  return new FlowpilotError('FP_REST_BAD_REQUEST', `${what}: ${errorMessage(err)}`, { cause: err });
}

export function createRestBackend(jm: JobManager): RestBackend {
  const tmEndpoint = (id: string | null): string => {
    if (!id) return '(unassigned)';
    const tm = jm.resources.taskManagers.get(id);
    return tm ? `${tm.host}:${tm.dataPort}` : id.split('-')[0] ?? id;
  };

  const jobView = (job: JobMaster): JobView => {
    const vertices: VertexView[] = job.graph.vertices.map((v) => ({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      operatorNames: v.operators.map((o) => o.name),
      inputs: v.inputs.map((e) => ({ sourceVertexId: e.sourceVertexId, ship: e.ship })),
      subtasks: (job.subtasks.get(v.id) ?? []).map(
        (r): SubtaskView => ({
          index: r.index,
          status: r.state,
          attempt: r.attempt,
          endpoint: tmEndpoint(r.taskManagerId),
          taskManagerId: r.taskManagerId,
          statusTimestamps: { ...r.timestamps },
        }),
      ),
    }));
    return {
      jobId: job.jobId,
      name: job.name,
      status: job.status,
      jobType: 'STREAMING',
      statusTimestamps: { ...job.statusTimestamps },
      endTime: job.endTime,
      maxParallelism: -1,
      schedulerType: 'Default',
      parallelism: job.submission.parallelism ?? jm.config['parallelism.default'],
      restartStrategy: job.restartDescription,
      config: { ...job.graph.config },
      vertices,
      exceptions: job.exceptions.map((e) => ({ ...e })),
    };
  };

  const tmView = (tm: RegisteredTaskManager): TaskManagerView => {
    const free = tm.slots.filter((s) => s === null).length;
    const heap = tm.heapMax;
    return {
      id: tm.id,
      path: `flowpilot://${tm.host}:${tm.dataPort}/taskmanager`,
      dataPort: tm.dataPort,
      lastHeartbeat: tm.lastHeartbeat,
      slotsNumber: tm.slots.length,
      freeSlots: free,
      hardware: { cpuCores: tm.hardware.cpuCores, physicalMemory: tm.hardware.physicalMemory, freeMemory: tm.hardware.freeMemory, managedMemory: 0 },
      memory: {
        frameworkHeap: 0,
        taskHeap: heap,
        frameworkOffHeap: 0,
        taskOffHeap: 0,
        networkMemory: 64 * MIB,
        managedMemory: 0,
        jvmMetaspace: 0,
        jvmOverhead: 0,
        totalFlinkMemory: heap + 64 * MIB,
        totalProcessMemory: heap + 64 * MIB,
      },
      allocatedSlots: tm.slots.filter((s): s is string => s !== null).map((jobId) => ({ jobId })),
    };
  };

  const mustJob = (jobId: string): JobMaster => {
    const job = jm.jobs.get(jobId);
    if (!job) throw new FlowpilotError('FP_REST_NOT_FOUND', `Job ${jobId} not found`);
    return job;
  };

  const mustRunning = (jobId: string): JobMaster => {
    const job = mustJob(jobId);
    if (job.isTerminal) throw new FlowpilotError('FP_REST_CONFLICT', `Job ${jobId} is in state ${job.status}; a savepoint needs a running job.`);
    return job;
  };

  return {
    jobManagerConfig(): Record<string, string> {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(jm.config)) if (v !== undefined) out[k] = String(v);
      return out;
    },

    listJobs: () => [...jm.jobs.values()].map(jobView),
    getJob: (jobId) => {
      const job = jm.jobs.get(jobId);
      return job ? jobView(job) : undefined;
    },
    listTaskManagers: () => [...jm.resources.taskManagers.values()].map(tmView),

    jobManagerMetrics: () => jm.jobManagerValues(),
    jobMetrics: (jobId) => jm.jobs.get(jobId)?.metrics(),

    subtaskMetrics(jobId, vertexId): MetricValues[] | undefined {
      const job = jm.jobs.get(jobId);
      const recs = job?.subtasks.get(vertexId);
      if (!job || !recs) return undefined;
      const out: MetricValues[] = recs.map(() => ({}));
      for (const tm of jm.resources.taskManagers.values()) {
        for (const t of tm.metrics.tasks) {
          if (t.jobId !== jobId || t.vertexId !== vertexId || t.executionId !== job.executionId) continue;
          if (t.subtaskIndex < out.length) out[t.subtaskIndex] = t.values;
        }
      }
      return out;
    },

    taskManagerMetrics: (id) => jm.resources.taskManagers.get(id)?.metrics.taskManager,

    checkpointStats: (jobId) => {
      const job = jm.jobs.get(jobId);
      return job?.checkpointingEnabled ? job.checkpoints.stats() : undefined;
    },
    checkpointConfig: (jobId) => {
      const job = jm.jobs.get(jobId);
      return job?.checkpointingEnabled ? job.checkpoints.config() : undefined;
    },

    async triggerSavepoint(jobId, request) {
      const job = mustRunning(jobId);
      const target = await jm.checkSavepointPath(request.targetDirectory ?? job.defaultSavepointTarget, 'savepoint target');
      return { triggerId: job.requestSavepoint(target, request.cancelJob ? 'cancel' : 'none', request.triggerId) };
    },

    async stopWithSavepoint(jobId, request) {
      const job = mustRunning(jobId);
      const target = await jm.checkSavepointPath(request.targetDirectory ?? job.defaultSavepointTarget, 'savepoint target');
      return { triggerId: job.requestSavepoint(target, 'stop', request.triggerId) };
    },

    savepointStatus: (jobId, triggerId) => jm.jobs.get(jobId)?.savepointStatus(triggerId),

    getResourceRequirements: (jobId) => jm.jobs.get(jobId)?.resourceRequirements,

    async setResourceRequirements(jobId, requested) {
      const job = mustJob(jobId);
      // Reactive mode runs one job on every slot; otherwise the job gets the free slots and the ones it holds.
      const slots = jm.config['scheduler-mode'] === 'reactive' ? jm.resources.totalSlots : jm.resources.availableSlots + job.heldSlots;
      return job.setResourceRequirements(requested, slots).catch((err: unknown) => {
        throw requestError(err, 'The job cannot run at the requested parallelism');
      });
    },

    async submitJob(request: SubmitJobRequest): Promise<{ jobId: string }> {
      // As Flink's JarRunHandler: whatever stops the program from becoming a running job is the request's problem (400).
      const job = await jm.submit({
        savepointPath: request.savepointPath,
        allowNonRestoredState: request.allowNonRestoredState,
        modulePath: request.modulePath,
        programArgs: request.programArgs,
        parallelism: request.parallelism,
        jobId: request.jobId,
        configuration: request.configuration,
      }).catch((err: unknown) => {
        throw requestError(err, 'Could not run the job module');
      });
      return { jobId: job.jobId };
    },

    async cancelJob(jobId: string): Promise<void> {
      const job = mustJob(jobId);
      if (job.isTerminal) {
        throw new FlowpilotError('FP_REST_CONFLICT', `Job ${jobId} is in state ${job.status} and cannot be canceled.`);
      }
      void job.cancel();
    },
  };
}
