/**
 * The autoscaler's state survives a killed process and a leader change.
 * - Kill: a child process runs the pipeline (file journal + state store) until it has scaled
 *   up and learned the restart cost, and is killed with SIGKILL. A new pipeline on the same
 *   directory, fed the job's next observations (the load collapses), refuses the reversal inside
 *   the cool-down and uses the learned restart cost. The same stream into a pipeline without the
 *   saved state scales down at once: the test can fail.
 * - Leader change: two agents (the real Autoscaler wiring, leader election on a Lease, the journal
 *   and state in one ConfigMap on the fake API server); the leader scales the TaskManager
 *   Deployment, then hands the Lease over; the new leader keeps the history.
 * - Size bound: a state far over the bound is trimmed (oldest samples first) and still keeps the
 *   last rescale and the restart cost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AutoscalerPipeline } from '../../agent/scaling/pipeline.ts';
import { policySchema } from '../../agent/scaling/policy-schema.ts';
import type { ScaleDecision } from '../../agent/scaling/decision.ts';
import type { ScalingHistory } from '../../agent/scaling/history.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { decodeState } from '../../agent/actuate/journal/state-store.ts';
import { Autoscaler, journalStateStore } from '../../agent/process/autoscaler.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { silentLogger } from '../../common/log.ts';
import { mapP, newJob, phaseOne, POLICY, rates, replayPhaseOne } from './support/state-scenario.ts';

const CHILD = join(import.meta.dirname, 'support', 'crashing-pipeline.ts');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function waitFor<T>(what: string, ms: number, probe: () => T | null | undefined | Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The collapse after phase one: 1000 rec/s into the scaled-up job. */
async function collapse(p: AutoscalerPipeline, b: ReturnType<typeof newJob>, n: number): Promise<ScaleDecision[]> {
  const out: ScaleDecision[] = [];
  for (let i = 0; i < n; i++) {
    const d = await p.scale(b.next(15, rates(1000, mapP(b))));
    if (d) out.push(d);
  }
  return out;
}

describe('the autoscaler state', () => {
  it('survives a SIGKILL: the restarted pipeline still refuses a reversal inside the cool-down and still knows the restart cost', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const child = spawn(process.execPath, [CHILD, join(dir, 'journal')], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const line = await waitFor('the child to finish phase one', 45_000, () => {
      if (child.exitCode !== null) throw new Error(`the child exited early (${child.exitCode}): ${err}`);
      return out.includes('\n') ? out.split('\n')[0]! : null;
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const killed = JSON.parse(line) as { decisions: ScaleDecision[]; restartCostSec: number };
    const up = killed.decisions.find((d) => d.action === 'rescale')!;
    assert.ok(up && up.direction === 'up', 'the child scaled up');
    assert.ok(killed.restartCostSec >= 30 && killed.restartCostSec <= 45, `learned ${killed.restartCostSec} s`);

    // The restarted process: the same journal directory, the job's next observations.
    const store = new FileJournalStore(join(dir, 'journal'));
    const restarted = new AutoscalerPipeline({ policy: policySchema.parse(POLICY), store: journalStateStore(store, 262_144) });
    const after = await collapse(restarted, await replayPhaseOne(killed.decisions), 16);
    const h = restarted.controller.history('job-1')!;
    assert.equal(h.restartSamples, 1);
    assert.equal(h.restartCostSec, killed.restartCostSec, 'the learned restart cost was restored');
    assert.equal(after[0]!.restartCostSec, killed.restartCostSec, 'and decide() uses it');
    assert.equal(h.rescales[0]!.time, up.time);
    assert.notEqual(after[0]!.blockedBy, 'warming-up', 'the recent samples came back too');
    assert.ok(after.some((d) => d.blockedBy === 'cooldown'), `refuses the reversal: ${JSON.stringify(after.map((d) => d.blockedBy ?? d.action))}`);
    assert.ok(after.every((d) => d.action !== 'rescale'));
    assert.match(after.find((d) => d.blockedBy === 'cooldown')!.reasons.join('\n'), /cool-down: last rescale \(up\)/);

    // Without the saved state the same stream is scaled down at once.
    const amnesiac = new AutoscalerPipeline({ policy: policySchema.parse(POLICY) });
    const fresh = await collapse(amnesiac, await replayPhaseOne(killed.decisions), 16);
    assert.ok(fresh.some((d) => d.action === 'rescale' && d.direction === 'down'), `control: ${JSON.stringify(fresh.map((d) => d.blockedBy ?? d.action))}`);
    assert.ok(fresh.every((d) => d.blockedBy !== 'cooldown'));
  });

  it('moves with the leader: the new leader reads the history from the ConfigMap and continues', { timeout: 60_000 }, async (t) => {
    const kube = await startFakeKube();
    const stops: Array<() => Promise<void>> = [];
    t.after(async () => {
      try {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      } finally {
        await kube.close();
      }
    });
    kube.server.putObject('deployments.apps', 'flink', { metadata: { name: 'tm' }, spec: { replicas: 1 } });
    const dir = tempDir(t);
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const config = parseAgentConfig({
      dryRun: false,
      scrape: { interval: '1s' },
      scaling: { policyFile, state: { maxBytes: 65_536 } },
      actuation: {
        mode: 'kubernetes-deployment',
        journal: { kind: 'configmap', configMapName: 'fp-journal' },
        kubernetes: { enabled: true, connection: 'file', kubeconfig: kube.kubeconfigPath },
        // A long lease: a loaded machine must not move it before the test does (a release hands it over at once).
        leaderElection: { enabled: true, leaseName: 'fp-leader', leaseDuration: 30, retryPeriod: '100ms' },
        timing: { pollInterval: '50ms' },
        jobs: { 'job-1': { taskManagerWorkload: { name: 'tm', slotsPerTaskManager: 1 } } },
      },
    }, 'test');
    const agent = (id: string): Autoscaler => new Autoscaler(config, { registry: new Registry(), logger: silentLogger(), identity: id });
    const a = agent('agent-0');
    await a.start();
    stops.push(() => a.stop());
    await waitFor('agent-0 to lead', 10_000, () => a.runtime!.isLeader());
    const b = agent('agent-1');
    await b.start();
    stops.push(() => b.stop());
    assert.equal(b.runtime!.isLeader(), false);

    const job = newJob();
    const decisions = await phaseOne(job, async (obs) => {
      const d = await a.pipeline!.scale(obs);
      assert.equal(await b.pipeline!.scale(obs), null, 'the follower decides nothing');
      if (d?.action === 'rescale') await waitFor('the action to finish', 10_000, () => !a.pipeline!.actions.has('job-1'));
      return d;
    });
    const up = decisions.find((d) => d.action === 'rescale')!;
    assert.equal(a.pipeline!.lastResults.get('job-1')?.outcome, 'succeeded');
    assert.equal((kube.server.getObject('deployments.apps', 'flink', 'tm')!.spec as { replicas: number }).replicas, up.parallelism.map);
    const learned = a.pipeline!.controller.history('job-1')!;
    assert.equal(learned.restartSamples, 1);

    const cm = kube.server.getObject('configmaps', 'flink', 'fp-journal')!;
    const doc = JSON.parse((cm.data as Record<string, string>)['autoscaler.job-1']!).value as { encoding: string; data: string };
    assert.equal(doc.encoding, 'gzip+base64');
    assert.ok(doc.data.length <= 65_536, `${doc.data.length} bytes`);
    assert.equal(((decodeState(doc.data) as { history: ScalingHistory }).history).restartCostSec, learned.restartCostSec);

    await a.stop(); // hands the Lease back
    await waitFor('agent-1 to lead', 10_000, () => b.runtime!.isLeader());
    const after = await collapse(b.pipeline!, job, 16); // the 3 min window settles on the new level, then the cool-down holds
    const h = b.pipeline!.controller.history('job-1')!;
    assert.equal(h.restartCostSec, learned.restartCostSec, 'the new leader knows the restart cost');
    assert.equal(h.rescales[0]!.time, up.time, 'and the rescale');
    assert.ok(after.some((d) => d.blockedBy === 'cooldown'), JSON.stringify(after.map((d) => d.blockedBy ?? d.action)));
    assert.ok(after.every((d) => d.action !== 'rescale'));
  });

  it('stays under its size bound: the oldest samples are trimmed first, the last rescale and the restart cost stay', async (t) => {
    const dir = tempDir(t);
    const store = new FileJournalStore(dir);
    const p = new AutoscalerPipeline({ policy: policySchema.parse({ ...POLICY, metricsWindow: '2h' }), store: journalStateStore(store, 4096) });
    const job = newJob();
    await phaseOne(job, (obs) => p.scale(obs));
    for (let i = 0; i < 300; i++) await p.scale(job.next(15, rates(2000 * mapP(job), mapP(job))));
    const full = p.controller.history('job-1')!;
    assert.ok(full.recent.length > 200);
    await p.flush();
    const saved = (await store.read<{ data: string }>('autoscaler.job-1'))!.value;
    assert.ok(saved.data.length <= 4096, `${saved.data.length} bytes`);
    const back = await journalStateStore(store, 4096).load('job-1');
    assert.ok(back);
    assert.ok(back.recent.length < full.recent.length, 'samples were trimmed');
    assert.equal(back.recent.at(-1)!.time, full.recent.at(-1)!.time, 'the newest samples stay');
    assert.equal(back.restartCostSec, full.restartCostSec);
    assert.deepEqual(back.rescales.at(-1), full.rescales.at(-1));
  });
});
