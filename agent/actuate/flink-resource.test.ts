import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import { OVERRIDES_KEY, deploymentModeOf, flinkConf, planRescale, type FlinkResourceObject } from './flink-resource.ts';
import { judge, restNotRunningMs, sampleOf } from './operator-watch.ts';

const A = 'bc764cd8ddf7a0cff126f51c16239658';
const B = '20ba6b65f97481d5570070de90e4e791';

function fd(extra: Partial<NonNullable<FlinkResourceObject['spec']>> = {}, conf: Record<string, unknown> = {}): FlinkResourceObject {
  return {
    kind: 'FlinkDeployment', metadata: { name: 'orders', resourceVersion: '42' },
    spec: {
      flinkVersion: 'v1_20', job: { parallelism: 2, upgradeMode: 'savepoint' }, taskManager: { replicas: 2 },
      flinkConfiguration: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '2', ...conf }, ...extra,
    },
    status: { jobStatus: { state: 'RUNNING' } },
  };
}

describe('planning a rescale through the operator', () => {
  it('changes only the overrides key of a NATIVE FlinkDeployment, keeping other vertices and the resourceVersion', () => {
    const plan = planRescale(fd({}, { [OVERRIDES_KEY]: `${A}:2` }), { target: { [B]: 6 }, taskManagers: 3 });
    assert.equal(plan.mode, 'native');
    assert.equal(plan.expected, 'in-place');
    assert.deepEqual(plan.patch, { metadata: { resourceVersion: '42' }, spec: { flinkConfiguration: { [OVERRIDES_KEY]: `${B}:6,${A}:2`.split(',').sort().join(',') } } });
    assert.deepEqual(plan.changes, [`spec.flinkConfiguration["${OVERRIDES_KEY}"]`]);
  });

  it('treats a FlinkDeployment without spec.mode as NATIVE', () => {
    assert.equal(deploymentModeOf({ spec: {} }), 'native');
    assert.equal(deploymentModeOf({ spec: { mode: 'standalone' } }), 'standalone');
  });

  it('plans no patch when the overrides already hold the target, whatever their spelling', () => {
    const plan = planRescale(fd({}, { [OVERRIDES_KEY]: `${B}:4, ${A}:2` }), { target: { [A]: 2 } });
    assert.equal(plan.patch, null);
  });

  it('writes the nested form when the resource spells flinkConfiguration as nested YAML', () => {
    const res = fd({ flinkConfiguration: { jobmanager: { scheduler: 'adaptive' }, pipeline: { 'jobvertex-parallelism-overrides': `${A}:1` } } });
    assert.equal(flinkConf(res)['jobmanager.scheduler'], 'adaptive');
    const plan = planRescale(res, { target: { [A]: 3 } });
    assert.deepEqual(plan.patch, { metadata: { resourceVersion: '42' }, spec: { flinkConfiguration: { pipeline: { 'jobvertex-parallelism-overrides': `${A}:3` } } } });
  });

  it('changes only spec.taskManager.replicas of a STANDALONE FlinkDeployment, from the slots per TaskManager', () => {
    const plan = planRescale(fd({ mode: 'standalone' }, { 'scheduler-mode': 'reactive' }), { target: { [A]: 2, [B]: 5 } });
    assert.equal(plan.mode, 'standalone');
    assert.equal(plan.expected, 'in-place');
    assert.deepEqual(plan.patch, { metadata: { resourceVersion: '42' }, spec: { taskManager: { replicas: 3 } } });
  });

  it('expects an upgrade, and says why, where the operator has no in-place path', () => {
    const native = planRescale(fd({ flinkVersion: 'v1_17' }, { 'jobmanager.scheduler': 'default' }), { target: { [A]: 3 } });
    assert.equal(native.expected, 'upgrade');
    assert.match(native.blockers.join('; '), /v1_17.*older than v1_18/);
    assert.match(native.blockers.join('; '), /jobmanager\.scheduler is not "adaptive"/);
    const standalone = planRescale(fd({ mode: 'standalone' }), { target: { [A]: 3 } });
    assert.deepEqual(standalone.blockers, ['scheduler-mode is not "reactive"']);
  });

  it('refuses a resource whose own autoscaler is on', () => {
    assert.throws(() => planRescale(fd({}, { 'job.autoscaler.enabled': 'true' }), { target: { [A]: 3 } }),
      (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_AUTOSCALER_CONFLICT') && /job\.autoscaler\.enabled/.test(e.message));
    assert.doesNotThrow(() => planRescale(fd({}, { 'job.autoscaler.enabled': 'false' }), { target: { [A]: 3 } }));
  });

  it('writes a FlinkSessionJob\'s own overrides on a NATIVE session cluster and refuses on a STANDALONE one', () => {
    const job: FlinkResourceObject = { kind: 'FlinkSessionJob', metadata: { name: 'orders-job' }, spec: { deploymentName: 'session', job: { parallelism: 2 }, flinkConfiguration: {} } };
    const cluster = fd();
    const plan = planRescale(job, { target: { [A]: 4 } }, cluster);
    assert.equal(plan.kind, 'FlinkSessionJob');
    assert.equal(plan.expected, 'in-place', plan.blockers.join('; '));
    assert.deepEqual(plan.patch, { spec: { flinkConfiguration: { [OVERRIDES_KEY]: `${A}:4` } } });
    assert.throws(() => planRescale(job, { target: { [A]: 4 } }, fd({ mode: 'standalone' })), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_UNSUPPORTED'));
  });
});

describe('judging what the operator did', () => {
  const running = { jobStatus: { state: 'RUNNING', jobId: 'j1', startTime: '1000' }, lifecycleState: 'STABLE', reconciliationStatus: { state: 'DEPLOYED' } };
  it('calls a rescale in place when the job was never stopped or resubmitted', () => {
    const v = judge(sampleOf(0, running, 1), [
      sampleOf(100, { ...running, lifecycleState: 'UPGRADING', reconciliationStatus: { state: 'UPGRADING' } }, 2),
      sampleOf(200, { ...running, jobStatus: { ...running.jobStatus, state: 'RESTARTING' } }, 2),
      sampleOf(300, running, 2),
    ]);
    assert.equal(v.realized, 'in-place');
    assert.equal(v.notRunningMs, 100);
  });

  it('calls it an upgrade when the job was suspended and submitted again, with the time it was down', () => {
    const v = judge(sampleOf(0, running, 1), [
      sampleOf(100, { ...running, jobStatus: { ...running.jobStatus, state: 'SUSPENDED' }, reconciliationStatus: { state: 'UPGRADING' } }, 2),
      sampleOf(300, { ...running, jobStatus: { ...running.jobStatus, state: 'RECONCILING' } }, 2),
      sampleOf(500, { ...running, jobStatus: { ...running.jobStatus, startTime: '2000' } }, 2),
    ]);
    assert.equal(v.realized, 'upgrade');
    assert.equal(v.notRunningMs, 400);
    assert.ok(v.evidence.some((e) => /startTime changed/.test(e)), v.evidence.join('; '));
  });

  it('counts a restart a slow poll missed: the gap between two RUNNING samples of different runs', () => {
    // On a loaded host the agent may sample RUNNING before the upgrade and RUNNING after it.
    const v = judge(sampleOf(0, running, 1), [
      sampleOf(100, running, 2),
      sampleOf(900, { ...running, jobStatus: { ...running.jobStatus, startTime: '2000' } }, 2),
      sampleOf(1000, { ...running, jobStatus: { ...running.jobStatus, startTime: '2000' } }, 2),
    ]);
    assert.equal(v.realized, 'upgrade');
    assert.equal(v.notRunningMs, 800);
    const moved = judge(sampleOf(0, running, 1), [sampleOf(300, { ...running, jobStatus: { ...running.jobStatus, jobId: 'j2' } }, 2)]);
    assert.equal(moved.notRunningMs, 300);
  });

  it('measures the not-RUNNING time exactly from Flink\'s state timestamps when the job re-entered RUNNING', () => {
    assert.equal(restNotRunningMs(1000, { RUNNING: 5300, RESTARTING: 5000, CREATED: 5100, FAILED: 0 }), 300);
    assert.equal(restNotRunningMs(5300, { RUNNING: 5300, RESTARTING: 5000 }), null, 'never left RUNNING since the baseline');
    assert.equal(restNotRunningMs(undefined, { RUNNING: 5300 }), null);
  });
});
