/**
 * Bad input over real HTTP: unknown routes and ids get Flink's 404s, malformed ids and bodies
 * get 400s that say what and where, oversized bodies get 413, a job module that throws gets a
 * 400 with its error while the cluster keeps answering, and backend failures map to Flink's
 * status codes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FlowpilotError } from '../../common/errors.ts';
import { startHarness, type Answer, type Harness } from './support/harness.ts';
import { MemoryBackend, ORDERS_JOB, V_ENRICH, V_SINK, V_SOURCE, V_WINDOW, WORDCOUNT_JOB } from './support/memory-backend.ts';

const J = `/jobs/${ORDERS_JOB}`;

function errors(a: Answer): string[] {
  const b = a.body as { errors?: unknown };
  assert.ok(Array.isArray(b?.errors), `expected {"errors":[...]}, got ${a.text}`);
  return b.errors as string[];
}

describe('REST bad input', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(new MemoryBackend(), { maxBodyBytes: 4096 });
  });
  after(async () => h?.stop());

  it('answers an unknown route, and a known path with the wrong method, with 404 "Not found: <uri>"', async () => {
    const a = await h.call('GET', '/no/such/route?x=1');
    assert.equal(a.status, 404);
    assert.deepEqual(errors(a), ['Not found: /no/such/route?x=1']);
    const b = await h.call('DELETE', '/v1/overview');
    assert.equal(b.status, 404);
    assert.deepEqual(errors(b), ['Not found: /v1/overview']);
  });

  it('answers an unknown job and an unknown vertex with Flink\'s 404 wording', async () => {
    const ghost = 'f'.repeat(32);
    const a = await h.call('GET', `/jobs/${ghost}`);
    assert.equal(a.status, 404);
    assert.match(errors(a)[0]!, new RegExp(`NotFoundException: Job ${ghost} not found`));
    const b = await h.call('GET', `${J}/vertices/${ghost}`);
    assert.equal(b.status, 404);
    assert.match(errors(b)[0]!, new RegExp(`No vertex with ID '${ghost}' exists\\.`));
    const c = await h.call('GET', '/taskmanagers/nope:1-abcdef');
    assert.equal(c.status, 404);
    assert.match(errors(c)[0]!, /Could not find TaskExecutor nope:1-abcdef\./);
  });

  it('answers a malformed job id with 400 naming the path parameter and its value', async () => {
    const a = await h.call('GET', '/jobs/not-a-job-id/config');
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /Bad request received\.[\s\S]*path parameter \(jobid\) from value "not-a-job-id"/);
  });

  it('answers metric requests for unknown components with an empty array, as Flink\'s metric store does', async () => {
    for (const p of [`/jobs/${'e'.repeat(32)}/metrics?get=uptime`, `${J}/vertices/${'e'.repeat(32)}/subtasks/metrics?get=busyTimeMsPerSecond`, '/taskmanagers/x/metrics']) {
      const a = await h.call('GET', p);
      assert.equal(a.status, 200, p);
      assert.deepEqual(a.body, [], p);
    }
  });

  it('answers an aggregation request with [] when any requested metric is missing anywhere (Flink\'s quirk)', async () => {
    const a = await h.call('GET', `/jobs/${ORDERS_JOB}/vertices/${V_SOURCE}/subtasks/metrics?get=busyTimeMsPerSecond,noSuchMetric`);
    assert.deepEqual(a.body, []);
    const b = await h.call('GET', `/jobs/${ORDERS_JOB}/vertices/${V_SOURCE}/subtasks/metrics?get=busyTimeMsPerSecond`);
    assert.equal((b.body as unknown[]).length, 1);
  });

  it('answers a bad agg or subtasks query parameter with 400 naming it', async () => {
    const a = await h.call('GET', `${J}/vertices/${V_ENRICH}/subtasks/metrics?get=busyTimeMsPerSecond&agg=median`);
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /query parameter \(agg\) from value "median"/);
    const b = await h.call('GET', `${J}/vertices/${V_ENRICH}/subtasks/metrics?get=busyTimeMsPerSecond&subtasks=1-x`);
    assert.equal(b.status, 400);
    assert.match(errors(b)[0]!, /query parameter \(subtasks\)/);
  });

  it('answers malformed JSON with 400 saying where it broke', async () => {
    const up = await h.upload('job.ts', 'export default () => ({ name: "x" });\n');
    const jarId = (up.body as { filename: string }).filename.split('/').pop()!;
    const a = await h.call('POST', `/jars/${jarId}/run`, '{"parallelism": 2,, }');
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /Request did not match expected format JarRunRequestBody\.[\s\S]*Malformed JSON[\s\S]*line 1, column \d+/);
  });

  it('answers wrong field types with 400 naming the field path', async () => {
    const up = await h.upload('job.ts', 'export default () => ({ name: "x" });\n');
    const jarId = (up.body as { filename: string }).filename.split('/').pop()!;
    const a = await h.call('POST', `/jars/${jarId}/run`, { parallelism: 'four' });
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /JarRunRequestBody[\s\S]*\(at parallelism\)/);
    const b = await h.call('POST', `/jars/${jarId}/run`, { programArgsList: ['--ok', 7] });
    assert.match(errors(b)[0]!, /\(at programArgsList\[1\]\)/);
    const c = await h.call('POST', `${J}/savepoints`, { 'target-directory': '/tmp/x', 'cancel-job': 'yes' });
    assert.equal(c.status, 400);
    assert.match(errors(c)[0]!, /SavepointTriggerRequestBody[\s\S]*\(at cancel-job\)/);
    const d = await h.call('PUT', `${J}/resource-requirements`, { [V_SOURCE]: { parallelism: { lowerBound: 1, upperBound: 'many' } } });
    assert.match(errors(d)[0]!, new RegExp(`\\(at ${V_SOURCE}\\.parallelism\\.upperBound\\)`));
  });

  it('refuses a body over the limit with 413, whether or not it declares its length', async () => {
    const big = JSON.stringify({ programArgsList: ['x'.repeat(10_000)] });
    const a = await h.call('POST', `${J}/savepoints`, big);
    assert.equal(a.status, 413);
    assert.match(errors(a)[0]!, /exceeded 4096 bytes/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${h.base}${J}/stop`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
      req.end();
    });
    assert.equal(status, 413);
  });

  it('answers a job module that throws while building with 400 and its error, and keeps serving', async () => {
    const up = await h.upload('broken.ts', 'export default () => { throw new Error("no source configured"); };\n');
    const jarId = (up.body as { filename: string }).filename.split('/').pop()!;
    const a = await h.call('POST', `/jars/${jarId}/run`, {});
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /threw while building the job: no source configured/);
    assert.equal((await h.call('GET', '/overview')).status, 200);
  });

  it('refuses uploads that are not one job module, and runs of unknown or escaping jar ids', async () => {
    const a = await h.upload('job.jar', 'PK...');
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, /Only job modules/);
    const form = await fetch(`${h.base}/jars/upload`, { method: 'POST', body: new FormData() });
    assert.equal(form.status, 400);
    const b = await h.call('POST', '/jars/00000000-0000-0000-0000-000000000000_missing.ts/run', {});
    assert.equal(b.status, 400);
    assert.match(errors(b)[0]!, /does not exist/);
    const c = await h.call('POST', '/jars/..%2F..%2Fetc%2Fpasswd/run', {});
    assert.equal(c.status, 400);
    const d = await h.call('DELETE', '/jars/00000000-0000-0000-0000-000000000000_missing.ts');
    assert.equal(d.status, 400);
  });

  it('answers cancel of a finished job with 409, of an unknown job with 404, and mode=stop with 308', async () => {
    const a = await h.call('PATCH', `/jobs/${WORDCOUNT_JOB}`);
    assert.equal(a.status, 409);
    assert.match(errors(a)[0]!, /another terminal state \(FINISHED\)/);
    const b = await h.call('PATCH', `/jobs/${'d'.repeat(32)}`);
    assert.equal(b.status, 404);
    assert.match(errors(b)[0]!, /Job could not be found\./);
    const c = await h.call('PATCH', `${J}?mode=stop`);
    assert.equal(c.status, 308);
    const d = await h.call('PATCH', `${J}?mode=explode`);
    assert.equal(d.status, 400);
  });

  it('answers checkpoint endpoints of a job without checkpointing with 404 "Checkpointing has not been enabled."', async () => {
    for (const p of ['checkpoints', 'checkpoints/config', 'checkpoints/details/1']) {
      const a = await h.call('GET', `/jobs/${WORDCOUNT_JOB}/${p}`);
      assert.equal(a.status, 404, p);
      assert.match(errors(a)[0]!, /: Checkpointing has not been enabled\.$/, p);
    }
    const b = await h.call('GET', `${J}/checkpoints/details/999`);
    assert.equal(b.status, 404);
    assert.match(errors(b)[0]!, /checkpoint 999\./);
  });

  it('answers an unknown savepoint trigger with 404 and a savepoint without any directory with Flink\'s 400', async () => {
    const a = await h.call('GET', `${J}/savepoints/${'1'.repeat(32)}`);
    assert.equal(a.status, 404);
    assert.match(errors(a)[0]!, /Operation not found under key/);
    const b = await h.call('POST', `${J}/savepoints`, {});
    assert.equal(b.status, 400);
    assert.match(errors(b)[0]!, /Property \[target-directory\] must be provided\./);
  });

  it('validates resource requirements as Flink does: every vertex, bounds within 1..maxParallelism, lower ≤ upper', async () => {
    const all = (over: Record<string, [number, number]>) => Object.fromEntries(
      [V_SOURCE, V_ENRICH, V_WINDOW, V_SINK].map((v) => [v, { parallelism: { lowerBound: over[v]?.[0] ?? 1, upperBound: over[v]?.[1] ?? 2 } }]),
    );
    const missing = all({});
    delete missing[V_SINK];
    const a = await h.call('PUT', `${J}/resource-requirements`, missing);
    assert.equal(a.status, 400);
    assert.match(errors(a)[0]!, new RegExp(`missing job vertex \\[${V_SINK}\\]`));
    const b = await h.call('PUT', `${J}/resource-requirements`, all({ [V_ENRICH]: [1, 129] }));
    assert.match(errors(b)[0]!, /exceeds its max parallelism \(128\)/);
    const c = await h.call('PUT', `${J}/resource-requirements`, all({ [V_ENRICH]: [3, 2] }));
    assert.match(errors(c)[0]!, /must not exceed its upper bound/);
    const d = await h.call('PUT', `${J}/resource-requirements`, { ...all({}), ['9'.repeat(32)]: { parallelism: { lowerBound: 1, upperBound: 1 } } });
    assert.match(errors(d)[0]!, /was not found in the job/);
    const e = await h.call('PUT', `${J}/resource-requirements`);
    assert.equal(e.status, 400);
  });
});

describe('REST mapping of backend failures', () => {
  it('maps FlowpilotError codes to Flink statuses and anything else to 500 "Internal server error."', async () => {
    class Failing extends MemoryBackend {
      mode = '';
      override async cancelJob(jobId: string): Promise<void> {
        if (this.mode === 'timeout') throw new FlowpilotError('FP_REST_TIMEOUT', 'Cancellation timed out.');
        if (this.mode === 'custom') throw new FlowpilotError('FP_SOMETHING', 'teapot', { details: { httpStatus: 418 } });
        if (this.mode === 'bug') throw new TypeError('undefined is not a function');
        return super.cancelJob(jobId);
      }
    }
    const backend = new Failing();
    const h = await startHarness(backend);
    try {
      backend.mode = 'timeout';
      assert.equal((await h.call('PATCH', J)).status, 408);
      backend.mode = 'custom';
      assert.equal((await h.call('PATCH', J)).status, 418);
      backend.mode = 'bug';
      const a = await h.call('PATCH', J);
      assert.equal(a.status, 500);
      assert.equal(errors(a)[0], 'Internal server error.');
      assert.match(errors(a)[1]!, /TypeError: undefined is not a function/);
    } finally {
      await h.stop();
    }
  });

  it('answers resource requirements on a non-adaptive backend with the UnsupportedOperationException Flink raises', async () => {
    class NotAdaptive extends MemoryBackend {}
    const backend = new NotAdaptive() as MemoryBackend & { getResourceRequirements?: unknown };
    Object.defineProperty(backend, 'getResourceRequirements', { value: undefined });
    const h = await startHarness(backend);
    try {
      const a = await h.call('GET', `${J}/resource-requirements`);
      assert.equal(a.status, 500);
      assert.match(errors(a)[1]!, /UnsupportedOperationException: .*AdaptiveScheduler/);
    } finally {
      await h.stop();
    }
  });
});
