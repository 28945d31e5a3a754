/**
 * Reactive mode across processes: a TaskManager that joins makes the running job rescale up
 * from its latest checkpoint once the resources were stable for the stabilization timeout, one
 * that leaves makes it rescale down, and the committed output stays exactly once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');
const RECORDS = 300_000;

interface JobView {
  state: string;
  vertices: Array<{ parallelism: number; status: string }>;
}

describe('reactive mode', () => {
  it('starts a job at the available slots, rescales it up when a TaskManager joins and down when one leaves, from its latest checkpoint, without loss or duplicates', async (t) => {
    const cluster = await new TestCluster({
      taskManagers: 2,
      slots: 1,
      jmDefine: ['scheduler-mode=reactive', 'jobmanager.adaptive-scheduler.resource-stabilization-timeout=500', 'restart-strategy.fixed-delay.delay=100'],
    }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const args = (rate: number) => ['--rate', String(rate), '--partitions', '6', '--keys', '23', '--limit', String(RECORDS), '--checkpoint-interval', '250', '--output', out];
    const runningAt = async (id: string, p: number) => {
      const job = await cluster.rest<JobView>(`/jobs/${id}`);
      return job.state === 'RUNNING' && job.vertices.every((v) => v.parallelism === p && v.status === 'RUNNING');
    };
    const checkpoints = async (id: string) => cluster.rest<{ counts: { completed: number; restored: number } }>(`/jobs/${id}/checkpoints`);
    // Reactive mode ignores the requested parallelism (1): the job starts at the cluster's 2 slots.
    const id = await cluster.submit(JOB, args(3000), 1);
    await cluster.waitFor(() => runningAt(id, 2), 15_000, 'parallelism 2 (the slots), not the requested 1');
    await cluster.waitFor(async () => (await checkpoints(id)).counts.completed >= 1, 15_000, 'a checkpoint');

    const joinedAt = Date.now();
    await cluster.addTaskManager();
    await cluster.waitFor(() => runningAt(id, 3), 20_000, 'the job to scale up to 3 slots');
    assert.ok(Date.now() - joinedAt >= 500, 'not before the stabilization timeout');
    const up = await checkpoints(id);
    assert.ok(up.counts.restored >= 1, 'it restored from a checkpoint');
    await cluster.waitFor(async () => (await checkpoints(id)).counts.completed > up.counts.completed, 15_000, 'a checkpoint at 3');

    cluster.tms[0]!.child.kill('SIGKILL');
    await cluster.waitFor(() => runningAt(id, 2), 30_000, 'the job to scale down to 2 slots');
    const m = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${id}/metrics?get=numRescales`);
    assert.equal(Number(m[0]?.value), 2, 'one rescale up, one down');
    const down = await checkpoints(id);
    await cluster.waitFor(async () => (await checkpoints(id)).counts.completed > down.counts.completed, 15_000, 'a checkpoint at 2');

    // Drain through a savepoint at a high rate, then check the whole output.
    const { 'request-id': trigger } = await cluster.rest<{ 'request-id': string }>(`/jobs/${id}/stop`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetDirectory: join(cluster.dir, 'sp') }),
    });
    let location = '';
    await cluster.waitFor(async () => {
      const st = await cluster.rest<{ status: { id: string }; operation?: { location?: string } }>(`/jobs/${id}/savepoints/${trigger}`);
      location = st.operation?.location ?? '';
      return st.status.id === 'COMPLETED';
    }, 15_000, 'the savepoint');
    assert.ok(location, 'the savepoint has a location');
    const last = await cluster.submitWith(JOB, args(200_000), { parallelism: 2, savepointPath: location });
    await cluster.waitFor(async () => (await cluster.jobStatus(last)) === 'FINISHED', 45_000, 'the job to reach its limit');
    const result = checkCountingOutput({ dir: out, partitions: 6, keys: 23, records: RECORDS });
    assert.ok(result.ok, JSON.stringify({ ...result, problems: result.problems.slice(0, 5) }));
  });
});
