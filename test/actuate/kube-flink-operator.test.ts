/**
 * The flink-deployment realizer against the fake API server with the fake OPERATOR MODEL
 * (test/support/fake-kube/flink-operator-model.ts, a model of the operator's reconcile rules,
 * not the operator): NATIVE writes only the overrides key and the model scales in place;
 * STANDALONE writes only the replicas and the model scales the TaskManager Deployment; a
 * FlinkSessionJob works through its session cluster; an operator-wide setting the agent cannot
 * see turns the rescale into an upgrade, which is flagged (metric + Warning Event); a resource
 * running the operator's autoscaler is refused with an Event; the old patch shape (job
 * parallelism, replicas) is an UPGRADE in NATIVE mode; writes are checked against the real CRD.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import type { FakeKube } from '../support/fake-kube/index.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import { diffSpecs } from '../support/fake-kube/flink-operator-diff.ts';
import { kubeCall, MERGE_PATCH, type KubeClients } from '../../agent/kube/client.ts';
import { KubeEventRecorder } from '../../agent/kube/events.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep, type ActuatorContext, type FlinkResourceTarget } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { createActuationMetrics } from '../../agent/actuate/metrics.ts';
import { OVERRIDES_KEY } from '../../agent/actuate/flink-resource.ts';
import type { RescaleRequest } from '../../agent/actuate/types.ts';
import { silentLogger } from '../../common/log.ts';
import { isFlowpilotError } from '../../common/errors.ts';

const NS = 'flink';
const A = 'bc764cd8ddf7a0cff126f51c16239658';
const B = '20ba6b65f97481d5570070de90e4e791';
const FD = 'flinkdeployments.flink.apache.org';

function fd(name: string, extra: Record<string, unknown> = {}, conf: Record<string, string> = {}): Record<string, unknown> {
  return {
    metadata: { name },
    spec: {
      image: 'flink:1.20', flinkVersion: 'v1_20', serviceAccount: 'flink',
      job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint', state: 'running' },
      jobManager: { resource: { memory: '1600m', cpu: 1 } }, taskManager: { replicas: 2, resource: { memory: '1728m', cpu: 1 } },
      flinkConfiguration: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '2', 'state.checkpoints.dir': 'file:///c', 'state.savepoints.dir': 'file:///s', ...conf },
      ...extra,
    },
  };
}

function req(target: Record<string, number>, name = 'orders'): RescaleRequest {
  return { jobId: 'a'.repeat(32), jobName: name, current: { [A]: 2, [B]: 2 }, target, reasons: ['test'], mode: 'flink-deployment' };
}

describe('rescaling through the Flink Kubernetes Operator (fake operator model)', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  let dir: string;
  let operator: FakeFlinkOperator;
  const targets: Record<string, FlinkResourceTarget> = {};
  const registry = new Registry();
  const metrics = createActuationMetrics(registry);
  let actuator: Actuator;

  before(async () => {
    ({ kube, clients } = await startFakeKubeWithClients());
    dir = mkdtempSync(join(tmpdir(), 'fp-operator-'));
    operator = new FakeFlinkOperator(kube.server, {
      stepMs: 15, vertices: () => ({ [A]: 2, [B]: 2 }),
      defaultConfig: {},
    }).start();
    const ctx: ActuatorContext = {
      journal: new IntentJournal(new FileJournalStore(join(dir, 'journal'))), kube: clients,
      flinkDeployment: (k) => targets[k] ?? { name: k },
      timing: { ...DEFAULT_TIMING, pollIntervalMs: 10, verifyTimeoutMs: 10_000 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
    };
    const events = new KubeEventRecorder({ clients, reportingInstance: 'agent-0' });
    actuator = new Actuator({
      context: ctx, metrics, recordEvent: (ev) => events.record(ev),
      eventSubject: (k) => ({ apiVersion: 'flink.apache.org/v1beta1', kind: targets[k]?.kind ?? 'FlinkDeployment', name: targets[k]?.name ?? k, namespace: NS }),
    });
  });
  after(async () => {
    await operator.stop();
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function deployed(name: string, obj: Record<string, unknown>, qualified = FD): Promise<void> {
    kube.server.putObject(qualified, NS, obj);
    await operator.idle();
    assert.equal(operator.recordsFor(name).at(-1)?.path, 'first-deploy');
  }

  function eventsAbout(name: string): Array<{ reason: string; type: string; note: string }> {
    return kube.server.store.list(kube.server.typeOf('events.events.k8s.io'), NS)
      .filter((e) => (e.regarding as { name?: string }).name === name) as unknown as Array<{ reason: string; type: string; note: string }>;
  }

  it('NATIVE: patches only the overrides key, and the operator rescales the running job in place', async () => {
    await deployed('orders', fd('orders'));
    const before = structuredClone(kube.server.getObject(FD, NS, 'orders')!.spec) as Record<string, Record<string, unknown>>;
    const r = await actuator.execute(req({ [B]: 4 }));
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.expected, 'in-place');
    assert.equal(r.realization?.realized, 'in-place', r.message);
    assert.equal(r.realization?.notRunningMs, 0);
    const after = kube.server.getObject(FD, NS, 'orders')!.spec as Record<string, Record<string, unknown>>;
    const rec = operator.recordsFor('orders').find((x) => x.path === 'in-place')!;
    assert.equal(rec.diff.type, 'SCALE');
    assert.deepEqual(rec.diff.diffs.map((d) => d.path), [`spec.flinkConfiguration["${OVERRIDES_KEY}"]`], 'the only spec change');
    assert.deepEqual(after.job, before.job, 'spec.job untouched');
    assert.deepEqual(after.taskManager, before.taskManager, 'spec.taskManager untouched');
    assert.equal(after.flinkConfiguration![OVERRIDES_KEY], `${B}:4`);
    const st = kube.server.getObject(FD, NS, 'orders')!.status as { reconciliationStatus: { state: string }; jobStatus: { state: string } };
    assert.equal(st.reconciliationStatus.state, 'DEPLOYED');
    assert.equal(st.jobStatus.state, 'RUNNING');
    assert.ok(eventsAbout('orders').some((e) => e.reason === 'Rescaled' && e.type === 'Normal' && /in place/.test(e.note)));
  });

  it('STANDALONE: patches only spec.taskManager.replicas, and the operator scales the TaskManager Deployment', async () => {
    await deployed('reactive', fd('reactive', { mode: 'standalone' }, { 'scheduler-mode': 'reactive' }));
    const r = await actuator.execute(req({ [A]: 5 }, 'reactive'));
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.realized, 'in-place', r.message);
    const rec = operator.recordsFor('reactive').find((x) => x.path === 'in-place')!;
    assert.equal(rec.diff.type, 'SCALE');
    assert.deepEqual(rec.diff.diffs.map((d) => d.path), ['spec.taskManager.replicas']);
    assert.equal((kube.server.getObject('deployments.apps', NS, 'reactive-taskmanager')!.spec as { replicas: number }).replicas, 3);
    const spec = kube.server.getObject(FD, NS, 'reactive')!.spec as { job: { parallelism: number }; flinkConfiguration: Record<string, string> };
    assert.equal(spec.job.parallelism, 2);
    assert.equal(spec.flinkConfiguration[OVERRIDES_KEY], undefined);
  });

  it('FlinkSessionJob: writes the session job\'s own overrides and is scaled in place on a NATIVE session cluster', async () => {
    await deployed('session', fd('session', { job: undefined }));
    targets['orders-job'] = { name: 'orders-job', kind: 'FlinkSessionJob' };
    kube.server.putObject('flinksessionjobs.flink.apache.org', NS, {
      metadata: { name: 'orders-job' }, spec: { deploymentName: 'session', job: { jarURI: 'https://x/job.jar', parallelism: 2, upgradeMode: 'stateless' }, flinkConfiguration: {} },
    });
    await operator.idle();
    const r = await actuator.execute(req({ [A]: 3 }, 'orders-job'));
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.realized, 'in-place', r.message);
    const rec = operator.recordsFor('orders-job').find((x) => x.path === 'in-place')!;
    assert.equal(rec.diff.type, 'SCALE');
    assert.equal((kube.server.getObject('flinksessionjobs.flink.apache.org', NS, 'orders-job')!.spec as { flinkConfiguration: Record<string, string> }).flinkConfiguration[OVERRIDES_KEY], `${A}:3`);
  });

  it('reports an upgrade where in place was expected loudly: metric and Warning Event', async () => {
    // Steps long against the 10 ms poll, so the agent samples the down time (its resolution is the poll interval).
    const quiet = new FakeFlinkOperator(kube.server, { stepMs: 150, defaultConfig: { 'kubernetes.operator.job.upgrade.inplace-scaling.enabled': 'false' } });
    await operator.stop();
    await deployed_with(quiet, 'hidden', fd('hidden'));
    const r = await actuator.execute(req({ [A]: 4 }, 'hidden'));
    await quiet.stop();
    operator = new FakeFlinkOperator(kube.server, { stepMs: 15, vertices: () => ({ [A]: 2, [B]: 2 }) }).start();
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.expected, 'in-place');
    assert.equal(r.realization?.realized, 'upgrade');
    assert.equal(r.realization?.unexpectedUpgrade, true);
    assert.ok((r.realization?.notRunningMs ?? 0) > 0, 'the job was down during the upgrade');
    assert.equal(quiet.recordsFor('hidden').at(-1)?.path, 'upgrade');
    assert.match(quiet.recordsFor('hidden').at(-1)!.cannotScale.join('; '), /in-place scaling disabled/);
    const text = await registry.metrics();
    assert.match(text, /flowpilot_actuation_unexpected_upgrade_total\{mode="flink-deployment"\} 1/);
    const ev = eventsAbout('hidden').find((e) => e.reason === 'RescaleUpgradedUnexpectedly');
    assert.equal(ev?.type, 'Warning');
    assert.match(ev!.note, /UPGRADE/);

    async function deployed_with(op: FakeFlinkOperator, name: string, obj: Record<string, unknown>): Promise<void> {
      op.start();
      kube.server.putObject(FD, NS, obj);
      await op.idle();
      assert.equal(op.recordsFor(name).at(-1)?.path, 'first-deploy');
    }
  });

  it('refuses a resource that runs the operator\'s autoscaler, with an Event, and patches nothing', async () => {
    await deployed('auto', fd('auto', {}, { 'job.autoscaler.enabled': 'true' }));
    const patches = kube.server.served.filter((s) => s.verb === 'patch' && s.name === 'auto').length;
    const r = await actuator.execute(req({ [A]: 4 }, 'auto'));
    assert.equal(r.outcome, 'rejected');
    assert.equal(r.errorCode, 'FP_ACTUATE_AUTOSCALER_CONFLICT');
    assert.match(r.message, /job\.autoscaler\.enabled/);
    assert.equal(kube.server.served.filter((s) => s.verb === 'patch' && s.name === 'auto').length, patches);
    const ev = eventsAbout('auto').find((e) => e.reason === 'AutoscalerConflict');
    assert.equal(ev?.type, 'Warning');
  });

  it('classifies the old patch shape (job parallelism, TaskManager replicas) as an UPGRADE in NATIVE mode and a SCALE in STANDALONE', () => {
    const before = { job: { parallelism: 2 }, taskManager: { replicas: 2 }, flinkConfiguration: {} };
    const old = { job: { parallelism: 4 }, taskManager: { replicas: 2 }, flinkConfiguration: { [OVERRIDES_KEY]: `${A}:4` } };
    assert.equal(diffSpecs(before, old, 'native').type, 'UPGRADE');
    assert.equal(diffSpecs(before, { ...before, flinkConfiguration: { [OVERRIDES_KEY]: `${A}:4` } }, 'native').type, 'SCALE');
    assert.equal(diffSpecs(before, { ...before, taskManager: { replicas: 3 } }, 'standalone').type, 'SCALE');
    assert.equal(diffSpecs(before, { ...before, flinkConfiguration: { [OVERRIDES_KEY]: `${A}:4` } }, 'standalone').type, 'UPGRADE');
    assert.equal(diffSpecs(before, { ...before, flinkConfiguration: { 'job.autoscaler.target.utilization': '0.7' } }, 'native').type, 'IGNORE');
  });

  it('rejects a FlinkDeployment write that breaks the operator\'s CRD schema with 422', async () => {
    await assert.rejects(
      kubeCall(clients, 'patch', () => clients.custom.patchNamespacedCustomObject({
        group: 'flink.apache.org', version: 'v1beta1', namespace: NS, plural: 'flinkdeployments', name: 'orders', body: { spec: { job: { parallelism: '4', upgradeMode: 'rolling' } } },
      }, MERGE_PATCH)),
      (e: unknown) => isFlowpilotError(e) && /parallelism: must be integer/.test(e.message) && /upgradeMode/.test(e.message),
    );
  });
});
