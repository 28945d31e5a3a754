/**
 * Flink's access-control switches and REST TLS on a real JobManager (in this process, no
 * TaskManagers needed): web.submit.enable, web.cancel.enable and web.rescale.enable each remove
 * their handlers (404 "Not found: <uri>", Flink's router answer for a handler it did not
 * register) and show in /config `features`, while everything else keeps answering;
 * rest.bind-address binds where told; security.ssl.rest.* serves https from PEM files, with
 * mutual authentication refusing clients without a certificate from the truststore's CA.
 * Also: no answer names a server path, and the working directory is no implicit savepoint root.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import { parseJobManagerConfig } from '../../engine/config/options.ts';
import { JobManager } from '../../engine/jobmanager/job-manager.ts';
import { startRestEndpoint, type RestEndpoint } from '../../engine/jobmanager/rest-endpoint.ts';
import { issuePki, type Pki } from './support/pki.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

interface Running {
  jm: JobManager;
  rest: RestEndpoint;
  base: string;
  dir: string;
  stop(): Promise<void>;
}

async function startJobManager(define: Record<string, string> = {}, scheme = 'http', host = '127.0.0.1'): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-access-'));
  const config = parseJobManagerConfig({
    'rest.port': 0, 'jobmanager.rpc.port': 0, 'metrics.reporter.prom.port': 0, 'state.dir': join(dir, 'jm'), ...define,
  });
  const jm = new JobManager({ config, log: silentLogger() });
  await jm.start();
  let rest: RestEndpoint;
  try {
    rest = await startRestEndpoint(jm);
  } catch (err) {
    await jm.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    jm, rest, dir, base: `${scheme}://${host}:${rest.port}`,
    async stop() {
      await rest.close();
      await jm.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: unknown }> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

function moduleForm(name = 'counting.ts'): FormData {
  const form = new FormData();
  form.append('jarfile', new Blob([readFileSync(JOB)]), name);
  return form;
}

async function features(base: string): Promise<Record<string, boolean>> {
  return ((await call(base, 'GET', '/config')).json as { features: Record<string, boolean> }).features;
}

/** Uploads and runs the counting job (it waits for slots: there are no TaskManagers), returning its id. */
async function submit(base: string, dir: string): Promise<string> {
  const up = await call(base, 'POST', '/jars/upload', moduleForm());
  assert.equal(up.status, 200, up.text);
  const jarId = (up.json as { filename: string }).filename;
  const run = await call(base, 'POST', `/jars/${jarId}/run`, { programArgsList: ['--output', join(dir, 'out')], parallelism: 1 });
  assert.equal(run.status, 200, run.text);
  return (run.json as { jobid: string }).jobid;
}

describe('REST access-control switches on a real JobManager', () => {
  it('serves every command by default and says so in /config features (web-rescale: not in reactive mode)', async (t) => {
    const jm = await startJobManager();
    t.after(() => jm.stop());
    assert.deepEqual(await features(jm.base), { 'web-submit': true, 'web-cancel': true, 'web-rescale': true, 'web-history': false });
    const jobId = await submit(jm.base, jm.dir);
    const reqs = await call(jm.base, 'GET', `/jobs/${jobId}/resource-requirements`);
    assert.equal(reqs.status, 200);
    const put = await call(jm.base, 'PUT', `/jobs/${jobId}/resource-requirements`, reqs.json);
    assert.equal(put.status, 200, put.text);
    assert.equal((await call(jm.base, 'PATCH', `/jobs/${jobId}`)).status, 202);

    const reactive = await startJobManager({ 'scheduler-mode': 'reactive' });
    t.after(() => reactive.stop());
    assert.equal((await features(reactive.base))['web-rescale'], false);
  });

  it('web.submit.enable=false: /jars/* answer 404 "Not found", features.web-submit is false, the rest still works', async (t) => {
    const jm = await startJobManager({ 'web.submit.enable': 'false' });
    t.after(() => jm.stop());
    const f = await features(jm.base);
    assert.deepEqual([f['web-submit'], f['web-cancel'], f['web-rescale']], [false, true, true]);
    const id = `${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}_counting.ts`;
    for (const [method, path, body] of [
      ['POST', '/jars/upload', moduleForm()], ['GET', '/jars', undefined], ['POST', `/jars/${id}/run`, {}], ['DELETE', `/jars/${id}`, undefined],
      ['POST', '/v1/jars/upload', moduleForm()],
    ] as const) {
      const a = await call(jm.base, method, path, body);
      assert.equal(a.status, 404, `${method} ${path}: ${a.text}`);
      assert.deepEqual(a.json, { errors: [`Not found: ${path}`] });
    }
    assert.deepEqual(readdirSafe(join(jm.dir, 'jm', 'uploads')), [], 'nothing was stored');
    // A job submitted by the cluster itself (flowpilot engine jobmanager --job) can still be cancelled.
    const job = await jm.jm.submit({ modulePath: JOB, programArgs: ['--output', join(jm.dir, 'out')], parallelism: 1 });
    assert.equal((await call(jm.base, 'GET', `/jobs/${job.jobId}`)).status, 200);
    assert.equal((await call(jm.base, 'PATCH', `/jobs/${job.jobId}?mode=cancel`)).status, 202);
  });

  it('web.cancel.enable=false: PATCH /jobs/:id answers 404 "Not found" and the job keeps running; features.web-cancel is false', async (t) => {
    const jm = await startJobManager({ 'web.cancel.enable': 'false' });
    t.after(() => jm.stop());
    const f = await features(jm.base);
    assert.deepEqual([f['web-submit'], f['web-cancel'], f['web-rescale']], [true, false, true]);
    const jobId = await submit(jm.base, jm.dir);
    for (const path of [`/jobs/${jobId}`, `/jobs/${jobId}?mode=cancel`, `/v1/jobs/${jobId}`]) {
      const a = await call(jm.base, 'PATCH', path);
      assert.equal(a.status, 404, a.text);
      assert.deepEqual(a.json, { errors: [`Not found: ${path}`] });
    }
    assert.equal(((await call(jm.base, 'GET', `/jobs/${jobId}`)).json as { state: string }).state, 'RUNNING');
  });

  it('web.rescale.enable=false: PUT resource-requirements answers 404 "Not found", GET still answers; features.web-rescale is false', async (t) => {
    const jm = await startJobManager({ 'web.rescale.enable': 'false' });
    t.after(() => jm.stop());
    const f = await features(jm.base);
    assert.deepEqual([f['web-submit'], f['web-cancel'], f['web-rescale']], [true, true, false]);
    const jobId = await submit(jm.base, jm.dir);
    const reqs = await call(jm.base, 'GET', `/jobs/${jobId}/resource-requirements`);
    assert.equal(reqs.status, 200);
    const body = Object.fromEntries(Object.keys(reqs.json as object).map((v) => [v, { parallelism: { lowerBound: 1, upperBound: 2 } }]));
    const a = await call(jm.base, 'PUT', `/jobs/${jobId}/resource-requirements`, body);
    assert.equal(a.status, 404, a.text);
    assert.deepEqual(a.json, { errors: [`Not found: /jobs/${jobId}/resource-requirements`] });
    assert.deepEqual((await call(jm.base, 'GET', `/jobs/${jobId}/resource-requirements`)).json, reqs.json, 'unchanged');
  });

  it('names no server path in upload, run and jar errors, and hides sensitive configuration values', async (t) => {
    const jm = await startJobManager({ 'security.ssl.rest.key-password': 'hunter2' });
    t.after(() => jm.stop());
    const up = await call(jm.base, 'POST', '/jars/upload', moduleForm());
    const jarId = (up.json as { filename: string }).filename;
    assert.ok(!jarId.includes('/'), up.text);
    const answers = [
      up,
      await call(jm.base, 'POST', `/jars/${jarId.replace('counting', 'missing')}/run`, {}),
      await call(jm.base, 'DELETE', `/jars/${jarId.replace('counting', 'missing')}`),
      await call(jm.base, 'POST', `/jars/${jarId}/run`, { programArgsList: ['--no-such-flag'] }),
      await call(jm.base, 'GET', '/jars'),
    ];
    for (const a of answers) {
      assert.ok(!a.text.includes(jm.dir), `server path in ${a.text}`);
      assert.ok(!a.text.includes(resolve(import.meta.dirname, '../..')), `code path in ${a.text}`);
    }
    const config = (await call(jm.base, 'GET', '/jobmanager/config')).json as Array<{ key: string; value: string }>;
    assert.equal(config.find((e) => e.key === 'security.ssl.rest.key-password')?.value, '******');
  });

  it('refuses a run that must fail (restore path outside the roots, bad configuration, taken job id) before the module\'s code runs', async (t) => {
    const jm = await startJobManager();
    t.after(() => jm.stop());
    const marker = join(jm.dir, 'top-level-code-ran');
    const form = new FormData();
    form.append('jarfile', new Blob([`import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default () => { throw new Error('no graph'); };\n`]), 'marker.mjs');
    const jarId = ((await call(jm.base, 'POST', '/jars/upload', form)).json as { filename: string }).filename;
    const taken = await submit(jm.base, jm.dir);
    for (const body of [
      { savepointPath: join(process.cwd(), 'sp') },
      { savepointPath: 'relative/sp' },
      { flinkConfiguration: { 'restart-strategy.type': 'sometimes' } },
      { flinkConfiguration: { 'execution.checkpointing.dir': '/etc/flowpilot-chk' } },
      { jobId: taken },
    ]) {
      const a = await call(jm.base, 'POST', `/jars/${jarId}/run`, body);
      assert.ok(a.status === 400 || a.status === 409, `${JSON.stringify(body)}: ${a.status} ${a.text}`);
      assert.ok(!existsSync(marker), `the module ran for ${JSON.stringify(body)}`);
    }
    // A run that can only fail inside the module runs it, as Flink runs a jar's main(): the documented risk.
    const ran = await call(jm.base, 'POST', `/jars/${jarId}/run`, {});
    assert.equal(ran.status, 400, ran.text);
    assert.ok(existsSync(marker));
  });

  it('has no implicit savepoint root: the working directory is refused, state.dir is accepted', async (t) => {
    const jm = await startJobManager();
    t.after(() => jm.stop());
    await assert.rejects(jm.jm.checkSavepointPath(join(process.cwd(), 'sp'), 'savepoint target'), /outside the allowed roots/);
    assert.equal(await jm.jm.checkSavepointPath(join(jm.dir, 'jm', 'sp'), 'savepoint target'), join(jm.dir, 'jm', 'sp'));
  });

  it('rest.bind-address binds the REST server there, while rest.address stays the advertised address', async (t) => {
    const jm = await startJobManager({ 'rest.address': '127.0.0.1', 'rest.bind-address': '127.0.0.2' }, 'http', '127.0.0.2');
    t.after(() => jm.stop());
    assert.equal((await call(jm.base, 'GET', '/config')).status, 200);
    await assert.rejects(fetch(`http://127.0.0.1:${jm.rest.port}/config`, { signal: AbortSignal.timeout(5000) }));
    assert.equal(((await call(jm.base, 'GET', '/jars')).json as { address: string }).address, `http://127.0.0.1:${jm.rest.port}`);
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** One https GET with the given client credentials; resolves with the status or rejects on a refused handshake. */
function httpsGet(url: string, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = https.get(url, { ca: opts.ca, ...(opts.cert ? { cert: opts.cert } : {}), ...(opts.key ? { key: opts.key } : {}), timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('REST TLS (security.ssl.rest.*, PEM)', () => {
  let pki: Pki;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-pki-'));
    pki = issuePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves https from the keystore PEM; plain http gets no answer; /jars advertises https', async (t) => {
    const jm = await startJobManager({ 'security.ssl.rest.enabled': 'true', 'security.ssl.rest.keystore': pki.serverKeystore }, 'https');
    t.after(() => jm.stop());
    const ca = readFileSync(pki.caCert);
    const a = await httpsGet(`${jm.base}/config`, { ca });
    assert.equal(a.status, 200, a.body);
    assert.equal((JSON.parse(a.body) as { 'flink-version': string })['flink-version'], '2.2.0');
    await assert.rejects(fetch(`http://127.0.0.1:${jm.rest.port}/config`, { signal: AbortSignal.timeout(5000) }));
    const jars = await httpsGet(`${jm.base}/jars`, { ca });
    assert.match(jars.body, /"address":"https:\/\/127\.0\.0\.1:/);
  });

  it('reads the keystore from several PEM files in order (a kubernetes.io/tls Secret\'s tls.key,tls.crt)', async (t) => {
    const jm = await startJobManager({
      'security.ssl.rest.enabled': 'true', 'security.ssl.rest.keystore': `${join(pki.dir, 'server.key')},${join(pki.dir, 'server.crt')}`,
    }, 'https');
    t.after(() => jm.stop());
    assert.equal((await httpsGet(`${jm.base}/overview`, { ca: readFileSync(pki.caCert) })).status, 200);
  });

  it('reads an encrypted key with security.ssl.rest.key-password', async (t) => {
    const jm = await startJobManager({
      'security.ssl.rest.enabled': 'true', 'security.ssl.rest.keystore': pki.serverKeystoreEncrypted, 'security.ssl.rest.key-password': pki.passphrase,
    }, 'https');
    t.after(() => jm.stop());
    assert.equal((await httpsGet(`${jm.base}/overview`, { ca: readFileSync(pki.caCert) })).status, 200);
  });

  it('mutual authentication: refuses a client without a certificate or with one from another CA, serves one from the truststore CA', async (t) => {
    const jm = await startJobManager({
      'security.ssl.rest.enabled': 'true', 'security.ssl.rest.authentication-enabled': 'true',
      'security.ssl.rest.keystore': pki.serverKeystore, 'security.ssl.rest.truststore': pki.caCert,
    }, 'https');
    t.after(() => jm.stop());
    const ca = readFileSync(pki.caCert);
    await assert.rejects(httpsGet(`${jm.base}/overview`, { ca }), 'no client certificate');
    await assert.rejects(httpsGet(`${jm.base}/overview`, { ca, cert: readFileSync(pki.rogueClient.cert), key: readFileSync(pki.rogueClient.key) }), 'untrusted CA');
    const ok = await httpsGet(`${jm.base}/overview`, { ca, cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
    assert.equal(ok.status, 200, ok.body);
  });

  it('refuses to start with TLS on but no keystore, or mutual TLS without a truststore, naming the option', async () => {
    await assert.rejects(startJobManager({ 'security.ssl.rest.enabled': 'true' }), /security\.ssl\.rest\.keystore/);
    await assert.rejects(startJobManager({
      'security.ssl.rest.enabled': 'true', 'security.ssl.rest.authentication-enabled': 'true', 'security.ssl.rest.keystore': pki.serverKeystore,
    }), /security\.ssl\.rest\.truststore/);
  });
});
