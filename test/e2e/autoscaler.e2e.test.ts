/**
 * End to end: the real `flowpilot agent` (a child process) autoscales the order-enrichment job
 * on a real engine cluster. The job's async enrichment is the bottleneck (each subtask holds at
 * most `capacity` lookups of `latency` ms in flight, so it sustains capacity/latency records/s
 * whatever the CPU), the generator's rate steps up x4 and back down, and the agent must scale
 * up within 2 metric windows of the step, converge in at most 3 rescales, scale down after the
 * delay in one or two steps without flapping, and leave an output in which nothing is lost or duplicated. The same
 * bottleneck drives the other actuation paths: savepoint redeploy (stop-with-savepoint and
 * resubmit, restored), and the fake Kubernetes API (the TaskManager Deployment's scale
 * subresource, the FlinkDeployment spec), both patched with merge patches.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEngineCluster, uploadJobModule, type EngineCluster } from '../actuate/support/engine-cluster.ts';
import { startFakeKube, MERGE, type FakeKube } from '../support/fake-kube/index.ts';
import { checkOrderOutput } from './support/order-checker.ts';
import {
  ROOT, jobView, jobsOverview, journalRecord, liveJobs, runJar, startAgent, tempDir, waitUntil, watchJob, writeAgentConfig, writeTestPolicy, type AgentChild, type AgentLine,
} from './support/e2e.ts';

const JOB = resolve(ROOT, 'engine/jobs/order-enrichment.ts');
const ENRICH = /Enrich/;
// Enrichment: at most 10 lookups of 50 ms in flight per subtask (the agent measured 180-500
// records/s per subtask, depending on the machine's load). At parallelism 2 the base rate is
// 250/s; the x4 step to 1000/s needs 3-7.
// 8 source partitions: a source subtask without a partition finishes at once, so no target up to 8
// may exceed them (the savepoint path runs every vertex at the largest target, see below).
const JOB_ARGS = ['--partitions', '8', '--latency', '50', '--capacity', '10', '--checkpoint-interval', '1000', '--window', '2000', '--out-of-orderness', '500'];
const SCRAPE = ['--scrape-interval', '1s', '--eval-interval', '1s'];
const METRIC_WINDOW_S = 8; // the test policy's metricsWindow

interface Scenario {
  cluster: EngineCluster;
  jarId: string;
  jobId: string;
  name: string;
  out: string;
  startedAt: number;
  /** vertex ids by role */
  source: string;
  enrich: string;
  windows: string;
}

async function startScenario(name: string, profile: string, limit: number, cleanups: Array<() => Promise<void> | void>): Promise<Scenario> {
  const cluster = await startEngineCluster({ taskManagers: 1, slots: 8, define: ['jobmanager.scheduler=adaptive', 'heartbeat.timeout=3000'] });
  cleanups.push(() => cluster.stop());
  const jarId = await uploadJobModule(cluster.restUrl, JOB);
  const out = join(cluster.dir, 'out');
  mkdirSync(out, { recursive: true });
  const jobId = await runJar(cluster.restUrl, jarId, {
    programArgsList: [...JOB_ARGS, '--profile', profile, '--limit', String(limit), '--output', out, '--name', name],
    parallelism: 2,
  });
  await waitUntil('the job to run', 30_000, async () => (await jobView(cluster.restUrl, jobId))?.state === 'RUNNING');
  const startedAt = (await jobsOverview(cluster.restUrl)).find((j) => j.jid === jobId)!['start-time'];
  const vs = (await jobView(cluster.restUrl, jobId))!.vertices;
  const id = (re: RegExp): string => vs.find((v) => re.test(v.name))!.id;
  return { cluster, jarId, jobId, name, out, startedAt, source: id(/^Source/), enrich: id(ENRICH), windows: id(/Window/) };
}

/**
 * The test policy: the enrichment vertex may move between 2 and 8 and the model sizes every
 * other vertex itself (the source is backpressured, not slow, so it must stay; the window/sink
 * vertex idles, so it may shrink).
 */
function policyFor(s: Scenario, path: string): string {
  return writeTestPolicy(path, {
    // The default settle: the 8 s metric window blends the old and the new level for a while
    // after the drop, so the agent waits until its window holds the new level and steps down once.
    // Time is compressed (a 12 s delay stands for 20 min), and so is the look-back for recent peaks
    // (1 h by default): a scale-down must still be expected to hold over the cool-down plus the
    // restart payback time, which the look-back never goes below.
    scaleDown: { delay: '12s', peakLookback: '10s' },
    limits: { slotSharing: true, maxParallelism: 8, vertices: { [s.enrich]: { min: 2, max: 8 } } },
  });
}

/** Waits for the job (whatever id it has now) to finish; on failure says what the agent did. */
async function waitForFinish(s: Scenario, agent: AgentChild, timeoutMs: number): Promise<void> {
  try {
    await waitUntil('the job to finish', timeoutMs, async () => {
      const jobs = (await jobsOverview(s.cluster.restUrl)).filter((j) => j.name === s.name);
      const failed = jobs.find((j) => j.state === 'FAILED');
      if (failed) throw new Error(`job ${failed.jid} FAILED`);
      return jobs.some((j) => j.state === 'FINISHED') && (await liveJobs(s.cluster.restUrl, s.name)).length === 0;
    }, 500);
  } catch (err) {
    const jobs = await jobsOverview(s.cluster.restUrl).catch(() => []);
    const p = await Promise.all(jobs.map(async (j) => [j.jid, j.state, (await jobView(s.cluster.restUrl, j.jid))?.vertices.map((v) => `${v.name}:${v.parallelism}`)]));
    const lines = agent.lines().filter((l) => l.msg !== 'no rescale').slice(-30).map((l) => JSON.stringify(l).slice(0, 400));
    const noRescale = agent.lines().filter((l) => l.msg.startsWith('no rescale')).slice(-3).map((l) => JSON.stringify(l).slice(0, 600));
    throw new Error(`${(err as Error).message}\njobs: ${JSON.stringify(p)}\nagent:\n${lines.join('\n')}\nlast no-rescale:\n${noRescale.join('\n')}\nengine:\n${s.cluster.logs().slice(-2000)}`);
  }
}

/** For a failure: each rescale decision's reasons and the source's and enrichment's models, from the agent's decisions API. */
async function sourceModels(agent: AgentChild, s: Scenario): Promise<string> {
  const body = await (await fetch(`${agent.url}/api/v1/scaling/decisions?limit=200`)).json().catch(() => ({})) as { decisions?: Array<{ time: number; action: string; reasons: string[]; perVertex: Record<string, unknown> }> };
  const ds = (body.decisions ?? []).filter((d) => d.action === 'rescale');
  return JSON.stringify(ds.map((d) => ({ t: (d.time - s.startedAt) / 1000, reasons: d.reasons, source: d.perVertex[s.source], enrich: d.perVertex[s.enrich] })), null, 1).slice(0, 12_000);
}

function figures(label: string, data: object): void {
  // One line per scenario, for docs/design/e2e.md and the report.
  console.log(`# e2e ${label}: ${JSON.stringify(data)}`);
}

describe('the agent autoscales the order-enrichment job on the engine', { concurrency: 3 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('scales up in place within 2 metric windows of a x4 step, converges in at most 3 rescales, scales down after the delay without flapping, and loses or duplicates nothing', { timeout: 140_000 }, async () => {
    const stepAt = 12;
    const dropAt = 35;
    // 60 s at the low rate after the drop: the single scale-down has come 35-40 s after it.
    const limit = 250 * stepAt + 1000 * (dropAt - stepAt) + 250 * 60;
    const s = await startScenario('e2e-in-place', `steps:250@0s,1000@${stepAt}s,250@${dropAt}s`, limit, cleanups);
    const tmp = tempDir('fp-e2e-agent-');
    cleanups.push(() => tmp.remove());
    const policy = policyFor(s, join(tmp.dir, 'policy.yml'));
    const agent = await startAgent(['--flink-url', s.cluster.restUrl, '--no-dry-run', '--actuation', 'in-place', '--policy', policy, '--journal', join(tmp.dir, 'journal'), ...SCRAPE], { cwd: tmp.dir });
    cleanups.push(() => agent.kill());

    await waitForFinish(s, agent, 125_000);
    const decisions = agent.rescales();
    const actions = agent.actions();
    const stepTime = s.startedAt + stepAt * 1000;
    const dropTime = s.startedAt + dropAt * 1000;
    // Every rescale decision starts an action: while one is in flight, decide() blocks with
    // rescale-in-progress, so the decisions and the actions pair up one to one.
    const enrichOf = (r: AgentLine): number => (r.parallelism as Record<string, number>)[s.enrich]!;
    assert.equal(decisions.length, actions.length, 'one action per rescale decision');
    // Direction from the enrichment vertex's previous parallelism (it starts at 2).
    const prev = (i: number): number => (i === 0 ? 2 : enrichOf(decisions[i - 1]!));
    const ups = decisions.filter((r, i) => enrichOf(r) > prev(i));
    const downs = decisions.filter((r, i) => enrichOf(r) < prev(i));
    figures('in-place timeline', {
      decisions: decisions.map((r) => ({ t: (r.time - s.startedAt) / 1000, enrich: enrichOf(r) })),
      actions: actions.map((a) => ({ t: (a.time - s.startedAt) / 1000, outcome: a.outcome })),
      guardsAfterDrop: Object.entries(agent.lines().filter((l) => l.time >= dropTime && l.msg.startsWith('no rescale')).reduce<Record<string, number>>((acc, l) => {
        const k = String(l.blocked_by ?? 'none');
        acc[k] = (acc[k] ?? 0) + 1;
        return acc;
      }, {})),
      lastReasonsAfterDrop: agent.lines().filter((l) => l.time >= dropTime && l.msg.startsWith('no rescale')).at(-1)?.reasons,
      downReasons: downs.map((r) => r.reasons),
    });
    figures('in-place', {
      stepToFirstDecisionS: ups[0] ? (ups[0].time - stepTime) / 1000 : null,
      scaleUps: ups.map(enrichOf), scaleDowns: downs.map(enrichOf),
      dropToScaleDownS: downs[0] ? (downs[0].time - dropTime) / 1000 : null,
      restartCostSec: decisions.at(-1)?.restart_cost_sec,
    });
    assert.ok(ups.length >= 1, `no scale-up decision:\n${agent.output().slice(-3000)}`);
    assert.ok(ups[0]!.time >= stepTime, 'no scale-up before the step');
    const reactionS = (ups[0]!.time - stepTime) / 1000;
    assert.ok(reactionS <= 2 * METRIC_WINDOW_S, `first scale-up ${reactionS} s after the step, more than 2 metric windows (${2 * METRIC_WINDOW_S} s)`);
    assert.ok(enrichOf(ups[0]!) > 2, 'the enrichment vertex grows');
    if (!decisions.every((r) => (r.parallelism as Record<string, number>)[s.source]! <= 2)) assert.fail(`the backpressured source is never grown: ${await sourceModels(agent, s)}`);
    // The first decision can come while the 8 s metric window still blends the old and the new rate,
    // so the model sizes to part of the step and one or two steps follow ([6,8] and [5,7,8] both seen in
    // full-suite runs, with the three scenarios sharing 2 cores). Each step must grow the vertex, and
    // more than 3 still fails.
    assert.ok(ups.length <= 3, `converges in at most 3 rescales, got ${ups.length}: ${JSON.stringify(ups.map(enrichOf))}`);
    assert.ok(ups.every((u, i) => i === 0 || enrichOf(u) > enrichOf(ups[i - 1]!)), `every scale-up grows the vertex: ${JSON.stringify(ups.map(enrichOf))}`);
    // The scale-down is sized on the capacity measured at the high parallelism, where each
    // enrichment subtask idles: under a CPU hog one run measured 157 rec/s per subtask at 8
    // (utilization 0.21, so 8 -> 3) and 188 rec/s at 3 (utilization 0.45, below the band, so
    // 3 -> 2). So the scale-down converges in one or two steps, each after the delay, never back
    // up: what must not happen is a flap (a scale-up after a scale-down) or a third step.
    const downsS = JSON.stringify(downs.map((r) => ({ t: (r.time - s.startedAt) / 1000, enrich: enrichOf(r), reasons: r.reasons })));
    assert.ok(downs.length >= 1 && downs.length <= 2, `one or two scale-downs, got ${downsS}`);
    assert.ok(downs[0]!.time >= dropTime + 12_000, 'the scale-down comes after the drop and waits for its delay');
    assert.ok(enrichOf(downs[0]!) < enrichOf(ups.at(-1)!));
    assert.ok(downs.every((d, i) => i === 0 || (enrichOf(d) < enrichOf(downs[i - 1]!) && d.time >= downs[i - 1]!.time + 12_000)), `each later scale-down shrinks further and waits its delay: ${downsS}`);
    assert.ok(decisions.every((r, i) => r.time < downs[0]!.time || i === 0 || enrichOf(r) <= prev(i)), `no scale-up after the scale-down: ${downsS}`);
    assert.ok(actions.every((a) => a.outcome === 'succeeded'), JSON.stringify(actions.map((a) => a.outcome)));
    const check = checkOrderOutput(s.out, { limit });
    figures('in-place check', check);
    assert.ok(check.ok, JSON.stringify(check));
    assert.equal(check.ordersSeen, limit);
  });

  it('rescales through a savepoint: stop-with-savepoint, resubmit at the new parallelism, RUNNING and restored, one copy, nothing lost or duplicated', { timeout: 115_000 }, async () => {
    const stepAt = 10;
    const limit = 250 * stepAt + 1000 * 30;
    const s = await startScenario('e2e-savepoint', `steps:250@0s,1000@${stepAt}s`, limit, cleanups);
    const tmp = tempDir('fp-e2e-agent-');
    cleanups.push(() => tmp.remove());
    policyFor(s, join(tmp.dir, 'policy.yml'));
    const programArgs = [...JOB_ARGS, '--profile', `steps:250@0s,1000@${stepAt}s`, '--limit', String(limit), '--output', s.out, '--name', s.name];
    const config = writeAgentConfig(join(tmp.dir, 'agent.yml'), {
      flink: { urls: [s.cluster.restUrl] }, scrape: { interval: '1s' }, rules: { evaluationInterval: '1s' }, dryRun: false,
      scaling: { policyFile: join(tmp.dir, 'policy.yml') },
      actuation: {
        mode: 'savepoint', flinkRestUrl: s.cluster.restUrl, journal: { dir: join(tmp.dir, 'journal') },
        timing: { pollInterval: '200ms', verifyTimeout: '40s', savepointTimeout: '30s' },
        // Per-vertex overrides (the default): the resubmit carries pipeline.jobvertex-parallelism-overrides,
        // so every vertex runs at its own decided parallelism.
        defaults: { jarId: s.jarId, savepointDirectory: join(s.cluster.dir, 'savepoints'), programArgs },
      },
    });
    const agent = await startAgent(['--config', config], { cwd: tmp.dir });
    cleanups.push(() => agent.kill());
    const watch = watchJob(s.cluster.restUrl, s.name);
    cleanups.push(async () => void await watch.stop());
    const first = await waitUntil('the first savepoint rescale to finish', 60_000, () => agent.actions()[0]).catch(async (err: Error) => {
      const rec = await journalRecord(join(tmp.dir, 'journal'), s.name);
      const jobs = await Promise.all((await jobsOverview(s.cluster.restUrl)).map(async (j) => [j.jid, j.state, (await jobView(s.cluster.restUrl, j.jid))?.vertices.map((v) => v.parallelism)]));
      throw new Error(`${err.message}\njournal: ${JSON.stringify(rec?.history)} ${JSON.stringify(rec?.data)}\njobs: ${JSON.stringify(jobs)}\nagent: ${agent.lines().filter((l) => !l.msg.startsWith('no rescale')).slice(-8).map((l) => JSON.stringify(l).slice(0, 500)).join('\n')}`);
    });
    const outage = await watch.stop();
    const decision = agent.rescales()[0]!;
    const record = await journalRecord(join(tmp.dir, 'journal'), s.name);
    if (first.outcome !== 'succeeded') {
      const jobs = await Promise.all([record?.data.newJobId, record?.data.rollbackJobId].map(async (id) => id && JSON.stringify(await (await fetch(`${s.cluster.restUrl}/jobs/${id}`)).json()).slice(0, 1500)));
      assert.fail(`savepoint rescale ${first.outcome}: ${JSON.stringify(record?.history)}\njobs: ${jobs.join('\n')}`);
    }
    assert.deepEqual(record?.history.slice(0, 5).map((h) => h.step), ['intent', 'savepoint-triggered', 'stopped', 'submitted', 'verified']);
    const newId = record!.data.newJobId!;
    assert.notEqual(newId, s.jobId);
    assert.equal((await jobView(s.cluster.restUrl, s.jobId))?.state, 'FINISHED', 'the old job stopped with its savepoint');
    const view = await jobView(s.cluster.restUrl, newId);
    assert.equal(view?.state, 'RUNNING');
    // Per-vertex overrides: every vertex runs at the decision's parallelism, not all at the largest.
    const decided = decision.parallelism as Record<string, number>;
    assert.deepEqual(Object.fromEntries(view!.vertices.map((v) => [v.id, v.parallelism])), decided);
    assert.ok(decided[s.enrich]! > 2, 'the enrichment vertex grew');
    if (decided[s.source] !== 2) assert.fail(`the backpressured source was not grown: ${await sourceModels(agent, s)}`);
    assert.ok(decision.time >= s.startedAt + stepAt * 1000, 'no rescale before the step');
    const cps = await (await fetch(`${s.cluster.restUrl}/jobs/${newId}/checkpoints`)).json() as { latest?: { restored?: { external_path?: string } } };
    assert.equal(cps.latest?.restored?.external_path, record!.data.savepointLocation, 'restored from the savepoint');
    assert.deepEqual(await liveJobs(s.cluster.restUrl, s.name), [newId], 'one live copy');
    assert.equal(outage.maxCopies, 1, 'never two copies');
    figures('savepoint', {
      stepToDecisionS: (decision.time - s.startedAt - stepAt * 1000) / 1000, enrich: (decision.parallelism as Record<string, number>)[s.enrich],
      decisionToVerifiedS: (first.time - decision.time) / 1000, noRunningCopyS: outage.longestGapMs / 1000,
      stepsAfterDecisionS: record!.history.map((h) => [h.step, (h.at - decision.time) / 1000]),
    });
    await agent.kill();
    await waitForFinish(s, agent, 60_000);
    const check = checkOrderOutput(s.out, { limit });
    figures('savepoint check', check);
    assert.ok(check.ok, JSON.stringify(check));
  });

  it('patches the TaskManager Deployment scale subresource and the FlinkDeployment spec with merge patches when the decision is made', { timeout: 115_000 }, async () => {
    const stepAt = 8;
    const limit = 250 * stepAt + 1000 * 40;
    const s = await startScenario('e2e-kube', `steps:250@0s,1000@${stepAt}s`, limit, cleanups);
    const kube: FakeKube = await startFakeKube();
    cleanups.push(() => kube.close());
    kube.server.putObject('deployments.apps', 'flink', { metadata: { name: 'flowpilot-taskmanager' }, spec: { replicas: 1, template: {} } });
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
      metadata: { name: 'orders' },
      spec: { flinkVersion: 'v1_20', job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint' }, taskManager: { replicas: 1 }, flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' } },
    });
    const tmp = tempDir('fp-e2e-agent-');
    cleanups.push(() => tmp.remove());
    policyFor(s, join(tmp.dir, 'policy.yml'));
    const agents: Record<string, AgentChild> = {};
    for (const mode of ['kubernetes-deployment', 'flink-deployment']) {
      const config = writeAgentConfig(join(tmp.dir, `${mode}.yml`), {
        flink: { urls: [s.cluster.restUrl] }, scrape: { interval: '1s' }, rules: { evaluationInterval: '1s' }, dryRun: false,
        scaling: { policyFile: join(tmp.dir, 'policy.yml') },
        actuation: {
          mode, flinkRestUrl: s.cluster.restUrl, journal: { dir: join(tmp.dir, `journal-${mode}`) },
          kubernetes: { enabled: true, connection: 'file', kubeconfig: kube.kubeconfigPath },
          defaults: { taskManagerWorkload: { kind: 'Deployment', name: 'flowpilot-taskmanager', slotsPerTaskManager: 4 }, flinkDeployment: { name: 'orders' } },
        },
      });
      agents[mode] = await startAgent(['--config', config], { cwd: tmp.dir });
      cleanups.push(() => agents[mode]!.kill());
    }
    const dep = agents['kubernetes-deployment']!;
    const fd = agents['flink-deployment']!;
    const depAction = await waitUntil('the Deployment scale action', 60_000, () => dep.actions()[0]);
    const fdAction = await waitUntil('the FlinkDeployment patch action', 60_000, () => fd.actions()[0]);
    // The action's log line (its message says why an action was rejected) goes with a failure.
    assert.equal(depAction.outcome, 'succeeded', JSON.stringify(depAction).slice(0, 1500));
    assert.equal(fdAction.outcome, 'succeeded', JSON.stringify(fdAction).slice(0, 1500));
    const depDecision = dep.rescales()[0]!;
    const fdDecision = fd.rescales()[0]!;

    const scalePatch = kube.server.served.find((r) => r.resource === 'deployments' && r.subresource === 'scale' && r.verb === 'patch');
    assert.equal(scalePatch?.contentType, MERGE);
    assert.equal(scalePatch?.code, 200);
    const deployment = kube.server.getObject('deployments.apps', 'flink', 'flowpilot-taskmanager')!;
    const depRecord = await journalRecord(join(tmp.dir, 'journal-kubernetes-deployment'), s.name);
    const fdRecord = await journalRecord(join(tmp.dir, 'journal-flink-deployment'), s.name);
    assert.deepEqual(depRecord?.request.target, depDecision.parallelism, 'the action carries the decision');
    const tms = depRecord!.request.taskManagers!;
    assert.ok(tms >= 1);
    assert.equal((deployment.spec as { replicas: number }).replicas, tms, 'replicas = the TaskManagers the decision needs');

    const fdPatch = kube.server.served.find((r) => r.resource === 'flinkdeployments' && r.verb === 'patch');
    assert.equal(fdPatch?.contentType, MERGE);
    assert.equal(fdPatch?.code, 200);
    const spec = kube.server.getObject('flinkdeployments.flink.apache.org', 'flink', 'orders')!.spec as {
      job: { parallelism: number }; taskManager: { replicas: number }; flinkConfiguration: Record<string, string>;
    };
    const target = fdDecision.parallelism as Record<string, number>;
    assert.equal(spec.job.parallelism, 2, 'NATIVE mode: spec.job.parallelism is never touched (it would be an UPGRADE)');
    const overrides = Object.fromEntries(spec.flinkConfiguration['pipeline.jobvertex-parallelism-overrides']!.split(',').map((kv) => kv.split(':') as [string, string]));
    assert.deepEqual(Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, Number(v)])), target, 'every vertex at its decided parallelism');
    assert.ok(target[s.enrich]! > 2, 'the enrichment vertex grows');
    if (target[s.source] !== 2) assert.fail(`the backpressured source does not: ${await sourceModels(fd, s)}`);
    assert.equal(spec.taskManager.replicas, 1, 'NATIVE mode: spec.taskManager.replicas is never touched');
    assert.equal((fdRecord!.data.realization as { realized: string }).realized, 'unobserved', 'no operator reconciles it here: nothing to watch');
    assert.equal(spec.flinkConfiguration['taskmanager.numberOfTaskSlots'], '4', 'the rest of the spec is kept');
    figures('kubernetes', {
      deploymentStepToDecisionS: (depDecision.time - s.startedAt - stepAt * 1000) / 1000, replicas: tms,
      flinkDeploymentStepToDecisionS: (fdDecision.time - s.startedAt - stepAt * 1000) / 1000, overrides: spec.flinkConfiguration['pipeline.jobvertex-parallelism-overrides'],
    });
  });
});
