import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { excludedPeriod, flinkMemoryMiB, operatorPolicyFragment, underPolicyFile } from './operator-keys.ts';
import { policyFromRaw, policyForJob } from './policy.ts';
import { isActive } from './schedule.ts';

/** A FlinkDeployment's flinkConfiguration as users of the operator's autoscaler write it. */
const FLINK_CONFIGURATION: Record<string, string> = {
  'taskmanager.numberOfTaskSlots': '4',
  'state.backend.type': 'rocksdb',
  'job.autoscaler.enabled': 'true',
  'job.autoscaler.scaling.enabled': 'true',
  'job.autoscaler.metrics.window': '10 min',
  'job.autoscaler.stabilization.interval': '1m',
  'job.autoscaler.target.utilization': '0.6',
  'job.autoscaler.target.utilization.boundary': '0.2',
  'job.autoscaler.scale-up.grace-period': '30 min',
  'job.autoscaler.scale-down.max-factor': '0.5',
  'job.autoscaler.scale-up.max-factor': '2.0',
  'job.autoscaler.vertex.min-parallelism': '2',
  'job.autoscaler.vertex.max-parallelism': '48',
  'job.autoscaler.catch-up.duration': '15m',
  'job.autoscaler.restart.time': '2 min',
  'job.autoscaler.restart.time-tracking.enabled': 'true',
  'job.autoscaler.excluded.periods': '* * 9-11 ? * 2-6;22:00-06:00',
  'job.autoscaler.memory.tuning.enabled': 'false',
  'kubernetes.operator.job.autoscaler.backlog-processing.lag-threshold': '3m',
};

describe('the operator\'s job.autoscaler.* keys', () => {
  it('maps a realistic flinkConfiguration onto the policy, key by key', () => {
    const m = operatorPolicyFragment(FLINK_CONFIGURATION);
    assert.deepEqual(m.invalid, []);
    const p = policyFromRaw(m.policy, 'test');
    assert.equal(p.execute, true);
    assert.equal(p.metricsWindow, 600);
    assert.equal(p.restart.stabilization, 60);
    assert.deepEqual(p.utilization, { target: 0.6, max: 0.8, min: 0.4 });
    assert.equal(p.scaleDown.delay, 1800, 'scale-up.grace-period is the deprecated name of scale-down.interval');
    assert.equal(p.scaleDown.maxFactor, 0.5);
    assert.equal(p.scaleUp.maxFactor, 3, 'the operator caps the factor at 1 + max-factor');
    assert.equal(p.limits.minParallelism, 2);
    assert.equal(p.limits.maxParallelism, 48);
    assert.equal(p.catchUp, 900);
    assert.equal(p.restart.prior, 120);
    assert.equal(p.backlog.lagThreshold, 180, 'the old kubernetes.operator. prefix is read too');
    assert.equal(p.schedules.length, 2);
    assert.ok(p.schedules.every((s) => s.blackout));
    // Keys with no counterpart are reported, not silently dropped.
    const ignored = m.ignored.map((k) => k.key).sort();
    assert.deepEqual(ignored, ['job.autoscaler.enabled', 'job.autoscaler.memory.tuning.enabled', 'job.autoscaler.restart.time-tracking.enabled']);
    assert.match(m.ignored.find((k) => k.key === 'job.autoscaler.enabled')!.note, /two autoscalers must not fight/);
    const used = new Set([...m.applied, ...m.ignored].map((k) => k.key.replace('job.autoscaler.', '')));
    const given = Object.keys(FLINK_CONFIGURATION).filter((k) => k.includes('job.autoscaler.')).map((k) => k.replace(/^.*job\.autoscaler\./, ''));
    assert.deepEqual([...used].sort(), given.sort(), 'every key given is reported once');
    assert.equal(m.applied.length, 14);
    assert.match(m.applied.find((k) => k.key === 'job.autoscaler.scale-up.grace-period')!.note, /scaleDown\.delay = 1800 s/);
  });

  it('turns excluded periods into blackout windows that are active exactly when the operator excludes', () => {
    const m = operatorPolicyFragment(FLINK_CONFIGURATION);
    const p = policyFromRaw(m.policy, 'test');
    const [weekdayMorning, night] = p.schedules as [typeof p.schedules[0], typeof p.schedules[0]];
    // Quartz "* * 9-11 ? * 2-6": every second of 9:00-11:59, Monday to Friday (Quartz 1 = Sunday).
    const mon = (h: number, mi: number): number => Date.UTC(2026, 0, 5, h, mi, 7); // 2026-01-05 is a Monday
    assert.equal(isActive(weekdayMorning, mon(9, 0)), true);
    assert.equal(isActive(weekdayMorning, mon(11, 59)), true);
    assert.equal(isActive(weekdayMorning, mon(12, 0)), false);
    assert.equal(isActive(weekdayMorning, mon(8, 59)), false);
    assert.equal(isActive(weekdayMorning, Date.UTC(2026, 0, 4, 10, 0, 0)), false, 'not on Sunday');
    assert.equal(isActive(weekdayMorning, Date.UTC(2026, 0, 9, 10, 0, 0)), true, 'Friday');
    assert.equal(isActive(weekdayMorning, Date.UTC(2026, 0, 10, 10, 0, 0)), false, 'not on Saturday');
    // "22:00-06:00" wraps midnight.
    assert.equal(isActive(night, mon(23, 30)), true);
    assert.equal(isActive(night, mon(5, 59)), true);
    assert.equal(isActive(night, mon(6, 1)), false);
    assert.equal(isActive(night, mon(21, 59)), false);
    // A daily range on the days a cron allows.
    assert.deepEqual(excludedPeriod('9:30:30-10:50:20 && * * * ? * 2,5'), { cron: '30 30 9 * * 1,4', durationSec: 4790 });
    assert.throws(() => excludedPeriod('0 0 12 ? * 2#1'), /not supported/);
    assert.throws(() => excludedPeriod('9:00-10:00 && * * 9 ? * 2'), /may only restrict days/);
  });

  it('lets the policy file win key by key, for all jobs and per job', () => {
    const global = operatorPolicyFragment({ 'job.autoscaler.restart.time': '2 min', 'job.autoscaler.metrics.window': '10 min' }).policy;
    const perJob = { orders: operatorPolicyFragment({ 'job.autoscaler.vertex.max-parallelism': '16', 'job.autoscaler.catch-up.duration': '15m' }).policy };
    const file = { metricsWindow: '5m', catchUp: '2m', jobs: { orders: { limits: { maxParallelism: 12 } } } };
    const p = policyFromRaw(underPolicyFile(file, global, perJob), 'test');
    assert.equal(p.restart.prior, 120, 'operator key where the file says nothing');
    assert.equal(p.metricsWindow, '5m', 'the file wins');
    const orders = policyForJob(p, 'x'.repeat(32), 'orders');
    assert.equal(orders.limits.maxParallelism, 12, 'the file\'s job override wins over the job\'s FlinkDeployment');
    assert.equal(orders.catchUp, '2m', 'the file\'s top level wins over the job\'s FlinkDeployment');
    const other = underPolicyFile({}, null, perJob);
    assert.equal(policyForJob(policyFromRaw(other, 'test'), 'y', 'orders').catchUp, 900);
  });

  it('reads Flink durations and memory sizes, and reports what it cannot read', () => {
    assert.equal(flinkMemoryMiB('64g'), 65_536);
    assert.equal(flinkMemoryMiB('512 mb'), 512);
    const m = operatorPolicyFragment({ 'job.autoscaler.metrics.window': 'soon', 'job.autoscaler.target.utilization': '1.5', 'job.autoscaler.quota.memory': '64g', 'job.autoscaler.quota.cpu': '32' });
    assert.deepEqual(m.invalid.map((k) => k.key).sort(), ['job.autoscaler.metrics.window', 'job.autoscaler.target.utilization']);
    assert.match(m.invalid.find((k) => k.key === 'job.autoscaler.metrics.window')!.note, /not a Flink duration .*"soon" is not a duration: it does not start with a number/);
    const d = operatorPolicyFragment({ 'job.autoscaler.metrics.window': '500', 'job.autoscaler.stabilization.interval': '2 min', 'job.autoscaler.restart.time': '5 fortnights' });
    assert.equal((d.policy as { metricsWindow?: number }).metricsWindow, 0.5, 'no unit is milliseconds');
    assert.deepEqual(d.invalid.map((k) => k.key), ['job.autoscaler.restart.time']);
    const p = policyFromRaw(m.policy, 'test');
    assert.equal(p.limits.quotaMemoryMb, 65_536);
    assert.equal(p.limits.quotaCpu, 32);
  });
});
