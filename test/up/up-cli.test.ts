/**
 * The `flowpilot up` command itself (cli/up/run-up.ts) keeps the stack up when a child dies: its
 * JobManager is SIGKILLed, `up` stays, a new JobManager child serves the same REST URL with the
 * same job RUNNING; then SIGTERM stops every process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir, waitUntil } from '../e2e/support/e2e.ts';

const CLI = resolve(import.meta.dirname, '../../cli/main.ts');

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function isJobManager(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('jobmanager');
  } catch {
    return false;
  }
}

describe('flowpilot up (the command)', () => {
  it('restarts a killed JobManager instead of stopping; the job is back on the same REST URL; SIGTERM stops everything', { timeout: 120_000 }, async (t) => {
    const tmp = tempDir('fp-up-cli-');
    const proc = spawn(process.execPath, [CLI, 'up', '--rest-port', '0', '--metrics-port', '0', '--state-dir', tmp.dir, '--job', 'word-count', '--job-args', '--rate 200', '--no-agent', '--no-live'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' },
    });
    const seen: number[] = [];
    t.after(() => {
      for (const pid of [proc.pid!, ...seen]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      tmp.remove();
    });
    const out: string[] = [];
    proc.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    await waitUntil('flowpilot up to print its summary', 60_000, () => out.join('').includes('Press Ctrl-C'));
    const rest = /REST (http:\/\/127\.0\.0\.1:\d+)/.exec(out.join(''))![1]!;
    const jobId = /job\s+word-count ([0-9a-f]{32})/.exec(out.join(''))![1]!;
    const state = async () => ((await (await fetch(`${rest}/jobs/${jobId}`, { signal: AbortSignal.timeout(3000) })).json()) as { state?: string }).state;
    await waitUntil('the job RUNNING', 30_000, async () => (await state()) === 'RUNNING');
    const kids = childrenOf(proc.pid!);
    seen.push(...kids);
    const jm = kids.find(isJobManager)!;
    assert.ok(jm, `a JobManager among ${kids.join(',')}`);
    process.kill(jm, 'SIGKILL');
    const newJm = await waitUntil('a new JobManager child', 60_000, () => childrenOf(proc.pid!).find((p) => p !== jm && isJobManager(p)));
    seen.push(newJm);
    assert.equal(proc.exitCode, null, 'up is still running');
    await waitUntil('the same job RUNNING on the same REST URL', 60_000, async () => (await state()) === 'RUNNING');
    assert.equal(childrenOf(proc.pid!).length, 3, 'a JobManager and two TaskManagers');
    proc.kill('SIGTERM');
    await waitUntil('flowpilot up to exit', 30_000, () => proc.exitCode !== null || proc.signalCode !== null);
    await waitUntil('every child to exit', 20_000, () => [...kids, newJm].every((pid) => !alive(pid)));
  });
});
