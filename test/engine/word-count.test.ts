import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sentence, type WordCount } from '../../engine/jobs/word-count.ts';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/word-count.ts');

function expectedCounts(limit: number, partitions: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let g = 0; g < limit; g++) {
    for (const w of sentence(g % partitions, Math.floor(g / partitions), partitions).split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  }
  return m;
}

function finalCounts(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of readdirSync(dir).filter((x) => x.startsWith('part-'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as WordCount;
      m.set(r.word, Math.max(m.get(r.word) ?? 0, r.count));
    }
  }
  return m;
}

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
