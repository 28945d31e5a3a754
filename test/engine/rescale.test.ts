import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

describe('in-place rescale', () => {
  it('changes a running job\'s parallelism through resource-requirements without losing or duplicating records', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2 }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const args = ['--rate', '3000', '--partitions', '6', '--keys', '29', '--limit', '15000', '--checkpoint-interval', '500', '--output', out];
    const jobId = await cluster.submit(JOB, args, 2);
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed >= 1, 15_000, 'a checkpoint');
    const reqs = await cluster.rest<Record<string, { parallelism: { lowerBound: number; upperBound: number } }>>(`/jobs/${jobId}/resource-requirements`);
    const body: Record<string, { parallelism: { lowerBound: number; upperBound: number } }> = {};
    for (const vid of Object.keys(reqs)) body[vid] = { parallelism: { lowerBound: 1, upperBound: 4 } };
    await cluster.rest(`/jobs/${jobId}/resource-requirements`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await cluster.waitFor(async () => {
      const job = await cluster.rest<{ state: string; vertices: Array<{ parallelism: number; status: string }> }>(`/jobs/${jobId}`);
      return job.vertices.every((v) => v.parallelism === 4 && (v.status === 'RUNNING' || v.status === 'FINISHED'));
    }, 20_000, 'the job to run at parallelism 4');
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'FINISHED', 30_000, 'the job to finish');
    const m = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRescales,numRestarts`);
    assert.deepEqual(m.map((x) => [x.id, x.value]), [['numRescales', '1'], ['numRestarts', '1']]);
    const result = checkCountingOutput({ dir: out, partitions: 6, keys: 29, records: 15000 });
    assert.ok(result.ok, JSON.stringify({ ...result, problems: result.problems.slice(0, 5) }));
  });
});
