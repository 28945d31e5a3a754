/**
 * operator-sidecar mode: the agent runs in the JobManager pod of the FlinkDeployment the chart
 * renders, so that pod's service account (spec.serviceAccount) carries two sets of rights:
 * what Flink's native Kubernetes mode needs (the operator chart's jobRbacRules, and nothing
 * more) and what the agent's code uses. The chart is rendered by the real helm binary; the
 * Roles bound to that service account are loaded into the fake API server's RBAC; the rendered
 * FlinkDeployment is stored there and reconciled by the fake operator MODEL; then the agent's
 * calls (pod discovery, ConfigMap journal, Events, the flink-deployment realizer) and the calls
 * a native-mode JobManager makes run under those rules. Nothing may be forbidden, and every
 * granted right must be used by one side or the other.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiVersionArgs, chartDir, helmBinaries, missingHelm, template, type K8sObject } from './helm.ts';
import { startFakeKube, type RbacRule } from '../support/fake-kube/index.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import { createKubeClients, kubeCall } from '../../agent/kube/client.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { agentRoleRules } from '../../agent/kube/permissions.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { ConfigMapJournalStore } from '../../agent/actuate/journal/configmap-store.ts';
import { silentLogger } from '../../common/log.ts';

const NS = 'streaming';
const SA = 'rel-flowpilot';
const ALL = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * The rights of a native-mode Flink cluster's service account, from the Flink Kubernetes
 * Operator's Helm chart (helm/flink-kubernetes-operator/templates/_helpers.tpl,
 * `flink-operator.jobRbacRules`): pods and configmaps, apps deployments and their finalizers.
 */
const NATIVE_MODE_RULES: RbacRule[] = [
  { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ALL },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/finalizers'], verbs: ALL },
];

function boundRoles(objs: K8sObject[]): Map<string, RbacRule[]> {
  const bound = new Set(objs.filter((o) => o.kind === 'RoleBinding')
    .filter((b) => (b.subjects as Array<{ kind: string; name: string }>).some((s) => s.kind === 'ServiceAccount' && s.name === SA))
    .map((b) => (b.roleRef as { name: string }).name));
  return new Map(objs.filter((o) => o.kind === 'Role' && bound.has(o.metadata.name)).map((r) => [r.metadata.name, r.rules as RbacRule[]]));
}

function normalized(rules: RbacRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g || 'core'} ${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`);
  return [...out].sort();
}

describe('operator-sidecar mode RBAC', () => {
  const skip = missingHelm();

  it('gives the FlinkDeployment\'s service account what native mode and the agent use, and nothing more', { skip: skip ?? false, timeout: 120_000 }, async () => {
    const helm = helmBinaries()[0]!;
    const objs = template(helm, ['-f', join(chartDir, 'ci', '04-operator-sidecar-values.yaml'), ...apiVersionArgs]);
    const fd = objs.find((o) => o.kind === 'FlinkDeployment')!;
    assert.equal((fd.spec as { serviceAccount: string }).serviceAccount, SA, 'the JobManager pod (and its agent sidecar) runs as the chart\'s service account');
    const roles = boundRoles(objs);
    assert.deepEqual([...roles.keys()].sort(), ['rel-flowpilot-agent', 'rel-flowpilot-flink']);
    assert.deepEqual(normalized(roles.get('rel-flowpilot-flink')!), normalized(NATIVE_MODE_RULES), 'native mode: exactly the operator chart\'s jobRbacRules');
    const agentRules = roles.get('rel-flowpilot-agent')!;
    const expectedAgent = [
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }, // agent/collect pod discovery
      ...agentRoleRules({ journalConfigMap: true, events: true, flinkDeployment: true }),
    ];
    assert.deepEqual(normalized(agentRules), normalized(expectedAgent), 'the agent: exactly agent/kube/permissions.ts plus pod discovery');

    const kube = await startFakeKube({ namespace: NS, serviceAccount: SA });
    const dir = mkdtempSync(join(tmpdir(), 'fp-sidecar-rbac-'));
    const operator = new FakeFlinkOperator(kube.server, { stepMs: 15, vertices: () => ({ a: 4 }) }).start();
    try {
      kube.server.putObject('flinkdeployments.flink.apache.org', NS, fd);
      kube.server.putObject('deployments.apps', NS, { metadata: { name: 'rel-flowpilot' }, spec: { replicas: 1, template: {} } });
      await operator.idle();
      kube.server.setRbac([...roles.values()].flat());
      const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });

      // The native-mode JobManager (Flink's KubernetesResourceManagerDriver and Kubernetes HA
      // services): TaskManager pods, HA/leader ConfigMaps, its own Deployment as the pods' owner.
      await kubeCall(clients, 'create tm pod', () => clients.core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'rel-flowpilot-taskmanager-1-1' } } }));
      await kubeCall(clients, 'list pods', () => clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'component=taskmanager' }));
      await kubeCall(clients, 'delete tm pod', () => clients.core.deleteNamespacedPod({ namespace: NS, name: 'rel-flowpilot-taskmanager-1-1' }));
      await kubeCall(clients, 'create HA ConfigMap', () => clients.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'rel-flowpilot-cluster-config-map' }, data: {} } }));
      const cm = await kubeCall(clients, 'get HA ConfigMap', () => clients.core.readNamespacedConfigMap({ namespace: NS, name: 'rel-flowpilot-cluster-config-map' }));
      await kubeCall(clients, 'update HA ConfigMap', () => clients.core.replaceNamespacedConfigMap({ namespace: NS, name: 'rel-flowpilot-cluster-config-map', body: { ...cm, data: { leader: 'x' } } }));
      await kubeCall(clients, 'get JM Deployment', () => clients.apps.readNamespacedDeployment({ namespace: NS, name: 'rel-flowpilot' }));

      // The agent sidecar: pod discovery, the journal, Events and the realizer.
      await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=tm' });
      const events = new KubeEventRecorder({ clients, reportingInstance: 'agent-0' });
      const act = new Actuator({
        context: {
          journal: new IntentJournal(new ConfigMapJournalStore({ clients, name: 'rel-flowpilot-journal' })), kube: clients,
          flinkDeployment: () => ({ name: 'rel-flowpilot', namespace: NS }),
          timing: { ...DEFAULT_TIMING, pollIntervalMs: 10, verifyTimeoutMs: 10_000 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
        },
        recordEvent: (ev) => events.record(ev),
      });
      const r = await act.execute({ jobId: 'a'.repeat(32), jobName: 'rel-flowpilot', current: { a: 4 }, target: { a: 6 }, reasons: ['test'], mode: 'flink-deployment' });
      assert.equal(r.outcome, 'succeeded', r.message);
      assert.equal(r.realization?.realized, 'in-place', r.message);

      const denied = kube.server.served.filter((s) => s.code === 403).map((d) => `${d.verb} ${d.resource}${d.subresource ? `/${d.subresource}` : ''}`);
      assert.deepEqual(denied, [], 'the chart denies nothing native mode or the agent does');
      const used = kube.server.usedPermissions();
      const agentUnused = normalized(agentRules).filter((g) => !used.includes(g) && g !== 'watch core pods');
      assert.deepEqual(agentUnused, [], 'every right granted to the agent is used by the agent');
    } finally {
      await operator.stop();
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
