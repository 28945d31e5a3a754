import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { TestCluster } from './support/cluster.ts';
import { committedWordCounts as finalCounts, expectedWordCounts as expectedCounts } from '../../engine/jobs/word-count-checker.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/word-count.ts');

describe('word count on a JobManager and two TaskManagers', () => {
  it('counts every word exactly with a keyed shuffle across processes', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 1 }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const jobId = await cluster.submit(JOB, ['--rate', '100000', '--partitions', '4', '--limit', '20000', '--output', out], 2);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'FINISHED', 30_000, 'the job to finish');
    const job = await cluster.rest<{ vertices: Array<{ name: string; parallelism: number }> }>(`/jobs/${jobId}`);
    assert.deepEqual(job.vertices.map((v) => v.parallelism), [2, 2]);
    const tms = await cluster.rest<{ taskmanagers: Array<{ id: string }> }>('/taskmanagers');
    assert.equal(tms.taskmanagers.length, 2);
    assert.deepEqual(finalCounts(out), expectedCounts(20000, 4));
  });
});
