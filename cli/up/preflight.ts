/**
 * `flowpilot up`'s checks before anything starts: the numeric flags, the scaling policy (every
 * problem, with its location), the job module, the state directory, and the fixed ports (the
 * JobManager's REST and metrics ports and the agent's). It returns every problem rather than the
 * first, so one run tells the user all there is to fix; `assertPreflight` turns them into one
 * error, and since nothing has been started yet, nothing is left running.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export interface PreflightFlags {
  taskmanagers: string;
  slots: string;
  restPort: string;
  metricsPort: string;
  agentPort: string;
  stateDir: string;
  job: string;
  parallelism?: string;
  agent: boolean;
  policy?: string;
}

const JOBS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'engine', 'jobs');

function intProblem(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): string | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    return `--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, got "${v}"`;
  }
  return null;
}

/** Why 127.0.0.1:port cannot be listened on, or null when it can. */
export function portProblem(port: number): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      resolvePromise(err.code === 'EADDRINUSE' ? 'is in use by another process' : err.code === 'EACCES' ? 'needs privileges to listen on' : errorMessage(err)),
    );
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolvePromise(null)));
  });
}

function jobProblem(job: string): string | null {
  if (job === 'none' || job === '') return null;
  if (job.includes('/') || job.endsWith('.ts') || job.endsWith('.js')) {
    return existsSync(resolve(job)) ? null : `--job ${job}: no such file`;
  }
  if (existsSync(join(JOBS_DIR, `${job}.ts`))) return null;
  return `--job ${job}: not a sample job (word-count, order-enrichment, counting) nor a module path`;
}

/** The state directory must be a writable directory, or creatable (checked without creating it). */
function stateDirProblem(dir: string): string | null {
  const abs = resolve(dir);
  let probe = abs;
  while (!existsSync(probe)) {
    const up = dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  try {
    if (!statSync(probe).isDirectory()) return `--state-dir ${abs}: ${probe} is not a directory`;
    accessSync(probe, constants.W_OK);
    return null;
  } catch (err) {
    return `--state-dir ${abs}: ${errorMessage(err)}`;
  }
}

async function policyProblems(file: string): Promise<string[]> {
  const { loadPolicyFile } = await import('../../agent/scaling/policy.ts');
  try {
    loadPolicyFile(file);
    return [];
  } catch (err) {
    return errorMessage(err).split('\n').filter((l) => l.trim() !== '').map((l) => `--policy: ${l}`);
  }
}

/** Every reason `up` cannot start with these flags (empty when it can). */
export async function preflight(flags: PreflightFlags): Promise<string[]> {
  const problems: string[] = [];
  const push = (p: string | null) => {
    if (p) problems.push(p);
  };
  push(intProblem('taskmanagers', flags.taskmanagers, 1));
  push(intProblem('slots', flags.slots, 1));
  push(intProblem('parallelism', flags.parallelism, 1));
  const ports: Array<{ flag: string; what: string; value: string; min: number }> = [
    { flag: 'rest-port', what: "the JobManager's REST API", value: flags.restPort, min: 0 },
    { flag: 'metrics-port', what: "the JobManager's /metrics", value: flags.metricsPort, min: 0 },
  ];
  if (flags.agent) ports.push({ flag: 'agent-port', what: "the agent's HTTP API", value: flags.agentPort, min: 1 });
  const seen = new Map<number, string>();
  for (const p of ports) {
    const bad = intProblem(p.flag, p.value, p.min, 65535);
    if (bad) {
      problems.push(bad);
      continue;
    }
    const port = Number(p.value);
    if (port === 0) continue;
    const other = seen.get(port);
    if (other) {
      problems.push(`--${p.flag} ${port}: also given to --${other}`);
      continue;
    }
    seen.set(port, p.flag);
    const why = await portProblem(port);
    if (why) problems.push(`--${p.flag} ${port} (${p.what}): 127.0.0.1:${port} ${why}; pick another with --${p.flag}`);
  }
  push(jobProblem(flags.job));
  push(stateDirProblem(flags.stateDir));
  if (flags.policy !== undefined) {
    if (!flags.agent) problems.push('--policy is for the agent, and --no-agent was given');
    else problems.push(...(await policyProblems(flags.policy)));
  }
  return problems;
}

/** Throws one error listing every problem, before anything is started. */
export async function assertPreflight(flags: PreflightFlags): Promise<void> {
  const problems = await preflight(flags);
  if (problems.length === 0) return;
  const s = problems.length === 1 ? '' : 's';
  throw new FlowpilotError('FP_UP_PREFLIGHT', `up: nothing was started; ${problems.length} problem${s} to fix:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}
