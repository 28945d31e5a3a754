/**
 * The fake API server's watch: resourceVersion semantics, bookmarks, 410 Gone for a compacted
 * version, across namespaces, through the real client-node Watch and informer (ListWatch).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { waitFor } from '../support/processes.ts';
import { flinkDeployment } from '../support/fleet-fixtures.ts';

const FD = 'flinkdeployments.flink.apache.org';

const fd = (name: string, labels: Record<string, string> = {}): Record<string, unknown> => flinkDeployment(name, { labels, parallelism: null });
const until = (cond: () => boolean, what: string, ms = 5000): Promise<unknown> => waitFor(what, cond, ms, 10);

interface Seen { type: string; name: string; rv: string; code?: number }

function startWatch(kc: k8s.KubeConfig, path: string, params: Record<string, string>): { seen: Seen[]; done: Promise<unknown>; abort(): void } {
  const seen: Seen[] = [];
  let resolveDone!: (e: unknown) => void;
  const done = new Promise((r) => { resolveDone = r; });
  let ctl: AbortController | undefined;
  void new k8s.Watch(kc).watch(path, params, (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) => {
    seen.push({ type, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '', ...(obj.code !== undefined ? { code: obj.code } : {}) });
  }, (err) => resolveDone(err)).then((c) => { ctl = c; });
  return { seen, done, abort: () => ctl?.abort() };
}

describe('fake-kube watch', () => {
  let kube: FakeKube;
  let kc: k8s.KubeConfig;
  before(async () => {
    kube = await startFakeKube({ namespace: 'flink' });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
  });
  after(() => kube.close());

  it('lists with a resourceVersion and streams ADDED/MODIFIED/DELETED after it, in one namespace or all', async () => {
    kube.server.putObject(FD, 'flink', fd('before'));
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const list = await api.listNamespacedCustomObject({ group: 'flink.apache.org', version: 'v1beta1', namespace: 'flink', plural: 'flinkdeployments' }) as { metadata: { resourceVersion: string }; items: unknown[] };
    const rv = list.metadata.resourceVersion;
    assert.equal(list.items.length, 1);
    const ns = startWatch(kc, '/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments', { resourceVersion: rv });
    const all = startWatch(kc, '/apis/flink.apache.org/v1beta1/flinkdeployments', { resourceVersion: rv });
    await until(() => kube.server.openWatchCount('flinkdeployments') === 2, 'two open watches');
    kube.server.putObject(FD, 'flink', fd('a'));
    kube.server.putObject(FD, 'other', fd('b'));
    kube.server.putObject(FD, 'flink', fd('a', { x: 'y' }));
    await api.deleteNamespacedCustomObject({ group: 'flink.apache.org', version: 'v1beta1', namespace: 'flink', plural: 'flinkdeployments', name: 'a' });
    await until(() => all.seen.length === 4 && ns.seen.length === 3, 'events');
    assert.deepEqual(ns.seen.map((s) => `${s.type} ${s.name}`), ['ADDED a', 'MODIFIED a', 'DELETED a']);
    assert.deepEqual(all.seen.map((s) => `${s.type} ${s.name}`), ['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED a']);
    const rvs = all.seen.map((s) => Number(s.rv));
    assert.ok(rvs.every((v, i) => i === 0 || v > rvs[i - 1]!), 'resourceVersions increase');
    assert.ok(rvs[0]! > Number(rv));
    // A watch from the first event's version replays only what followed it.
    const replay = startWatch(kc, '/apis/flink.apache.org/v1beta1/flinkdeployments', { resourceVersion: all.seen[0]!.rv });
    await until(() => replay.seen.length === 3, 'replayed events');
    assert.deepEqual(replay.seen.map((s) => `${s.type} ${s.name}`), ['ADDED b', 'MODIFIED a', 'DELETED a']);
    for (const w of [ns, all, replay]) w.abort();
    await until(() => kube.server.openWatchCount() === 0, 'watches closed');
  });

  it('sends BOOKMARKs only when asked, at the current resourceVersion', async () => {
    const withB = startWatch(kc, '/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments', { resourceVersion: kube.server.store.currentResourceVersion(), allowWatchBookmarks: 'true' });
    const without = startWatch(kc, '/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments', { resourceVersion: kube.server.store.currentResourceVersion() });
    await until(() => kube.server.openWatchCount() === 2, 'two watches');
    kube.server.putObject('configmaps', 'flink', { metadata: { name: 'bump' }, data: {} });
    kube.server.sendBookmarks();
    await until(() => withB.seen.length === 1, 'a bookmark');
    assert.deepEqual(withB.seen[0], { type: 'BOOKMARK', name: '', rv: kube.server.store.currentResourceVersion() });
    // the watch without bookmarks got nothing: a configmap write is not a flinkdeployment event
    kube.server.putObject(FD, 'flink', fd('c'));
    await until(() => without.seen.length === 1 && withB.seen.length === 2, 'the next event');
    assert.equal(without.seen[0]!.type, 'ADDED');
    withB.abort();
    without.abort();
    await until(() => kube.server.openWatchCount() === 0, 'watches closed');
  });

  it('answers a watch from a compacted version with a 410 Expired ERROR event and ends it', async () => {
    const old = kube.server.store.currentResourceVersion();
    kube.server.putObject(FD, 'flink', fd('d'));
    kube.server.compact();
    const w = startWatch(kc, '/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments', { resourceVersion: old });
    await w.done;
    assert.equal(w.seen.length, 1);
    assert.equal(w.seen[0]!.type, 'ERROR');
    assert.equal(w.seen[0]!.code, 410);
  });

  it('an informer re-lists after a 410 and its cache matches the store', async () => {
    const path = '/apis/flink.apache.org/v1beta1/flinkdeployments';
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const listFn = async (): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> =>
      await api.listClusterCustomObject({ group: 'flink.apache.org', version: 'v1beta1', plural: 'flinkdeployments' }) as k8s.KubernetesListObject<k8s.KubernetesObject>;
    const inf = k8s.makeInformer(kc, path, listFn);
    const events: string[] = [];
    inf.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    inf.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    await inf.start();
    await until(() => kube.server.openWatchCount('flinkdeployments') === 1, 'informer watching');
    const lists = (): number => kube.server.served.filter((s) => s.verb === 'list' && s.resource === 'flinkdeployments').length;
    const listsBefore = lists();
    // While the informer is disconnected, objects change and the history is compacted.
    kube.server.putObject(FD, 'flink', fd('e'));
    await until(() => events.includes('add e'), 'add e');
    // Another write moves the store past the informer's version, then compaction and a watch end:
    // its re-watch from that version gets 410 and it re-lists.
    kube.server.putObject('configmaps', 'flink', { metadata: { name: 'bump2' }, data: {} });
    kube.server.compact();
    kube.server.endWatches();
    await until(() => lists() > listsBefore && kube.server.openWatchCount('flinkdeployments') === 1, 're-list and re-watch');
    assert.ok(kube.server.served.some((s) => s.verb === 'watch' && s.resource === 'flinkdeployments'));
    const names = inf.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
    const truth = kube.server.store.list(kube.server.typeOf(FD), '').map((o) => `${String(o.metadata.namespace)}/${String(o.metadata.name)}`).sort();
    assert.deepEqual(names, truth);
    await inf.stop();
  });
});
