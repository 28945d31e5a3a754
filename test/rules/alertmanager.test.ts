/**
 * The notifier against a real Alertmanager 0.25 (Debian's prometheus-alertmanager):
 * a firing alert arrives with our labels, external labels, startsAt and endsAt, and a
 * resolution (endsAt in the past) removes it from Alertmanager's active alerts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Notifier } from '../../agent/notify/index.ts';
import { labelsFromRecord } from '../../agent/tsdb/index.ts';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

async function activeAlerts(base: string): Promise<AmAlert[] | null> {
  try {
    const res = await request(`${base}/api/v2/alerts`, { signal: AbortSignal.timeout(1000) });
    if (res.statusCode !== 200) {
      await res.body.text();
      return null;
    }
    return (await res.body.json()) as AmAlert[];
  } catch {
    return null;
  }
}

describe('delivery to Alertmanager', () => {
  it('shows our firing alert in Alertmanager and clears it on resolution', async (t) => {
    if (!existsSync(ALERTMANAGER)) {
      if (process.env.CI === 'true') assert.fail(`${ALERTMANAGER} is required under CI`);
      t.skip(`${ALERTMANAGER} not installed (Debian package prometheus-alertmanager)`);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'fp-am-'));
    await writeFile(join(dir, 'am.yml'), 'route: {receiver: none}\nreceivers: [{name: none}]\n');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const am = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
    const notifier = new Notifier({ alertmanagers: [base], externalLabels: { cluster: 'eu1' } });
    t.after(async () => {
      await notifier.stop();
      am.kill('SIGTERM');
      await new Promise((r) => am.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 10_000;
    while ((await activeAlerts(base)) === null) {
      if (Date.now() > deadline) assert.fail('Alertmanager did not start in 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const firedAt = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const alert = {
      labels: labelsFromRecord({ alertname: 'FlinkSustainedBackpressure', job_name: 'orders', task_name: 'Map', severity: 'warning' }),
      annotations: labelsFromRecord({ summary: 'Map of orders is back-pressured (800 ms/s)' }),
      startsAt: firedAt,
      endsAt: firedAt + 4 * 60_000,
      generatorURL: 'http://agent:9300/graph?g0.expr=x&g0.tab=1',
    };
    notifier.send([alert]);
    await notifier.flush();
    const got = await activeAlerts(base);
    assert.equal(got?.length, 1);
    assert.deepEqual(got[0].labels, { alertname: 'FlinkSustainedBackpressure', cluster: 'eu1', job_name: 'orders', severity: 'warning', task_name: 'Map' });
    assert.equal(Date.parse(got[0].startsAt), alert.startsAt);
    assert.equal(Date.parse(got[0].endsAt), alert.endsAt);
    assert.equal(got[0].status.state, 'active');
    assert.equal(got[0].annotations.summary, 'Map of orders is back-pressured (800 ms/s)');
    notifier.send([{ ...alert, endsAt: Date.now() - 1000 }]);
    await notifier.flush();
    assert.deepEqual(await activeAlerts(base), []);
    const sent = await notifier.registry.getSingleMetric('flowpilot_notifications_sent_total')!.get();
    assert.equal(sent.values[0].value, 2);
  });
});
