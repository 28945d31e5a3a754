import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, 'support/test-jobs.ts');
const WORD_COUNT = resolve(import.meta.dirname, '../../engine/jobs/word-count.ts');

describe('job submission and cancellation', () => {
  it('answers 400 for a module that throws while building, keeps the cluster up, then runs and cancels a good job', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 2 }).start();
    t.after(() => cluster.stop());
    await assert.rejects(cluster.submit(JOB, ['--job', 'throws']), /→ 400: .*fails on purpose/);
    const jobId = await cluster.submit(JOB, ['--job', 'slow', '--sink-delay-ms', '1'], 2);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'RUNNING', 10_000, 'the good job to run');
    const overview = await cluster.rest<{ 'slots-total': number; 'slots-available': number; 'jobs-running': number }>('/overview');
    assert.equal(overview['slots-total'], 2);
    assert.equal(overview['slots-available'], 0);
    assert.equal(overview['jobs-running'], 1);
    const res = await fetch(`${cluster.restUrl}/jobs/${jobId}`, { method: 'PATCH', signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 202);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'CANCELED', 10_000, 'the job to be canceled');
    const after = await cluster.rest<{ 'slots-available': number }>('/overview');
    assert.equal(after['slots-available'], 2);
    const job = await cluster.rest<{ vertices: Array<{ status: string }> }>(`/jobs/${jobId}`);
    assert.deepEqual(job.vertices.map((v) => v.status), ['CANCELED', 'CANCELED']);
  });

  it('runs each vertex at the parallelism pipeline.jobvertex-parallelism-overrides gives it, and refuses a malformed entry', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 4 }).start();
    t.after(() => cluster.stop());
    const args = ['--rate', '20'];
    const first = await cluster.submit(WORD_COUNT, args, 1);
    const ids = (await cluster.rest<{ vertices: Array<{ id: string }> }>(`/jobs/${first}`)).vertices.map((v) => v.id);
    assert.ok(ids.length >= 2, 'word count has a keyed stage after its source');
    await fetch(`${cluster.restUrl}/jobs/${first}`, { method: 'PATCH', signal: AbortSignal.timeout(5000) });
    await cluster.waitFor(async () => (await cluster.jobStatus(first)) === 'CANCELED', 10_000, 'the first job to be canceled');
    const last = ids.at(-1)!;
    const jobId = await cluster.submitWith(WORD_COUNT, args, { parallelism: 1, flinkConfiguration: { 'pipeline.jobvertex-parallelism-overrides': `${ids[0]}:1,${last}:3` } });
    const job = await cluster.rest<{ vertices: Array<{ id: string; parallelism: number }> }>(`/jobs/${jobId}`);
    assert.deepEqual(job.vertices.map((v) => v.parallelism), ids.map((id) => (id === last ? 3 : 1)));
    await assert.rejects(
      cluster.submitWith(WORD_COUNT, args, { flinkConfiguration: { 'pipeline.jobvertex-parallelism-overrides': 'map:2' } }),
      /→ 400: .*jobvertex-parallelism-overrides/,
    );
  });

  it('starts every job from the cluster\'s job-scope options (a -D checkpoint interval checkpoints a job that sets none) and refuses a bad one at start', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 2, jmDefine: ['execution.checkpointing.interval=300ms'] }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(WORD_COUNT, ['--rate', '20'], 1);
    const config = await cluster.rest<{ interval: number }>(`/jobs/${jobId}/checkpoints/config`);
    assert.equal(config.interval, 300, 'the cluster\'s interval, in ms');
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed >= 2, 20_000, 'checkpoints of a job that set no interval');
    await assert.rejects(new TestCluster({ taskManagers: 0, jmDefine: ['execution.checkpointing.interval=soon'] }).start(), /execution\.checkpointing\.interval|not a duration/);
  });
});
