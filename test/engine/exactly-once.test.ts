/**
 * The fault-tolerance headline: one counting job (deterministic generator → keyed running count
 * → exactly-once file sink) keeps its output going while it is stopped with savepoints and
 * restored at parallelism 2 → 4 → 1 → 3, rescaled in place through resource-requirements, and
 * has a TaskManager SIGKILLed three times (replacements join). The checker then compares the
 * committed output with the generator's sequence: every record exactly once, every count right.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');
const PARTITIONS = 8;
const KEYS = 37;
const RECORDS = 400_000;

interface JobView {
  state: string;
  vertices: Array<{ parallelism: number; status: string }>;
}

describe('exactly-once under rescaling and failures', () => {
  it('keeps every record exactly once and every key count right through savepoint restores 2→4→1→3, an in-place rescale and three TaskManager kills', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2, jmDefine: ['restart-strategy.fixed-delay.delay=100'] }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const args = (rate: number) => ['--rate', String(rate), '--partitions', String(PARTITIONS), '--keys', String(KEYS), '--limit', String(RECORDS), '--checkpoint-interval', '250', '--output', out];
    const completed = async (id: string) => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${id}/checkpoints`)).counts.completed;
    const runningAt = async (id: string, p: number) => {
      const job = await cluster.rest<JobView>(`/jobs/${id}`);
      return job.state === 'RUNNING' && job.vertices.every((v) => v.parallelism === p && v.status === 'RUNNING');
    };
    /** Waits for a checkpoint that completed after this call (progress is durable). */
    const freshCheckpoint = async (id: string, what: string) => {
      const before = await completed(id);
      await cluster.waitFor(async () => (await completed(id)) > before, 15_000, `a checkpoint ${what}`);
    };
    const stopWithSavepoint = async (id: string): Promise<string> => {
      const { 'request-id': trigger } = await cluster.rest<{ 'request-id': string }>(`/jobs/${id}/stop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ targetDirectory: join(cluster.dir, 'savepoints') }),
      });
      let location = '';
      await cluster.waitFor(async () => {
        const st = await cluster.rest<{ status: { id: string }; operation?: { location?: string } }>(`/jobs/${id}/savepoints/${trigger}`);
        if (st.status.id !== 'COMPLETED') return false;
        assert.ok(st.operation?.location, JSON.stringify(st));
        location = st.operation.location;
        return true;
      }, 15_000, 'the savepoint');
      await cluster.waitFor(async () => (await cluster.jobStatus(id)) === 'FINISHED', 10_000, 'the stopped job to finish');
      return location;
    };

    // (1) savepoint restores at 2 → 4 → 1 → 3.
    let id = await cluster.submit(JOB, args(4000), 2);
    await cluster.waitFor(() => runningAt(id, 2), 15_000, 'parallelism 2');
    await freshCheckpoint(id, 'at parallelism 2');
    for (const p of [4, 1, 3]) {
      const savepoint = await stopWithSavepoint(id);
      id = await cluster.submitWith(JOB, args(4000), { parallelism: p, savepointPath: savepoint });
      await cluster.waitFor(() => runningAt(id, p), 15_000, `parallelism ${p}`);
      await freshCheckpoint(id, `at parallelism ${p}`);
    }

    // (2) in-place rescale 3 → 4 through resource-requirements.
    const reqs = await cluster.rest<Record<string, unknown>>(`/jobs/${id}/resource-requirements`);
    const body = Object.fromEntries(Object.keys(reqs).map((vid) => [vid, { parallelism: { lowerBound: 1, upperBound: 4 } }]));
    await cluster.rest(`/jobs/${id}/resource-requirements`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await cluster.waitFor(() => runningAt(id, 4), 20_000, 'the in-place rescale to 4');
    await freshCheckpoint(id, 'after the in-place rescale');

    // (3) three SIGKILLs of a TaskManager running the job, each replaced.
    for (let kill = 1; kill <= 3; kill++) {
      const victim = cluster.tms.find((tm) => tm.child.exitCode === null && tm.child.signalCode === null)!;
      victim.child.kill('SIGKILL');
      await cluster.addTaskManager();
      await cluster.waitFor(async () => (await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 2, 15_000, 'the lost TaskManager to be dropped');
      await cluster.waitFor(() => runningAt(id, 4), 20_000, `the job to run again after kill ${kill}`);
      await freshCheckpoint(id, `after kill ${kill}`);
    }
    const m = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${id}/metrics?get=numRestarts,numRescales`);
    const metric = (name: string) => Number(m.find((x) => x.id === name)?.value);
    assert.equal(metric('numRescales'), 1);
    assert.ok(metric('numRestarts') >= 4, `numRestarts ${metric('numRestarts')}`);

    // Drain: one more savepoint restore at a high rate lets the generator reach its limit quickly.
    const last = await stopWithSavepoint(id);
    const before = checkCountingOutput({ dir: out, partitions: PARTITIONS, keys: KEYS, records: RECORDS });
    assert.equal(before.duplicates, 0, 'no duplicates so far');
    assert.ok(before.missing > 0, 'the job was still running when the test was done with it');
    id = await cluster.submitWith(JOB, args(200_000), { parallelism: 3, savepointPath: last });
    await cluster.waitFor(async () => (await cluster.jobStatus(id)) === 'FINISHED', 45_000, 'the job to reach its limit');
    const result = checkCountingOutput({ dir: out, partitions: PARTITIONS, keys: KEYS, records: RECORDS });
    assert.ok(result.ok, JSON.stringify({ ...result, problems: result.problems.slice(0, 5) }));
  });
});
