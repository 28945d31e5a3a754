/**
 * Bad savepoint input through the REST API: targets outside the allowed roots (also by `..`
 * and by a symlink), a corrupt or partial savepoint given to /jars/:id/run, and a second
 * savepoint request while one is running.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestCluster } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

interface SavepointStatus {
  status: { id: string };
  operation?: { location?: string; 'failure-cause'?: unknown };
}

async function post(cluster: TestCluster, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${cluster.restUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function savepoint(cluster: TestCluster, jobId: string, target: string): Promise<string> {
  const r = await post(cluster, `/jobs/${jobId}/savepoints`, { 'target-directory': target, 'cancel-job': false });
  assert.equal(r.status, 202, r.text);
  const triggerId = (JSON.parse(r.text) as { 'request-id': string })['request-id'];
  let location = '';
  await cluster.waitFor(async () => {
    const st = await cluster.rest<SavepointStatus>(`/jobs/${jobId}/savepoints/${triggerId}`);
    if (st.status.id !== 'COMPLETED') return false;
    assert.ok(st.operation?.location, JSON.stringify(st));
    location = st.operation.location;
    return true;
  }, 15_000, 'the savepoint');
  return location.replace(/^file:/, '');
}

async function jobCount(cluster: TestCluster): Promise<number> {
  return (await cluster.rest<{ jobs: unknown[] }>('/jobs')).jobs.length;
}

describe('savepoint input checks', () => {
  it('refuses savepoint targets outside the allowed roots with a 400, by path, by .. and by symlink, and the job keeps running', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 1 }).start();
    const outside = mkdtempSync(join(tmpdir(), 'fp-outside-'));
    t.after(async () => {
      await cluster.stop();
      rmSync(outside, { recursive: true, force: true });
    });
    symlinkSync(outside, join(cluster.dir, 'escape'));
    const id = await cluster.submit(JOB, ['--output', join(cluster.dir, 'o'), '--rate', '200', '--checkpoint-interval', '300'], 1);
    await cluster.waitFor(async () => (await cluster.jobStatus(id)) === 'RUNNING', 10_000, 'the job to run');
    for (const target of [outside, `${cluster.dir}/../${outside.split('/').pop()}`, join(cluster.dir, 'escape', 'sp'), 'relative/dir']) {
      for (const path of [`/jobs/${id}/savepoints`, `/jobs/${id}/stop`]) {
        const r = await post(cluster, path, path.endsWith('stop') ? { targetDirectory: target } : { 'target-directory': target });
        assert.equal(r.status, 400, `${path} ${target}: ${r.status} ${r.text}`);
        assert.match(r.text, /allowed roots|absolute path/);
      }
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing was written outside the roots');
    assert.equal(await cluster.jobStatus(id), 'RUNNING');
    // A target under the roots still works.
    const ok = await savepoint(cluster, id, join(cluster.dir, 'savepoints'));
    assert.ok(ok.startsWith(join(cluster.dir, 'savepoints')), ok);
  });

  it('refuses a corrupt or partial savepoint at /jars/:id/run with a clear 400 and starts nothing', async (t) => {
    // Threshold 0: this job's small state goes to state files (not inline in _metadata), so one can be truncated.
    const cluster = await new TestCluster({ taskManagers: 2, slots: 1, jmDefine: ['state.storage.fs.memory-threshold=0'] }).start();
    t.after(() => cluster.stop());
    const id = await cluster.submit(JOB, ['--output', join(cluster.dir, 'o'), '--rate', '500', '--keys', '17', '--checkpoint-interval', '300'], 1);
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${id}/checkpoints`)).counts.completed >= 1, 15_000, 'a checkpoint');
    const good = await savepoint(cluster, id, join(cluster.dir, 'sp-a'));
    const partial = await savepoint(cluster, id, join(cluster.dir, 'sp-b'));
    const before = await jobCount(cluster);

    // Truncated state: the metadata names a state file whose bytes are no longer all there.
    const stateFile = readdirSync(good).find((f) => f !== '_metadata' && statSync(join(good, f)).size > 8);
    assert.ok(stateFile, `a state file in ${good}`);
    truncateSync(join(good, stateFile), statSync(join(good, stateFile)).size - 5);
    await assert.rejects(cluster.submitWith(JOB, ['--output', join(cluster.dir, 'o2')], { savepointPath: good, parallelism: 1 }), /→ 400: .*(corrupt|partial|cannot be read|bytes)/i);

    // Partial: no _metadata (a checkpoint that never completed).
    unlinkSync(join(partial, '_metadata'));
    await assert.rejects(cluster.submitWith(JOB, ['--output', join(cluster.dir, 'o3')], { savepointPath: partial, parallelism: 1 }), /→ 400: .*_metadata/);

    assert.equal(await jobCount(cluster), before, 'no job was started');
    assert.equal(await cluster.jobStatus(id), 'RUNNING');
    const overview = await cluster.rest<{ 'slots-available': number }>('/overview');
    assert.equal(overview['slots-available'], 1, 'no slot was taken by a half-started job');
  });

  it('answers a second savepoint request while one runs with the running trigger or a 409', async (t) => {
    const cluster = await new TestCluster({ taskManagers: 1, slots: 1 }).start();
    t.after(() => cluster.stop());
    const id = await cluster.submit(JOB, ['--output', join(cluster.dir, 'o'), '--rate', '200', '--checkpoint-interval', '300'], 1);
    await cluster.waitFor(async () => (await cluster.rest<{ counts: { completed: number } }>(`/jobs/${id}/checkpoints`)).counts.completed >= 1, 15_000, 'a checkpoint');
    mkdirSync(join(cluster.dir, 'sp'), { recursive: true });
    const target = join(cluster.dir, 'sp');
    // The first is accepted before the others are sent (fired all at once, any of them could win);
    // the others reach the JobManager while it is in progress, or just after it completed.
    const a = await post(cluster, `/jobs/${id}/savepoints`, { 'target-directory': target });
    const [b, c] = await Promise.all([
      post(cluster, `/jobs/${id}/savepoints`, { 'target-directory': target }),
      post(cluster, `/jobs/${id}/savepoints`, { 'target-directory': join(cluster.dir, 'other') }),
    ]);
    assert.equal(a.status, 202, a.text);
    const first = (JSON.parse(a.text) as { 'request-id': string })['request-id'];
    // The same request joins the running one (same trigger id), or it arrived after completion.
    if (b.status === 202) {
      const second = (JSON.parse(b.text) as { 'request-id': string })['request-id'];
      const st = await cluster.rest<SavepointStatus>(`/jobs/${id}/savepoints/${first}`);
      assert.ok(second === first || st.status.id === 'COMPLETED', `a new trigger ${second} while ${first} ran`);
    } else assert.equal(b.status, 409, b.text);
    // Another target while one runs: a clear conflict naming the running trigger (or it ran after the first completed).
    if (c.status === 409) assert.match(c.text, new RegExp(`already in progress.*${first}|${first}.*already in progress`));
    else assert.equal(c.status, 202, c.text);
    for (const r of [a, b, c].filter((x) => x.status === 202)) {
      const trigger = (JSON.parse(r.text) as { 'request-id': string })['request-id'];
      await cluster.waitFor(async () => (await cluster.rest<SavepointStatus>(`/jobs/${id}/savepoints/${trigger}`)).status.id === 'COMPLETED', 15_000, 'the savepoints to finish');
    }
    const sync = await Promise.all([post(cluster, `/jobs/${id}/stop`, { targetDirectory: target }), post(cluster, `/jobs/${id}/savepoints`, { 'target-directory': target })]);
    assert.equal(sync[0].status, 202, sync[0].text);
    assert.equal(sync[1].status, 409, `a savepoint while stop-with-savepoint runs: ${sync[1].status} ${sync[1].text}`);
    assert.match(sync[1].text, /stop-with-savepoint .* already in progress|not RUNNING|state/);
  });
});
