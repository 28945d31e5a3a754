/**
 * Checkpoints after tasks finish (Flink's execution.checkpointing.checkpoints-after-tasks-finish.enabled,
 * true by default since 1.15): a bounded job whose periodic checkpoint never comes (a one-hour
 * interval) still ends with all of its output committed by the exactly-once file sink, because
 * its subtasks wait for a final checkpoint before they finish; /jobs/:id/checkpoints/config
 * reports the same.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { checkCountingOutput } from '../../engine/jobs/counting-checker.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');
const RECORDS = 3000;

describe('checkpoints after tasks finish', () => {
  it('commits all of a bounded job\'s output with a final checkpoint, and /checkpoints/config says checkpoints_after_tasks_finish: true', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 2 }).start();
    t.after(() => cluster.stop());
    const out = join(cluster.dir, 'out');
    const id = await cluster.submit(JOB, ['--rate', '20000', '--limit', String(RECORDS), '--checkpoint-interval', '3600000', '--output', out], 2);
    const config = await cluster.rest<{ interval: number; checkpoints_after_tasks_finish: boolean }>(`/jobs/${id}/checkpoints/config`);
    assert.equal(config.interval, 3_600_000);
    assert.equal(config.checkpoints_after_tasks_finish, true);
    await cluster.waitFor(async () => (await cluster.jobStatus(id)) === 'FINISHED', 60_000, 'the bounded job to finish');
    const cps = await cluster.rest<{ counts: { completed: number }; latest: { completed: { id: number } | null } }>(`/jobs/${id}/checkpoints`);
    assert.ok(cps.counts.completed >= 1, `a final checkpoint completed: ${JSON.stringify(cps.counts)}`);
    const check = checkCountingOutput({ dir: out, partitions: 4, keys: 100, records: RECORDS });
    assert.ok(check.ok, JSON.stringify(check));
    assert.equal(check.recordsSeen, RECORDS);
  });
});
