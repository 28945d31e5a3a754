import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AutoscalerPipeline, firingAlerts, type AlertSource } from '../../agent/scaling/pipeline.ts';
import { DecisionRecorder, handleDecisionsRoute } from '../../agent/record/decision-log.ts';
import { defaultPolicy } from '../../agent/scaling/policy.ts';
import { ObservationBuilder } from '../../agent/scaling/observation-builder.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { ActuatorRealizer } from '../../agent/actuate/realizer.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { DEFAULT_TIMING, defaultSleep } from '../../agent/actuate/context.ts';
import { silentLogger } from '../../common/log.ts';

const root = join(import.meta.dirname, '..', '..');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'cli/main.ts'), ...args], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A pipeline whose realizer is the real Actuator in dry-run mode over a journal in a temp dir. */
function pipelineWithJournal(t: { after: (fn: () => void) => void }, dryRun: boolean): { svc: AutoscalerPipeline; recorder: DecisionRecorder; journal: IntentJournal } {
  const dir = mkdtempSync(join(tmpdir(), 'fp-explain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = new IntentJournal(new FileJournalStore(dir));
  const actuator = new Actuator({ context: { journal, timing: DEFAULT_TIMING, clock: Date.now, sleep: defaultSleep, log: silentLogger() } });
  const recorder = new DecisionRecorder();
  const svc = new AutoscalerPipeline({ policy: defaultPolicy(), dryRun, decisions: recorder, realizer: new ActuatorRealizer({ actuator, journal, mode: 'dry-run' }) });
  return { svc, recorder, journal };
}

describe('flowpilot scale explain', () => {
  it('prints the decisions a live pipeline recorded, with guards, reasons and model numbers', async (t) => {
    const { svc, recorder, journal } = pipelineWithJournal(t, false);
    const pendingAlert: AlertSource = { alerts: () => [{ alert: { state: 'pending', labels: { flowpilot_action: 'block' } } }] };
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
      await svc.scale(obs, firingAlerts(pendingAlert));
    }
    await svc.stop();
    const rescales = recorder.ring.list().filter((d) => d.action === 'rescale');
    assert.equal(rescales.length, 1, 'a pending (not firing) alert does not veto');
    assert.equal((await journal.get('job-e'))?.record.outcome, 'recommended', 'the one rescale went to the realizer');
    const server = http.createServer((req, res) => {
      if (!handleDecisionsRoute(req, res, recorder.ring)) {
        res.writeHead(404);
        res.end();
      }
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

describe('the pipeline in dry run', () => {
  it('recommends without ever asking for a rescale', async (t) => {
    const { svc, journal } = pipelineWithJournal(t, true);
    const b = new ObservationBuilder('job-d', [
      { id: 'src', parallelism: 2 },
      { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    ]);
    let last;
    for (let i = 0; i < 10; i++) last = await svc.scale(b.next(15, { src: { inRate: 5000, busy: 0.1, pending: 1000 * i * 15 }, map: { inRate: 5000, busy: 1 } }));
    await svc.stop();
    assert.equal(await journal.get('job-d'), null, 'the realizer was never asked');
    assert.equal(last!.blockedBy, 'disabled');
    assert.ok(last!.recommended.map! > 2);
  });
});
