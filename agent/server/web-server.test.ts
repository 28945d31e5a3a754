import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { MemoryStorage } from '../tsdb/index.ts';
import { PromQLEngine } from '../promql/index.ts';
import { makeTestPki, type TestPki } from '../../test/support/tls-certs.ts';
import { AgentApi, startAgentServer, type AgentServer } from './api.ts';
import { loadWebConfig } from './web-config.ts';

function api(extra: Partial<ConstructorParameters<typeof AgentApi>[0]> = {}): AgentApi {
  const storage = new MemoryStorage();
  storage.append({ __name__: 'up', job: 'flink' }, Date.now(), 1);
  return new AgentApi({ storage, engine: new PromQLEngine(storage), registry: new Registry(), ready: () => null, queryTimeoutMs: 5_000, version: 'test', ...extra });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function get(url: string, opts: { dispatcher?: Agent; auth?: string; method?: 'GET' | 'POST' } = {}): Promise<Reply> {
  const res = await request(url, {
    method: opts.method ?? 'GET',
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('lifecycle API (--web.enable-lifecycle)', () => {
  it('refuses POST /-/reload and /-/quit with 403 when the flag is off, the default', async (t) => {
    const server = await startAgentServer('127.0.0.1', 0, api());
    t.after(() => server.close());
    for (const path of ['/-/reload', '/-/quit']) {
      const r = await get(`http://127.0.0.1:${server.port}${path}`, { method: 'POST' });
      assert.deepEqual([r.status, r.body], [403, 'Lifecycle API is not enabled.\n']);
    }
  });

  it('reloads and quits when the flag is on', async (t) => {
    let reloads = 0;
    let quits = 0;
    const server = await startAgentServer('127.0.0.1', 0, api({
      enableLifecycle: true,
      rules: { groups: () => [], reload: async () => (reloads++, { ok: true, problems: [] }) },
      onQuit: () => quits++,
    }));
    t.after(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await get(`${base}/-/reload`, { method: 'POST' })).status, 200);
    assert.equal(reloads, 1);
    assert.equal((await get(`${base}/-/reload`)).status, 405);
    const q = await get(`${base}/-/quit`, { method: 'POST' });
    assert.deepEqual([q.status, q.body], [200, 'Requesting termination... Goodbye!\n']);
    await new Promise<void>((resolve) => {
      const poll = (): void => (quits === 1 ? resolve() : void setImmediate(poll));
      poll();
    });
  });
});

describe('web config (--web.config.file)', () => {
  let pki: TestPki;
  let dir: string;
  const password = 'correct horse';
  let hash: string;

  before(async () => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'fp-web-'));
    hash = await bcrypt.hash(password, 4);
  });
  after(() => {
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  function webConfig(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  async function serve(t: { after(fn: () => Promise<void>): void }, configText: string, name: string): Promise<{ server: AgentServer; base: string }> {
    const server = await startAgentServer('127.0.0.1', 0, api(), { webConfigFile: webConfig(name, configText) });
    t.after(() => server.close());
    return { server, base: `${server.scheme}://127.0.0.1:${server.port}` };
  }

  function client(t: { after(fn: () => Promise<void>): void }, tls: { cert?: string; key?: string; ca?: boolean }): Agent {
    const agent = new Agent({
      connect: {
        ...(tls.ca === false ? {} : { ca: pki.pem(pki.caCert) }),
        ...(tls.cert ? { cert: pki.pem(tls.cert) } : {}),
        ...(tls.key ? { key: pki.pem(tls.key) } : {}),
      },
    });
    t.after(() => agent.close());
    return agent;
  }

  it('serves HTTPS with the configured certificate, and a client that does not trust the CA is refused', async (t) => {
    const { server, base } = await serve(t, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`, 'tls.yml');
    assert.equal(server.scheme, 'https');
    const ok = await get(`${base}/api/v1/query?query=up`, { dispatcher: client(t, {}) });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /"status":"success"/);
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, { ca: false }) }), /certificate/i);
    await assert.rejects(get(`http://127.0.0.1:${server.port}/-/healthy`), 'plain HTTP to the TLS port fails');
  });

  it('with RequireAndVerifyClientCert, refuses no certificate and a certificate the CA did not sign, and serves a signed one', async (t) => {
    const { base } = await serve(t, [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${pki.caCert}`,
    ].join('\n'), 'mtls.yml');
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, {}) }));
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.rogueCert, key: pki.rogueKey }) }));
    const ok = await get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.clientCert, key: pki.clientKey }) });
    assert.equal(ok.status, 200);
  });

  it('with RequireAnyClientCert and client_allowed_sans, needs a certificate carrying an allowed SAN', async (t) => {
    const { base } = await serve(t, [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAnyClientCert',
      '  client_allowed_sans: ["spiffe://flowpilot/client"]',
    ].join('\n'), 'any.yml');
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, {}) }), 'no certificate');
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.rogueCert, key: pki.rogueKey }) }), 'a certificate without the SAN');
    assert.equal((await get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.clientCert, key: pki.clientKey }) })).status, 200);
  });

  it('with VerifyClientCertIfGiven, serves clients without a certificate but refuses an unverified one', async (t) => {
    const { base } = await serve(t, [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: VerifyClientCertIfGiven',
      `  client_ca_file: ${pki.caCert}`,
    ].join('\n'), 'ifgiven.yml');
    assert.equal((await get(`${base}/-/healthy`, { dispatcher: client(t, {}) })).status, 200);
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.rogueCert, key: pki.rogueKey }) }));
    assert.equal((await get(`${base}/-/healthy`, { dispatcher: client(t, { cert: pki.clientCert, key: pki.clientKey }) })).status, 200);
  });

  it('asks for basic auth on every route, refuses a wrong password and an unknown user, and serves the right one', async (t) => {
    const { base } = await serve(t, `basic_auth_users:\n  alice: ${hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`, 'auth.yml');
    for (const path of ['/api/v1/query?query=up', '/metrics', '/-/healthy', '/healthz']) {
      const none = await get(`${base}${path}`);
      assert.deepEqual([none.status, none.headers['www-authenticate'], none.body], [401, 'Basic', 'Unauthorized\n'], path);
    }
    assert.equal((await get(`${base}/-/healthy`, { auth: 'alice:wrong' })).status, 401);
    assert.equal((await get(`${base}/-/healthy`, { auth: `bob:${password}` })).status, 401);
    assert.equal((await get(`${base}/-/healthy`, { auth: 'alice' })).status, 401);
    const ok = await get(`${base}/api/v1/query?query=up`, { auth: `alice:${password}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-frame-options'], 'deny');
    assert.equal((await get(`${base}/-/healthy`, { auth: `alice:${password}` })).status, 200, 'served again from the cache');
  });

  it('combines mutual TLS and basic auth: both must pass', async (t) => {
    const { base } = await serve(t, [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${pki.caCert}`,
      'basic_auth_users:',
      `  alice: ${hash}`,
    ].join('\n'), 'both.yml');
    const withCert = client(t, { cert: pki.clientCert, key: pki.clientKey });
    assert.equal((await get(`${base}/-/healthy`, { dispatcher: withCert })).status, 401);
    assert.equal((await get(`${base}/-/healthy`, { dispatcher: withCert, auth: `alice:${password}` })).status, 200);
    await assert.rejects(get(`${base}/-/healthy`, { dispatcher: client(t, {}), auth: `alice:${password}` }));
  });

  it('picks up new users when the web config file changes, and keeps the old ones when the new file is bad', async (t) => {
    const file = webConfig('live.yml', `basic_auth_users:\n  alice: ${hash}\n`);
    const server = await startAgentServer('127.0.0.1', 0, api(), { webConfigFile: file });
    t.after(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await get(`${base}/-/healthy`, { auth: `alice:${password}` })).status, 200);
    writeFileSync(file, `basic_auth_users:\n  carol: ${hash}\n# changed\n`);
    // The file is checked at most once a second: wait until the change shows.
    for (let i = 0; (await get(`${base}/-/healthy`, { auth: `carol:${password}` })).status !== 200; i++) {
      assert.ok(i < 100, 'the new user was never accepted');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await get(`${base}/-/healthy`, { auth: `alice:${password}` })).status, 401);
    writeFileSync(file, 'basic_auth_users:\n  dave: not-a-hash\n');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await get(`${base}/-/healthy`, { auth: `carol:${password}` })).status, 200, 'a bad file keeps the previous users');
  });

  it('refuses invalid web configs with the reason, before listening', () => {
    const cases: Array<[string, RegExp]> = [
      ['basic_auth_users:\n  alice: plaintext\n', /basic_auth_users\.alice: not a bcrypt hash/],
      [`tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_ca_file: ${pki.caCert}\n`, /client CA's have been configured without a Client Auth Policy/],
      [`tls_server_config:\n  cert_file: ${pki.serverCert}\n`, /missing one of key or key_file/],
      [`tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: Sometimes\n`, /client_auth_type/],
      [`tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAndVerifyClientCert\n`, /needs client_ca_file/],
      [`tls_server_config:\n  cert_file: missing.crt\n  key_file: ${pki.serverKey}\n`, /failed to read cert_file/],
      ['http_server_config:\n  headers:\n    Server: flowpilot\n', /HTTP header Server can not be configured/],
      ['basic_auth_user:\n  alice: x\n', /Unrecognized key/],
    ];
    for (const [i, [text, re]] of cases.entries()) {
      const file = webConfig(`bad${i}.yml`, text);
      assert.throws(() => loadWebConfig(file), (err: Error & { code?: string }) => err.code === 'FP_WEB_CONFIG' && re.test(err.message), text);
    }
  });
});
