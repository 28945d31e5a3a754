/**
 * `startLocalPrometheus` against the real Prometheus and Alertmanager binaries: it starts both,
 * Prometheus scrapes a real /metrics endpoint and loads the default rule pack, it knows the
 * Alertmanager, and stop() — or the death of the process that started them — leaves no process
 * behind. Without the binaries: fails under CI=true, skips with the reason otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRuleFiles, prometheusConfig, startLocalPrometheus } from '../../cli/live/prometheus-stack.ts';

function missing(): string | null {
  const absent = ['prometheus', 'prometheus-alertmanager'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (absent.length === 0) return null;
  const reason = `not installed: ${absent.join(', ')} (apt-get install prometheus prometheus-alertmanager)`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

/** Pids of processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.json();
}

const skip = missing();

describe('local Prometheus and Alertmanager for up --with-prometheus', { skip: skip ?? false }, () => {
  let dir = '';
  let target: http.Server;
  let targetAddress = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-live-prom-'));
    target = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE flink_jobmanager_numRunningJobs gauge\nflink_jobmanager_numRunningJobs 1\n');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetAddress = `127.0.0.1:${(target.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((r) => target.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts both, scrapes the engine target, loads the rule pack, alerts to the Alertmanager, and stops leaving no process', async () => {
    const stateDir = join(dir, 'state-a');
    const stack = await startLocalPrometheus({ stateDir, engineTargets: [`http://${targetAddress}/metrics`], ruleFiles: defaultRuleFiles(), prometheusPort: 0, alertmanagerPort: 0, scrapeIntervalSec: 1 });
    assert.ok(stack.started, stack.started ? '' : stack.reason);
    try {
      assert.match(stack.prometheusUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(stack.alertmanagerUrl);
      assert.ok(processesMentioning(stateDir).length >= 2);
      const up = await eventually(
        'up{job="flink"} == 1',
        async () => {
          const body = await getJson(`${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="flink"}')}`);
          const r = body.data?.result?.[0];
          return r && r.value[1] === '1' ? r : null;
        },
        20_000,
      );
      assert.equal(up.metric.instance, targetAddress);
      const value = await getJson(`${stack.prometheusUrl}/api/v1/query?query=flink_jobmanager_numRunningJobs`);
      assert.equal(value.data.result[0].value[1], '1');
      const rules = await getJson(`${stack.prometheusUrl}/api/v1/rules`);
      const files = new Set(rules.data.groups.map((g: { file: string }) => g.file));
      assert.deepEqual([...files].sort(), defaultRuleFiles());
      const ams = await eventually('an active Alertmanager', async () => {
        const body = await getJson(`${stack.prometheusUrl}/api/v1/alertmanagers`);
        return body.data.activeAlertmanagers.length > 0 ? body.data.activeAlertmanagers : null;
      }, 10_000);
      assert.equal(new URL(ams[0].url).host, new URL(stack.alertmanagerUrl!).host);
    } finally {
      await stack.stop();
    }
    assert.deepEqual(processesMentioning(stateDir), []);
    await assert.rejects(fetch(`${stack.prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(1000) }));
  });

  it('stops Prometheus and Alertmanager when the process that started them is killed', async () => {
    const stateDir = join(dir, 'state-b');
    const script = join(dir, 'owner.ts');
    const moduleUrl = new URL('../../cli/live/prometheus-stack.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { startLocalPrometheus } from ${JSON.stringify(moduleUrl)};\n` +
        `const s = await startLocalPrometheus({ stateDir: ${JSON.stringify(stateDir)}, engineTargets: [${JSON.stringify(targetAddress)}], ruleFiles: [], prometheusPort: 0, alertmanagerPort: 0 });\n` +
        `process.stdout.write(JSON.stringify(s) + '\\n');\nsetInterval(() => {}, 1000);\n`,
    );
    const owner = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        owner.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
        });
        owner.once('exit', (code) => reject(new Error(`owner exited with ${code}`)));
      });
      assert.equal(JSON.parse(line).started, true, line);
      assert.ok(processesMentioning(stateDir).length >= 2);
      owner.kill('SIGKILL');
      await eventually('no process left', async () => (processesMentioning(stateDir).length === 0 ? true : null), 10_000);
    } finally {
      owner.kill('SIGKILL');
      for (const pid of processesMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    }
  });

  it('returns a clear reason instead of throwing when Prometheus is not installed', async () => {
    const res = await startLocalPrometheus({ stateDir: join(dir, 'state-c'), engineTargets: [targetAddress], ruleFiles: [], binaries: { prometheus: join(dir, 'no-such-prometheus') } });
    assert.equal(res.started, false);
    assert.match(res.started ? '' : res.reason, /Prometheus is not installed .*apt-get install prometheus prometheus-alertmanager/);
  });

  it('returns the error lines of Prometheus as the reason when it cannot start (a bad rule file)', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(\n');
    const res = await startLocalPrometheus({ stateDir: join(dir, 'state-d'), engineTargets: [targetAddress], ruleFiles: [bad], prometheusPort: 0, alertmanagerPort: 0 });
    assert.equal(res.started, false);
    assert.match(res.started ? '' : res.reason, /Prometheus exited while starting[\s\S]*bad\.yml/);
    assert.deepEqual(processesMentioning(join(dir, 'state-d')), []);
  });
});

describe('prometheus.yml for the local stack', () => {
  it('scrapes the engine as job "flink" and the agent as "flowpilot-agent" within 1–5 s and points at the Alertmanager', () => {
    const c = prometheusConfig({ engineTargets: ['http://127.0.0.1:9249/metrics', '127.0.0.1:9250'], agentTarget: 'http://127.0.0.1:9269/metrics', ruleFiles: ['rules/a.yml'], alertmanagerAddress: '127.0.0.1:9093', scrapeIntervalSec: 30, evaluationIntervalSec: 5 }) as any;
    assert.deepEqual(c.scrape_configs.map((s: any) => [s.job_name, s.metrics_path, s.static_configs[0].targets, s.scrape_interval]), [
      ['flink', '/metrics', ['127.0.0.1:9249', '127.0.0.1:9250'], '5s'],
      ['flowpilot-agent', '/metrics', ['127.0.0.1:9269'], '5s'],
    ]);
    assert.deepEqual(c.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:9093']);
    assert.equal(c.rule_files[0], join(fileURLToPath(new URL('../../', import.meta.url)), 'rules/a.yml').replace(/\/$/, ''));
  });
});
