/**
 * The Kubernetes actuators and the ConfigMap journal through the real @kubernetes/client-node
 * against the fake API server over HTTPS: scale subresource with merge patch, FlinkDeployment
 * patch surviving a concurrent writer (409 → re-read → retry), RBAC denial as
 * FP_KUBE_FORBIDDEN, the agent's Role rules covering every call, and journal conflicts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube, MERGE, type FakeKube } from '../support/fake-kube/index.ts';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import { createKubeClients, kubeCall, type KubeClients } from '../../agent/kube/client.ts';
import { agentRoleRules } from '../../agent/kube/permissions.ts';
import { LeaderElector } from '../../agent/kube/leader-election.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep, type ActuatorContext } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { ConfigMapJournalStore } from '../../agent/actuate/journal/configmap-store.ts';
import { CompressedStateStore } from '../../agent/actuate/journal/state-store.ts';
import type { JournalStore } from '../../agent/actuate/journal/store.ts';
import type { RescaleRequest } from '../../agent/actuate/types.ts';
import { silentLogger } from '../../common/log.ts';
import { isFlowpilotError } from '../../common/errors.ts';

const SRC = 'bc764cd8ddf7a0cff126f51c16239658';
const MAP = '20ba6b65f97481d5570070de90e4e791';

function context(clients: KubeClients, store: JournalStore): ActuatorContext {
  return {
    journal: new IntentJournal(store), kube: clients,
    workload: () => ({ kind: 'Deployment', name: 'fp-taskmanager', slotsPerTaskManager: 1 }),
    flinkDeployment: () => ({ name: 'orders' }),
    timing: { ...DEFAULT_TIMING, pollIntervalMs: 20 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
  };
}

function request(mode: RescaleRequest['mode'], extra: Partial<RescaleRequest> = {}): RescaleRequest {
  return { jobId: 'a'.repeat(32), jobName: 'orders', current: { [SRC]: 2, [MAP]: 2 }, target: { [SRC]: 2, [MAP]: 4 }, reasons: ['map utilization 0.95 > 0.8'], mode, ...extra };
}

function seedWorkloads(kube: FakeKube): void {
  kube.server.putObject('deployments.apps', 'flink', { metadata: { name: 'fp-taskmanager' }, spec: { replicas: 2, template: {} } });
  kube.server.putObject('statefulsets.apps', 'flink', { metadata: { name: 'fp-tm-sts' }, spec: { replicas: 1 } });
  kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
    metadata: { name: 'orders' },
    spec: { flinkVersion: 'v1_20', job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint' }, taskManager: { replicas: 2 }, flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2' } },
  });
}

describe('Kubernetes actuators', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  let dir: string;
  before(async () => {
    ({ kube, clients } = await startFakeKubeWithClients());
    dir = mkdtempSync(join(tmpdir(), 'fp-actuate-'));
    seedWorkloads(kube);
  });
  after(async () => {
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scales the TaskManager Deployment through its scale subresource with a merge patch', async () => {
    const act = new Actuator({ context: context(clients, new FileJournalStore(join(dir, 'j1'))) });
    const r = await act.execute(request('kubernetes-deployment', { taskManagers: 4 }));
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.deepEqual(r.steps, ['intent', 'scaled', 'verified']);
    const patch = kube.server.served.find((s) => s.resource === 'deployments' && s.subresource === 'scale' && s.verb === 'patch');
    assert.equal(patch?.contentType, MERGE);
    assert.equal(patch?.code, 200);
    const dep = kube.server.getObject('deployments.apps', 'flink', 'fp-taskmanager')!;
    assert.equal((dep.spec as { replicas: number }).replicas, 4);
    assert.equal((dep.status as { replicas: number }).replicas, 4);
  });

  it('derives the replica count from the target parallelism and slots when none is given', async () => {
    const ctx = context(clients, new FileJournalStore(join(dir, 'j2')));
    ctx.workload = () => ({ kind: 'StatefulSet', name: 'fp-tm-sts', slotsPerTaskManager: 2 });
    const r = await new Actuator({ context: ctx }).execute(request('kubernetes-deployment', { target: { [SRC]: 3, [MAP]: 6 } }));
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal((kube.server.getObject('statefulsets.apps', 'flink', 'fp-tm-sts')!.spec as { replicas: number }).replicas, 3);
  });

  it('patches only the overrides of a NATIVE FlinkDeployment and retries after a concurrent edit makes its resourceVersion stale', async () => {
    kube.server.interleaveBeforeWrite((a) => a.resource === 'flinkdeployments' && a.verb === 'patch', (store) => {
      const t = kube.server.typeOf('flinkdeployments.flink.apache.org');
      const fd = store.get(t, 'flink', 'orders')!;
      (fd.spec as { job: Record<string, unknown> }).job.upgradeMode = 'last-state';
      store.replace(t, 'flink', fd);
    });
    const act = new Actuator({ context: context(clients, new FileJournalStore(join(dir, 'j3'))) });
    const r = await act.execute(request('flink-deployment', { taskManagers: 3 }));
    assert.equal(r.outcome, 'succeeded', r.message);
    const patches = kube.server.served.filter((s) => s.resource === 'flinkdeployments' && s.verb === 'patch');
    assert.deepEqual(patches.map((p) => p.code), [409, 200], 'one conflict, then success on a fresh read');
    assert.ok(patches.every((p) => p.contentType === MERGE));
    const fd = kube.server.getObject('flinkdeployments.flink.apache.org', 'flink', 'orders')!;
    const spec = fd.spec as { job: { parallelism: number; upgradeMode: string }; taskManager: { replicas: number }; flinkConfiguration: Record<string, string> };
    // NATIVE mode: only the overrides key changes (job parallelism and replicas would be an UPGRADE).
    assert.equal(spec.job.parallelism, 2, 'spec.job.parallelism untouched');
    assert.equal(spec.taskManager.replicas, 2, 'spec.taskManager.replicas untouched');
    assert.equal(spec.flinkConfiguration['pipeline.jobvertex-parallelism-overrides'], `${MAP}:4,${SRC}:2`);
    assert.equal(spec.flinkConfiguration['taskmanager.numberOfTaskSlots'], '2', 'other configuration is kept');
    assert.equal(spec.job.upgradeMode, 'last-state', 'the concurrent edit is not lost');
  });

  it('refuses a merge-patch body sent as JSON Patch or as strategic merge on a custom resource', async () => {
    const ref = { group: 'flink.apache.org', version: 'v1beta1', namespace: 'flink', plural: 'flinkdeployments', name: 'orders', body: { spec: { job: { parallelism: 9 } } } };
    await assert.rejects(kubeCall(clients, 'patch', () => clients.custom.patchNamespacedCustomObject(ref)), (e: unknown) => isFlowpilotError(e, 'FP_KUBE_INVALID'));
    const { setHeaderOptions, PatchStrategy } = await import('@kubernetes/client-node');
    await assert.rejects(kubeCall(clients, 'patch', () => clients.custom.patchNamespacedCustomObject(ref, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))),
      (e: unknown) => isFlowpilotError(e, 'FP_KUBE_UNSUPPORTED_MEDIA_TYPE'));
  });

  it('reports an RBAC denial as FP_KUBE_FORBIDDEN and leaves the workload untouched', async () => {
    kube.server.setRbac(agentRoleRules({ journalConfigMap: true, events: true, taskManagerDeployment: 'some-other-deployment' }));
    try {
      const before = kube.server.getObject('deployments.apps', 'flink', 'fp-taskmanager')!;
      const r = await new Actuator({ context: context(clients, new FileJournalStore(join(dir, 'j4'))) }).execute(request('kubernetes-deployment', { taskManagers: 7 }));
      assert.equal(r.outcome, 'rejected');
      assert.equal(r.errorCode, 'FP_KUBE_FORBIDDEN');
      assert.match(r.message, /cannot patch resource "deployments\/scale" in API group "apps"/);
      assert.equal(kube.server.getObject('deployments.apps', 'flink', 'fp-taskmanager')!.metadata.resourceVersion, before.metadata.resourceVersion);
    } finally {
      kube.server.setRbac(null);
    }
  });
});

describe('the agent Role', () => {
  it('covers every call the agent Kubernetes code makes, and each rule is used', async () => {
    const rules = agentRoleRules({ journalConfigMap: true, events: true, leaseName: 'flowpilot-leader', taskManagerDeployment: 'fp-taskmanager', flinkDeployment: true });
    const kube = await startFakeKube();
    try {
      seedWorkloads(kube);
      kube.server.setRbac(rules);
      const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
      const elector = new LeaderElector({ clients, leaseName: 'flowpilot-leader', identity: 'a' });
      assert.equal(await elector.tryAcquireOrRenew(), true);
      assert.equal(await elector.tryAcquireOrRenew(), true);
      const events = new KubeEventRecorder({ clients, reportingInstance: 'a' });
      const ctx = context(clients, new ConfigMapJournalStore({ clients, name: 'flowpilot-journal' }));
      const act = new Actuator({ context: ctx, isLeader: () => elector.isLeader(), recordEvent: (ev) => events.record(ev) });
      for (const mode of ['kubernetes-deployment', 'flink-deployment', 'dry-run'] as const) {
        const r = await act.execute(request(mode, { taskManagers: 3, jobName: `job-${mode}` }));
        assert.equal(r.outcome, mode === 'dry-run' ? 'recommended' : 'succeeded', r.message);
      }
      assert.equal(kube.server.served.filter((s) => s.code === 403).length, 0, 'no call was forbidden');
      const used = kube.server.usedPermissions();
      assert.deepEqual(used, [
        'create core configmaps', 'create coordination.k8s.io leases', 'create events.k8s.io events',
        'get apps deployments/scale', 'get core configmaps', 'get coordination.k8s.io leases', 'get flink.apache.org flinkdeployments',
        'patch apps deployments/scale', 'patch flink.apache.org flinkdeployments', 'update core configmaps', 'update coordination.k8s.io leases',
      ].sort());
    } finally {
      await kube.close();
    }
  });
});

describe('the ConfigMap journal', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  before(async () => ({ kube, clients } = await startFakeKubeWithClients()));
  after(() => kube.close());

  it('keeps both writes when two writers of different keys race on one ConfigMap', async () => {
    const a = new ConfigMapJournalStore({ clients, name: 'journal-race' });
    const b = new ConfigMapJournalStore({ clients, name: 'journal-race' });
    await a.write('seed', { n: 0 }, null);
    kube.server.interleaveBeforeWrite((x) => x.resource === 'configmaps' && x.verb === 'update', (store) => {
      const t = kube.server.typeOf('configmaps');
      const cm = store.get(t, 'flink', 'journal-race')!;
      (cm.data as Record<string, string>).other = JSON.stringify({ version: 1, value: 'written by someone else' });
      store.replace(t, 'flink', cm);
    });
    await Promise.all([a.write('job-a', { step: 'intent' }, null), b.write('job-b', { step: 'intent' }, null)]);
    assert.deepEqual((await a.read('job-a'))?.value, { step: 'intent' });
    assert.deepEqual((await a.read('job-b'))?.value, { step: 'intent' });
    assert.equal((await a.read('other'))?.value, 'written by someone else');
    assert.ok(kube.server.served.some((s) => s.resource === 'configmaps' && s.verb === 'update' && s.code === 409), 'a resourceVersion conflict happened and was retried');
  });

  it('lets only one of two writers holding the same version of a key win', async () => {
    const a = new ConfigMapJournalStore({ clients, name: 'journal-cas' });
    const b = new ConfigMapJournalStore({ clients, name: 'journal-cas' });
    const v = await a.write('job', { step: 'intent' }, null);
    const results = await Promise.allSettled([a.write('job', { step: 'a' }, v), b.write('job', { step: 'b' }, v)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isFlowpilotError(rejected.reason, 'FP_JOURNAL_CONFLICT'), String(rejected.reason));
    assert.equal((await a.read('job'))?.version, v + 1);
  });

  it('writes after a read from the ConfigMap it read (one GET, one PUT), and from a fresh read when that one is stale', async () => {
    const a = new ConfigMapJournalStore({ clients, name: 'journal-last' });
    const b = new ConfigMapJournalStore({ clients, name: 'journal-last' });
    await a.write('job', { n: 0 }, null);
    const calls = (): string[] => kube.server.served.filter((x) => x.resource === 'configmaps' && x.name === 'journal-last').map((x) => `${x.verb} ${x.code}`);
    const n0 = calls().length;
    // the state store's save: read the key's version, then write it
    const cur = await a.read<{ n: number }>('job');
    await a.write('job', { n: 1 }, cur!.version);
    assert.deepEqual(calls().slice(n0), ['get 200', 'update 200'], 'no second read before the write');
    // another writer changes the ConfigMap (another key): a's remembered copy is stale
    await b.write('other', 'b was here', null);
    const n1 = calls().length;
    await a.write('job', { n: 2 }, cur!.version + 1);
    assert.deepEqual(calls().slice(n1), ['update 409', 'get 200', 'update 200'], 'refused on the stale resourceVersion, then from a fresh read');
    assert.deepEqual((await a.read('job'))?.value, { n: 2 });
    assert.equal((await a.read('other'))?.value, 'b was here', 'the other writer\'s key is kept');
    // the same key written by b meanwhile: a conflict, seen on a fresh read, not on the stale copy alone
    const v = (await b.read('job'))!.version;
    await b.write('job', { n: 'b' }, v);
    await assert.rejects(a.write('job', { n: 3 }, v), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CONFLICT'));
    await a.write('job', { n: 4 }, v + 1);
    assert.deepEqual((await b.read('job'))?.value, { n: 4 });
  });

  it('saves compressed state with one PUT once the store has seen its ConfigMap, and still wins over a stale copy', async () => {
    const store = new ConfigMapJournalStore({ clients, name: 'journal-state' });
    const docs = new CompressedStateStore<{ n: number }>(store, { check: (raw) => raw as { n: number } });
    const calls = (): string[] => kube.server.served.filter((x) => x.resource === 'configmaps' && x.name === 'journal-state').map((x) => `${x.verb} ${x.code}`);
    await docs.save('job', { n: 0 });
    const n0 = calls().length;
    await docs.save('job', { n: 1 });
    await docs.save('job', { n: 2 });
    assert.deepEqual(calls().slice(n0), ['update 200', 'update 200'], 'no read before a save');
    // another writer saves the same key (a replica that took over meanwhile, say): last writer wins, from a fresh read
    const other = new CompressedStateStore<{ n: number }>(new ConfigMapJournalStore({ clients, name: 'journal-state' }), { check: (raw) => raw as { n: number } });
    await other.save('job', { n: 10 });
    const n1 = calls().length;
    await docs.save('job', { n: 3 });
    assert.deepEqual(calls().slice(n1), ['update 409', 'get 200', 'get 200', 'update 200']);
    assert.deepEqual(await other.load('job'), { n: 3 });
  });

  it('takes a key\'s version from the text it last wrote or parsed there, for at most 16 keys, and parses a text changed behind it', async () => {
    const a = new ConfigMapJournalStore({ clients, name: 'journal-versions' });
    const b = new ConfigMapJournalStore({ clients, name: 'journal-versions' });
    const remembered = (): number => a['versions'].size;
    let v = await a.write('job', { n: 0 }, null);
    v = await a.write('job', { n: 1 }, v);
    assert.equal(remembered(), 1);
    const r = await a.readRemembered<{ n: number }>('job');
    assert.deepEqual({ version: r?.version, value: r?.value }, { version: v, value: { n: 1 } }, 'the value, parsed when asked for');
    // another writer rewrites the key with the same version number it will hold next, and other content
    // (a document the memo must not take for a's): a's write expecting v fails on a fresh read
    const theirs = (await b.read('job'))!.version;
    await b.write('job', { n: 'b' }, theirs);
    await assert.rejects(a.write('job', { n: 2 }, v), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CONFLICT'));
    assert.equal((await a.readRemembered('job'))?.version, v + 1);
    await a.write('job', { n: 3 }, v + 1);
    assert.deepEqual((await b.read('job'))?.value, { n: 3 });
    // bounded: 20 more keys, at most 16 remembered, and every key's version still right
    const versions = new Map<string, number>();
    for (let i = 0; i < 20; i++) versions.set(`k${i}`, await a.write(`k${i}`, { i }, null));
    assert.ok(remembered() <= 16, `${remembered()} keys remembered`);
    for (const [key, kv] of versions) assert.equal(await a.write(key, { i: -1 }, kv), kv + 1);
    assert.ok(remembered() <= 16);
  });

  it('blocks a second action for a job whose first is still in flight', async () => {
    const journal = new IntentJournal(new ConfigMapJournalStore({ clients, name: 'journal-busy' }));
    await journal.begin('orders', request('savepoint'));
    await assert.rejects(journal.begin('orders', request('in-place')), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_BUSY'));
    assert.equal((await journal.unfinished()).length, 1);
  });
});
