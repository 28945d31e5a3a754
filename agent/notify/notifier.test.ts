import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Notifier } from './notifier.ts';
import { rfc3339 } from './wire.ts';
import { labelsFromRecord } from '../tsdb/index.ts';
import type { NotifierAlert } from '../rules/types.ts';

interface Received {
  path: string;
  body: unknown;
}

/** A real HTTP receiver on 127.0.0.1 whose behaviour per request is scripted by `reply`. */
async function receiver(reply: (n: number) => { status: number; delayMs?: number }) {
  const got: Received[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const r = reply(n++);
      got.push({ path: req.url ?? '', body: JSON.parse(data) });
      setTimeout(() => {
        res.writeHead(r.status);
        res.end();
      }, r.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, got, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function alert(name: string, endsAt = Date.UTC(2026, 10, 21, 5, 24, 17, 593)): NotifierAlert {
  return {
    labels: labelsFromRecord({ alertname: name, job_name: 'orders', cluster: 'own' }),
    annotations: labelsFromRecord({ summary: `${name} happened` }),
    startsAt: Date.UTC(2026, 10, 21, 5, 20, 17, 593),
    endsAt,
    generatorURL: 'http://agent:9300/graph?g0.expr=up&g0.tab=1',
  };
}

describe('Notifier', () => {
  it('formats times as Go does in JSON', () => {
    assert.equal(rfc3339(Date.UTC(2026, 10, 21, 5, 20, 17, 593)), '2026-11-21T05:20:17.593Z');
    assert.equal(rfc3339(Date.UTC(2026, 10, 21, 5, 20, 17, 500)), '2026-11-21T05:20:17.5Z');
    assert.equal(rfc3339(Date.UTC(2026, 10, 21, 5, 20, 17, 0)), '2026-11-21T05:20:17Z');
  });

  it('posts alerts to /api/v2/alerts with external labels that never override the alert labels', async (t) => {
    const am = await receiver(() => ({ status: 200 }));
    const n = new Notifier({ alertmanagers: [am.url], externalLabels: { cluster: 'eu1', region: 'west' } });
    t.after(async () => { await n.stop(); await am.close(); });
    n.send([alert('A'), alert('B')]);
    await n.flush();
    assert.equal(am.got.length, 1);
    assert.equal(am.got[0].path, '/api/v2/alerts');
    const body = am.got[0].body as Array<Record<string, unknown>>;
    assert.deepEqual(body[0], {
      labels: { alertname: 'A', cluster: 'own', job_name: 'orders', region: 'west' },
      annotations: { summary: 'A happened' },
      startsAt: '2026-11-21T05:20:17.593Z',
      endsAt: '2026-11-21T05:24:17.593Z',
      generatorURL: 'http://agent:9300/graph?g0.expr=up&g0.tab=1',
    });
    const sent = await n.registry.getSingleMetric('flowpilot_notifications_sent_total')!.get();
    assert.equal(sent.values[0].value, 2);
  });

  it('retries a failing receiver with backoff, then counts an error', async (t) => {
    const am = await receiver((i) => ({ status: i < 2 ? 503 : 200 }));
    const bad = await receiver(() => ({ status: 500 }));
    const n = new Notifier({ alertmanagers: [am.url], webhooks: [bad.url], retries: 2, backoffMs: 10, now: () => Date.UTC(2026, 10, 21, 5, 21) });
    t.after(async () => { await n.stop(); await am.close(); await bad.close(); });
    n.send([alert('A')]);
    await n.flush();
    assert.equal(am.got.length, 3);
    assert.equal(bad.got.length, 3);
    const webhook = bad.got[0].body as { version: string; status: string; alerts: Array<{ status: string }> };
    assert.equal(webhook.version, '4');
    assert.equal(webhook.alerts[0].status, 'firing');
    const errors = await n.registry.getSingleMetric('flowpilot_notifications_errors_total')!.get();
    assert.deepEqual(errors.values.map((v) => [v.labels.receiver, v.value]), [[bad.url, 1]]);
  });

  it('returns from send at once while a receiver is slow, and drops the oldest alerts beyond capacity', async (t) => {
    const slow = await receiver(() => ({ status: 200, delayMs: 300 }));
    const n = new Notifier({ alertmanagers: [slow.url], queueCapacity: 3, maxBatchSize: 1 });
    t.after(async () => { await n.stop(); await slow.close(); });
    // send() is synchronous: all six return within this tick, before any request can reach the
    // receiver (its answers take 300 ms); a wall-clock bound would measure the host's load instead.
    for (let i = 0; i < 6; i++) assert.equal(n.send([alert(`A${i}`)]) as unknown, undefined, 'send must not wait for the receiver');
    assert.equal(slow.got.length, 0);
    assert.equal(n.queueLength, 3);
    const dropped = await n.registry.getSingleMetric('flowpilot_notifications_dropped_total')!.get();
    assert.equal(dropped.values[0].value, 2);
    await n.flush(5000);
    const names = slow.got.map((g) => (g.body as Array<{ labels: { alertname: string } }>)[0].labels.alertname);
    assert.deepEqual(names, ['A0', 'A3', 'A4', 'A5']);
  });

  it('gives up on a receiver that does not answer within the timeout', async (t) => {
    const hang = await receiver(() => ({ status: 200, delayMs: 2000 }));
    const n = new Notifier({ alertmanagers: [hang.url], timeoutMs: 100, retries: 0 });
    t.after(async () => { await n.stop(); await hang.close(); });
    n.send([alert('A')]);
    await n.flush(1500);
    const errors = await n.registry.getSingleMetric('flowpilot_notifications_errors_total')!.get();
    assert.equal(errors.values[0]?.value, 1);
  });
});
