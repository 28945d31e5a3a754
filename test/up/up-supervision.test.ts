/**
 * `flowpilot up` as a supervisor (engine/local/launcher.ts, the launcher `up` runs): the
 * exactly-once counting job on 2 TaskManagers survives
 * - a SIGKILLed JobManager: the supervisor starts a new one on the same ports, it recovers the
 *   same job id from its latest checkpoint out of the filesystem HA store, the TaskManagers
 *   reconnect, and the output is exact;
 * - a TaskManager SIGKILLed during a savepoint: the savepoint completes or fails cleanly, the
 *   TaskManager is restarted, the job fails over onto it and goes on, and the output is exact.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LocalCluster, SupervisionEvent } from '../../engine/local/launcher.ts';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { tempDir, waitUntil } from '../e2e/support/e2e.ts';

const RATE = 400;
const LIMIT = RATE * 20;
const DEFINES = ['heartbeat.interval=500', 'heartbeat.timeout=4000', 'restart-strategy.type=fixed-delay', 'restart-strategy.fixed-delay.delay=200'];

interface CheckpointsBody {
  counts?: { completed?: number; restored?: number };
  latest?: { completed?: { id?: number } | null; restored?: { id?: number; external_path?: string } | null };
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return (await res.json()) as T;
}

async function jobState(restUrl: string, jobId: string): Promise<string | null> {
  try {
    return (await getJson<{ state?: string }>(`${restUrl}/jobs/${jobId}`)).state ?? null;
  } catch {
    return null;
  }
}

async function checkpoints(restUrl: string, jobId: string): Promise<CheckpointsBody> {
  return getJson<CheckpointsBody>(`${restUrl}/jobs/${jobId}/checkpoints`);
}

async function startCounting(stateDir: string, out: string): Promise<LocalCluster> {
  return startQuietCluster({
    stateDir,
    taskManagers: 2,
    slots: 2,
    parallelism: 2,
    job: 'counting',
    jobArgs: ['--rate', String(RATE), '--limit', String(LIMIT), '--partitions', '4', '--keys', '50', '--checkpoint-interval', '300', '--output', out],
    define: DEFINES,
  });
}

function events(cluster: LocalCluster): SupervisionEvent[] {
  const list: SupervisionEvent[] = [];
  cluster.onSupervision((e) => list.push(e));
  return list;
}

describe('flowpilot up supervises the engine', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a killed JobManager comes back on the same REST port and recovers the same job from its latest checkpoint; the output is exact', { timeout: 150_000 }, async () => {
    const tmp = tempDir('fp-up-jm-');
    cleanups.push(() => tmp.remove());
    const out = join(tmp.dir, 'out');
    const cluster = await startCounting(tmp.dir, out);
    cleanups.push(() => cluster.stop());
    const seen = events(cluster);
    const jobId = cluster.jobId!;
    const restPort = cluster.jobManager.ready.restPort;
    await waitUntil('2 completed checkpoints', 40_000, async () => ((await checkpoints(cluster.restUrl, jobId)).counts?.completed ?? 0) >= 2);
    const before = (await checkpoints(cluster.restUrl, jobId)).latest?.completed?.id ?? 0;
    const oldPid = cluster.jobManager.child.pid;
    const killedAt = Date.now();
    cluster.jobManager.child.kill('SIGKILL');

    await waitUntil('the supervisor to restart the JobManager', 60_000, () => seen.some((e) => e.role === 'jobmanager' && e.kind === 'restarted'));
    assert.notEqual(cluster.jobManager.child.pid, oldPid);
    assert.equal(cluster.jobManager.ready.restPort, restPort, 'same REST port');
    const restored = await waitUntil('the same job RUNNING again, restored from a checkpoint', 60_000, async () => {
      if ((await jobState(cluster.restUrl, jobId)) !== 'RUNNING') return null;
      const cp = await checkpoints(cluster.restUrl, jobId);
      const r = cp.latest?.restored;
      return r && typeof r.id === 'number' ? r : null;
    });
    const runningAt = Date.now();
    assert.ok(restored.id! >= before, `restored from checkpoint ${restored.id}, the latest before the kill was ${before}`);
    assert.match(restored.external_path ?? '', /chk-\d+/);
    // The recovered job checkpoints again, so the TaskManagers reconnected and run its subtasks.
    await waitUntil('a checkpoint completed by the recovered job', 60_000, async () => ((await checkpoints(cluster.restUrl, jobId)).latest?.completed?.id ?? 0) > restored.id!);
    await waitUntil('the job to finish its limit', 90_000, async () => (await jobState(cluster.restUrl, jobId)) === 'FINISHED', 500);
    const check = checkCountingOutput({ dir: out, partitions: 4, keys: 50, records: LIMIT });
    console.log(`# up JM kill: ${JSON.stringify({ recoveryMs: runningAt - killedAt, jmDownMs: seen.find((e) => e.kind === 'restarted')?.downMs, restoredFrom: restored.id, latestBeforeKill: before, check: { ...check, problems: check.problems.slice(0, 3) } })}`);
    assert.deepEqual(check.problems, []);
    assert.ok(check.ok);
  });

  it('a TaskManager killed during a savepoint: the savepoint completes or fails cleanly, the TaskManager is restarted and the job goes on; the output is exact', { timeout: 150_000 }, async () => {
    const tmp = tempDir('fp-up-tm-');
    cleanups.push(() => tmp.remove());
    const out = join(tmp.dir, 'out');
    const cluster = await startCounting(tmp.dir, out);
    cleanups.push(() => cluster.stop());
    const seen = events(cluster);
    const jobId = cluster.jobId!;
    await waitUntil('a completed checkpoint', 40_000, async () => ((await checkpoints(cluster.restUrl, jobId)).counts?.completed ?? 0) >= 1);
    const trigger = await getJson<{ 'request-id'?: string }>(`${cluster.restUrl}/jobs/${jobId}/savepoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'target-directory': join(tmp.dir, 'jobmanager', 'savepoints'), 'cancel-job': false }),
    });
    assert.ok(trigger['request-id'], JSON.stringify(trigger));
    cluster.taskManagers[1]!.child.kill('SIGKILL');
    const status = await waitUntil('the savepoint to complete or fail', 60_000, async () => {
      const s = await getJson<{ status?: { id?: string }; operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string } } }>(`${cluster.restUrl}/jobs/${jobId}/savepoints/${trigger['request-id']}`);
      return s.status?.id === 'COMPLETED' ? s : null;
    });
    const op = status.operation ?? {};
    assert.ok(op.location !== undefined || op['failure-cause'] !== undefined, `a location or a failure cause: ${JSON.stringify(status)}`);
    await waitUntil('the TaskManager restarted', 60_000, () => seen.some((e) => e.role === 'taskmanager-2' && e.kind === 'restarted'));
    const afterKill = (await checkpoints(cluster.restUrl, jobId)).latest?.completed?.id ?? 0;
    await waitUntil('the job RUNNING with new checkpoints', 60_000, async () =>
      (await jobState(cluster.restUrl, jobId)) === 'RUNNING' && ((await checkpoints(cluster.restUrl, jobId)).latest?.completed?.id ?? 0) > afterKill);
    await waitUntil('the job to finish its limit', 90_000, async () => (await jobState(cluster.restUrl, jobId)) === 'FINISHED', 500);
    const check = checkCountingOutput({ dir: out, partitions: 4, keys: 50, records: LIMIT });
    console.log(`# up TM kill during savepoint: ${JSON.stringify({ savepoint: op.location ? 'completed' : 'failed', check: { ...check, problems: check.problems.slice(0, 3) } })}`);
    assert.deepEqual(check.problems, []);
    assert.ok(check.ok);
  });
});
