import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { DecisionRecorder, handleDecisionsRoute } from './decision-log.ts';
import { explainDecision } from './explain.ts';
import { ScalingController } from '../scaling/controller.ts';
import { defaultPolicy } from '../scaling/policy.ts';
import { ObservationBuilder } from '../scaling/observation-builder.ts';
import type { ScaleDecision } from '../scaling/decision.ts';

function decisions(n: number): ScaleDecision[] {
  const c = new ScalingController(defaultPolicy());
  const b = new ObservationBuilder('job-x', [
    { id: 'src', parallelism: 1 },
    { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
  ]);
  const out: ScaleDecision[] = [];
  for (let i = 0; i < n; i++) out.push(c.step(b.next(15, { src: { inRate: 3000, busy: 0.1, pending: 0 }, map: { inRate: 3000, busy: 0.6 } })));
  return out;
}

describe('decision record', () => {
  it('keeps a bounded ring, exports gauges per vertex and logs one line per decision', async () => {
    const registry = new Registry();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
    const rec = new DecisionRecorder({ capacity: 5, registry, logger });
    for (const d of decisions(8)) rec.record(d);
    assert.equal(rec.ring.size, 5);
    assert.equal(lines.length, 8);
    const line = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    assert.equal(line.event, 'scaling_decision');
    assert.equal(line.job_id, 'job-x');
    const text = await registry.metrics();
    assert.match(text, /flowpilot_scaling_true_rate\{job_id="job-x",job_name="",vertex_id="map"\} 5000/);
    assert.match(text, /flowpilot_scaling_current_parallelism\{job_id="job-x",job_name="",vertex_id="map"\} 2/);
    assert.match(text, /flowpilot_scaling_decisions_total\{job_id="job-x",job_name="",action="none",blocked_by="warming-up"\} 1/);
    assert.match(text, /flowpilot_scaling_decisions_total\{job_id="job-x",job_name="",action="none",blocked_by="within-band"\} 7/);
    const band = defaultPolicy().utilization;
    assert.match(text, new RegExp(`flowpilot_scaling_utilization_band_low\\{job_id="job-x",job_name=""\\} ${band.min}`));
    assert.match(text, new RegExp(`flowpilot_scaling_utilization_band_high\\{job_id="job-x",job_name=""\\} ${band.max}`));
  });

  it('serves GET /api/v1/scaling/decisions filtered by job, newest last', async (t) => {
    const rec = new DecisionRecorder({ capacity: 100 });
    const ds = decisions(4);
    for (const d of ds) rec.record(d);
    rec.record({ ...ds[0]!, jobId: 'other' });
    const server = http.createServer((req, res) => {
      if (!handleDecisionsRoute(req, res, rec.ring)) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const body = (await (await fetch(`${base}/api/v1/scaling/decisions?job=job-x&limit=2`)).json()) as { decisions: ScaleDecision[] };
    assert.equal(body.decisions.length, 2);
    assert.equal(body.decisions[1]!.time, ds[3]!.time);
    assert.ok(body.decisions.every((d) => d.jobId === 'job-x'));
    assert.equal((await fetch(`${base}/api/v1/scaling/decisions?limit=0`)).status, 400);
    assert.equal((await fetch(`${base}/elsewhere`)).status, 404);
  });

  it('explains a decision with its guard, reasons and model numbers', () => {
    const d = decisions(3).at(-1)!;
    const text = explainDecision(d);
    assert.match(text, /job job-x {2}no rescale {2}blocked by: /);
    assert.match(text, /map +2 -> 2 +5000/);
  });
});
