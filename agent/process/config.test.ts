import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PORT, loadAgentConfigFile, parseAgentConfig } from './config.ts';
import { resolveConfig } from './main.ts';
import { staticTargets } from './targets.ts';

describe('agent configuration', () => {
  it('fills every default and turns durations into milliseconds', () => {
    const c = parseAgentConfig({});
    assert.equal(c.listen.port, DEFAULT_PORT);
    assert.equal(c.listen.host, '127.0.0.1');
    assert.equal(c.scrape.interval, 15_000);
    assert.equal(c.storage.retention, 7_200_000);
    assert.equal(c.query.timeout, 120_000);
    assert.equal(c.flink.samples, true);
    assert.equal(c.dryRun, true);
  });

  it('reports an unknown key and a bad duration with file:line:col', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cfg-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'agent.yml');
    writeFileSync(file, 'scrape:\n  interval: 15s\n  intervall: 10s\n');
    assert.throws(() => loadAgentConfigFile(file), (err: Error & { code?: string }) => err.code === 'FP_AGENT_CONFIG' && /agent\.yml:\d+:\d+: scrape: Unrecognized key/.test(err.message));
    writeFileSync(file, 'rules:\n  evaluationInterval: fast\n');
    assert.throws(() => loadAgentConfigFile(file), /agent\.yml:2:\d+: rules\.evaluationInterval: "fast" is not a duration/);
  });

  it('lets command-line flags override the file, list flags replacing its lists', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cfg-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'agent.yml');
    writeFileSync(file, 'listen: {port: 1234}\nflink: {urls: ["http://a:8081"]}\nrules: {files: [x.yml], evaluationInterval: 30s}\n');
    const c = resolveConfig({ config: file, port: '0', flinkUrl: ['http://b:8081'], scrape: ['node=http://n:9100/metrics', 'http://t:9249/metrics'], evalInterval: '5s', flinkSamples: false });
    assert.equal(c.listen.port, 0);
    assert.deepEqual(c.flink.urls, ['http://b:8081']);
    assert.equal(c.flink.samples, false);
    assert.deepEqual(c.rules.files, ['x.yml']);
    assert.equal(c.rules.evaluationInterval, 5000);
    const targets = staticTargets(c);
    assert.deepEqual(targets.map((x) => [x.labels.job, x.labels.instance, x.source.url]), [
      ['node', 'n:9100', 'http://n:9100/metrics'],
      ['flink', 't:9249', 'http://t:9249/metrics'],
    ]);
  });

  it('builds host:port targets with the group path and scheme, capping the timeout at the interval', () => {
    const c = parseAgentConfig({ scrape: { interval: '5s', timeout: '10s', static: [{ job: 'tm', targets: ['10.0.0.1:9249'], path: 'prom', labels: { zone: 'a' } }] } });
    const [t] = staticTargets(c);
    assert.equal(t!.source.url, 'http://10.0.0.1:9249/prom');
    assert.deepEqual(t!.labels, { zone: 'a', job: 'tm', instance: '10.0.0.1:9249' });
    assert.equal(t!.timeoutMs, 5000);
  });

  it('keeps access control off by default and takes --web.config.file, --web.enable-lifecycle and http_config blocks', () => {
    const d = parseAgentConfig({});
    assert.deepEqual([d.web.configFile, d.web.enableLifecycle, d.flink.httpConfig, d.alerting.httpConfig], [undefined, false, undefined, undefined]);
    assert.deepEqual([d.rules.maxFileBytes, d.rules.maxReloadBytes], [8 * 1024 * 1024, 64 * 1024 * 1024]);
    const c = resolveConfig({ 'web.config.file': '/etc/web.yml', 'web.enableLifecycle': true });
    assert.deepEqual(c.web, { configFile: '/etc/web.yml', enableLifecycle: true });
    const h = parseAgentConfig({ flink: { httpConfig: { authorization: { credentials_file: '/t' } } }, alerting: { httpConfig: { tls_config: { ca_file: '/ca' } } } });
    assert.equal(h.flink.httpConfig?.authorization?.type, 'Bearer');
    assert.equal(h.alerting.httpConfig?.tls_config?.insecure_skip_verify, false);
    assert.throws(() => parseAgentConfig({ flink: { httpConfig: { basic_auth: { username: 'a' }, authorization: { credentials: 'b' } } } }), /at most one of basic_auth, oauth2 & authorization/);
  });
});
