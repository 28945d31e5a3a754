/**
 * The `flowpilot up` action: turns flags into launcher options, starts the local cluster (the
 * engine's launcher) with the agent autoscaling it in place, prints where everything is, then
 * shows the live status view and, with --with-prometheus, a local Prometheus and Alertmanager.
 * It supervises the engine as Kubernetes would: a dead TaskManager is restarted with backoff and
 * the job fails over onto it; a dead JobManager is restarted on the same ports and recovers the
 * job from its HA store (latest checkpoint, same job id). Only SIGINT/SIGTERM/SIGHUP stop the
 * whole stack.
 */
import { join, resolve } from 'node:path';
import { createLogger } from '../../common/log.ts';
import type { DestinationStream } from 'pino';
import { FlowpilotError } from '../../common/errors.ts';
import { up } from '../../engine/local/launcher.ts';
import { clusterLogStream, startUpExtras } from '../live/up-extras.ts';
import { assertPreflight } from './preflight.ts';

export interface UpFlags {
  taskmanagers: string;
  slots: string;
  restPort: string;
  metricsPort: string;
  agentPort: string;
  stateDir: string;
  job: string;
  jobArgs?: string;
  parallelism?: string;
  agent: boolean;
  dryRun?: boolean;
  policy?: string;
  withPrometheus?: boolean;
  live?: boolean;
  define?: string[];
}

/**
 * Sample jobs' default arguments for the local stack. order-enrichment's rate steps up ×4 after a
 * minute and back down after five, and each enrichment subtask handles about 1000 records/s
 * (50 requests in flight, 50 ms each), so the agent has a real reason to scale up and then down.
 */
const DEFAULT_JOB_ARGS: Record<string, string[]> = {
  'order-enrichment': ['--profile', 'steps:1000@0s,4000@60s,1000@300s', '--latency', '50', '--capacity', '50', '--checkpoint-interval', '5000'],
};

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new FlowpilotError('FP_UP_FLAGS', `--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** The agent's flags for the local stack: its port, 5 s cycles, and in-place rescaling unless --dry-run. */
function agentArgs(flags: UpFlags, stateDir: string, agentPort: number): string[] {
  const args = ['--port', String(agentPort), '--scrape-interval', '5s', '--eval-interval', '5s', '--journal', join(stateDir, 'agent-journal')];
  if (flags.dryRun) args.push('--dry-run');
  else args.push('--no-dry-run', '--actuation', 'in-place');
  if (flags.policy) args.push('--policy', resolve(flags.policy));
  return args;
}

export async function runUp(flags: UpFlags): Promise<void> {
  // Every flag, port and policy problem at once, before anything starts (cli/up/preflight.ts).
  await assertPreflight(flags);
  const taskManagers = int('taskmanagers', flags.taskmanagers, 1);
  const slots = int('slots', flags.slots, 1);
  const agentPort = int('agent-port', flags.agentPort, 1);
  const stateDir = resolve(flags.stateDir);
  const job = flags.job === 'none' ? '' : flags.job;
  const jobName = job.replace(/^.*\//, '').replace(/\.ts$/, '');
  const jobArgs = flags.jobArgs !== undefined
    ? flags.jobArgs.split(' ').filter(Boolean)
    : job ? [...(DEFAULT_JOB_ARGS[jobName] ?? []), '--output', join(stateDir, 'output', jobName)] : [];
  const live = flags.live !== false;
  // The live view owns the output (a full-screen frame on a terminal, a line per change when piped), so the
  // children's log lines go to a file, and so do ours; with --no-live they go to stderr.
  const logs = live ? clusterLogStream(stateDir) : null;
  const log = createLogger({ name: 'up', ...(logs ? { destination: logs.stream as unknown as DestinationStream } : {}) });
  const cluster = await up({
    taskManagers,
    slots,
    restPort: int('rest-port', flags.restPort, 0),
    metricsPort: int('metrics-port', flags.metricsPort, 0),
    stateDir,
    job,
    jobArgs,
    parallelism: flags.parallelism !== undefined ? int('parallelism', flags.parallelism, 1) : Math.min(2, taskManagers * slots),
    agent: flags.agent,
    agentArgs: agentArgs(flags, stateDir, agentPort),
    define: flags.define ?? [],
    log,
    ...(logs ? { childOutput: logs.stream } : {}),
  });
  const agentUrl = `http://127.0.0.1:${agentPort}`;
  const lines = [
    '',
    'flowpilot is up:',
    `  JobManager   REST ${cluster.restUrl}   metrics http://127.0.0.1:${cluster.jobManager.ready.metricsPort}/metrics   rpc 127.0.0.1:${cluster.jobManager.ready.rpcPort}`,
    ...cluster.taskManagers.map((tm, i) => `  TaskManager ${i + 1}  metrics http://127.0.0.1:${tm.ready.metricsPort}/metrics   data port ${tm.ready.dataPort}   id ${tm.ready.id}`),
    cluster.jobId ? `  job          ${jobName} ${cluster.jobId}   ${cluster.restUrl}/jobs/${cluster.jobId}` : '  job          (none)',
    ...(cluster.jobId && flags.jobArgs === undefined ? [`  job output   ${join(stateDir, 'output', jobName)}`] : []),
    cluster.agent
      ? `  agent        ${agentUrl}  (Prometheus API, /api/v1/alerts, /api/v1/scaling/decisions; ${flags.dryRun ? 'dry run' : 'rescales in place'})`
      : '  agent        (not started)',
    `  state dir    ${stateDir}`,
    ...(logs ? [`  logs         ${logs.path}`] : []),
    'Press Ctrl-C to stop everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const extras = await startUpExtras({
    cluster,
    stateDir,
    withPrometheus: flags.withPrometheus === true,
    live,
    ...(cluster.agent ? { agentUrl } : {}),
    header: lines,
    color: !process.env.NO_COLOR,
  });
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await extras.stop();
    process.stdout.write('stopping…\n');
    await cluster.stop();
    process.exit(code);
  };
  cluster.onSupervision((e) => {
    if (e.kind === 'exited') log.warn({ role: e.role, code: e.code, signal: e.signal }, `${e.role} exited; restarting it`);
    else if (e.kind === 'restarted') log.info({ role: e.role, restarts: e.restarts, downMs: e.downMs }, `${e.role} is back`);
  });
  await new Promise<void>((resolvePromise) => {
    const on = (code: number) => () => {
      // A quiet shutdown: what the children do as they stop (the agent exiting, a TaskManager losing
      // its JobManager) is expected now, not news.
      log.level = 'silent';
      resolvePromise();
      void stopAll(code);
    };
    process.on('SIGINT', on(0));
    process.on('SIGTERM', on(0));
    process.on('SIGHUP', on(0));
  });
}
