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

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${what}`);
}

/** Starts `flowpilot up` and resolves once it printed where everything is. */
async function startUp(dir: string): Promise<{ proc: ChildProcess; out: string[]; rest: string; tmMetrics: string[] }> {
  const proc = spawn(process.execPath, [CLI, 'up', '--rest-port', '0', '--metrics-port', '0', '--state-dir', dir, '--job', 'word-count', '--job-args', '--rate 500', '--no-agent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' },
  });
  const out: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  await waitUntil(() => out.join('').includes('Press Ctrl-C'), 30_000, `flowpilot up to print its summary: ${out.join('')}`);
  const text = out.join('');
  const rest = /REST (http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1]!;
  const tmMetrics = [...text.matchAll(/TaskManager \d+\s+metrics (http:\S+)/g)].map((m) => m[1]!);
  return { proc, out, rest, tmMetrics };
}

describe('flowpilot up', () => {
  it('runs a sample job on a JobManager and two TaskManagers and leaves no process behind on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-up-'));
    const { proc, rest, tmMetrics } = await startUp(dir);
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
    }, 20_000, 'the job to run');
    const metrics = await (await fetch(tmMetrics[0]!)).text();
    assert.match(metrics, /^flink_taskmanager_Status_JVM_Memory_Heap_Used\{/m);
    proc.kill('SIGTERM');
    await waitUntil(() => proc.exitCode !== null, 15_000, 'flowpilot up to exit');
    await waitUntil(() => kids.every((pid) => !alive(pid)), 10_000, 'every child to exit');
  });

  it('takes its children down when it is killed outright', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-up-'));
    const { proc } = await startUp(dir);
    const kids = childrenOf(proc.pid!);
    t.after(() => {
      for (const pid of kids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal(kids.length, 3);
    proc.kill('SIGKILL');
    await waitUntil(() => kids.every((pid) => !alive(pid)), 25_000, 'every child to exit after the parent died');
  });
});
