/**
 * The state ConfigMap of a deleted resource goes (agent/fleet/state-cleanup.ts), against the fake
 * API server: a direct removal, and the sweep that deletes only this fleet's ConfigMaps whose
 * resource is gone, whose job this replica owns, old enough, in a watched namespace.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { createKubeClients, type KubeClients } from '../../agent/kube/client.ts';
import { StateCleanup, FLEET_LABEL, RESOURCE_NAMESPACE_LABEL, RESOURCE_UID_LABEL } from '../../agent/fleet/state-cleanup.ts';
import { stateConfigMapName } from '../../agent/fleet/job-pipeline.ts';
import { silentLogger } from '../../common/log.ts';

const CM = 'configmaps';
const HOME = 'flowpilot';

describe('fleet state ConfigMap cleanup', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  before(async () => {
    kube = await startFakeKube({ namespace: HOME });
    clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
  });
  after(() => kube.close());

  const put = (uid: string, labels: Record<string, string> = {}, fleet = 'f'): void => {
    kube.server.putObject(CM, HOME, {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: stateConfigMapName(fleet, uid), namespace: HOME, labels: { [FLEET_LABEL]: fleet, [RESOURCE_UID_LABEL]: uid, ...labels } },
      data: { k: 'v' },
    });
  };
  const exists = (uid: string, fleet = 'f'): boolean => kube.server.getObject(CM, HOME, stateConfigMapName(fleet, uid)) !== undefined;
  const cleanup = (o: { known: string[] | null; mine?: (uid: string) => boolean; namespaces?: string[]; later?: number }): StateCleanup => new StateCleanup({
    kube: clients, fleet: 'f', nameOf: (uid) => stateConfigMapName('f', uid),
    owns: o.mine ?? (() => true), known: () => (o.known === null ? null : new Set(o.known)),
    namespaces: o.namespaces ?? [], minAgeMs: 60_000, logger: silentLogger(),
    now: () => Date.now() + (o.later ?? 120_000),
  });

  it('removes one job\'s ConfigMap; an absent one is fine', async () => {
    put('u-gone');
    const c = cleanup({ known: [] });
    assert.equal(await c.remove('u-gone'), true);
    assert.equal(exists('u-gone'), false);
    assert.equal(await c.remove('u-gone'), false);
  });

  it('sweeps only orphans of this fleet that this replica owns, old enough, in a watched namespace', async () => {
    put('u-live', { [RESOURCE_NAMESPACE_LABEL]: 'team-a' });
    put('u-orphan', { [RESOURCE_NAMESPACE_LABEL]: 'team-a' });
    put('u-other-owner', { [RESOURCE_NAMESPACE_LABEL]: 'team-a' });
    put('u-unwatched', { [RESOURCE_NAMESPACE_LABEL]: 'team-z' });
    put('u-no-ns');
    put('u-other-fleet', { [RESOURCE_NAMESPACE_LABEL]: 'team-a' }, 'g');
    // not before the watches have listed, nor for ConfigMaps younger than minAgeMs
    assert.equal(await cleanup({ known: null }).sweep(), 0);
    assert.equal(await cleanup({ known: ['u-live'], later: 0 }).sweep(), 0);
    const c = cleanup({ known: ['u-live'], mine: (uid) => uid !== 'u-other-owner', namespaces: ['team-a'] });
    assert.equal(await c.sweep(), 1);
    assert.deepEqual(['u-live', 'u-orphan', 'u-other-owner', 'u-unwatched', 'u-no-ns'].filter((u) => exists(u)), ['u-live', 'u-other-owner', 'u-unwatched', 'u-no-ns']);
    assert.ok(exists('u-other-fleet', 'g'));
    // watching every namespace: the one without a namespace label goes too
    assert.equal(await cleanup({ known: ['u-live'], mine: (uid) => uid !== 'u-other-owner' }).sweep(), 2);
    assert.deepEqual(['u-live', 'u-other-owner', 'u-unwatched', 'u-no-ns'].filter((u) => exists(u)), ['u-live', 'u-other-owner']);
  });
});
