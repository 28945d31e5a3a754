/**
 * `flowpilot up`: a local cluster of child processes on 127.0.0.1: one JobManager, N
 * TaskManagers (metrics on the next free ports after the JobManager's), a sample job submitted
 * through the REST API, and the agent when it is available. Children learn their ports' over
 * IPC, exit with the launcher (IPC disconnect or parent pid gone), and are stopped by pid,
 * SIGTERM first and SIGKILL after a grace period, when the launcher stops.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowpilotError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'cli/main.ts');
/** The agent starts through bin/flowpilot, which sets its memory flags (semi-space, malloc, compile cache) in one place. */
const BIN = join(ROOT, 'bin/flowpilot');

export interface UpOptions {
  taskManagers: number;
  slots: number;
  restPort: number;
  metricsPort: number;
  stateDir: string;
  /** A sample job name (engine/jobs/NAME.ts) or a path to a job module; empty = no job. */
  job: string;
  jobArgs: string[];
  parallelism?: number;
  agent: boolean;
  /** Extra arguments for the agent (after the Flink URL, scrape targets and rules the launcher passes). */
  agentArgs?: string[];
  /** Extra -D options for every engine process. */
  define: string[];
  log: Logger;
  /** Where a child's log lines go (default: the launcher's stderr). */
  childOutput?: NodeJS.WritableStream;
}

export interface ChildInfo {
  role: string;
  child: ChildProcess;
  ready: Record<string, unknown>;
}

export interface LocalCluster {
  jobManager: ChildInfo;
  taskManagers: ChildInfo[];
  agent: ChildInfo | null;
  jobId: string | null;
  restUrl: string;
  stop(): Promise<void>;
  /** Settles when an engine process exits unexpectedly (the agent's exit is only logged). */
  exited: Promise<{ role: string; code: number | null }>;
}

/** Resolves `--job NAME` to a module path. */
export function resolveJob(job: string): string {
  const sample = join(ROOT, 'engine/jobs', `${job}.ts`);
  if (existsSync(sample)) return sample;
  const path = resolve(job);
  if (existsSync(path)) return path;
  throw new FlowpilotError('FP_UP_JOB', `no sample job "${job}" (looked for ${sample}) and no file ${path}`);
}

/** The first free port at or after `from` on 127.0.0.1 that is not in `taken`. */
export async function nextFreePort(from: number, taken: Set<number>): Promise<number> {
  for (let p = Math.max(1024, from); p < 65535; p++) {
    if (taken.has(p)) continue;
    const free = await new Promise<boolean>((r) => {
      const s = net.createServer();
      s.once('error', () => r(false));
      s.listen(p, '127.0.0.1', () => s.close(() => r(true)));
    });
    if (free) return p;
  }
  throw new FlowpilotError('FP_UP_PORTS', `no free port at or after ${from}`);
}

function startChild(role: string, args: string[], opts: UpOptions, timeoutMs = 20_000): Promise<ChildInfo> {
  const child = fork(CLI, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid) },
  });
  const out = opts.childOutput ?? process.stderr;
  child.stdout!.on('data', (d: Buffer) => out.write(d));
  child.stderr!.on('data', (d: Buffer) => out.write(d));
  return new Promise<ChildInfo>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new FlowpilotError('FP_UP_START', `${role} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new FlowpilotError('FP_UP_START', `${role} exited with code ${code} while starting`));
    };
    child.once('exit', onExit);
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type !== 'ready') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolvePromise({ role, child, ready: m });
    });
  });
}

async function stopChild(c: ChildInfo, graceMs: number): Promise<void> {
  const child = c.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((r) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      r();
    });
    child.kill('SIGTERM');
  });
}

async function submitViaRest(restUrl: string, modulePath: string, args: string[], parallelism: number | undefined): Promise<string> {
  const form = new FormData();
  form.append('jarfile', new Blob([readFileSync(modulePath)]), basename(modulePath));
  const up = await fetch(`${restUrl}/jars/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
  const upBody = (await up.json()) as { filename?: string; errors?: string[] };
  if (!up.ok || !upBody.filename) throw new FlowpilotError('FP_UP_SUBMIT', `upload failed: ${JSON.stringify(upBody)}`);
  const body: Record<string, unknown> = { programArgsList: args };
  if (parallelism !== undefined) body.parallelism = parallelism;
  const run = await fetch(`${restUrl}/jars/${encodeURIComponent(basename(upBody.filename))}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const runBody = (await run.json()) as { jobid?: string; errors?: string[] };
  if (!run.ok || !runBody.jobid) throw new FlowpilotError('FP_UP_SUBMIT', `job submission failed: ${(runBody.errors ?? []).join('; ')}`);
  return runBody.jobid;
}

export async function up(opts: UpOptions): Promise<LocalCluster> {
  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const modulePath = opts.job ? resolveJob(opts.job) : null;
  const d = opts.define.flatMap((x) => ['-D', x]);
  const children: ChildInfo[] = [];
  const stop = async () => {
    await Promise.all(children.slice().reverse().map((c) => stopChild(c, 8000)));
  };
  try {
    const jm = await startChild(
      'jobmanager',
      ['engine', 'jobmanager', '--rest-port', String(opts.restPort), '--rpc-port', '0', '--metrics-port', String(opts.metricsPort), '--state-dir', join(stateDir, 'jobmanager'), ...d],
      opts,
    );
    children.push(jm);
    const rpc = `127.0.0.1:${jm.ready.rpcPort}`;
    const taken = new Set<number>([Number(jm.ready.restPort), Number(jm.ready.metricsPort), Number(jm.ready.rpcPort)]);
    let nextPort = Number(jm.ready.metricsPort) + 1;
    const tms: ChildInfo[] = [];
    for (let i = 0; i < opts.taskManagers; i++) {
      const port = await nextFreePort(nextPort, taken);
      taken.add(port);
      nextPort = port + 1;
      const tm = await startChild(
        `taskmanager-${i + 1}`,
        ['engine', 'taskmanager', '--jobmanager', rpc, '--slots', String(opts.slots), '--metrics-port', String(port), '--state-dir', join(stateDir, `taskmanager-${i + 1}`), ...d],
        opts,
      );
      children.push(tm);
      tms.push(tm);
    }
    const restUrl = `http://127.0.0.1:${jm.ready.restPort}`;
    let jobId: string | null = null;
    if (modulePath) jobId = await submitViaRest(restUrl, modulePath, opts.jobArgs, opts.parallelism);
    let agent: ChildInfo | null = null;
    if (opts.agent && existsSync(join(ROOT, 'cli/commands/agent.ts'))) {
      const scrape = [jm, ...tms].map((c) => `http://127.0.0.1:${c.ready.metricsPort}/metrics`);
      // The reporter endpoints are scraped, so REST feeds the agent's job observations only
      // (storing REST figures too would count every series twice).
      const args = ['agent', '--flink-url', restUrl, '--no-flink-samples', '--scrape', ...scrape];
      if (existsSync(join(ROOT, 'rules'))) args.push('--rules', join(ROOT, 'rules'));
      args.push(...(opts.agentArgs ?? []));
      agent = await startAgent(args, opts).catch((err: unknown) => {
        opts.log.warn({ err: (err as Error).message }, 'the agent did not start; the engine keeps running without it');
        return null;
      });
      if (agent) children.push(agent);
    }
    const exited = new Promise<{ role: string; code: number | null }>((r) => {
      for (const c of children) {
        if (c.role === 'agent') c.child.once('exit', (code) => opts.log.warn({ code }, 'the agent exited; the engine keeps running'));
        else c.child.once('exit', (code) => r({ role: c.role, code }));
      }
    });
    return { jobManager: jm, taskManagers: tms, agent, jobId, restUrl, stop, exited };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The agent does not report over IPC; it counts as ready once it has stayed up for a moment. */
async function startAgent(args: string[], opts: UpOptions): Promise<ChildInfo> {
  // The script execs Node with the same IPC channel, so the agent still sees its parent go.
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid) } });
  const out = opts.childOutput ?? process.stderr;
  child.stdout!.on('data', (d: Buffer) => out.write(d));
  child.stderr!.on('data', (d: Buffer) => out.write(d));
  await new Promise<void>((resolvePromise, reject) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      resolvePromise();
    }, 1500);
    const onExit = (code: number | null) => {
      clearTimeout(t);
      reject(new FlowpilotError('FP_UP_START', `agent exited with code ${code}`));
    };
    child.once('exit', onExit);
  });
  return { role: 'agent', child, ready: {} };
}
