/**
 * The fake API server plus the agent's real client-node connection to it (through a kubeconfig
 * file), which is how every Kubernetes test talks to the fake.
 */
import { createKubeClients, type KubeClients } from '../../../agent/kube/client.ts';
import { startFakeKube, type FakeKube } from './index.ts';

export async function startFakeKubeWithClients(): Promise<{ kube: FakeKube; clients: KubeClients }> {
  const kube = await startFakeKube();
  return { kube, clients: createKubeClients({ kind: 'file', path: kube.kubeconfigPath }) };
}
