/**
 * The assembled actuation runtime on Kubernetes (fake API server, real client-node): leader
 * election gates actuation, the ConfigMap journal records the action, an Event is created per
 * action, and stop() hands the Lease back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { createActuationRuntime } from '../../agent/actuate/runtime.ts';
import { parseActuationConfig } from '../../agent/actuate/config.ts';
import { silentLogger } from '../../common/log.ts';

describe('the actuation runtime', () => {
  it('actuates only once it leads, journals in a ConfigMap, records an Event, and releases the Lease on stop', async () => {
    const kube = await startFakeKube();
    try {
      kube.server.putObject('deployments.apps', 'flink', { metadata: { name: 'tm' }, spec: { replicas: 1 } });
      const cfg = parseActuationConfig({
        mode: 'kubernetes-deployment',
        journal: { kind: 'configmap', configMapName: 'fp-journal' },
        kubernetes: { enabled: true, connection: 'file', kubeconfig: kube.kubeconfigPath },
        leaderElection: { enabled: true, leaseName: 'fp-leader', leaseDuration: 5, retryPeriod: '100ms' },
        timing: { pollInterval: '50ms' },
        jobs: { orders: { taskManagerWorkload: { name: 'tm', slotsPerTaskManager: 2 } } },
      });
      const registry = new Registry();
      const rt = createActuationRuntime(cfg, { log: silentLogger(), registry, identity: 'agent-0' });
      const req = { jobId: 'e'.repeat(32), jobName: 'orders', current: { v: 2 }, target: { v: 6 }, reasons: ['backlog growing'], mode: cfg.mode };
      assert.equal(rt.isLeader(), false);
      await assert.rejects(rt.actuator.execute(req), /not the leader/);
      await rt.start();
      const t0 = Date.now();
      while (!rt.isLeader() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(rt.isLeader(), true);
      const r = await rt.actuator.execute(req);
      assert.equal(r.outcome, 'succeeded', r.message);
      assert.equal((kube.server.getObject('deployments.apps', 'flink', 'tm')!.spec as { replicas: number }).replicas, 3);
      const cm = kube.server.getObject('configmaps', 'flink', 'fp-journal')!;
      const rec = JSON.parse((cm.data as Record<string, string>)['action.orders']!).value;
      assert.equal(rec.finished, true);
      assert.equal(rec.step, 'verified');
      const ev = kube.server.store.list(kube.server.typeOf('events.events.k8s.io'), 'flink');
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.reason, 'Rescaled');
      assert.deepEqual((ev[0]!.regarding as Record<string, string>).name, 'tm');
      assert.match(String(ev[0]!.note), /backlog growing/);
      assert.match(await registry.metrics(), /flowpilot_actuation_total\{mode="kubernetes-deployment",outcome="succeeded"\} 1/);
      await rt.stop();
      assert.equal((kube.server.getObject('leases.coordination.k8s.io', 'flink', 'fp-leader')!.spec as Record<string, unknown>).holderIdentity, '');
    } finally {
      await kube.close();
    }
  });
});
