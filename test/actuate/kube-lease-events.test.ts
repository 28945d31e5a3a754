/**
 * Leader election and decision Events through the real @kubernetes/client-node against the
 * fake API server over HTTPS, plus the fake's own rules that these depend on (MicroTime,
 * resourceVersion conflicts, RBAC).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import { createKubeClients, kubeCall, type KubeClients } from '../../agent/kube/client.ts';
import { LeaderElector } from '../../agent/kube/leader-election.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { isFlowpilotError } from '../../common/errors.ts';

const MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('leader election over a Lease', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  before(async () => ({ kube, clients } = await startFakeKubeWithClients()));
  after(() => kube.close());

  it('elects exactly one of two agents and fails over after the lease expires', async (t) => {
    // A 4 s lease renewed every 100 ms: a loaded machine can delay a renew by a second or two
    // without the lease lapsing, so only a stopped leader loses it.
    const a = new LeaderElector({ clients, leaseName: 'flowpilot-leader', identity: 'agent-a', leaseDurationSeconds: 4, retryPeriodMs: 100 });
    const b = new LeaderElector({ clients, leaseName: 'flowpilot-leader', identity: 'agent-b', leaseDurationSeconds: 4, retryPeriodMs: 100 });
    // Stopped whatever an assertion does, so no election loop keeps the test process alive.
    t.after(() => { a.stop(); b.stop(); });
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.equal(Number(ra) + Number(rb), 1, 'exactly one agent leads after a simultaneous start');
    const [leader, follower] = ra ? [a, b] : [b, a];
    const leaderId = ra ? 'agent-a' : 'agent-b';
    const lease = kube.server.getObject('leases.coordination.k8s.io', 'flink', 'flowpilot-leader')!;
    const spec = lease.spec as Record<string, unknown>;
    assert.equal(spec.holderIdentity, leaderId);
    assert.match(String(spec.renewTime), MICRO);
    assert.match(String(spec.acquireTime), MICRO);
    assert.equal(spec.leaseDurationSeconds, 4);

    leader.start();
    follower.start();
    await delay(1500);
    assert.equal(leader.isLeader(), true, 'the renewing leader keeps the lease');
    assert.equal(follower.isLeader(), false, 'the follower does not take a lease that is being renewed');

    leader.stop(); // a crash: no release, the lease just stops being renewed
    const t0 = Date.now();
    while (!follower.isLeader() && Date.now() - t0 < 20_000) await delay(50);
    const took = Date.now() - t0;
    follower.stop();
    // The last renew was at most one retry period (plus any delay) before the stop, so the lease had
    // nearly all of its 4 s left: a takeover sooner than 3 s would mean it did not wait for expiry.
    assert.ok(took >= 3000, `failover waited for the lease to expire (${took} ms)`);
    assert.ok(took < 20_000, `the follower took over after expiry (${took} ms)`);
    const after = kube.server.getObject('leases.coordination.k8s.io', 'flink', 'flowpilot-leader')!;
    assert.equal((after.spec as Record<string, unknown>).holderIdentity, ra ? 'agent-b' : 'agent-a');
    assert.equal((after.spec as Record<string, unknown>).leaseTransitions, 1);
  });

  it('hands the lease over at once when the leader releases it', async () => {
    const a = new LeaderElector({ clients, leaseName: 'release-test', identity: 'a', leaseDurationSeconds: 30, retryPeriodMs: 100 });
    const b = new LeaderElector({ clients, leaseName: 'release-test', identity: 'b', leaseDurationSeconds: 30, retryPeriodMs: 100 });
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    await a.release();
    assert.equal(await b.tryAcquireOrRenew(), true, 'a released lease is free without waiting 30 s');
  });

  it('leaves the lease free after a release even while its renew loop was mid-step', async () => {
    // A 1 ms retry period keeps a renew in flight most of the time: release must wait for it,
    // or that renew (or a re-acquire) lands after the release and the lease stays taken.
    for (let i = 0; i < 15; i++) {
      const e = new LeaderElector({ clients, leaseName: 'release-race', identity: 'racer', leaseDurationSeconds: 30, retryPeriodMs: 1 });
      e.start();
      try {
        const t0 = Date.now();
        while (!e.isLeader() && Date.now() - t0 < 5000) await delay(5);
        await delay(i % 5);
        await e.release();
        await delay(20);
        const spec = kube.server.getObject('leases.coordination.k8s.io', 'flink', 'release-race')!.spec as Record<string, unknown>;
        assert.equal(spec.holderIdentity, '', `round ${i}: the lease is free after release`);
        assert.equal(e.isLeader(), false);
      } finally {
        e.stop(); // a failed round must not leave its loop running and the test process alive
      }
    }
  });
});

describe('decision Events', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  before(async () => ({ kube, clients } = await startFakeKubeWithClients()));
  after(() => kube.close());

  it('creates an events.k8s.io/v1 Event whose eventTime carries 6 fractional digits', async () => {
    const rec = new KubeEventRecorder({ clients, reportingInstance: 'agent-0', clock: () => Date.parse('2026-11-21T05:00:00.123Z') });
    const ev = await rec.record({ regarding: { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', name: 'orders' }, reason: 'ScalingReport', action: 'Rescale', note: 'map 2 -> 4: utilization 0.93 above 0.8' });
    assert.equal(String(ev.eventTime), '2026-11-21T05:00:00.123000Z');
    const served = kube.server.served.find((s) => s.group === 'events.k8s.io' && s.verb === 'create');
    assert.equal(served?.code, 201);
  });

  it('is rejected by the API server when eventTime has only 3 fractional digits', async () => {
    await assert.rejects(
      kubeCall(clients, 'create event', () => clients.events.createNamespacedEvent({
        namespace: 'flink',
        body: {
          metadata: { name: 'bad.1' }, eventTime: new Date() as never, reportingController: 'x', reportingInstance: 'y',
          action: 'Rescale', reason: 'ScalingReport', regarding: { kind: 'Pod', name: 'p' },
        },
      })),
      (err: unknown) => isFlowpilotError(err, 'FP_KUBE_INVALID') && /eventTime/.test(err.message) && /\.000000/.test(err.message),
    );
  });
});

describe('RBAC in the fake API server', () => {
  it('surfaces a request outside the Role as FP_KUBE_FORBIDDEN naming the verb and resource', async () => {
    const kube = await startFakeKube({ rbac: [{ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] }] });
    try {
      const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
      const el = new LeaderElector({ clients, leaseName: 'l', identity: 'x' });
      await assert.rejects(el.tryAcquireOrRenew(), (err: unknown) =>
        isFlowpilotError(err, 'FP_KUBE_FORBIDDEN') && /cannot get resource "leases"/.test(err.message) && /Role/.test(err.message));
      const rec = new KubeEventRecorder({ clients, reportingInstance: 'i' });
      await rec.record({ regarding: { kind: 'Pod', name: 'p' }, reason: 'R', action: 'A', note: 'n' });
      assert.deepEqual(kube.server.usedPermissions(), ['create events.k8s.io events']);
    } finally {
      await kube.close();
    }
  });
});
