/**
 * fleet mode of the chart: rendered by both helm binaries and validated; then its RBAC objects
 * (the Roles and ClusterRoles bound to the chart's service account, each rule kept to the
 * namespace its binding grants it in) are loaded into the fake API server, and the agent's real
 * code runs as that service account: fleet discovery (informers: list and watch of
 * FlinkDeployments and FlinkSessionJobs), the read of a job's policy ConfigMap (flowpilot.io/policy,
 * in the job's namespace), the Lease sharding (get, list, create, update), the per-job ConfigMap journal
 * and the deletion of a deleted resource's state ConfigMap (list, delete),
 * the flink-deployment realizer on a FlinkDeployment and on a FlinkSessionJob (read, merge patch;
 * reconciled by the fake operator MODEL) and decision Events (in the namespace of the resource, as
 * agent/fleet/manager.ts records them).
 * Nothing it does may be forbidden, every granted right must be used, and what the fleet must never
 * do (delete a FlinkDeployment, read Secrets, write outside its namespaces) is answered 403.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { apiVersionArgs, chartDir, helmBinaries, missingHelm, template, validateObject, type HelmBinary, type K8sObject } from './helm.ts';
import { startFakeKube, type FakeKube, type RbacRule } from '../support/fake-kube/index.ts';
import { waitFor } from '../support/processes.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import { createKubeClients, kubeCall, MERGE_PATCH, type KubeClients } from '../../agent/kube/client.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep, type FlinkResourceTarget } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { ConfigMapJournalStore } from '../../agent/actuate/journal/configmap-store.ts';
import { FleetDiscovery, type ManagedJob } from '../../agent/fleet/discovery.ts';
import { FleetShard } from '../../agent/fleet/shard.ts';
import { StateCleanup, FLEET_LABEL, RESOURCE_UID_LABEL } from '../../agent/fleet/state-cleanup.ts';
import { stateConfigMapName } from '../../agent/fleet/job-pipeline.ts';
import { isKubeCode } from '../../agent/kube/client.ts';
import { silentLogger } from '../../common/log.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { parse } from 'yaml';

const RELEASE_NS = 'streaming';
const SA = 'rel-flowpilot';
const FD = 'flinkdeployments.flink.apache.org';
const FSJ = 'flinksessionjobs.flink.apache.org';
const A = 'bc764cd8ddf7a0cff126f51c16239658';
const OPT_IN = { 'flowpilot.io/autoscale': 'true' };

interface Binding { roleRef: { kind: string; name: string }; subjects?: Array<{ kind: string; name: string; namespace?: string }> }

/** The rules the service account holds, each RoleBinding's kept to its namespace (what the real authorizer does). */
export function boundRules(objs: K8sObject[], sa = SA, saNs = RELEASE_NS): RbacRule[] {
  const rulesOf = (o: K8sObject | undefined): RbacRule[] => (o?.rules as RbacRule[] | undefined) ?? [];
  const boundToSa = (b: K8sObject): boolean => ((b as unknown as Binding).subjects ?? [])
    .some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === saNs);
  const out: RbacRule[] = [];
  for (const b of objs.filter((o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && boundToSa(o))) {
    const ref = (b as unknown as Binding).roleRef;
    const role = ref.kind === 'Role'
      ? objs.find((o) => o.kind === 'Role' && o.metadata.name === ref.name && o.metadata.namespace === b.metadata.namespace)
      : objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === ref.name);
    assert.ok(role, `${b.kind} ${b.metadata.name} refers to ${ref.kind} ${ref.name}, which the chart renders`);
    for (const r of rulesOf(role)) out.push(b.kind === 'RoleBinding' ? { ...r, namespace: b.metadata.namespace! } : { ...r });
  }
  return out;
}

function normalized(rules: RbacRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g || 'core'} ${res}`);
  return [...out].sort();
}

function fd(name: string, annotations: Record<string, string>): Record<string, unknown> {
  return {
    metadata: { name, annotations },
    spec: {
      image: 'flink:1.20', flinkVersion: 'v1_20', serviceAccount: 'flink',
      job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'stateless', state: 'running' },
      jobManager: { resource: { memory: '1600m', cpu: 1 } }, taskManager: { replicas: 2, resource: { memory: '1728m', cpu: 1 } },
      flinkConfiguration: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '2' },
    },
  };
}

const until = (what: string, cond: () => boolean, ms = 15_000): Promise<unknown> => waitFor(what, cond, ms, 10);

async function forbidden(what: string, call: () => Promise<unknown>): Promise<void> {
  await assert.rejects(call(), (err: unknown) => isKubeCode(err, 'FP_KUBE_FORBIDDEN'), `${what} must be forbidden`);
}

/**
 * Runs the fleet's calls as the chart's service account. `watched` is what the agent is told to
 * watch (empty: all namespaces); the jobs live in team-a and team-b.
 */
async function runFleetAs(kube: FakeKube, rules: RbacRule[], watched: string[]): Promise<void> {
  const server = kube.server;
  server.putObject(FD, 'team-a', fd('orders', { ...OPT_IN, 'flowpilot.io/policy': 'orders-policy' }));
  server.putObject('configmaps', 'team-a', { metadata: { name: 'orders-policy' }, data: { 'policy.yaml': 'cooldown: 5m\n' } });
  server.putObject(FD, 'team-b', fd('payments', OPT_IN));
  server.putObject(FD, 'team-a', { ...fd('session', {}), spec: { ...(fd('session', {}).spec as Record<string, unknown>), job: undefined } });
  server.putObject(FSJ, 'team-a', {
    metadata: { name: 'orders-job', annotations: OPT_IN },
    spec: { deploymentName: 'session', job: { jarURI: 'https://x/job.jar', parallelism: 2, upgradeMode: 'stateless' }, flinkConfiguration: {} },
  });
  server.putObject(FD, 'team-c', fd('elsewhere', OPT_IN));
  server.putObject('secrets', 'team-a', { metadata: { name: 'db' }, data: {} });
  const operator = new FakeFlinkOperator(server, { stepMs: 15, vertices: () => ({ [A]: 2 }) }).start();
  await operator.idle();
  server.setRbac(rules);
  const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
  assert.equal(clients.namespace, RELEASE_NS, 'the agent\'s own namespace is the release namespace');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);

  // Discovery: informers over the watched namespaces (or all of them).
  const started = new Map<string, ManagedJob>();
  const errors: unknown[] = [];
  const discovery = new FleetDiscovery({
    kubeConfig: kc, namespaces: watched, resyncMs: 60_000, retryMs: 60_000,
    onEvent: (e) => { if (e.type === 'start') started.set(`${e.job.namespace}/${e.job.name}`, e.job); },
    onError: (e) => errors.push(e),
  });
  const shard = new FleetShard({ clients, identity: 'rel-flowpilot-fleet-7d9f-x1', fleet: 'rel-flowpilot', leaseDurationSeconds: 5, renewMs: 50 });
  try {
    await discovery.start();
    await until('the opted-in jobs to start', () => ['team-a/orders', 'team-b/payments', 'team-a/orders-job'].every((k) => started.has(k)));
    assert.deepEqual(errors, [], 'discovery is never refused');
    assert.equal(started.has('team-c/elsewhere'), watched.length === 0, 'team-c is watched only cluster-wide');
    // The job's policy ConfigMap, read where the job lives (agent/fleet/manager.ts readPolicy).
    const orders = started.get('team-a/orders')!;
    assert.equal(orders.policyConfigMap, 'orders-policy');
    const policy = await kubeCall(clients, 'read policy', () => clients.core.readNamespacedConfigMap({ namespace: orders.namespace, name: orders.policyConfigMap! }));
    assert.match(policy.data?.['policy.yaml'] ?? '', /cooldown/);

    // Sharding: the replica's member Lease, created then renewed in the release namespace.
    const jobs = [...started.values()];
    shard.start();
    await until('this replica to act on every job', () => jobs.every((j) => shard.acting(j.uid)));
    await until('a renewed member Lease', () => server.served.some((s) => s.resource === 'leases' && s.verb === 'update' && s.code === 200));
    // A second replica evicting that member when it looks stale, after another eviction won: the
    // 409 makes it read the Lease again (get).
    let skew = 0;
    const other = new FleetShard({ clients, identity: 'rel-flowpilot-fleet-7d9f-x2', fleet: 'rel-flowpilot', leaseDurationSeconds: 5, clock: () => Date.now() + skew });
    const memberName = 'rel-flowpilot-member-rel-flowpilot-fleet-7d9f-x1';
    const renewTime = (): unknown => (server.getObject('leases.coordination.k8s.io', RELEASE_NS, memberName) as unknown as { spec: { renewTime?: unknown } }).spec.renewTime;
    shard.stop();
    // (a renewal x1 had in flight may still land: rounds until one saw the Lease as it stays)
    for (let seen = renewTime(); ; seen = renewTime()) {
      await other.round();
      if (renewTime() === seen) break;
    }
    skew = 5001;
    server.interleaveBeforeWrite((r) => r.resource === 'leases' && r.verb === 'update' && r.name === memberName, () => {
      const l = server.getObject('leases.coordination.k8s.io', RELEASE_NS, memberName) as unknown as { spec: Record<string, unknown> };
      server.putObject('leases.coordination.k8s.io', RELEASE_NS, { ...l, spec: { ...l.spec, holderIdentity: '' } });
    });
    await other.round();
    other.stop();
    assert.deepEqual(other.liveMembers(), ['rel-flowpilot-fleet-7d9f-x2']);
    assert.ok(server.served.some((s) => s.resource === 'leases' && s.verb === 'get' && s.code === 200), 'the Lease read again after the 409');
    shard.start();

    // A deleted resource's state ConfigMap goes (agent/fleet/state-cleanup.ts): the sweep lists
    // the fleet's state ConfigMaps in the release namespace and deletes one whose resource is gone.
    const gone = 'f0f0f0f0-0000-4000-8000-000000000000';
    const store = new ConfigMapJournalStore({ clients, name: stateConfigMapName('rel-flowpilot', gone), labels: { [FLEET_LABEL]: 'rel-flowpilot', [RESOURCE_UID_LABEL]: gone } });
    await store.write('k', { x: 1 }, null);
    const cleanup = new StateCleanup({
      kube: clients, fleet: 'rel-flowpilot', nameOf: (uid) => stateConfigMapName('rel-flowpilot', uid), owns: () => true,
      known: () => discovery.knownUids(), namespaces: [], minAgeMs: 0, logger: silentLogger(), now: () => Date.now() + 5000,
    });
    assert.equal(await cleanup.sweep(), 1);
    assert.equal(server.getObject('configmaps', RELEASE_NS, stateConfigMapName('rel-flowpilot', gone)), undefined);
  } finally {
    shard.stop();
    await discovery.stop();
  }

  // The actuator with the job's ConfigMap journal (release namespace), patching the resources in
  // their namespaces, with one Event per decision in the resource's namespace (one recorder per
  // namespace, as agent/fleet/manager.ts keeps them).
  const recorders = new Map<string, KubeEventRecorder>();
  const eventsIn = (ns: string): KubeEventRecorder => {
    if (!recorders.has(ns)) recorders.set(ns, new KubeEventRecorder({ clients, namespace: ns, reportingInstance: 'rel-flowpilot-fleet-7d9f-x1' }));
    return recorders.get(ns)!;
  };
  const targets: Record<string, FlinkResourceTarget & { namespace: string }> = {
    orders: { name: 'orders', namespace: 'team-a', kind: 'FlinkDeployment' },
    'orders-job': { name: 'orders-job', namespace: 'team-a', kind: 'FlinkSessionJob' },
  };
  const act = new Actuator({
    context: {
      journal: new IntentJournal(new ConfigMapJournalStore({ clients, name: 'rel-flowpilot-journal' })), kube: clients,
      flinkDeployment: (k) => targets[k],
      timing: { ...DEFAULT_TIMING, pollIntervalMs: 10, verifyTimeoutMs: 10_000 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
    },
    eventSubject: (k) => ({ apiVersion: 'flink.apache.org/v1beta1', kind: targets[k]!.kind!, name: k, namespace: targets[k]!.namespace }),
    recordEvent: (ev) => eventsIn(ev.regarding.namespace ?? RELEASE_NS).record(ev),
  });
  try {
    for (const name of ['orders', 'orders-job']) {
      const r = await act.execute({ jobId: 'a'.repeat(32), jobName: name, current: { [A]: 2 }, target: { [A]: 3 }, reasons: ['test'], mode: 'flink-deployment' });
      assert.equal(r.outcome, 'succeeded', `${name}: ${r.message}`);
      assert.equal(r.realization?.realized, 'in-place', `${name}: ${r.message}`);
    }
    await until('the decision Events', () => server.store.list(server.typeOf('events.events.k8s.io'), 'team-a').length >= 2);
  } finally {
    await operator.stop();
  }

  const denied = server.served.filter((s) => s.code === 403).map((d) => `${d.verb} ${d.resource} in ${d.namespace}`);
  assert.deepEqual(denied, [], 'the chart denies nothing the fleet does');
  const used = server.usedPermissions();
  assert.deepEqual(normalized(rules).filter((g) => !used.includes(g)), [], 'every right granted is used by the agent');

  // What the fleet must never do.
  const fdRef = { group: 'flink.apache.org', version: 'v1beta1', plural: 'flinkdeployments' };
  await forbidden('deleting a FlinkDeployment', () => kubeCall(clients, 'delete', () => clients.custom.deleteNamespacedCustomObject({ ...fdRef, namespace: 'team-a', name: 'orders' })));
  await forbidden('creating a FlinkDeployment', () => kubeCall(clients, 'create', () => clients.custom.createNamespacedCustomObject({ ...fdRef, namespace: 'team-a', body: { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', ...fd('new', {}) } })));
  await forbidden('reading a Secret', () => kubeCall(clients, 'get secret', () => clients.core.readNamespacedSecret({ namespace: 'team-a', name: 'db' })));
  await forbidden('listing Secrets in its own namespace', () => kubeCall(clients, 'list secrets', () => clients.core.listNamespacedSecret({ namespace: RELEASE_NS })));
  await forbidden('writing a ConfigMap where the jobs live', () => kubeCall(clients, 'create cm', () => clients.core.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'x' }, data: {} } })));
  await forbidden('deleting a Lease', () => kubeCall(clients, 'delete lease', () => clients.coordination.deleteNamespacedLease({ namespace: RELEASE_NS, name: 'rel-flowpilot-member-rel-flowpilot-fleet-7d9f-x1' })));
  await forbidden('creating a pod', () => kubeCall(clients, 'create pod', () => clients.core.createNamespacedPod({ namespace: RELEASE_NS, body: { metadata: { name: 'p' } } })));
  if (watched.length > 0) {
    await forbidden('listing FlinkDeployments across the cluster', () => kubeCall(clients, 'list', () => clients.custom.listClusterCustomObject(fdRef)));
    await forbidden('reading a FlinkDeployment outside fleet.namespaces', () => kubeCall(clients, 'get', () => clients.custom.getNamespacedCustomObject({ ...fdRef, namespace: 'team-c', name: 'elsewhere' })));
    await forbidden('patching a FlinkDeployment outside fleet.namespaces', () => kubeCall(clients, 'patch', () => clients.custom.patchNamespacedCustomObject({ ...fdRef, namespace: 'team-c', name: 'elsewhere', body: { metadata: { labels: { x: 'y' } } } }, MERGE_PATCH)));
    await forbidden('an Event outside fleet.namespaces', () => new KubeEventRecorder({ clients, namespace: 'team-c', reportingInstance: 'x' })
      .record({ regarding: { kind: 'FlinkDeployment', name: 'elsewhere', namespace: 'team-c' }, reason: 'ScalingReport', action: 'Recommend', note: 'n' }));
    await forbidden('reading a ConfigMap outside fleet.namespaces', () => kubeCall(clients, 'get cm', () => clients.core.readNamespacedConfigMap({ namespace: 'team-c', name: 'orders-policy' })));
  }
}

function render(helm: HelmBinary, extra: string[]): K8sObject[] {
  return template(helm, [...apiVersionArgs, ...extra]);
}

const CLUSTER_WIDE = ['--set', 'mode=fleet'];
const PER_NAMESPACE = ['-f', join(chartDir, 'ci', '05-fleet-values.yaml')];

for (const helm of helmBinaries()) {
  describe(`fleet mode under ${helm.label}`, { skip: missingHelm() ?? false }, () => {
    it('renders a Deployment of fleet.replicas whose pods know their name, a PodDisruptionBudget and valid objects', async () => {
      for (const extra of [CLUSTER_WIDE, PER_NAMESPACE]) {
        const objs = render(helm, extra);
        for (const o of objs) await validateObject(o);
        const deployments = objs.filter((o) => o.kind === 'Deployment');
        assert.deepEqual(deployments.map((d) => d.metadata.name), ['rel-flowpilot-fleet'], 'one agent Deployment, no engine');
        const spec = deployments[0]!.spec as { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Array<{ name: string; env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }> }> } } };
        assert.equal(spec.replicas, 3);
        assert.equal(spec.template.spec.serviceAccountName, SA);
        const env = spec.template.spec.containers.find((c) => c.name === 'agent')!.env;
        assert.equal(env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', 'the replica identity comes from the downward API');
        const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget')!.spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
        assert.equal(pdb.maxUnavailable, 1);
        for (const [k, v] of Object.entries(pdb.selector.matchLabels)) assert.equal(spec.template.metadata.labels[k], v, 'the PDB selects the fleet pods');
        assert.ok(!objs.some((o) => o.kind === 'Role' && o.metadata.name === 'rel-flowpilot-agent'), 'no single-job Role');
        // The agent's config, read by the agent's own loader: fleet mode on, patching each resource.
        const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'rel-flowpilot-agent') as unknown as { data: Record<string, string> };
        const config = parseAgentConfig(parse(cm.data['agent.yaml']!) as unknown, 'agent.yaml');
        assert.equal(config.fleet.enabled, true);
        assert.equal(config.fleet.name, 'rel-flowpilot');
        assert.deepEqual(config.fleet.namespaces, extra === PER_NAMESPACE ? ['team-a', 'team-b'] : []);
        assert.equal(config.fleet.leaseDuration, extra === PER_NAMESPACE ? 20_000 : 15_000);
        assert.equal(config.fleet.identity, undefined, 'the identity is the pod name (POD_NAME)');
        assert.equal(config.actuation.mode, 'flink-deployment');
        assert.equal(config.actuation.kubernetes.namespace, RELEASE_NS, 'Leases and state ConfigMaps at home');
        assert.deepEqual(config.flink.urls, []);
      }
      const five = render(helm, [...CLUSTER_WIDE, '--set', 'fleet.replicas=5']);
      assert.equal((five.find((o) => o.kind === 'Deployment')!.spec as { replicas: number }).replicas, 5);
    });

    it('cluster-wide (no fleet.namespaces): a ClusterRole for the jobs, a Role at home; the agent\'s calls pass, the rest is refused', { timeout: 120_000 }, async () => {
      const objs = render(helm, CLUSTER_WIDE);
      assert.deepEqual(objs.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name), ['streaming-rel-flowpilot-fleet']);
      assert.deepEqual(objs.filter((o) => o.kind === 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['streaming/rel-flowpilot-fleet-home']);
      const rules = boundRules(objs);
      const kube = await startFakeKube({ namespace: RELEASE_NS, serviceAccount: SA });
      try {
        await runFleetAs(kube, rules, []);
      } finally {
        await kube.close();
      }
    });

    it('per namespace (fleet.namespaces): a Role in each, none cluster-wide; refused outside them', { timeout: 120_000 }, async () => {
      const objs = render(helm, PER_NAMESPACE);
      assert.equal(objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').length, 0);
      assert.deepEqual(objs.filter((o) => o.kind === 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(),
        ['streaming/rel-flowpilot-fleet-home', 'team-a/rel-flowpilot-fleet', 'team-b/rel-flowpilot-fleet']);
      const rules = boundRules(objs);
      const kube = await startFakeKube({ namespace: RELEASE_NS, serviceAccount: SA });
      try {
        await runFleetAs(kube, rules, ['team-a', 'team-b']);
      } finally {
        await kube.close();
      }
    });
  });
}
