import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ScalingService } from '../../agent/record/scaling-service.ts';
import { defaultPolicy } from '../../agent/scaling/policy.ts';
import { ObservationBuilder } from '../../agent/scaling/observation-builder.ts';

const root = join(import.meta.dirname, '..', '..');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'cli/main.ts'), ...args], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('flowpilot scale explain', () => {
  it('prints the decisions a live service recorded, with guards, reasons and model numbers', async (t) => {
    const rescales: unknown[] = [];
    const svc = new ScalingService({ policy: defaultPolicy(), onDecision: (d) => void rescales.push(d) });
    const b = new ObservationBuilder('job-e', [
      { id: 'src', parallelism: 2 },
      { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    ]);
    let pending = 0;
    for (let i = 0; i < 10; i++) {
      const arrival = i < 6 ? 4000 : 9000;
      const processed = Math.min(arrival + pending / 15, 5000);
      pending = Math.max(0, pending + (arrival - processed) * 15);
      const obs = b.next(15, { src: { inRate: processed, busy: 0.1, pending }, map: { inRate: processed, busy: processed / 5000 } });
      await svc.handle(obs, { rules: { alerts: () => [{ alert: { state: 'pending', labels: { flowpilot_action: 'block' } } }] } });
    }
    assert.equal(rescales.length, 1, 'a pending (not firing) alert does not veto');
    const server = http.createServer((req, res) => {
      void svc.routes(req, res).then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = await run(['scale', 'explain', '--url', url, '--job', 'job-e', '--limit', '3']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /job job-e {2}RESCALE \(up\)/);
    assert.match(out.stdout, /vertex map: 2 -> \d+: utilization/);
    assert.match(out.stdout, /blocked by: (rescale-in-progress|warming-up|job-not-running)/);
    const down = await run(['scale', 'explain', '--url', 'http://127.0.0.1:9', '--limit', '1']);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /cannot reach the agent at http:\/\/127\.0\.0\.1:9.*\[FP_AGENT_UNREACHABLE\]/);
  });
});

describe('ScalingService in dry run', () => {
  it('recommends without ever asking for a rescale', async () => {
    const asked: unknown[] = [];
    const svc = new ScalingService({ policy: defaultPolicy(), dryRun: true, onDecision: (d) => void asked.push(d) });
    const b = new ObservationBuilder('job-d', [
      { id: 'src', parallelism: 2 },
      { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    ]);
    let last;
    for (let i = 0; i < 10; i++) last = await svc.handle(b.next(15, { src: { inRate: 5000, busy: 0.1, pending: 1000 * i * 15 }, map: { inRate: 5000, busy: 1 } }));
    assert.equal(asked.length, 0);
    assert.equal(last!.blockedBy, 'disabled');
    assert.ok(last!.recommended.map! > 2);
  });
});
