/**
 * The REST commands end to end over HTTP against the in-memory backend: uploading and running
 * a job module (body and query parameters reach the backend as a SubmitJobRequest), the
 * savepoint lifecycle (in progress → location, or failure-cause), stop-with-savepoint,
 * cancel, in-place rescale through resource-requirements, and the jar list and delete.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startHarness, type Harness } from './support/harness.ts';
import { ORDERS_JOB, V_ENRICH, V_SINK, V_SOURCE, V_WINDOW } from './support/memory-backend.ts';

const J = `/jobs/${ORDERS_JOB}`;

describe('REST commands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.stop());

  async function uploadJob(name = 'counting.ts'): Promise<string> {
    const a = await h.upload(name, 'export default (args: string[]) => ({ name: "counting-" + args.join("_") });\n');
    assert.equal(a.status, 200, a.text);
    const b = a.body as { filename: string; status: string };
    assert.equal(b.status, 'success');
    // The stored name only: no server path in the answer (Flink answers the absolute path; its basename is the same id).
    assert.match(b.filename, /^[0-9a-f-]{36}_counting\.ts$/);
    assert.ok(!b.filename.includes(h.tmp));
    return path.basename(b.filename);
  }

  it('stores an uploaded module, lists it under its id and deletes it', async () => {
    const id = await uploadJob();
    const list = (await h.call('GET', '/jars')).body as { address: string; files: Array<{ id: string; name: string }> };
    assert.equal(list.address, h.base);
    assert.deepEqual(list.files.map((f) => [f.id, f.name]), [[id, 'counting.ts']]);
    assert.equal((await h.call('DELETE', `/jars/${id}`)).status, 200);
    assert.deepEqual(((await h.call('GET', '/jars')).body as { files: unknown[] }).files, []);
  });

  it('runs an uploaded module with body options winning over query parameters', async () => {
    const id = await uploadJob();
    const a = await h.call('POST', `/jars/${id}/run?parallelism=5&savepointPath=/q/sp&allowNonRestoredState=true&programArg=--q,1`, {
      programArgsList: ['--rate', '100'], parallelism: 3, claimMode: 'CLAIM', flinkConfiguration: { 'pipeline.max-parallelism': '64' },
    });
    assert.equal(a.status, 200, a.text);
    const jobId = (a.body as { jobid: string }).jobid;
    assert.match(jobId, /^[0-9a-f]{32}$/);
    const req = h.backend.submitted.at(-1)!;
    assert.deepEqual(req.programArgs, ['--rate', '100']);
    assert.equal(req.parallelism, 3);
    assert.equal(req.savepointPath, '/q/sp');
    assert.equal(req.allowNonRestoredState, true);
    assert.equal(req.claimMode, 'CLAIM');
    assert.deepEqual(req.configuration, { 'pipeline.max-parallelism': '64' });
    const details = (await h.call('GET', `/jobs/${jobId}`)).body as { name: string; state: string; vertices: Array<{ parallelism: number }> };
    assert.equal(details.name, 'counting---rate_100');
    assert.equal(details.state, 'RUNNING');
    assert.equal(details.vertices[0]!.parallelism, 3);
  });

  it('takes program arguments from the deprecated programArgs string and from programArg query values', async () => {
    const id = await uploadJob();
    await h.call('POST', `/jars/${id}/run`, { programArgs: '--input "a b.txt" --n 2' });
    assert.deepEqual(h.backend.submitted.at(-1)!.programArgs, ['--input', 'a b.txt', '--n', '2']);
    await h.call('POST', `/jars/${id}/run?programArg=--x,1&parallelism=2`);
    const last = h.backend.submitted.at(-1)!;
    assert.deepEqual(last.programArgs, ['--x', '1']);
    assert.equal(last.parallelism, 2);
    assert.equal(last.claimMode, 'NO_CLAIM');
    await h.call('POST', `/jars/${id}/run`, { parallelism: -1 });
    assert.equal(h.backend.submitted.at(-1)!.parallelism, undefined, '-1 means the cluster default');
  });

  it('reports a savepoint as in progress, then completed with its location', async () => {
    const a = await h.call('POST', `${J}/savepoints`, { 'target-directory': '/data/savepoints' });
    assert.equal(a.status, 202);
    const trigger = (a.body as { 'request-id': string })['request-id'];
    assert.match(trigger, /^[0-9a-f]{32}$/);
    const first = await h.call('GET', `${J}/savepoints/${trigger}`);
    assert.deepEqual(first.body, { status: { id: 'IN_PROGRESS' }, operation: null });
    const second = await h.call('GET', `/v1${J}/savepoints/${trigger}`);
    const b = second.body as { status: { id: string }; operation: { location: string } };
    assert.equal(b.status.id, 'COMPLETED');
    assert.match(b.operation.location, /^file:\/data\/savepoints\/savepoint-5e20cb-/);
  });

  it('reports a failed savepoint with a failure-cause', async () => {
    const a = await h.call('POST', `${J}/savepoints`, { 'target-directory': '/fail/here', triggerId: 'ab'.repeat(16) });
    const trigger = (a.body as { 'request-id': string })['request-id'];
    assert.equal(trigger, 'ab'.repeat(16), 'a client-chosen trigger id is kept');
    await h.call('GET', `${J}/savepoints/${trigger}`);
    const b = (await h.call('GET', `${J}/savepoints/${trigger}`)).body as { operation: { 'failure-cause': Record<string, string> } };
    assert.equal(b.operation['failure-cause'].class, 'FlowpilotError');
    assert.match(b.operation['failure-cause']['stack-trace']!, /disk full/);
    assert.ok(Buffer.from(b.operation['failure-cause']['serialized-throwable']!, 'base64').toString().includes('disk full'));
  });

  it('stops a job with a savepoint, polled through the savepoint status route', async () => {
    const a = await h.call('POST', `${J}/stop`, { targetDirectory: '/data/sp', drain: true });
    assert.equal(a.status, 202);
    const trigger = (a.body as { 'request-id': string })['request-id'];
    await h.call('GET', `${J}/savepoints/${trigger}`);
    const done = (await h.call('GET', `${J}/savepoints/${trigger}`)).body as { operation: { location: string } };
    assert.match(done.operation.location, /savepoint-/);
    const jobs = (await h.call('GET', '/jobs')).body as { jobs: Array<{ id: string; status: string }> };
    assert.equal(jobs.jobs.find((j) => j.id === ORDERS_JOB)?.status, 'FINISHED');
  });

  it('cancels a running job with 202 {} and shows it CANCELED with an end time', async () => {
    const a = await h.call('PATCH', `${J}?mode=CANCEL`);
    assert.equal(a.status, 202);
    assert.deepEqual(a.body, {});
    const d = (await h.call('GET', J)).body as { state: string; 'end-time': number; timestamps: Record<string, number> };
    assert.equal(d.state, 'CANCELED');
    assert.ok(d['end-time'] > 0);
    assert.ok(d.timestamps.CANCELED! > 0);
    const o = (await h.call('GET', '/overview')).body as Record<string, number>;
    assert.equal(o['jobs-cancelled'], 1);
    assert.equal((await h.call('PATCH', J)).status, 202, 'cancelling a cancelled job is acknowledged');
  });

  it('rescales in place through resource requirements, with -1 meaning 1 / maxParallelism', async () => {
    const body = {
      [V_SOURCE]: { parallelism: { lowerBound: 1, upperBound: 2 } },
      [V_ENRICH]: { parallelism: { lowerBound: -1, upperBound: 8 } },
      [V_WINDOW]: { parallelism: { lowerBound: 2, upperBound: -1 } },
      [V_SINK]: { parallelism: { lowerBound: 1, upperBound: 2 } },
    };
    const a = await h.call('PUT', `${J}/resource-requirements`, body);
    assert.equal(a.status, 200, a.text);
    const got = (await h.call('GET', `${J}/resource-requirements`)).body as Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;
    assert.deepEqual(got[V_ENRICH], { parallelism: { lowerBound: 1, upperBound: 8 } });
    assert.deepEqual(got[V_WINDOW], { parallelism: { lowerBound: 2, upperBound: 128 } });
    const v = (await h.call('GET', `${J}/vertices/${V_ENRICH}`)).body as { parallelism: number; subtasks: unknown[] };
    assert.equal(v.parallelism, 8);
    assert.equal(v.subtasks.length, 8);
  });
});
