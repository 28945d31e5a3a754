/**
 * Starts the FAKE Kubernetes API server for a test (see server.ts for what it enforces and
 * what it does not) and writes the two ways a real client finds a cluster: a kubeconfig file
 * (for KubeConfig.loadFromFile) and an in-cluster service-account directory tree (token,
 * ca.crt, namespace under <prefix>/var/run/secrets/kubernetes.io/serviceaccount, for
 * KubeConfig.loadFromCluster(prefix) with KUBERNETES_SERVICE_HOST/PORT). `close()` stops the
 * server and removes the temp directory.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { FakeKubeApiServer } from './server.ts';
import type { RbacRule } from './rbac.ts';

export { FakeKubeApiServer, MERGE, JSON_PATCH, STRATEGIC, type ServedRequest } from './server.ts';
export type { RbacRule } from './rbac.ts';
export { RESOURCE_TYPES } from './resources.ts';

export interface FakeKube {
  server: FakeKubeApiServer;
  url: string;
  namespace: string;
  kubeconfigPath: string;
  /** Pass to KubeConfig.loadFromCluster(prefix) with KUBERNETES_SERVICE_HOST=127.0.0.1 and PORT=port. */
  inClusterPrefix: string;
  port: number;
  /** The bearer token the server accepts (in both the kubeconfig and the in-cluster token file). */
  token: string;
  close(): Promise<void>;
}

export interface StartFakeKubeOptions {
  namespace?: string;
  rbac?: RbacRule[];
  serviceAccount?: string;
}

export async function startFakeKube(opts: StartFakeKubeOptions = {}): Promise<FakeKube> {
  const namespace = opts.namespace ?? 'flink';
  const sa = opts.serviceAccount ?? 'flowpilot';
  const token = randomBytes(16).toString('hex');
  const server = new FakeKubeApiServer({ token, user: `system:serviceaccount:${namespace}:${sa}` });
  if (opts.rbac) server.setRbac(opts.rbac);
  const url = await server.listen();
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  writeFileSync(kubeconfigPath, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
    clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(server.caPem).toString('base64') } }],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: sa, namespace } }],
  }));
  const saDir = join(dir, 'incluster', 'var', 'run', 'secrets', 'kubernetes.io', 'serviceaccount');
  mkdirSync(saDir, { recursive: true });
  writeFileSync(join(saDir, 'token'), token);
  writeFileSync(join(saDir, 'ca.crt'), server.caPem);
  writeFileSync(join(saDir, 'namespace'), namespace);
  return {
    server, url, namespace, kubeconfigPath, inClusterPrefix: join(dir, 'incluster'), port: server.port, token,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
