/**
 * Entry points for the engine's processes as the CLI runs them: parse flags into the typed
 * config, start the JobManager or TaskManager, wire SIGTERM/SIGINT to a graceful stop, and,
 * when started by a parent launcher (`flowpilot up`), exit when that parent goes away (its IPC
 * channel closes or its pid disappears) so no process is left behind.
 */
import { createHash } from 'node:crypto';
import { createLogger } from '../../common/log.ts';
import { parseHaType } from '../ha/ha-services.ts';
import { resolveJob } from './launcher.ts';
import { onShutdown, shutdown } from '../../common/shutdown.ts';
import { parseDynamicProperties, parseJobManagerConfig, parseTaskManagerConfig } from '../config/options.ts';

export interface JobManagerFlags {
  restPort?: string;
  rpcPort?: string;
  metricsPort?: string;
  stateDir?: string;
  host?: string;
  job?: string[];
  programArgs?: string;
  parallelism?: string;
  define?: string[];
}

export interface TaskManagerFlags {
  jobmanager?: string;
  slots?: string;
  metricsPort?: string;
  dataPort?: string;
  host?: string;
  stateDir?: string;
  resourceId?: string;
  define?: string[];
}

/** Exit when the launching parent dies: IPC disconnect, or its pid no longer exists. */
export function exitWithParent(parentPid: number | undefined): void {
  if (process.send) process.on('disconnect', () => void shutdown(0));
  if (!parentPid) return;
  const t = setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      void shutdown(0);
    }
  }, 500);
  t.unref();
}

function parentPid(): number | undefined {
  const v = process.env.FLOWPILOT_PARENT_PID;
  return v ? Number(v) : undefined;
}

export async function runJobManager(flags: JobManagerFlags): Promise<void> {
  // First of all: a parent that dies while this process still starts (loads modules, recovers
  // jobs from the HA store) must take it down too; closers registered later still run.
  exitWithParent(parentPid());
  const log = createLogger({ name: 'jobmanager' });
  const config = parseJobManagerConfig({
    ...parseDynamicProperties(flags.define ?? []),
    'rest.port': flags.restPort,
    'jobmanager.rpc.port': flags.rpcPort,
    'metrics.reporter.prom.port': flags.metricsPort,
    'state.dir': flags.stateDir,
    'jobmanager.rpc.address': flags.host,
    'rest.address': flags.host,
    'metrics.reporter.prom.host': flags.host,
  });
  const { JobManager } = await import('../jobmanager/job-manager.ts');
  const { startRestEndpoint } = await import('../jobmanager/rest-endpoint.ts');
  const jm = new JobManager({ config, log });
  await jm.start();
  const rest = await startRestEndpoint(jm);
  onShutdown(() => jm.stop());
  onShutdown(() => rest.close());
  const ports = { restPort: rest.port, rpcPort: jm.rpcPort, metricsPort: jm.metricsPort };
  log.info(ports, 'JobManager ready');
  process.send?.({ type: 'ready', role: 'jobmanager', ...ports });
  const ha = parseHaType(config['high-availability.type']) !== 'none';
  for (const [index, job0] of (flags.job ?? []).entries()) {
    try {
      // A sample job's name (engine/jobs/NAME.ts) or a module path.
      const modulePath = resolveJob(job0);
      // With HA the job started at launch has a fixed id (as Flink's application mode): a restarted
      // JobManager that recovered it from the HA store does not submit a second copy.
      const jobId = ha ? createHash('sha256').update(`${config['kubernetes.cluster-id'] ?? config['high-availability.cluster-id']}\0${index}\0${job0}`).digest('hex').slice(0, 32) : undefined;
      if (jobId && jm.jobs.has(jobId)) {
        log.info({ jobId }, 'the job given with --job was recovered from the HA store; not submitting it again');
        process.send?.({ type: 'submitted', jobId, name: jm.jobs.get(jobId)!.name });
        continue;
      }
      const job = await jm.submit({
        ...(jobId ? { jobId } : {}),
        modulePath,
        programArgs: flags.programArgs ? flags.programArgs.split(' ').filter(Boolean) : [],
        parallelism: flags.parallelism ? Number(flags.parallelism) : undefined,
      });
      process.send?.({ type: 'submitted', jobId: job.jobId, name: job.name });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'job submission failed');
      process.send?.({ type: 'submit-failed', error: (err as Error).message });
    }
  }
}

export async function runTaskManager(flags: TaskManagerFlags): Promise<void> {
  exitWithParent(parentPid());
  const log = createLogger({ name: 'taskmanager' });
  const config = parseTaskManagerConfig({
    ...parseDynamicProperties(flags.define ?? []),
    'jobmanager.address': flags.jobmanager,
    'taskmanager.numberOfTaskSlots': flags.slots,
    'metrics.reporter.prom.port': flags.metricsPort,
    'taskmanager.data.port': flags.dataPort,
    'taskmanager.host': flags.host,
    'metrics.reporter.prom.host': flags.host,
    'taskmanager.state.dir': flags.stateDir,
    'taskmanager.resource-id': flags.resourceId,
  });
  const { TaskManager } = await import('../taskmanager/task-manager.ts');
  const tm = new TaskManager({ config, log });
  await tm.start();
  onShutdown(() => tm.stop());
  log.info({ taskManagerId: tm.id, metricsPort: tm.metricsPort, dataPort: tm.shuffle.port }, `TaskManager metrics on http://${tm.host}:${tm.metricsPort}/metrics`);
  process.send?.({ type: 'ready', role: 'taskmanager', id: tm.id, metricsPort: tm.metricsPort, dataPort: tm.shuffle.port });
  tm.running.catch(() => void shutdown(1));
}
