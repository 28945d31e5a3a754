import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { makeTestPki, type TestPki } from '../../test/support/tls-certs.ts';
import { FlinkRestClient } from '../flink/rest-client.ts';
import { Notifier } from '../notify/index.ts';
import { labelsFromRecord } from '../tsdb/index.ts';
import { HttpClientConfig, type HttpConfigInput } from './http-config.ts';

interface Seen {
  authorization: string | undefined;
  clientCN: string | null;
  path: string;
}

/** An HTTPS server with the test PKI's server certificate; `mtls` makes it require a client certificate signed by the CA. */
async function httpsServer(pki: TestPki, mtls: boolean, status = (_s: Seen) => 200, body = '{}') {
  const seen: Seen[] = [];
  const server = https.createServer(
    { cert: pki.pem(pki.serverCert), key: pki.pem(pki.serverKey), ca: pki.pem(pki.caCert), requestCert: mtls, rejectUnauthorized: mtls },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const s: Seen = { authorization: req.headers.authorization, clientCN: peer && peer.subject ? String(peer.subject.CN) : null, path: req.url ?? '' };
      seen.push(s);
      req.resume();
      req.on('end', () => res.writeHead(status(s), { 'content-type': 'application/json' }).end(status(s) === 200 ? body : '{"errors":["Unauthorized"]}'));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

async function call(url: string, http: HttpClientConfig, t: { after(fn: () => Promise<void>): void }): Promise<number> {
  const dispatcher = http.dispatcher();
  if (dispatcher) t.after(() => dispatcher.close());
  const res = await request(url, { headers: http.headers(), ...(dispatcher ? { dispatcher } : {}) });
  await res.body.text();
  return res.statusCode;
}

describe('http_config', () => {
  let pki: TestPki;
  let dir: string;
  before(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'fp-httpcfg-'));
  });
  after(() => {
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses what Prometheus's http_config refuses, naming the field", () => {
    const cases: Array<[HttpConfigInput, RegExp]> = [
      [{ basic_auth: { username: 'a', password: 'b' }, authorization: { credentials: 'c' } }, /at most one of basic_auth, oauth2 & authorization/],
      [{ basic_auth: { username: 'a', password: 'b', password_file: '/x' } }, /basic_auth password & password_file/],
      [{ authorization: { credentials: 'a', credentials_file: '/x' } }, /authorization credentials & credentials_file/],
      [{ authorization: { type: 'Basic', credentials: 'a' } }, /use "basic_auth" instead/],
      [{ tls_config: { cert_file: '/x' } }, /exactly one of key or key_file/],
      [{ tls_config: { ca: 'x', ca_file: '/x' } }, /at most one of ca and ca_file/],
      [{ tls_config: { ca_file: '/nonexistent/ca.crt' } }, /unable to read tls_config ca_file/],
      [{ authorization: { credentials_file: '/nonexistent/token' } }, /unable to read authorization credentials_file/],
      [{ bearer_token: 'x' } as unknown as HttpConfigInput, /bearer_token/],
    ];
    for (const [cfg, re] of cases) {
      assert.throws(() => new HttpClientConfig(cfg, 'flink.httpConfig'), (e: Error & { code?: string }) => e.code === 'FP_HTTP_CONFIG' && re.test(e.message), JSON.stringify(cfg));
    }
    assert.throws(() => new HttpClientConfig({ tls_config: { cert_file: pki.clientCert, key_file: pki.rogueKey } }), /tls_config/, 'a key that does not match the certificate');
  });

  it('sends a bearer token or basic auth, and reads a rotated token file on the next request', () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const bearer = new HttpClientConfig({ authorization: { credentials_file: tokenFile } });
    assert.deepEqual(bearer.headers(), { authorization: 'Bearer first' });
    writeFileSync(tokenFile, 'second-and-longer\n');
    assert.deepEqual(bearer.headers(), { authorization: 'Bearer second-and-longer' });
    const basic = new HttpClientConfig({ basic_auth: { username: 'flink', password: 's3cret' } });
    assert.deepEqual(basic.headers(), { authorization: `Basic ${Buffer.from('flink:s3cret').toString('base64')}` });
    assert.deepEqual(new HttpClientConfig(undefined).headers(), {});
    assert.equal(new HttpClientConfig(undefined).dispatcher(), undefined, 'no tls_config: the global dispatcher');
  });

  it('verifies the server with ca_file, and refuses a server it cannot verify', async (t) => {
    const srv = await httpsServer(pki, false);
    t.after(() => srv.close());
    assert.equal(await call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { ca_file: pki.caCert } }), t), 200);
    await assert.rejects(call(`${srv.url}/x`, new HttpClientConfig({ tls_config: {} }), t), /certificate/i);
    await assert.rejects(call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { ca_file: pki.caCert, server_name: 'elsewhere.example' } }), t), /altnames|Hostname/i);
    assert.equal(await call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { insecure_skip_verify: true } }), t), 200);
  });

  it('presents the client certificate to a server that requires one (mutual TLS)', async (t) => {
    const srv = await httpsServer(pki, true);
    t.after(() => srv.close());
    await assert.rejects(call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { ca_file: pki.caCert } }), t));
    await assert.rejects(call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { ca_file: pki.caCert, cert_file: pki.rogueCert, key_file: pki.rogueKey } }), t));
    assert.equal(await call(`${srv.url}/x`, new HttpClientConfig({ tls_config: { ca_file: pki.caCert, cert_file: pki.clientCert, key_file: pki.clientKey } }), t), 200);
    assert.deepEqual(srv.seen.map((s) => s.clientCN), ['flowpilot-client']);
  });

  it('lets the Notifier deliver to an Alertmanager behind mutual TLS and a bearer token, and keeps webhook credentials apart', async (t) => {
    const am = await httpsServer(pki, true, (s) => (s.authorization === 'Bearer am-token' ? 200 : 401));
    const hook = await httpsServer(pki, false);
    t.after(() => am.close());
    t.after(() => hook.close());
    const registry = new Registry();
    const n = new Notifier({
      alertmanagers: [am.url],
      webhooks: [`${hook.url}/hook`],
      httpConfig: { authorization: { credentials: 'am-token' }, tls_config: { ca_file: pki.caCert, cert_file: pki.clientCert, key_file: pki.clientKey } },
      webhookHttpConfig: { basic_auth: { username: 'hook', password: 'pw' }, tls_config: { ca_file: pki.caCert } },
      registry,
      backoffMs: 10,
    });
    t.after(() => n.stop());
    const now = Date.now();
    n.send([{ labels: labelsFromRecord({ alertname: 'A' }), annotations: labelsFromRecord({}), startsAt: now, endsAt: now + 60_000, generatorURL: 'http://agent/graph' }]);
    await n.flush(10_000);
    assert.deepEqual(am.seen.map((s) => [s.path, s.authorization, s.clientCN]), [['/api/v2/alerts', 'Bearer am-token', 'flowpilot-client']]);
    assert.deepEqual(hook.seen.map((s) => [s.path, s.authorization]), [['/hook', `Basic ${Buffer.from('hook:pw').toString('base64')}`]]);
    const sent = await registry.getSingleMetric('flowpilot_notifications_sent_total')!.get();
    assert.equal(sent.values.reduce((a, v) => a + v.value, 0), 2);
  });

  it('counts a delivery the Alertmanager refuses for a wrong token as an error', async (t) => {
    const am = await httpsServer(pki, false, (s) => (s.authorization === 'Bearer right' ? 200 : 401));
    t.after(() => am.close());
    const registry = new Registry();
    const n = new Notifier({ alertmanagers: [am.url], httpConfig: { authorization: { credentials: 'wrong' }, tls_config: { ca_file: pki.caCert } }, registry, retries: 0 });
    t.after(() => n.stop());
    const now = Date.now();
    n.send([{ labels: labelsFromRecord({ alertname: 'A' }), annotations: labelsFromRecord({}), startsAt: now, endsAt: now + 60_000, generatorURL: '' }]);
    await n.flush(10_000);
    const errors = await registry.getSingleMetric('flowpilot_notifications_errors_total')!.get();
    assert.equal(errors.values.reduce((a, v) => a + v.value, 0), 1);
    assert.deepEqual(am.seen.map((s) => s.authorization), ['Bearer wrong']);
  });

  it('lets the Flink REST client work over mutual TLS with a bearer token from a file, rotated between calls', async (t) => {
    const tokenFile = join(dir, 'flink-token');
    writeFileSync(tokenFile, 'one\n');
    const flink = await httpsServer(pki, true, (s) => (s.authorization === 'Bearer one' || s.authorization === 'Bearer two-rotated' ? 200 : 401), '{"flink-version":"1.20.1","features":{}}');
    t.after(() => flink.close());
    const http = new HttpClientConfig({ authorization: { credentials_file: tokenFile }, tls_config: { ca_file: pki.caCert, cert_file: pki.clientCert, key_file: pki.clientKey } }, 'flink.httpConfig');
    const client = new FlinkRestClient({ baseUrl: flink.url, timeoutMs: 5_000, http: http.poolOptions(5_000) });
    t.after(() => client.close());
    assert.equal((await client.config())['flink-version'], '1.20.1');
    writeFileSync(tokenFile, 'two-rotated\n');
    assert.equal((await client.config())['flink-version'], '1.20.1');
    writeFileSync(tokenFile, 'stale\n');
    await assert.rejects(client.config(), (e: Error & { code?: string }) => e.code === 'FP_FLINK_REST' && /HTTP 401/.test(e.message));
    assert.deepEqual(flink.seen.map((s) => [s.authorization, s.clientCN]), [['Bearer one', 'flowpilot-client'], ['Bearer two-rotated', 'flowpilot-client'], ['Bearer stale', 'flowpilot-client']]);

    const noCert = new FlinkRestClient({ baseUrl: flink.url, timeoutMs: 5_000, http: new HttpClientConfig({ tls_config: { ca_file: pki.caCert } }).poolOptions(5_000) });
    t.after(() => noCert.close());
    await assert.rejects(noCert.config(), (e: Error & { code?: string }) => e.code === 'FP_FLINK_UNREACHABLE');
    assert.equal(flink.seen.length, 3, 'the server never saw a request without a client certificate');
  });
});
