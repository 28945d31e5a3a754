import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

interface SavepointStatus {
  status: { id: string };
  operation?: { location?: string; 'failure-cause'?: unknown };
}

describe('savepoints', () => {
  it('stops a job with a savepoint and restores it at a higher parallelism without loss or duplicates', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2 }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const args = ['--rate', '3000', '--partitions', '6', '--keys', '31', '--limit', '15000', '--checkpoint-interval', '400', '--output', out];
    const first = await cluster.submit(JOB, args, 2);
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${first}/checkpoints`)).counts.completed >= 1, 15_000, 'a checkpoint');
    const { 'request-id': triggerId } = await cluster.rest<{ 'request-id': string }>(`/jobs/${first}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ targetDirectory: join(cluster.dir, 'savepoints'), drain: false }),
    });
    let location = '';
    await cluster.waitFor(async () => {
      const st = await cluster.rest<SavepointStatus>(`/jobs/${first}/savepoints/${triggerId}`);
      if (st.status.id !== 'COMPLETED') return false;
      assert.ok(st.operation?.location, JSON.stringify(st));
      location = st.operation.location;
      return true;
    }, 15_000, 'the savepoint');
    await cluster.waitFor(async () => (await cluster.jobStatus(first)) === 'FINISHED', 10_000, 'the stopped job to be FINISHED');
    const partial = checkCountingOutput({ dir: out, partitions: 6, keys: 31, records: 15000 });
    assert.ok(partial.missing > 0, 'the first run stopped before the end');
    assert.equal(partial.duplicates, 0);

    const second = await cluster.submitWith(JOB, args, { parallelism: 3, savepointPath: location });
    await cluster.waitFor(async () => (await cluster.jobStatus(second)) === 'FINISHED', 30_000, 'the restored job to finish');
    const job = await cluster.rest<{ vertices: Array<{ parallelism: number }> }>(`/jobs/${second}`);
    assert.ok(job.vertices.every((v) => v.parallelism === 3));
    const restored = await cluster.rest<{ counts: { restored: number } }>(`/jobs/${second}/checkpoints`);
    assert.equal(restored.counts.restored, 1);
    const result = checkCountingOutput({ dir: out, partitions: 6, keys: 31, records: 15000 });
    assert.ok(result.ok, JSON.stringify({ ...result, problems: result.problems.slice(0, 5) }));
  });

  it('refuses a savepoint path that holds no savepoint with a 400, and the cluster keeps running', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 1 }).start();
    t.after(() => cluster.stop());
    await assert.rejects(cluster.submitWith(JOB, ['--output', join(cluster.dir, 'o')], { savepointPath: cluster.dir }), /→ 400: .*not a savepoint/);
    const overview = await cluster.rest<{ taskmanagers: number }>('/overview');
    assert.equal(overview.taskmanagers, 1);
  });

  it('fails a savepoint whose directory cannot be created, and the job keeps running', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 1, jmDefine: ['flowpilot.savepoint.allowed-roots=/proc'] }).start();
    t.after(() => cluster.stop());
    const id = await cluster.submit(JOB, ['--output', join(cluster.dir, 'o'), '--rate', '200', '--checkpoint-interval', '300'], 1);
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${id}/checkpoints`)).counts.completed >= 1, 15_000, 'a checkpoint');
    const { 'request-id': triggerId } = await cluster.rest<{ 'request-id': string }>(`/jobs/${id}/savepoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'target-directory': '/proc/flowpilot-cannot-write-here', 'cancel-job': false }),
    });
    let status: SavepointStatus | undefined;
    await cluster.waitFor(async () => {
      status = await cluster.rest<SavepointStatus>(`/jobs/${id}/savepoints/${triggerId}`);
      return status.status.id === 'COMPLETED';
    }, 10_000, 'the savepoint to fail');
    assert.ok(status?.operation?.['failure-cause'], JSON.stringify(status));
    assert.equal(await cluster.jobStatus(id), 'RUNNING');
  });
});
