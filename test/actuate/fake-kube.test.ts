/**
 * The fake API server's own rules, checked over raw HTTPS (so content types and tokens can be
 * wrong on purpose) and through client-node where the client can express the request.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startFakeKube, JSON_PATCH, MERGE, STRATEGIC, type FakeKube } from '../support/fake-kube/index.ts';
import { createKubeClients } from '../../agent/kube/client.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function call(kube: FakeKube, method: string, path: string, body?: unknown, contentType = 'application/json', token?: string): Promise<Answer> {
  const tok = token ?? kube.token;
  return new Promise((resolve, reject) => {
    const req = https.request(`${kube.url}${path}`, {
      method, ca: kube.server.caPem,
      headers: { authorization: `Bearer ${tok}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const DEP = '/apis/apps/v1/namespaces/flink/deployments';

describe('the fake Kubernetes API server', () => {
  let kube: FakeKube;
  before(async () => {
    kube = await startFakeKube();
  });
  after(() => kube.close());

  it('rejects a wrong bearer token with 401', async () => {
    const a = await call(kube, 'GET', `${DEP}/x`, undefined, undefined, 'wrong');
    assert.equal(a.status, 401);
    assert.equal(a.body.reason, 'Unauthorized');
  });

  it('creates with 201, refuses a duplicate with 409 AlreadyExists and answers 404 NotFound as a Status', async () => {
    assert.equal((await call(kube, 'POST', DEP, { metadata: { name: 'tm', labels: { app: 'tm' } }, spec: { replicas: 1 } })).status, 201);
    const dup = await call(kube, 'POST', DEP, { metadata: { name: 'tm' }, spec: {} });
    assert.deepEqual([dup.status, dup.body.reason, dup.body.kind], [409, 'AlreadyExists', 'Status']);
    const nf = await call(kube, 'GET', `${DEP}/nope`);
    assert.deepEqual([nf.status, nf.body.reason, nf.body.message], [404, 'NotFound', 'deployments.apps "nope" not found']);
  });

  it('answers 409 Conflict to an update carrying a stale resourceVersion and bumps it on every write', async () => {
    const cur = (await call(kube, 'GET', `${DEP}/tm`)).body as { metadata: { resourceVersion: string } };
    const ok = await call(kube, 'PUT', `${DEP}/tm`, { ...cur, spec: { replicas: 2 } });
    assert.equal(ok.status, 200);
    assert.ok(Number((ok.body.metadata as { resourceVersion: string }).resourceVersion) > Number(cur.metadata.resourceVersion));
    const stale = await call(kube, 'PUT', `${DEP}/tm`, { ...cur, spec: { replicas: 3 } });
    assert.deepEqual([stale.status, stale.body.reason], [409, 'Conflict']);
    const mergeStale = await call(kube, 'PATCH', `${DEP}/tm`, { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { replicas: 3 } }, MERGE);
    assert.equal(mergeStale.status, 409);
  });

  it('applies merge, JSON and strategic merge patches to built-ins, and 415s anything else', async () => {
    assert.equal((await call(kube, 'PATCH', `${DEP}/tm`, { spec: { replicas: 4, paused: null } }, MERGE)).status, 200);
    const jp = await call(kube, 'PATCH', `${DEP}/tm`, [{ op: 'test', path: '/spec/replicas', value: 4 }, { op: 'replace', path: '/spec/replicas', value: 5 }], JSON_PATCH);
    assert.equal((jp.body.spec as { replicas: number }).replicas, 5);
    const failedTest = await call(kube, 'PATCH', `${DEP}/tm`, [{ op: 'test', path: '/spec/replicas', value: 99 }], JSON_PATCH);
    assert.equal(failedTest.status, 422);
    assert.equal((await call(kube, 'PATCH', `${DEP}/tm`, { spec: { replicas: 6 } }, STRATEGIC)).status, 200);
    const yaml = await call(kube, 'PATCH', `${DEP}/tm`, { spec: { replicas: 7 } }, 'application/apply-patch+yaml');
    assert.deepEqual([yaml.status, yaml.body.reason], [415, 'UnsupportedMediaType']);
    assert.equal((await call(kube, 'PUT', `${DEP}/tm`, { metadata: { name: 'tm' } }, 'text/plain')).status, 415);
    assert.equal(((await call(kube, 'GET', `${DEP}/tm/scale`)).body.spec as { replicas: number }).replicas, 6);
  });

  it('validates the FlinkDeployment fields the operator types and refuses strategic merge on it', async () => {
    const FD = '/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments';
    assert.equal((await call(kube, 'POST', FD, { metadata: { name: 'orders' }, spec: { job: { parallelism: 2, upgradeMode: 'savepoint' } } })).status, 201);
    const bad = await call(kube, 'PATCH', `${FD}/orders`, { spec: { job: { parallelism: '8', upgradeMode: 'lastState' } } }, MERGE);
    assert.equal(bad.status, 422);
    assert.match(String(bad.body.message), /spec\.job\.parallelism/);
    assert.match(String(bad.body.message), /spec\.job\.upgradeMode/);
    assert.equal((await call(kube, 'PATCH', `${FD}/orders`, { spec: { job: { parallelism: 8 } } }, STRATEGIC)).status, 415);
    const scale = await call(kube, 'PATCH', `${FD}/orders/scale`, { spec: { replicas: 3 } }, MERGE);
    assert.equal(scale.status, 200);
    assert.equal(((kube.server.getObject('flinkdeployments.flink.apache.org', 'flink', 'orders')!.spec as { taskManager: { replicas: number } }).taskManager.replicas), 3);
  });

  it('lists pods by label selector through client-node', async () => {
    kube.server.putObject('pods', 'flink', { metadata: { name: 'tm-0', labels: { app: 'tm', role: 'taskmanager' } } });
    kube.server.putObject('pods', 'flink', { metadata: { name: 'jm-0', labels: { app: 'jm' } } });
    const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
    const list = await clients.core.listNamespacedPod({ namespace: 'flink', labelSelector: 'app=tm,role' });
    assert.deepEqual(list.items.map((p) => p.metadata?.name), ['tm-0']);
    const none = await clients.core.listNamespacedPod({ namespace: 'flink', labelSelector: 'app!=tm,app!=jm' });
    assert.equal(none.items.length, 0);
  });

  it('rejects a Lease renewTime with 3 fractional digits and accepts 6', async () => {
    const L = '/apis/coordination.k8s.io/v1/namespaces/flink/leases';
    const bad = await call(kube, 'POST', L, { metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2026-11-21T05:00:00.123Z' } });
    assert.deepEqual([bad.status, bad.body.reason], [422, 'Invalid']);
    assert.match(String(bad.body.message), /cannot parse "\.123Z" as "\.000000"/);
    assert.equal((await call(kube, 'POST', L, { metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2026-11-21T05:00:00.123000Z' } })).status, 201);
  });
});
