/**
 * The agent-evaluation benchmark in one call: serve the synthetic job's targets, let the real
 * Prometheus 2.42 scrape them and evaluate the default rule pack, then run the agent's
 * scrape-and-evaluate cycles over the same targets and rules in a child process, and compare.
 * The two sides run one after the other, never together, so neither takes CPU from the other.
 * Every child process and temp dir it starts is tracked in `live` and removed in `finally`;
 * `killEverythingNow` does the same synchronously for exit and signal handlers.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Child } from '../../test/support/processes.ts';
import type { AgentCycleRequest, AgentCycleResult } from './agent-cycle.ts';
import { runPrometheus, type PrometheusResult } from './prometheus-side.ts';
import { serveTargets } from './server.ts';
import { syntheticJob } from './synthetic-job.ts';

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '../..');

export const RULE_FILES = ['flink-alerts.yml', 'flink-recording.yml', 'flowpilot-alerts.yml'].map((f) => join(ROOT, 'rules', f));

export interface BenchOptions {
  vertices: number;
  subtasks: number;
  intervalMs: number;
  /** Scrapes (and evaluations) before the measured ones, so rate windows have data. */
  warm: number;
  /** Measured cycles (agent) and evaluations (Prometheus); figures are their medians. */
  measured: number;
  seed: number;
  /** Profile one extra agent cycle and keep the profiles in this directory. */
  profileDir?: string;
  /** Pace the agent's cycles one interval apart in real time, as deployed (default true; false for quick experiments). */
  paced?: boolean;
  /** Intervals of the agent's loops run as deployed, at their offsets, after the cycles (default 3). */
  deployedIntervals?: number;
  /** Extra Node flags for the agent child (experiments only; the report names them). */
  agentNodeFlags?: string[];
  /** The whole run must finish by this time (ms since the epoch). */
  deadline: number;
  log?: (line: string) => void;
}

export interface BenchResult {
  options: BenchOptions;
  expectedSeries: number;
  targets: number;
  agent: AgentCycleResult;
  prometheus: PrometheusResult;
}

const live = { procs: new Set<ChildProcess>(), dirs: new Set<string>() };

/** The Node flags `bin/flowpilot agent` (and the Dockerfile) run the agent with; agent-eval.test.ts checks they agree. */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=16'];
/** glibc malloc settings `bin/flowpilot agent` exports. */
export const AGENT_GLIBC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072';

/**
 * The environment `bin/flowpilot agent` gives the agent: the glibc tunables and Node's compile
 * cache in node_modules/.cache. `warmCompileCache` fills that cache first, as any earlier start
 * of the agent from this tree does.
 */
export function agentEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? AGENT_GLIBC_TUNABLES,
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(ROOT, 'node_modules/.cache/flowpilot-node'),
  };
}

/** Loads the agent's module graph once under agentEnv(), so the compile cache holds it. */
export function warmCompileCache(): void {
  spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, 'agent/process/main.ts'))}); await import(${JSON.stringify(join(HERE, 'agent-cycle.ts'))});`], { env: agentEnv(), stdio: 'ignore', timeout: 60_000 });
}

/** Kills every child still running and removes every temp dir, synchronously. */
export function killEverythingNow(): void {
  for (const p of live.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.procs.clear();
  for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
  live.dirs.clear();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function runAgentChild(request: AgentCycleRequest, deadline: number, nodeFlags: string[]): Promise<AgentCycleResult> {
  // --expose-gc only lets the child measure its retained heap after the measured cycles.
  warmCompileCache();
  const child = fork(join(HERE, 'agent-cycle.ts'), [], { execArgv: ['--expose-gc', ...AGENT_NODE_FLAGS, ...nodeFlags], env: agentEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  live.procs.add(child);
  return new Promise<AgentCycleResult>((resolveResult, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`the agent child did not finish within its time limit (${Math.round((deadline - Date.now()) / 1000)} s left)`));
    }, Math.max(1_000, deadline - Date.now()));
    const finish = (err: Error | null, result?: AgentCycleResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolveResult(result!);
    };
    child.once('message', (msg: { result?: AgentCycleResult; error?: string }) => {
      if (msg.result) finish(null, msg.result);
      else finish(new Error(`agent child failed: ${msg.error}`));
    });
    child.once('error', (err) => finish(err));
    child.once('exit', (code, signal) => {
      live.procs.delete(child);
      finish(new Error(`agent child exited (code ${code}, signal ${signal}) without a result`));
    });
    child.send({ request });
  });
}

export async function runBenchmark(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => undefined);
  const job = syntheticJob({ vertices: opts.vertices, subtasks: opts.subtasks, intervalMs: opts.intervalMs, seed: opts.seed });
  const servers = await serveTargets(job.targets);
  try {
    const scrape = (['flink', 'flowpilot'] as const).map((j) => ({ job: j, targets: servers.served.filter((s) => s.target.job === j).map((s) => s.address) }));
    log(`synthetic job: ${opts.vertices} vertices x ${opts.subtasks} subtasks, ${job.seriesCount} series on ${job.targets.length} targets, interval ${opts.intervalMs} ms`);

    // Prometheus gets at most what is left minus a share for the agent.
    const pacedMs = (opts.paced === false ? 0 : (opts.warm + opts.measured + 2) * opts.intervalMs + 15_000) + ((opts.deployedIntervals ?? 3) + 2) * opts.intervalMs;
    const agentShare = Math.max(20_000, (opts.deadline - Date.now()) * 0.4, pacedMs);
    log('prometheus: starting, scraping and evaluating');
    const prometheus = await runPrometheus({
      scrape,
      ruleFiles: RULE_FILES,
      intervalMs: opts.intervalMs,
      warm: opts.warm,
      measured: opts.measured,
      served: servers.served,
      deadline: opts.deadline - agentShare,
      track(child: Child, dir: string) {
        live.procs.add(child.proc);
        live.dirs.add(dir);
        child.proc.once('exit', () => live.procs.delete(child.proc));
      },
    });
    log(`prometheus: ${prometheus.rounds.length} measured evaluation round(s)`);

    log('agent: scrape-and-evaluate cycles in a child process');
    const agent = await runAgentChild({
      scrape,
      ruleFiles: RULE_FILES,
      intervalMs: opts.intervalMs,
      warm: opts.warm,
      measured: opts.measured,
      paced: opts.paced !== false,
      deployedIntervals: opts.deployedIntervals ?? 3,
      ...(opts.profileDir ? { profileDir: opts.profileDir } : {}),
    }, opts.deadline - 2_000, opts.agentNodeFlags ?? []);
    log(`agent: ${agent.cycles.length} cycle(s) done`);
    return { options: opts, expectedSeries: job.seriesCount, targets: job.targets.length, agent, prometheus };
  } finally {
    await servers.close();
    for (const p of live.procs) p.kill('SIGKILL');
    live.procs.clear();
    for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
    live.dirs.clear();
  }
}

/** A fresh directory for profiles (kept: the caller asked for them). */
export function profileDir(): string {
  return mkdtempSync(join(tmpdir(), 'fp-agent-eval-profile-'));
}
