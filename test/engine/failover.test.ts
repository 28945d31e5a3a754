import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { TestCluster, sampleValues } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/word-count.ts');

interface JobDetails {
  state: string;
  vertices: Array<{ status: string; tasks: Record<string, number> }>;
}

async function runningEverywhere(cluster: TestCluster, jobId: string): Promise<boolean> {
  const job = await cluster.rest<JobDetails>(`/jobs/${jobId}`);
  return job.state === 'RUNNING' && job.vertices.every((v) => v.status === 'RUNNING');
}

describe('TaskManager loss', () => {
  it('detects a killed TaskManager at once, restarts the job on the remaining slots, and keeps the JobManager up', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2, jmDefine: ['restart-strategy.fixed-delay.delay=500'] }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(JOB, ['--rate', '2000'], 2);
    await cluster.waitFor(() => runningEverywhere(cluster, jobId), 20_000, 'the job to run');
    const seen = new Set<string>();
    cluster.tms[0]!.child.kill('SIGKILL');
    await cluster.waitFor(async () => {
      seen.add(await cluster.jobStatus(jobId));
      return seen.has('RESTARTING') || seen.has('FAILING');
    }, 5000, 'the job to leave RUNNING');
    await cluster.waitFor(async () => (await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 1, 5000, 'one TaskManager left');
    await cluster.waitFor(() => runningEverywhere(cluster, jobId), 20_000, 'the job to run again on the remaining TaskManager');
    const metrics = await cluster.metrics(cluster.jm.ready.metricsPort);
    assert.deepEqual(sampleValues(metrics, 'flink_jobmanager_job_numRestarts', { job_id: jobId }), [1]);
    assert.deepEqual(sampleValues(metrics, 'flink_jobmanager_numRegisteredTaskManagers'), [1]);
    const exceptions = await cluster.rest<{ exceptionHistory: { entries: Array<{ stacktrace?: string; exceptionName?: string }> } }>(`/jobs/${jobId}/exceptions`);
    assert.ok(JSON.stringify(exceptions).includes('no longer reachable'), JSON.stringify(exceptions).slice(0, 500));
  });

  it('restarts the job elsewhere when a TaskManager shuts down gracefully', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2, jmDefine: ['restart-strategy.fixed-delay.delay=200'] }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(JOB, ['--rate', '2000'], 2);
    await cluster.waitFor(() => runningEverywhere(cluster, jobId), 20_000, 'the job to run');
    cluster.tms[1]!.child.kill('SIGTERM');
    await cluster.waitFor(async () => (await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 1, 10_000, 'one TaskManager left');
    await cluster.waitFor(async () => {
      const m = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRestarts`);
      return Number(m[0]?.value) >= 1 && (await runningEverywhere(cluster, jobId));
    }, 20_000, 'the job to restart on the remaining TaskManager');
  });

  it('declares a TaskManager lost when its heartbeats stop for heartbeat.timeout', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 1, define: ['heartbeat.interval=200', 'heartbeat.timeout=1500'] }).start();
    const frozen = cluster.tms[1]!.child;
    t.after(async () => {
      frozen.kill('SIGCONT');
      await cluster.stop();
    });
    frozen.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await cluster.waitFor(async () => (await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 1, 8000, 'the frozen TaskManager to be declared lost');
    const took = Date.now() - stoppedAt;
    assert.ok(took >= 1200, `declared lost after ${took} ms, before the timeout`);
  });
});
