/**
 * `flowpilot up`: a local cluster of child processes on 127.0.0.1: one JobManager, N
 * TaskManagers (metrics on the next free ports after the JobManager's), a sample job submitted
 * through the REST API, and the agent when it is available. Children learn their ports' over
 * IPC, exit with the launcher (IPC disconnect or parent pid gone), and are stopped by pid,
 * SIGTERM first and SIGKILL after a grace period, when the launcher stops.
 *
 * The launcher supervises the engine as Kubernetes would: a JobManager or TaskManager that
 * dies is started again with exponential backoff (reset after 10 s of uptime), with the
 * same arguments and the same ports. The JobManager runs with filesystem HA services under
 * `<state dir>/ha` (unless -D high-availability.type says otherwise), so a restarted one
 * recovers the job (same id, latest checkpoint) and the TaskManagers reconnect to it; a lost
 * TaskManager is a failover the job recovers from once the new one registers. Only stop()
 * ends the cluster.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
  /** The current process: replaced when the supervisor restarts the role. */
  child: ChildProcess;
  ready: Record<string, unknown>;
  /** Times the supervisor restarted this role. */
  restarts?: number;
}

/** What the supervisor did: a child exited, is about to be restarted, was restarted, or could not be. */
export interface SupervisionEvent {
  role: string;
  kind: 'exited' | 'restarting' | 'restarted' | 'restart-failed';
  code?: number | null;
  signal?: NodeJS.Signals | null;
  delayMs?: number;
  restarts: number;
  error?: string;
  /** For 'restarted': ms from the exit to the new process being ready. */
  downMs?: number;
}

export interface LocalCluster {
  jobManager: ChildInfo;
  taskManagers: ChildInfo[];
  agent: ChildInfo | null;
  jobId: string | null;
  restUrl: string;
  stop(): Promise<void>;
  /** Listens to the supervisor's events (engine processes are restarted; the agent's exit is only logged). */
  onSupervision(listener: (e: SupervisionEvent) => void): void;
}

/** Backoff of the supervisor's restarts: doubling from MIN to MAX, back to MIN once the process stayed up STABLE ms (a crash loop backs off, a rare kill does not). */
const RESTART_BACKOFF = { minMs: 250, maxMs: 10_000, stableMs: 10_000 };

/**
 * Restarts engine children that exit while the cluster is up, as a Deployment's pods are:
 * the same role, arguments and ports, after a backoff.
 */
class Supervisor {
  private stopping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners: Array<(e: SupervisionEvent) => void> = [];
  private readonly opts: UpOptions;

  constructor(opts: UpOptions) {
    this.opts = opts;
  }

  onEvent(l: (e: SupervisionEvent) => void): void {
    this.listeners.push(l);
  }

  private emit(e: SupervisionEvent): void {
    const level = e.kind === 'restarted' ? 'info' : 'warn';
    this.opts.log[level]({ ...e }, `supervisor: ${e.role} ${e.kind}`);
    for (const l of this.listeners) l(e);
  }

  watch(info: ChildInfo, args: string[]): void {
    let backoff = RESTART_BACKOFF.minMs;
    let startedAt = Date.now();
    info.restarts ??= 0;
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.stopping) return;
      const exitedAt = Date.now();
      this.emit({ role: info.role, kind: 'exited', code, signal, restarts: info.restarts! });
      if (exitedAt - startedAt > RESTART_BACKOFF.stableMs) backoff = RESTART_BACKOFF.minMs;
      const schedule = (delayMs: number) => {
        this.emit({ role: info.role, kind: 'restarting', delayMs, restarts: info.restarts! });
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (this.stopping) return;
          startChild(info.role, args, this.opts, 60_000).then(
            (next) => {
              if (this.stopping) {
                void stopChild(next, 2000);
                return;
              }
              info.child = next.child;
              info.ready = next.ready;
              info.restarts!++;
              startedAt = Date.now();
              this.emit({ role: info.role, kind: 'restarted', restarts: info.restarts!, downMs: startedAt - exitedAt });
              next.child.once('exit', onExit);
            },
            (err: unknown) => {
              if (this.stopping) return;
              this.emit({ role: info.role, kind: 'restart-failed', error: (err as Error).message, restarts: info.restarts! });
              backoff = Math.min(backoff * 2, RESTART_BACKOFF.maxMs);
              schedule(backoff);
            },
          );
        }, delayMs);
        this.timers.add(t);
      };
      schedule(backoff);
      backoff = Math.min(backoff * 2, RESTART_BACKOFF.maxMs);
    };
    info.child.once('exit', onExit);
  }

  stop(): void {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
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

/**
 * Forks one engine process and resolves once it reports ready over IPC. The timeout only catches a
 * process that never gets there: on a loaded host, starting Node and loading the engine takes
 * many seconds, so it is generous (as a restart's).
 */
function startChild(role: string, args: string[], opts: UpOptions, timeoutMs = 60_000): Promise<ChildInfo> {
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
  const up = await fetch(`${restUrl}/jars/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
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
  // JobManager HA (filesystem) unless the user chose otherwise; a fresh `up` starts a fresh cluster.
  const haDir = join(stateDir, 'ha');
  // Savepoints may go anywhere under the stack's state dir (the JobManager's own state.dir is one level down); -D can override.
  const jmDefines = ['-D', `flowpilot.savepoint.allowed-roots=${stateDir}`, ...d];
  if (!opts.define.some((x) => x.trim().startsWith('high-availability.type'))) {
    rmSync(haDir, { recursive: true, force: true });
    jmDefines.push('-D', 'high-availability.type=filesystem', '-D', `high-availability.storageDir=${haDir}`, '-D', 'high-availability.cluster-id=flowpilot-up');
  }
  const children: ChildInfo[] = [];
  const supervisor = new Supervisor(opts);
  const stop = async () => {
    supervisor.stop();
    await Promise.all(children.slice().reverse().map((c) => stopChild(c, 8000)));
  };
  try {
    const jmArgs = (rest: string, rpc: string, metrics: string) =>
      ['engine', 'jobmanager', '--rest-port', rest, '--rpc-port', rpc, '--metrics-port', metrics, '--state-dir', join(stateDir, 'jobmanager'), ...jmDefines];
    const jm = await startChild('jobmanager', jmArgs(String(opts.restPort), '0', String(opts.metricsPort)), opts);
    children.push(jm);
    // A restarted JobManager comes back on the same ports: TaskManagers reconnect to the same RPC address, clients keep the REST URL.
    supervisor.watch(jm, jmArgs(String(jm.ready.restPort), String(jm.ready.rpcPort), String(jm.ready.metricsPort)));
    const rpc = `127.0.0.1:${jm.ready.rpcPort}`;
    const taken = new Set<number>([Number(jm.ready.restPort), Number(jm.ready.metricsPort), Number(jm.ready.rpcPort)]);
    let nextPort = Number(jm.ready.metricsPort) + 1;
    const tms: ChildInfo[] = [];
    for (let i = 0; i < opts.taskManagers; i++) {
      const port = await nextFreePort(nextPort, taken);
      taken.add(port);
      nextPort = port + 1;
      const tmArgs = ['engine', 'taskmanager', '--jobmanager', rpc, '--slots', String(opts.slots), '--metrics-port', String(port), '--state-dir', join(stateDir, `taskmanager-${i + 1}`), ...d];
      const tm = await startChild(`taskmanager-${i + 1}`, tmArgs, opts);
      children.push(tm);
      tms.push(tm);
      supervisor.watch(tm, tmArgs);
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
    agent?.child.once('exit', (code) => opts.log.warn({ code }, 'the agent exited; the engine keeps running'));
    return { jobManager: jm, taskManagers: tms, agent, jobId, restUrl, stop, onSupervision: (l) => supervisor.onEvent(l) };
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
