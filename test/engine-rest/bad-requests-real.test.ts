/**
 * Bad requests against a real JobManager (with a TaskManager and a running job) that used to
 * end in a 500, each now a 4xx with a message: an upload whose file name has a NUL byte or is
 * too long, savepoint targets with very long names, a multipart body without a boundary, a run
 * whose configuration the engine rejects, and requests node's HTTP parser refuses.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFuzzCluster, type FuzzCluster } from '../fuzz/engine-rest-fuzz.ts';

async function answer(res: Response): Promise<{ status: number; message: string }> {
  const body = (await res.json()) as { errors?: string[] };
  assert.ok(Array.isArray(body.errors) && body.errors[0], `no message: ${JSON.stringify(body)}`);
  return { status: res.status, message: body.errors[0]! };
}

function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('bad requests on a real JobManager get a 4xx with a message', () => {
  let c: FuzzCluster;
  let jobId: string;
  before(async () => {
    c = await startFuzzCluster();
    const job = await c.jm.submit({ modulePath: join(import.meta.dirname, '../../engine/jobs/counting.ts'), programArgs: ['--rate', '50', '--output', join(c.dir, 'out')], parallelism: 1 });
    jobId = job.jobId;
  });
  after(() => c?.stop());

  it('refuses upload file names with a NUL byte or other control characters, or longer than 200 bytes', async () => {
    for (const [name, why] of [['a\u0000b.ts', /control character/], ['job.ts\u0000.jar', /control character/], [`${'n'.repeat(300)}.ts`, /longer than 200 bytes/]] as const) {
      const form = new FormData();
      form.append('jarfile', new Blob(['export default 1']), name);
      const a = await answer(await fetch(`${c.base}/jars/upload`, { method: 'POST', body: form }));
      assert.equal(a.status, 400, a.message);
      assert.match(a.message, why);
    }
  });

  it('refuses savepoint targets with very long names, and the job keeps running', async () => {
    const targets = [
      join(c.dir, 's'.repeat(300)),
      join(c.dir, 's'.repeat(5000)),
      join(c.dir, ...Array.from({ length: 40 }, () => 'd'.repeat(200))),
    ];
    for (const target of targets) {
      for (const [path, body] of [[`/jobs/${jobId}/savepoints`, { 'target-directory': target }], [`/jobs/${jobId}/stop`, { targetDirectory: target }]] as const) {
        const a = await answer(await fetch(`${c.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
        assert.equal(a.status, 400, a.message);
        assert.match(a.message, /longer than (4096|255) bytes/);
      }
    }
    assert.equal(c.jm.jobs.get(jobId)!.status, 'RUNNING');
  });

  it('refuses a multipart upload without a boundary and a run whose configuration the engine rejects', async () => {
    const noBoundary = await answer(await fetch(`${c.base}/jars/upload`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' }));
    assert.equal(noBoundary.status, 400);
    assert.match(noBoundary.message, /boundary/);
    const form = new FormData();
    form.append('jarfile', new Blob([await (await import('node:fs/promises')).readFile(join(import.meta.dirname, '../../engine/jobs/counting.ts'))]), 'counting.ts');
    const jar = ((await (await fetch(`${c.base}/jars/upload`, { method: 'POST', body: form })).json()) as { filename: string }).filename;
    for (const conf of [{ 'restart-strategy.type': 'sometimes' }, { 'pipeline.jobvertex-parallelism-overrides': 'nope' }, { 'execution.checkpointing.dir': 'relative' }]) {
      const a = await answer(await fetch(`${c.base}/jars/${jar}/run`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ programArgsList: ['--output', join(c.dir, 'o2')], flinkConfiguration: conf }),
      }));
      assert.equal(a.status, 400, `${JSON.stringify(conf)}: ${a.message}`);
    }
  });

  it('answers requests the HTTP parser refuses with a 4xx and Flink\'s error body', async () => {
    const bad = await raw(c.rest.port, 'GET /overview HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400 /);
    assert.match(bad, /"errors":\["Bad request: the HTTP request could not be parsed/);
    const big = await raw(c.rest.port, `GET /overview HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
    assert.match(big, /"errors":\["Request header fields too large\."\]/);
  });
});
