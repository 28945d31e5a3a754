/**
 * Resource requirements on a real cluster, as Flink's adaptive scheduler treats them: an upper
 * bound far above the cluster's slots runs the job at what the slots allow (not at the bound),
 * once, and the cluster stays stable: every TaskManager stays registered, the job keeps
 * checkpointing and restarts only for the one rescale. A lower bound above the slots is accepted
 * too; the job keeps running at what the slots allow. Bad bounds get a 400 naming the problem.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { TestCluster } from '../engine/support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

interface JobView {
  state: string;
  vertices: Array<{ id: string; parallelism: number; status: string }>;
}
type Requirements = Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;

describe('PUT resource-requirements on a real cluster', () => {
  it('runs at what the slots allow when the upper bound is above them, without destabilizing the cluster', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2 }).start();
    t.after(() => cluster.stop());
    const args = ['--rate', '500', '--partitions', '4', '--keys', '11', '--checkpoint-interval', '300', '--output', resolve(cluster.dir, 'out')];
    const jobId = await cluster.submit(JOB, args, 2);
    const checkpoints = async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed;
    await cluster.waitFor(async () => (await checkpoints()) >= 1, 20_000, 'a first checkpoint');

    const reqs = await cluster.rest<Requirements>(`/jobs/${jobId}/resource-requirements`);
    const body = (lower: number, upper: number) => JSON.stringify(Object.fromEntries(Object.keys(reqs).map((v) => [v, { parallelism: { lowerBound: lower, upperBound: upper } }])));
    const put = (b: string) => fetch(`${cluster.restUrl}/jobs/${jobId}/resource-requirements`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: b });

    const res = await put(body(1, 128));
    assert.equal(res.status, 200, await res.text());
    const runningAt = async (p: number) => {
      const job = await cluster.rest<JobView>(`/jobs/${jobId}`);
      return job.state === 'RUNNING' && job.vertices.every((v) => v.parallelism === p && v.status === 'RUNNING');
    };
    await cluster.waitFor(() => runningAt(4), 30_000, 'the job to run at the 4 slots');
    const got = await cluster.rest<Requirements>(`/jobs/${jobId}/resource-requirements`);
    for (const v of Object.values(got)) assert.deepEqual(v.parallelism, { lowerBound: 1, upperBound: 128 });

    // Stable: both TaskManagers stay registered, checkpoints keep completing, one restart (the rescale).
    const before = await checkpoints();
    await cluster.waitFor(async () => (await checkpoints()) >= before + 3, 20_000, 'three more checkpoints after the rescale');
    const tms = await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers');
    assert.equal(tms.taskmanagers.length, 2);
    const m = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRescales,numRestarts`);
    assert.deepEqual(m.map((x) => [x.id, x.value]), [['numRescales', '1'], ['numRestarts', '1']]);
    assert.ok(await runningAt(4));

    // A lower bound above the slots is accepted; the job keeps running at the slots (no restart).
    const high = await put(body(64, 128));
    assert.equal(high.status, 200, await high.text());
    assert.ok(await runningAt(4));
    const m2 = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRescales`);
    assert.equal(m2[0]!.value, '1');

    // Bad bounds: 400 with the reason, nothing changes.
    const bad = await put(body(3, 2));
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { errors: string[] }).errors[0]!, /must not exceed its upper bound/);
    const tooHigh = await put(body(1, 100_000));
    assert.equal(tooHigh.status, 400);
    assert.match(((await tooHigh.json()) as { errors: string[] }).errors[0]!, /exceeds its max parallelism/);
  });
});
