import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

interface Checkpoints {
  counts: { completed: number; restored: number };
  latest: { completed: { id: number; external_path?: string } | null };
}

describe('checkpoints across processes', () => {
  it('restores from the latest checkpoint after a TaskManager is killed, so the committed output is exactly once', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 2, slots: 2, jmDefine: ['restart-strategy.fixed-delay.delay=200'] }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const args = ['--rate', '3000', '--partitions', '4', '--keys', '23', '--limit', '12000', '--checkpoint-interval', '200', '--output', out];
    const jobId = await cluster.submit(JOB, args, 2);
    await cluster.waitFor(async () => (await cluster.rest<Checkpoints>(`/jobs/${jobId}/checkpoints`)).counts.completed >= 2, 15_000, 'two completed checkpoints');
    const before = await cluster.rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
    const path = before.latest.completed?.external_path;
    assert.ok(path && existsSync(join(path, '_metadata')), `checkpoint directory with _metadata: ${path}`);
    cluster.tms[0]!.child.kill('SIGKILL');
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'FINISHED', 30_000, 'the job to finish after the restart');
    const after = await cluster.rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
    assert.ok(after.counts.restored >= 1, JSON.stringify(after.counts));
    const metrics = await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRestarts,lastCheckpointRestoreTimestamp`);
    assert.ok(Number(metrics.find((m) => m.id === 'numRestarts')?.value) >= 1);
    assert.ok(Number(metrics.find((m) => m.id === 'lastCheckpointRestoreTimestamp')?.value) > 0);
    const result = checkCountingOutput({ dir: out, partitions: 4, keys: 23, records: 12000 });
    assert.ok(result.ok, `${JSON.stringify({ ...result, problems: result.problems.slice(0, 5) })}; files: ${readdirSync(out).join(' ')}`);
  });
});
