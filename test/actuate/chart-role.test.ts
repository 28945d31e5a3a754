/**
 * Cross-checks the Helm chart's Role with the agent's Kubernetes code: the chart is rendered by
 * the real helm binary, its Role rules are loaded into the fake API server's RBAC mode, and the
 * agent's code paths for that chart mode run through the real client-node. Any call the Role
 * does not grant comes back 403 and fails the test; any rule nothing uses fails it too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmBinaries, missingHelm, template } from '../charts/helm.ts';
import { startFakeKube, type RbacRule } from '../support/fake-kube/index.ts';
import { createKubeClients } from '../../agent/kube/client.ts';
import { LeaderElector } from '../../agent/kube/leader-election.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { ConfigMapJournalStore } from '../../agent/actuate/journal/configmap-store.ts';
import { silentLogger } from '../../common/log.ts';

const NS = 'streaming';

function roleRules(objects: Array<{ kind: string; rules?: RbacRule[] }>): RbacRule[] {
  const role = objects.find((o) => o.kind === 'Role');
  assert.ok(role?.rules, 'the chart renders a Role');
  return role.rules;
}

/** Runs every Kubernetes call the agent makes in this chart mode, under the chart's Role. */
async function exercise(rules: RbacRule[], opts: { deployment?: string; flinkDeployment?: string; lease?: string }): Promise<string[]> {
  const kube = await startFakeKube({ namespace: NS, serviceAccount: 'rel-flowpilot' });
  const dir = mkdtempSync(join(tmpdir(), 'fp-chart-role-'));
  try {
    if (opts.deployment) kube.server.putObject('deployments.apps', NS, { metadata: { name: opts.deployment }, spec: { replicas: 1 } });
    if (opts.flinkDeployment) kube.server.putObject('flinkdeployments.flink.apache.org', NS, { metadata: { name: opts.flinkDeployment }, spec: { job: { parallelism: 1 } } });
    kube.server.putObject('pods', NS, { metadata: { name: 'tm-0', labels: { app: 'tm' } } });
    kube.server.setRbac(rules);
    const clients = createKubeClients({ kind: 'file', path: kube.kubeconfigPath });
    let isLeader = (): boolean => true;
    if (opts.lease) {
      const el = new LeaderElector({ clients, leaseName: opts.lease, identity: 'agent-0' });
      assert.equal(await el.tryAcquireOrRenew(), true);
      assert.equal(await el.tryAcquireOrRenew(), true);
      isLeader = () => el.isLeader();
    }
    await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=tm' }); // agent/collect pod discovery
    const events = new KubeEventRecorder({ clients, reportingInstance: 'agent-0' });
    const act = new Actuator({
      context: {
        journal: new IntentJournal(new ConfigMapJournalStore({ clients, name: 'rel-flowpilot-journal' })), kube: clients,
        workload: () => (opts.deployment ? { kind: 'Deployment', name: opts.deployment } : undefined),
        flinkDeployment: () => (opts.flinkDeployment ? { name: opts.flinkDeployment } : undefined),
        timing: { ...DEFAULT_TIMING, pollIntervalMs: 10 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
      },
      isLeader, recordEvent: (ev) => events.record(ev),
    });
    const mode = opts.flinkDeployment ? 'flink-deployment' : 'kubernetes-deployment';
    for (let i = 0; i < 2; i++) {
      const r = await act.execute({ jobId: 'a'.repeat(32), jobName: 'orders', current: { v: 1 }, target: { v: 2 + i }, taskManagers: 2 + i, reasons: ['test'], mode });
      assert.equal(r.outcome, 'succeeded', r.message);
    }
    const denied = kube.server.served.filter((s) => s.code === 403);
    assert.deepEqual(denied.map((d) => `${d.verb} ${d.resource}${d.subresource ? `/${d.subresource}` : ''}`), [], 'the chart Role denies nothing the agent does');
    return kube.server.usedPermissions();
  } finally {
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pod rules belong to agent/collect's discovery (list + watch), which this test does not drive fully. */
const COLLECT_OWNED = (g: string): boolean => / core pods$/.test(g);

function granted(rules: RbacRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g || 'core'} ${res}`);
  return [...out].sort();
}

describe('the Helm chart Role against the agent Kubernetes code', () => {
  const skip = missingHelm();
  const helm = helmBinaries()[0]!;

  it('engine mode grants exactly what reactive scaling, the journal, Events and pod discovery use', { skip: skip ?? false }, async () => {
    const rules = roleRules(template(helm, ['--set', 'mode=engine']));
    const used = await exercise(rules, { deployment: 'rel-flowpilot-taskmanager' });
    const unused = granted(rules).filter((g) => !used.includes(g) && !COLLECT_OWNED(g));
    assert.deepEqual(unused, [], 'every granted verb is used');
  });

  it('agent-only mode with a FlinkDeployment and leader election grants exactly what the agent uses', { skip: skip ?? false }, async () => {
    const rules = roleRules(template(helm, ['--set', 'mode=agent-only', '--set', 'agentOnly.flinkDeployment.name=orders', '--set', 'agentOnly.leaderElection.enabled=true']));
    const used = await exercise(rules, { flinkDeployment: 'orders', lease: 'rel-flowpilot-agent-leader' });
    const unused = granted(rules).filter((g) => !used.includes(g) && !COLLECT_OWNED(g));
    assert.deepEqual(unused, [], 'every granted verb is used');
  });
});
