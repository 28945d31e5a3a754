/**
 * Fleet mode end to end, in one process: the fake API server, three agent replicas (the real
 * AgentProcess + FleetManager wiring of `flowpilot agent` with fleet.enabled, each on its own
 * port), and one moving Flink REST endpoint per FlinkDeployment (test/fleet/support/moving-job.ts).
 * It shows, waiting on conditions only:
 * - `flowpilot scale explain --job NS/NAME` against the owner, and against another replica;
 * - opt-in: an annotated FlinkDeployment gets decisions on exactly one replica, and its rescale
 *   lands as a patch of pipeline.jobvertex-parallelism-overrides on the FlinkDeployment;
 * - a policy change: a policy ConfigMap named by flowpilot.io/policy shows in
 *   /api/v1/scaling/jobs and in the decisions' utilization band, without losing the history;
 * - opt-out: the pipeline stops and the resource is patched no more (its state ConfigMap stays);
 * - deletion: the job's state ConfigMap is deleted with its FlinkDeployment;
 * - a replica killed: the guard of its jobs moves to another replica (which evicts its member
 *   Lease) one lease duration after
 *   the victim's last renewal plus the rounds around it (bounded by the rounds and event-loop
 *   delay measured during the takeover), and their next decision follows (bounded with a margin
 *   for the loaded test machine; the figures are printed as `# fleet e2e: {...}`);
 * - no job is acted on by two replicas at any sampled instant (every 10 ms, whole suite).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { waitFor } from '../support/processes.ts';
import { flinkDeployment, OPT_IN } from '../support/fleet-fixtures.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { createKubeClients } from '../../agent/kube/client.ts';
import { startFleetAgent } from '../../agent/process/fleet.ts';
import type { FleetJobStatus } from '../../agent/fleet/manager.ts';
import { createLogger, silentLogger } from '../../common/log.ts';
import { startMovingJob, type MovingJob } from './support/moving-job.ts';

const FD = 'flinkdeployments.flink.apache.org';
const NS = 'team-a';
// Leases of 4 s renewed every 500 ms: three replicas share one process on a loaded 2-core machine,
// and a shorter renew deadline (2/3 of the lease) makes a slow round drop the job for a moment.
const LEASE_MS = 4000;
const RENEW_MS = 500;
const INTERVAL_MS = 1000;
const OVERRIDES = 'pipeline.jobvertex-parallelism-overrides';
const TAKEOVER_JOBS = ['j1', 'j2', 'j3', 'j4'];

type Replica = Awaited<ReturnType<typeof startFleetAgent>> & { id: string; killed: boolean };

function fd(name: string, restUrl: string, annotations: Record<string, string> = { ...OPT_IN }): Record<string, unknown> {
  return flinkDeployment(name, { annotations: { ...annotations, 'flowpilot.io/rest-url': restUrl }, conf: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '4' }, parallelism: 4 });
}

const until = <T>(what: string, ms: number, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, every = 50): Promise<T> => waitFor(what, probe, ms, every);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(import.meta.dirname, '..', '..', 'cli', 'main.ts'), ...args], { timeout: 25_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('fleet mode: three replicas, opted-in FlinkDeployments', { timeout: 90_000 }, () => {
  let kube: FakeKube;
  let dir: string;
  const replicas: Replica[] = [];
  const backends = new Map<string, MovingJob>();
  const doubles: string[] = [];
  let sampler: NodeJS.Timeout;
  const figures: Record<string, unknown> = {};

  const live = (): Replica[] => replicas.filter((r) => !r.killed);
  async function jobsOf(r: Replica): Promise<FleetJobStatus[]> {
    const res = await fetch(`http://127.0.0.1:${r.agent.port}/api/v1/scaling/jobs`);
    assert.equal(res.status, 200);
    // the route's JSON (each job's part kept while it does not change) is the status serialized now
    assert.equal(r.fleet.statusJson(), JSON.stringify(r.fleet.status()));
    return ((await res.json()) as { jobs: FleetJobStatus[] }).jobs;
  }
  /** The job as listed by the replica acting on it (null when none acts). */
  async function acting(name: string): Promise<{ replica: Replica; job: FleetJobStatus } | null> {
    for (const r of live()) {
      const j = (await jobsOf(r)).find((x) => x.name === name);
      if (j?.acting) return { replica: r, job: j };
    }
    return null;
  }
  const overrides = (name: string): string | undefined => ((kube.server.getObject(FD, NS, name) as { spec: { flinkConfiguration: Record<string, string> } } | undefined)?.spec.flinkConfiguration[OVERRIDES]);
  const resourceVersion = (name: string): string => String((kube.server.getObject(FD, NS, name) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);

  async function addJob(name: string, annotations?: Record<string, string>): Promise<void> {
    const b = await startMovingJob();
    backends.set(name, b);
    kube.server.putObject(FD, NS, fd(name, b.url, annotations));
  }
  function annotate(name: string, annotations: Record<string, string>): void {
    const obj = structuredClone(kube.server.getObject(FD, NS, name)) as { metadata: { annotations: Record<string, string> } };
    obj.metadata.annotations = { ...obj.metadata.annotations, ...annotations };
    kube.server.putObject(FD, NS, obj as unknown as Record<string, unknown>);
  }

  before(async () => {
    kube = await startFakeKube({ namespace: 'flowpilot' });
    dir = mkdtempSync(join(tmpdir(), 'fp-fleet-'));
    const policy = join(dir, 'policy.yaml');
    // Test speed: 1 s intervals, a 4 s window, scale up after 2 intervals above the band.
    writeFileSync(policy, stringify({
      metricsWindow: '4s', upConfirmIntervals: 2, catchUp: '30s', backlog: { lagThreshold: '30s' }, cooldown: '5s',
      restart: { prior: '5s', absorbShortOverloads: false }, effectiveness: { enabled: false }, forecast: { enabled: false },
    }));
    for (const id of ['r0', 'r1', 'r2']) {
      const config = parseAgentConfig({
        listen: { port: 0 }, dryRun: false,
        scrape: { interval: `${INTERVAL_MS}ms`, timeout: `${INTERVAL_MS}ms`, maxBackoff: `${INTERVAL_MS}ms`, self: false }, rules: { evaluationInterval: '1s' },
        flink: { perSubtaskMetrics: false },
        scaling: { policyFile: policy, state: { saveInterval: '2s' } },
        actuation: { kubernetes: { connection: 'file', kubeconfig: kube.kubeconfigPath }, events: true, timing: { verifyTimeout: '2s', pollInterval: '100ms' } },
        fleet: { enabled: true, identity: id, leaseDuration: `${LEASE_MS}ms`, renewInterval: `${RENEW_MS}ms`, resync: '5s', policyRefresh: '1s', history: { perJob: 5 }, state: { perJobBytes: 20_000 } },
      });
      replicas.push({ ...(await startFleetAgent(config, process.env.FLEET_E2E_LOG ? createLogger({ name: id, level: process.env.FLEET_E2E_LOG }) : silentLogger(), { version: 'test', identity: id })), id, killed: false });
    }
    sampler = setInterval(() => {
      for (const name of backends.keys()) {
        const uid = String((kube.server.getObject(FD, NS, name) as { metadata: { uid: string } } | undefined)?.metadata.uid);
        const who = live().filter((r) => r.fleet.shard.acting(uid)).map((r) => r.id);
        if (who.length > 1) doubles.push(`${uid}: ${who.join(',')}`);
      }
    }, 10);
  });
  after(async () => {
    clearInterval(sampler);
    console.log(`# fleet e2e: ${JSON.stringify(figures)}`);
    for (const r of live()) await r.stop();
    for (const b of backends.values()) await b.close();
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opt-in: a decision appears on one replica and the rescale lands as a patch on the FlinkDeployment', { timeout: 30_000 }, async () => {
    const t0 = Date.now();
    await addJob('orders');
    await addJob('payments', {});
    const a = await until('a decision for team-a/orders', 20_000, async () => {
      const x = await acting('orders');
      return x?.job.lastDecision ? x : null;
    });
    figures.firstDecisionMs = Date.now() - t0;
    const patched = await until('the overrides patch on team-a/orders', 20_000, () => overrides('orders'));
    figures.firstPatchMs = Date.now() - t0;
    assert.match(patched, /^[0-9a-f]{32}:\d+/);
    // the action's Event is in the resource's namespace, about the resource
    const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
    const ev = await until('the action\'s Event in team-a', 10_000, async () => (await clients.events.listNamespacedEvent({ namespace: NS })).items.find((e) => e.regarding?.name === 'orders'));
    assert.equal(ev.regarding?.kind, 'FlinkDeployment');
    const listed = await Promise.all(live().map((r) => jobsOf(r)));
    for (const l of listed) {
      const j = l.find((x) => x.name === 'orders')!;
      assert.equal(j.owner, a.replica.id, 'every replica names the same owner');
      assert.equal(j.kind, 'FlinkDeployment');
      assert.equal(j.namespace, NS);
      // payments is not opted in: nobody lists it
      assert.equal(l.find((x) => x.name === 'payments'), undefined);
    }
    // The decision's explain route answers on the owner, and points elsewhere on the others.
    const res = await fetch(`http://127.0.0.1:${a.replica.agent.port}/api/v1/scaling/decisions?job=${NS}/orders&limit=2`);
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as { decisions: unknown[] }).decisions.length > 0);
    const other = live().find((r) => r !== a.replica)!;
    const res2 = await fetch(`http://127.0.0.1:${other.agent.port}/api/v1/scaling/decisions?job=${NS}/orders`);
    assert.equal(res2.status, 404);
    const body2 = (await res2.json()) as { owner: string; error: string };
    assert.equal(body2.owner, a.replica.id);
    assert.match(body2.error, new RegExp(`runs on replica ${a.replica.id}`));
    assert.equal(overrides('payments'), undefined);
  });

  it('flowpilot scale explain --job NS/NAME explains the job on its replica (another replica names the owner: the 404 above)', { timeout: 30_000 }, async () => {
    const a = await until('team-a/orders acting', 10_000, () => acting('orders'));
    const here = await cli(['scale', 'explain', '--url', `http://127.0.0.1:${a.replica.agent.port}`, '--job', `${NS}/orders`, '--limit', '1']);
    assert.equal(here.code, 0, here.stderr);
    assert.match(here.stdout, /job orders-enrichment \(5e20cb6b0f357591171dfcca2eea09de\)/);
  });

  it('a policy change through a policy ConfigMap shows in /api/v1/scaling/jobs and in the next decisions, within the bounds', { timeout: 20_000 }, async () => {
    const before = await until('team-a/orders acting', 10_000, () => acting('orders'));
    kube.server.putObject('configmaps', NS, { metadata: { name: 'tight' }, data: { 'policy.yaml': stringify({ utilization: { target: 0.6, max: 0.7, min: 0.3 } }) } });
    annotate('orders', { 'flowpilot.io/policy': 'tight' });
    const after = await until('the new policy on the acting replica', 15_000, async () => {
      const x = await acting('orders');
      return x && x.job.policy?.configMap === 'tight' && x.job.lastDecision?.utilizationBand?.target === 0.6 ? x : null;
    });
    assert.notEqual(after.job.policy!.digest, before.job.policy!.digest);
    assert.deepEqual((after.job.policy!.overrides as { utilization: unknown }).utilization, { target: 0.6, max: 0.7, min: 0.3 });
    // the history survived the policy change: the opt-in's rescale is still in it
    const h = after.replica.fleet.pipelineOf(NS, 'orders')?.pipeline.controller.history('orders-enrichment');
    assert.ok(h && h.rescales.length >= 1, 'the job\'s history (with its rescale) was kept across the policy change');
    // bounds: the decisions kept per job, and the job's saved state in its ConfigMap
    assert.ok(after.job.decisions <= 5, `${after.job.decisions} decisions kept, over fleet.history.perJob`);
    const cm = kube.server.getObject('configmaps', 'flowpilot', `flowpilot-state-${after.job.uid}`) as { data: Record<string, string> } | undefined;
    const state = Object.entries(cm?.data ?? {}).find(([k]) => k.startsWith('autoscaler.'));
    assert.ok(state, 'the job\'s state is saved in its ConfigMap');
    assert.ok(state[1].length <= 20_000 + 200, `saved state of ${state[1].length} bytes, over fleet.state.perJobBytes`);
    assert.ok(Object.keys(cm!.data).some((k) => k.startsWith('action.')), 'the job\'s intent journal record is in the same ConfigMap');
  });

  it('opt-out: the pipeline stops and the FlinkDeployment is patched no more', { timeout: 15_000 }, async () => {
    annotate('orders', { 'flowpilot.io/autoscale': 'false' });
    await until('no replica lists team-a/orders', 10_000, async () => {
      for (const r of live()) if ((await jobsOf(r)).some((j) => j.name === 'orders')) return false;
      return true;
    });
    const rv = resourceVersion('orders');
    // Three collection intervals without a write to the resource (the annotation was the last one).
    const t = Date.now();
    await until('three intervals to pass', 5000, () => Date.now() - t >= 3 * INTERVAL_MS);
    assert.equal(resourceVersion('orders'), rv, 'the opted-out FlinkDeployment was written after opting out');
    for (const r of live()) assert.equal(r.fleet.pipelineOf(NS, 'orders'), undefined);
  });

  it('a killed replica\'s jobs get their next decision on another replica within one lease duration plus one interval', { timeout: 45_000 }, async () => {
    const names = TAKEOVER_JOBS;
    for (const n of names) await addJob(n);
    const owners = await until('every job decided on', 30_000, async () => {
      const out: Record<string, string> = {};
      for (const n of names) {
        const x = await acting(n);
        if (!x?.job.lastDecision) return null;
        out[n] = x.replica.id;
      }
      return out;
    });
    // kill the replica with the most jobs
    const counts = new Map<string, number>();
    for (const id of Object.values(owners)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const victimId = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const victim = replicas.find((r) => r.id === victimId)!;
    const moved = names.filter((n) => owners[n] === victimId);
    // the rounds and event-loop delays of the takeover window only
    for (const r of live()) r.fleet.shard.maxRoundMs = 0;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    // the victim's last renewal as the server applied it (renewTime is this process's clock; the
    // eviction later rewrites the Lease with holder '', so it is recorded as it happens)
    let lastRenew = 0;
    const lease = victim.fleet.shard.memberLease();
    const cur = kube.server.getObject('leases.coordination.k8s.io', 'flowpilot', lease) as { spec?: { renewTime?: string } } | undefined;
    lastRenew = Date.parse(cur?.spec?.renewTime ?? '');
    const unwatch = kube.server.store.onChange((t, _ns, ev) => {
      const spec = (ev.object as { spec?: { holderIdentity?: string; renewTime?: string } }).spec;
      if (t.resource === 'leases' && ev.object.metadata.name === lease && spec?.holderIdentity === victimId) lastRenew = Date.parse(spec.renewTime ?? '');
    });
    const killedAt = Date.now();
    victim.killed = true;
    await victim.stop();
    const took: Record<string, number> = {};
    const guard: Record<string, number> = {};
    const uidOf = (n: string): string => String((kube.server.getObject(FD, NS, n) as { metadata: { uid: string } }).metadata.uid);
    // The guard is sampled on its own timer: the decision poll below awaits HTTP calls per job, so
    // sampling it there would add that poll's duration (CI saw 216 ms of it) to the guard figure.
    const GUARD_SAMPLE_MS = 5;
    const guardSampler = setInterval(() => {
      for (const n of moved) if (guard[n] === undefined && live().some((r) => r.fleet.shard.acting(uidOf(n)))) guard[n] = Date.now() - killedAt;
    }, GUARD_SAMPLE_MS);
    await until(`decisions for ${moved.join(', ')} on another replica`, 20_000, async () => {
      for (const n of moved) {
        if (took[n] !== undefined) continue;
        const x = await acting(n);
        if (x && x.replica !== victim && x.job.lastDecision && x.job.lastDecision.time > killedAt) took[n] = Date.now() - killedAt;
      }
      return moved.every((n) => took[n] !== undefined);
    }, 25);
    await until('the guard sampled for every moved job', 5000, () => moved.every((n) => guard[n] !== undefined));
    clearInterval(guardSampler);
    loop.disable();
    const worst = Math.max(...Object.values(took));
    const worstGuard = Math.max(...Object.values(guard));
    unwatch();
    const guardFromRenew = worstGuard + (killedAt - lastRenew);
    const round = Math.max(...live().map((r) => r.fleet.shard.maxRoundMs));
    const lag = Math.ceil(loop.max / 1e6);
    // From the victim's last renewal (shard.ts): an observer sees it when its next list returns
    // (a round in flight, the renew wait, one list), and evicts it one lease duration after that
    // observation (a round in flight at the expiry, then the evicting round).
    const guardBound = LEASE_MS + RENEW_MS + 4 * round + 2 * lag + GUARD_SAMPLE_MS;
    figures.takeover = {
      victim: victimId, jobs: moved.length, guardMs: guard, decisionMs: took, worstGuardMs: worstGuard, worstDecisionMs: worst,
      guardAfterLastRenewMs: guardFromRenew, longestRoundMs: round, longestLoopDelayMs: lag, guardBoundMs: guardBound, target: LEASE_MS + INTERVAL_MS,
    };
    assert.ok(guardFromRenew >= LEASE_MS, `the guard moved ${guardFromRenew} ms after the victim's last renewal, before a whole lease duration`);
    assert.ok(guardFromRenew <= guardBound, `the guard moved ${guardFromRenew} ms after the victim's last renewal (bound ${guardBound})`);
    // The next decision adds the new owner's pipeline start after its round (reading the job's
    // state ConfigMap) and its first collection (scrape timeout: one interval); on the shared
    // 2-core machine (load 20+) that took up to 4 s more, so the slack stays; the figure is printed.
    assert.ok(worst <= worstGuard + INTERVAL_MS + 4000, `the next decision came ${worst} ms after the kill (guard at ${worstGuard}, bound ${worstGuard + INTERVAL_MS + 4000})`);
    // the jobs of the other replicas stayed where they were
    for (const n of names.filter((x) => owners[x] !== victimId)) assert.equal((await acting(n))?.replica.id, owners[n]);
  });

  it('deletion: the job\'s state ConfigMap goes with its FlinkDeployment (an opt-out keeps it)', { timeout: 20_000 }, async () => {
    const stateOf = (name: string): string => `flowpilot-state-${String(kube.server.getObject(FD, NS, name)!.metadata.uid)}`;
    const optedOut = stateOf('orders');
    assert.ok(kube.server.getObject('configmaps', 'flowpilot', optedOut), 'the opted-out job keeps its state');
    const name = TAKEOVER_JOBS[0]!;
    const cm = stateOf(name);
    await until(`${name}'s state ConfigMap`, 10_000, () => kube.server.getObject('configmaps', 'flowpilot', cm) !== undefined);
    kube.server.store.delete(kube.server.typeOf(FD), NS, name);
    await until(`${name}'s state ConfigMap deleted`, 10_000, () => kube.server.getObject('configmaps', 'flowpilot', cm) === undefined);
    // and not written again by the pipeline's last save
    const t = Date.now();
    await until('two saves to pass', 6000, () => Date.now() - t >= 4000);
    assert.equal(kube.server.getObject('configmaps', 'flowpilot', cm), undefined);
    assert.ok(kube.server.getObject('configmaps', 'flowpilot', optedOut));
  });

  it('no job was acted on by two replicas at any sampled instant', () => {
    figures.doubleActing = doubles.length;
    assert.deepEqual(doubles, []);
  });
});
