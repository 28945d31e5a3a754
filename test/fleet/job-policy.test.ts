/**
 * The pieces of fleet mode that need no cluster: a job's policy from its three layers, alert
 * routing by namespace/resource_name labels (and that a routed veto blocks only its job in
 * decide()), and the per-job metric labels of the decision record.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { loadJobPolicy } from '../../agent/fleet/job-policy.ts';
import { alertsForResource } from '../../agent/fleet/alert-routing.ts';
import { operatorPolicyFragment } from '../../agent/scaling/operator-keys.ts';
import { AutoscalerPipeline } from '../../agent/scaling/pipeline.ts';
import { defaultPolicy } from '../../agent/scaling/policy.ts';
import { ObservationBuilder } from '../../agent/scaling/observation-builder.ts';
import type { FiringAlert } from '../../agent/scaling/decide.ts';
import { DecisionRecorder } from '../../agent/record/decision-log.ts';

const job = (policyConfigMap: string | null, conf: Record<string, string> = {}) => ({ namespace: 'team-a', policyConfigMap, operatorPolicy: operatorPolicyFragment(conf).policy });

describe('a fleet job\'s policy', () => {
  it('layers job.autoscaler.* keys < the policy file < the flowpilot.io/policy ConfigMap, key by key', async () => {
    const read = async (ns: string, name: string) => (ns === 'team-a' && name === 'tight' ? { 'policy.yaml': 'utilization:\n  target: 0.6\n' } : null);
    const keysOnly = await loadJobPolicy(job(null, { 'job.autoscaler.target.utilization': '0.7', 'job.autoscaler.stabilization.interval': '2m' }), {}, read);
    assert.equal(keysOnly.policy.utilization.target, 0.7);
    const fileWins = await loadJobPolicy(job(null, { 'job.autoscaler.target.utilization': '0.7' }), { utilization: { target: 0.75 } }, read);
    assert.equal(fileWins.policy.utilization.target, 0.75);
    const cmWins = await loadJobPolicy(job('tight', { 'job.autoscaler.target.utilization': '0.7' }), { utilization: { target: 0.75 } }, read);
    assert.equal(cmWins.policy.utilization.target, 0.6);
    assert.match(cmWins.source, /ConfigMap team-a\/tight over job.autoscaler/);
    // the overrides shown: the ConfigMap's keys over what the operator keys mapped to (the band around 0.7)
    assert.equal((cmWins.overrides.utilization as { target: number }).target, 0.6);
    assert.notEqual(cmWins.digest, fileWins.digest);
    assert.equal((await loadJobPolicy(job(null), {}, read)).digest, (await loadJobPolicy(job(null), {}, read)).digest);
  });

  it('refuses a missing ConfigMap, one without a policy key, and an invalid policy, saying where', async () => {
    await assert.rejects(loadJobPolicy(job('nope'), {}, async () => null), /ConfigMap team-a\/nope .* does not exist/);
    await assert.rejects(loadJobPolicy(job('two'), {}, async () => ({ a: 'x: 1', b: 'y: 2' })), /no policy.yaml key/);
    await assert.rejects(loadJobPolicy(job('bad'), {}, async () => ({ 'policy.yaml': 'utilization:\n  target: 7\n' })), /ConfigMap team-a\/bad/);
  });
});

describe('a fleet job\'s policy refreshed', () => {
  it('is the previous one while its inputs are the same, and built again when the ConfigMap, the resource\'s keys, the namespace or the policy file change', async () => {
    let text = 'utilization:\n  target: 0.6\n';
    let reads = 0;
    const read = async () => { reads++; return { 'policy.yaml': text }; };
    const file = { utilization: { target: 0.75 } };
    const first = await loadJobPolicy(job('tight'), file, read);
    assert.equal(await loadJobPolicy(job('tight'), file, read, first), first, 'same inputs: the same policy');
    assert.equal(reads, 2, 'the ConfigMap is read on every refresh');
    // an edit of the ConfigMap
    text = 'utilization:\n  target: 0.5\n';
    const edited = await loadJobPolicy(job('tight'), file, read, first);
    assert.notEqual(edited, first);
    assert.equal(edited.policy.utilization.target, 0.5);
    // an invalid edit is refused, as without a previous policy
    text = 'utilization:\n  target: 7\n';
    await assert.rejects(loadJobPolicy(job('tight'), file, read, edited), /ConfigMap team-a\/tight/);
    text = 'utilization:\n  target: 0.5\n';
    // the resource's keys, another namespace, another policy file (the same content, another object), no ConfigMap
    const keys = await loadJobPolicy(job('tight', { 'job.autoscaler.stabilization.interval': '2m' }), file, read, edited);
    assert.notEqual(keys, edited);
    assert.notEqual(await loadJobPolicy({ ...job('tight'), namespace: 'team-b' }, file, read, edited), edited);
    assert.notEqual(await loadJobPolicy(job('tight'), { ...file }, read, edited), edited);
    const none = await loadJobPolicy(job(null), file, read, edited);
    assert.equal(none.policy.utilization.target, 0.75);
    assert.equal(await loadJobPolicy(job(null), file, read, none), none);
    // a policy not built by loadJobPolicy is never taken for one
    const copy = { ...none };
    assert.notEqual(await loadJobPolicy(job(null), file, read, copy), copy);
  });
});

describe('alerts in a fleet', () => {
  const veto = (labels: Record<string, string>): FiringAlert => ({ labels: { alertname: 'Hold', flowpilot_action: 'block', ...labels } });
  const all = [veto({ namespace: 'team-a', resource_name: 'orders' }), veto({ namespace: 'team-b' }), veto({}), veto({ namespace: 'team-a', resource_name: 'payments' })];

  it('reach the job their namespace and resource_name name, every job of a namespace, or every job', () => {
    const names = (ns: string, n: string) => alertsForResource(all, ns, n).map((a) => `${a.labels.namespace ?? '*'}/${a.labels.resource_name ?? '*'}`);
    assert.deepEqual(names('team-a', 'orders'), ['team-a/orders', '*/*']);
    assert.deepEqual(names('team-a', 'payments'), ['*/*', 'team-a/payments']);
    assert.deepEqual(names('team-b', 'orders'), ['team-b/*', '*/*']);
  });

  it('a veto routed to one job blocks that job\'s scale-up and not another\'s', async () => {
    const policy = defaultPolicy();
    const label = policy.alerts.label;
    const alerts: FiringAlert[] = [{ labels: { alertname: 'Hold', [label]: 'block', namespace: 'team-a', resource_name: 'orders' } }];
    const run = async (name: string) => {
      const p = new AutoscalerPipeline({ policy });
      const b = new ObservationBuilder(`job-${name}`, [{ id: 'src', parallelism: 2, partitions: 24 }, { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] }]);
      let last;
      for (let i = 0; i < 30; i++) {
        last = await p.scale(b.next(15, { src: { inRate: 1000, busy: 0.1, backPressured: 0.8, pending: 0 }, map: { inRate: 1000, busy: 1 } }), alertsForResource(alerts, 'team-a', name));
        if (last?.action === 'rescale' || last?.blockedBy === 'alert-veto') break;
      }
      return last!;
    };
    const vetoed = await run('orders');
    const free = await run('payments');
    assert.equal(vetoed.blockedBy, 'alert-veto');
    assert.equal(free.action, 'rescale');
  });
});

describe('per-job labels of the decision record', () => {
  it('every flowpilot_scaling_* series of a fleet job carries namespace and resource_name; forget() removes its gauges', async () => {
    const registry = new Registry();
    const rec = new DecisionRecorder({ registry });
    const p = new AutoscalerPipeline({ policy: defaultPolicy(), decisions: { record: (d) => rec.record(d, { namespace: 'team-a', resource_name: 'orders' }) } });
    const b = new ObservationBuilder('job-x', [{ id: 'src', parallelism: 2, partitions: 24 }]);
    const d = (await p.scale(b.next(15, { src: { inRate: 100, busy: 0.2, backPressured: 0, pending: 0 } })))!;
    const text = await registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('flowpilot_scaling_'));
    assert.ok(series.length > 0);
    for (const l of series) assert.match(l, /namespace="team-a".*resource_name="orders"|resource_name="orders".*namespace="team-a"/, l);
    rec.forget(d, { namespace: 'team-a', resource_name: 'orders' });
    const after = (await registry.metrics()).split('\n').filter((l) => /^flowpilot_scaling_(true_rate|current_parallelism)\{/.test(l));
    assert.deepEqual(after, []);
  });
});
