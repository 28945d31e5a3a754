import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKubeClients, kubeCall, reuseKubeDispatchers } from './client.ts';
import { startFakeKube } from '../../test/support/fake-kube/index.ts';

test('API calls reuse their TLS connections (client-node alone opens one per call)', async () => {
  const kube = await startFakeKube({ namespace: 'flowpilot' });
  try {
    const c = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
    for (let i = 0; i < 12; i++) {
      await kubeCall(c, 'create', () => c.core.createNamespacedConfigMap({ namespace: 'flowpilot', body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } } }));
      await kubeCall(c, 'read', () => c.core.readNamespacedConfigMap({ namespace: 'flowpilot', name: `cm-${i}` }));
    }
    // (undici replaces the very first connection once, on the second call: at most 2)
    assert.ok(kube.server.tlsConnections <= 2, `${kube.server.tlsConnections} TLS connections for 24 calls one after the other`);
    await Promise.all(Array.from({ length: 6 }, (_, i) => kubeCall(c, 'read', () => c.core.readNamespacedConfigMap({ namespace: 'flowpilot', name: `cm-${i}` }))));
    // 6 at once need up to 6 more
    const n = kube.server.tlsConnections;
    assert.ok(n <= 8, `${n} TLS connections for 30 calls`);
    assert.equal(reuseKubeDispatchers(c.config), c.config, 'applying it twice changes nothing');
  } finally {
    await kube.close();
  }
});

test('changed TLS options (a rotated CA file) give a new dispatcher: they are read on each call', async () => {
  const kube = await startFakeKube({ namespace: 'flowpilot' });
  try {
    const c = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
    const list = (): Promise<unknown> => kubeCall(c, 'list', () => c.core.listNamespacedConfigMap({ namespace: 'flowpilot' }));
    await list();
    await list();
    await list();
    const before = kube.server.tlsConnections;
    assert.ok(before <= 2);
    // The CA bundle changes (here: the same CA with one more line, as a rotation appends the next CA)
    const cluster = c.config.getCurrentCluster() as { caData?: string };
    cluster.caData = Buffer.from(`${kube.server.caPem}\n`).toString('base64');
    await list();
    await list();
    await list();
    const after = kube.server.tlsConnections - before;
    assert.ok(after >= 1 && after <= 2, `${after} new connections after the CA changed`);
  } finally {
    await kube.close();
  }
});
