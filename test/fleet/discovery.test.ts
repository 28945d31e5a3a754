/**
 * Fleet discovery against the fake API server: opt-in, opt-out, a policy change, deletion,
 * a session job's endpoint, and a watch restart after 410 Gone that still reports a deletion.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { waitFor } from '../support/processes.ts';
import { flinkDeployment } from '../support/fleet-fixtures.ts';
import { FleetDiscovery, type FleetEvent } from '../../agent/fleet/discovery.ts';

const FD = 'flinkdeployments.flink.apache.org';
const FSJ = 'flinksessionjobs.flink.apache.org';

const fd = (name: string, annotations: Record<string, string>, conf: Record<string, string> = {}): Record<string, unknown> => flinkDeployment(name, { annotations, conf, parallelism: null });
const until = (cond: () => boolean, what: string, ms = 10_000): Promise<unknown> => waitFor(what, cond, ms, 10);

describe('fleet discovery', () => {
  let kube: FakeKube;
  let disc: FleetDiscovery;
  const events: FleetEvent[] = [];
  const has = (type: string, name: string): boolean => events.some((e) => e.type === type && e.job.name === name);
  before(async () => {
    kube = await startFakeKube({ namespace: 'flink' });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    kube.server.putObject(FD, 'flink', fd('early', { 'flowpilot.io/autoscale': 'true' }));
    kube.server.putObject(FD, 'flink', fd('ignored', {}));
    disc = new FleetDiscovery({ kubeConfig: kc, namespaces: [], onEvent: (e) => events.push(e), resyncMs: 200, retryMs: 100 });
    await disc.start();
  });
  after(async () => {
    await disc.stop();
    await kube.close();
  });

  it('starts an opted-in resource found by the first list, not the others, with the operator REST service', async () => {
    await until(() => has('start', 'early'), 'start early');
    assert.ok(!has('start', 'ignored'));
    const job = events.find((e) => e.job.name === 'early')!.job;
    assert.equal(job.restUrl, 'http://early-rest.flink.svc:8081');
    assert.equal(job.kind, 'FlinkDeployment');
  });

  it('opts in by label in another namespace, and reads job.autoscaler.* keys and rest.port', async () => {
    kube.server.putObject(FD, 'team-b', { ...fd('lbl', {}, { 'job.autoscaler.target.utilization': '0.6', 'rest.port': '9091' }), metadata: { name: 'lbl', labels: { 'flowpilot.io/autoscale': 'true' } } });
    await until(() => has('start', 'lbl'), 'start lbl');
    const job = events.find((e) => e.job.name === 'lbl')!.job;
    assert.equal(job.namespace, 'team-b');
    assert.equal(job.restUrl, 'http://lbl-rest.team-b.svc:9091');
    assert.notDeepEqual(job.operatorPolicy, {});
  });

  it('a session job uses its session cluster Service', async () => {
    kube.server.putObject(FD, 'flink', fd('session', {}, { 'rest.port': '8082' }));
    kube.server.putObject(FSJ, 'flink', { metadata: { name: 'sj', annotations: { 'flowpilot.io/autoscale': 'true' } },
      spec: { deploymentName: 'session', job: { jarURI: 'local:///opt/flink/job.jar', parallelism: 2, upgradeMode: 'stateless' } } });
    // The job may be seen before its session cluster is cached: it is then updated when the cluster is.
    await until(() => events.some((e) => e.job.name === 'sj' && e.job.restUrl === 'http://session-rest.flink.svc:8082'), 'sj on the session cluster Service');
    assert.equal(disc.jobs().find((j) => j.name === 'sj')!.restUrl, 'http://session-rest.flink.svc:8082');
  });

  it('a policy change is an update; an unrelated change is not', async () => {
    const n = events.length;
    kube.server.putObject(FD, 'flink', fd('early', { 'flowpilot.io/autoscale': 'true', 'flowpilot.io/policy': 'strict' }));
    await until(() => has('update', 'early'), 'update early');
    assert.equal(events.filter((e) => e.type === 'update' && e.job.name === 'early').at(-1)!.job.policyConfigMap, 'strict');
    const m = events.length;
    assert.equal(m, n + 1);
    kube.server.putObject(FD, 'flink', fd('early', { 'flowpilot.io/autoscale': 'true', 'flowpilot.io/policy': 'strict', other: 'x' }));
    kube.server.putObject(FD, 'flink', fd('marker', { 'flowpilot.io/autoscale': 'true' }));
    await until(() => has('start', 'marker'), 'start marker');
    assert.equal(events.length, m + 1, 'no update for an annotation that is not ours');
  });

  it('opt-out and deletion stop the job', async () => {
    kube.server.putObject(FD, 'flink', fd('early', { 'flowpilot.io/autoscale': 'false' }));
    await until(() => has('stop', 'early'), 'stop early');
    kube.server.store.delete(kube.server.typeOf(FD), 'team-b', 'lbl');
    await until(() => has('stop', 'lbl'), 'stop lbl');
    assert.deepEqual(disc.jobs().map((j) => j.name).sort(), ['marker', 'sj']);
    // A deletion says so (the job's state goes with it); an opt-out does not (its state is kept).
    assert.deepEqual(events.filter((e) => e.type === 'stop').map((e) => [e.job.name, e.deleted === true]), [['early', false], ['lbl', true]]);
    const uids = disc.knownUids()!;
    assert.ok(uids.has(String(kube.server.getObject(FD, 'flink', 'ignored')!.metadata.uid)), 'known: every watched resource, opted in or not');
  });

  it('after a watch outage and a compaction (410 on re-watch) it re-lists and reports what it missed', async () => {
    // Watches are refused (403) while the objects change and the history is compacted.
    kube.server.setRbac([{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }]);
    kube.server.endWatches();
    await until(() => kube.server.served.some((s) => s.verb === 'watch' && s.code === 403), 'a refused watch');
    kube.server.store.delete(kube.server.typeOf(FD), 'flink', 'marker');
    kube.server.putObject(FD, 'flink', fd('late', { 'flowpilot.io/autoscale': 'true' }));
    kube.server.compact();
    const gone = kube.server.served.length;
    kube.server.setRbac(null);
    await until(() => has('stop', 'marker') && has('start', 'late'), 'the missed deletion and creation');
    assert.ok(kube.server.served.slice(gone).some((s) => s.verb === 'list'), 're-listed');
    assert.deepEqual(disc.jobs().map((j) => j.name).sort(), ['late', 'sj']);
    // no job was started twice without a stop in between
    const live = new Set<string>();
    for (const e of events) {
      if (e.type === 'start') { assert.ok(!live.has(e.job.uid), `double start ${e.job.name}`); live.add(e.job.uid); }
      if (e.type === 'stop') live.delete(e.job.uid);
    }
  });
});

describe('fleet discovery stop', () => {
  it('cancels an informer waiting to re-watch: no watch is opened after stop()', async () => {
    const kube = await startFakeKube({ namespace: 'flink' });
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kube.kubeconfigPath);
      const disc = new FleetDiscovery({ kubeConfig: kc, namespaces: ['flink'], onEvent: () => undefined, resyncMs: 60_000, retryMs: 100 });
      await disc.start();
      const watches = (): number => kube.server.served.filter((s) => s.verb === 'watch').length;
      // One informer per kind. The first re-watch after an end is immediate, every later one waits
      // (1 s, 2 s, ... up to 30 s): after two ends both informers are waiting.
      await until(() => kube.server.openWatchCount() === 2, 'both watches open');
      kube.server.endWatches();
      await until(() => kube.server.openWatchCount() === 2 && watches() >= 4, 'both watches open again');
      kube.server.endWatches();
      await until(() => kube.server.openWatchCount() === 0, 'the watches ended');
      await new Promise((r) => setTimeout(r, 300)); // let the informers see the end (they then wait 1 s)
      const before = watches();
      await disc.stop();
      // Well past the 1 s wait (timers run late under load, never early).
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(watches(), before, 'a watch was opened after stop()');
      assert.equal(kube.server.openWatchCount(), 0);
    } finally {
      await kube.close();
    }
  });
});
