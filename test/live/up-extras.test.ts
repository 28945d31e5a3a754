/**
 * What `flowpilot up --with-prometheus` adds, on a real local cluster (1 JobManager, 1
 * TaskManager, word-count, no agent): it prints the Prometheus and Alertmanager URLs, Prometheus
 * scrapes the JobManager and the TaskManager, the plain status view follows, and stop() leaves
 * no Prometheus or Alertmanager behind. Without the binaries: fails under CI=true, skips otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { startUpExtras } from '../../cli/live/up-extras.ts';

function missing(): string | null {
  const absent = ['prometheus', 'prometheus-alertmanager'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (absent.length === 0) return null;
  const reason = `not installed: ${absent.join(', ')} (apt-get install prometheus prometheus-alertmanager)`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const skip = missing();

describe('flowpilot up --with-prometheus extras on a running engine', { skip: skip ?? false }, () => {
  let dir = '';
  let cluster: LocalCluster | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-live-up-'));
    cluster = await startQuietCluster({
      stateDir: join(dir, 'engine'),
    });
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the Prometheus URL, scrapes every engine process, shows the status and stops cleanly', async () => {
    const stateDir = join(dir, 'stack');
    let text = '';
    const out = new PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    const extras = await startUpExtras({ cluster: cluster!, stateDir, withPrometheus: true, isTTY: false, intervalMs: 300, out, prometheusPort: 0, alertmanagerPort: 0 });
    try {
      assert.ok(extras.prometheusUrl, 'Prometheus started');
      const deadline = Date.now() + 20_000;
      let ups: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
      while (Date.now() < deadline) {
        const body = (await (await fetch(`${extras.prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="flink"} == 1')}`)).json()) as { data: { result: typeof ups } };
        ups = body.data.result;
        if (ups.length === 2) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      const expected = [cluster!.jobManager, ...cluster!.taskManagers].map((c) => `127.0.0.1:${String(c.ready.metricsPort)}`).sort();
      assert.deepEqual(ups.map((u) => u.metric.instance).sort(), expected);
      assert.match(text, /^ {2}Prometheus {3}http:\/\/127\.0\.0\.1:\d+ {3}\(config .*prometheus\.yml\)$/m);
      assert.match(text, /^ {2}Alertmanager http:\/\/127\.0\.0\.1:\d+$/m);
      assert.match(text, /job word-count RUNNING p=1 in=[\d.]+ rec\/s/);
    } finally {
      await extras.stop();
    }
    assert.deepEqual(processesMentioning(stateDir), []);
  });
});
