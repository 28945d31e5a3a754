/**
 * Small helpers for tests that start real processes: free ports, binaries that may be missing
 * (fail under CI, skip otherwise), waiting for a condition, and stopping children for sure.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function whichBinary(name: string): string | null {
  const res = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = res.stdout.trim();
  return res.status === 0 && path ? path : null;
}

/**
 * Returns null when every binary is on PATH, or the reason to skip. Under CI=true a missing binary
 * is an error: CI installs them, so their absence is a broken setup, not a reason to skip.
 */
export function missingBinaries(names: string[]): string | null {
  const missing = names.filter((n) => whichBinary(n) === null);
  if (missing.length === 0) return null;
  const reason = `not installed: ${missing.join(', ')} (apt-get install prometheus prometheus-alertmanager)`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface Child {
  proc: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a process, keeps the tail of its output for failure messages, and stops it with SIGTERM then SIGKILL. */
export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    proc,
    output: () => tail,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The URL a flowpilot child prints once it listens. Start-up time grows with the machine's load
 * (the child loads and strips its TypeScript sources first), so the wait is bounded by a long
 * deadline, and ends at once, with the child's output, if the child exits before it listens.
 */
export async function waitForListening(child: Child, what = 'the agent', timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.output())?.[1];
    if (url) return url;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${what} exited (${child.proc.exitCode ?? child.proc.signalCode}) before it listened:\n${child.output().slice(-4000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} did not listen within ${timeoutMs} ms:\n${child.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
