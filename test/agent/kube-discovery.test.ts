import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { KubePodDiscovery, type DiscoveredTarget } from '../../agent/collect/kube-discovery.ts';

function podObject(name: string, labels: Record<string, string>, annotations: Record<string, string>, ip: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'flink', labels, annotations },
    spec: { containers: [{ name: 'main', image: 'flink:1.20' }] },
    status: { phase: 'Running', podIP: ip },
  };
}

describe('Kubernetes pod discovery against the fake API server', () => {
  it('lists pods by label selector through client-node and follows changes by polling when watch is unavailable', async (t) => {
    const kube = await startFakeKube({ namespace: 'flink' });
    t.after(() => kube.close());
    const scrape = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9249' };
    kube.server.putObject('pods', 'flink', podObject('tm-0', { app: 'flink', component: 'taskmanager' }, scrape, '10.1.0.1'));
    kube.server.putObject('pods', 'flink', podObject('jm-0', { app: 'flink', component: 'jobmanager' }, scrape, '10.1.0.9'));
    kube.server.putObject('pods', 'flink', podObject('tm-1', { app: 'flink', component: 'taskmanager' }, {}, '10.1.0.2'));

    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    let latest: DiscoveredTarget[] = [];
    let updates = 0;
    const discovery = new KubePodDiscovery(kc, { job: 'flink-tm', namespaces: ['flink'], labelSelector: 'app=flink,component=taskmanager', refreshIntervalMs: 100 }, (targets) => {
      latest = targets;
      updates++;
    });
    t.after(() => discovery.stop());
    await discovery.start();
    assert.equal(discovery.lastError, null);
    assert.deepEqual(latest, [{ url: 'http://10.1.0.1:9249/metrics', labels: { job: 'flink-tm', instance: '10.1.0.1:9249', namespace: 'flink', pod: 'tm-0' } }]);

    kube.server.putObject('pods', 'flink', podObject('tm-1', { app: 'flink', component: 'taskmanager' }, scrape, '10.1.0.2'));
    const before = updates;
    const deadline = Date.now() + 3000;
    while (latest.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(updates > before);
    assert.deepEqual(latest.map((x) => x.labels.pod), ['tm-0', 'tm-1']);
    assert.ok(kube.server.served.some((r) => r.path === '/api/v1/namespaces/flink/pods' && r.code === 200));
  });
});
