import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../cli/main.ts');

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** True while the process exists and is not a zombie (an orphan may wait a while to be reaped). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${typeof what === 'string' ? what : what()}`);
}

/** What a process is doing, for a failure message: its state and command line. */
function describeProcess(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1] ?? '?';
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return `${pid} (${state}, parent ${ppid}): ${cmd}`;
  } catch {
    return `${pid}: gone`;
  }
}

/** Starts `flowpilot up` and resolves once it printed where everything is. */
async function startUp(dir: string): Promise<{ proc: ChildProcess; out: string[]; rest: string; tmMetrics: string[]; startMs: number }> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [CLI, 'up', '--rest-port', '0', '--metrics-port', '0', '--state-dir', dir, '--job', 'word-count', '--job-args', '--rate 500', '--no-agent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' },
  });
  const out: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  // A bound for a start that never completes: on a loaded host three Node processes and a job take a while.
  await waitUntil(() => out.join('').includes('Press Ctrl-C'), 90_000, () => `flowpilot up to print its summary: ${out.join('')}`);
  const text = out.join('');
  const rest = /REST (http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1]!;
  const tmMetrics = [...text.matchAll(/TaskManager \d+\s+metrics (http:\S+)/g)].map((m) => m[1]!);
  return { proc, out, rest, tmMetrics, startMs: Date.now() - t0 };
}

describe('flowpilot up', () => {
  it('runs a sample job on a JobManager and two TaskManagers and leaves no process behind on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-up-'));
    const { proc, rest, tmMetrics, startMs } = await startUp(dir);
    const kids = childrenOf(proc.pid!);
    t.after(() => {
      for (const pid of [proc.pid!, ...kids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal(kids.length, 3, 'one JobManager and two TaskManagers');
    assert.equal(tmMetrics.length, 2);
    await waitUntil(async () => {
      const r = (await (await fetch(`${rest}/jobs/overview`)).json()) as { jobs: Array<{ state: string; name: string }> };
      return r.jobs.length === 1 && r.jobs[0]!.state === 'RUNNING' && r.jobs[0]!.name === 'word-count';
    }, 60_000, 'the job to run');
    const metrics = await (await fetch(tmMetrics[0]!)).text();
    assert.match(metrics, /^flink_taskmanager_Status_JVM_Memory_Heap_Used\{/m);
    proc.kill('SIGTERM');
    // Stopping takes as long as the slowest child's graceful stop; on a loaded host that scales as starting did.
    await waitUntil(() => proc.exitCode !== null, Math.max(15_000, 10_000 + 3 * startMs), 'flowpilot up to exit');
    await waitUntil(() => kids.every((pid) => !alive(pid)), Math.max(10_000, 3 * startMs), () => `every child to exit; still there: ${kids.filter(alive).map(describeProcess).join('; ')}`);
  });

  it('takes its children down when it is killed outright', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-up-'));
    const { proc, out, startMs } = await startUp(dir);
    const kids = childrenOf(proc.pid!);
    t.after(() => {
      for (const pid of kids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal(kids.length, 3);
    proc.kill('SIGKILL');
    // Each child sees its parent go (IPC channel closed) and stops gracefully within its 10 s
    // shutdown deadline; on a loaded machine its closers run slower, as starting did: the bound
    // scales with how long this cluster took to start.
    const boundMs = Math.max(25_000, 10_000 + 3 * startMs);
    await waitUntil(() => kids.every((pid) => !alive(pid)), boundMs, () => `every child to exit after the parent died; still there: ${kids.filter(alive).map(describeProcess).join('; ')}\n${out.join('').slice(-3000)}`);
  });
});
