/**
 * The `flowpilot up` action: turns flags into launcher options, starts the local cluster,
 * prints where everything is, and stops everything on SIGINT/SIGTERM or when a child dies.
 */
import { join, resolve } from 'node:path';
import { createLogger } from '../../common/log.ts';
import { FlowpilotError } from '../../common/errors.ts';
import { up } from './launcher.ts';

export interface UpFlags {
  taskmanagers: string;
  slots: string;
  restPort: string;
  metricsPort: string;
  stateDir: string;
  job: string;
  jobArgs?: string;
  parallelism?: string;
  agent: boolean;
  define?: string[];
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new FlowpilotError('FP_UP_FLAGS', `--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

export async function runUp(flags: UpFlags): Promise<void> {
  const log = createLogger({ name: 'up' });
  const taskManagers = int('taskmanagers', flags.taskmanagers, 1);
  const slots = int('slots', flags.slots, 1);
  const stateDir = resolve(flags.stateDir);
  const job = flags.job === 'none' ? '' : flags.job;
  const jobName = job.replace(/^.*\//, '').replace(/\.ts$/, '');
  const jobArgs = flags.jobArgs !== undefined ? flags.jobArgs.split(' ').filter(Boolean) : job ? ['--output', join(stateDir, 'output', jobName)] : [];
  const cluster = await up({
    taskManagers,
    slots,
    restPort: int('rest-port', flags.restPort, 0),
    metricsPort: int('metrics-port', flags.metricsPort, 0),
    stateDir,
    job,
    jobArgs,
    parallelism: flags.parallelism !== undefined ? int('parallelism', flags.parallelism, 1) : taskManagers * slots,
    agent: flags.agent,
    define: flags.define ?? [],
    log,
  });
  const lines = [
    '',
    'flowpilot is up:',
    `  JobManager   REST ${cluster.restUrl}   metrics http://127.0.0.1:${cluster.jobManager.ready.metricsPort}/metrics   rpc 127.0.0.1:${cluster.jobManager.ready.rpcPort}`,
    ...cluster.taskManagers.map((tm, i) => `  TaskManager ${i + 1}  metrics http://127.0.0.1:${tm.ready.metricsPort}/metrics   data port ${tm.ready.dataPort}   id ${tm.ready.id}`),
    cluster.jobId ? `  job          ${jobName} ${cluster.jobId}   ${cluster.restUrl}/jobs/${cluster.jobId}` : '  job          (none)',
    ...(cluster.jobId && flags.jobArgs === undefined ? [`  job output   ${join(stateDir, 'output', jobName)}`] : []),
    cluster.agent ? `  agent        pid ${cluster.agent.child.pid}` : '  agent        (not started)',
    `  state dir    ${stateDir}`,
    'Press Ctrl-C to stop everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping…\n');
    await cluster.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGHUP', () => void stopAll(0));
  const died = await cluster.exited;
  if (!stopping) {
    log.error(died, 'a child process exited; stopping the cluster');
    await stopAll(1);
  }
}
