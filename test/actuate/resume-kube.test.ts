/**
 * Crash-resume of the Kubernetes actuators with a real file journal: an action journaled by a
 * "crashed" process (its records written, its objects dropped) is finished by a new Actuator's
 * resumeAll() against the fake API server, without repeating a step that was already done.
 * Also: the in-cluster config path (service-account files + KUBERNETES_SERVICE_HOST/PORT).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import { createKubeClients, type KubeClients } from '../../agent/kube/client.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep, type ActuatorContext } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import type { RescaleRequest } from '../../agent/actuate/types.ts';
import { silentLogger } from '../../common/log.ts';
import { isFlowpilotError } from '../../common/errors.ts';

function ctxFor(clients: KubeClients, dir: string): ActuatorContext {
  return {
    journal: new IntentJournal(new FileJournalStore(dir)), kube: clients,
    workload: () => ({ kind: 'Deployment', name: 'tm' }), flinkDeployment: () => ({ name: 'orders' }),
    timing: { ...DEFAULT_TIMING, pollIntervalMs: 10 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
  };
}

const req = (mode: RescaleRequest['mode'], jobName: string): RescaleRequest =>
  ({ jobId: 'c'.repeat(32), jobName, current: { v: 2 }, target: { v: 5 }, taskManagers: 5, reasons: ['lag rising'], mode });

describe('resuming Kubernetes actions after a crash', () => {
  let kube: FakeKube;
  let clients: KubeClients;
  let dir: string;
  before(async () => {
    ({ kube, clients } = await startFakeKubeWithClients());
    dir = mkdtempSync(join(tmpdir(), 'fp-resume-'));
    kube.server.putObject('deployments.apps', 'flink', { metadata: { name: 'tm' }, spec: { replicas: 2 } });
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', { metadata: { name: 'orders' }, spec: { job: { parallelism: 2 } } });
  });
  after(async () => {
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes a scale whose process died after journaling the intent', async () => {
    const crashed = ctxFor(clients, join(dir, 'a'));
    await crashed.journal.begin('job-a', req('kubernetes-deployment', 'job-a'));
    const results = await new Actuator({ context: ctxFor(clients, join(dir, 'a')) }).resumeAll();
    assert.equal(results.length, 1);
    assert.equal(results[0]!.resumed, true);
    assert.equal(results[0]!.outcome, 'succeeded', results[0]!.message);
    assert.equal((kube.server.getObject('deployments.apps', 'flink', 'tm')!.spec as { replicas: number }).replicas, 5);
  });

  it('only verifies a FlinkDeployment patch that was made before the crash, without patching again', async () => {
    const crashed = ctxFor(clients, join(dir, 'b'));
    const h = await crashed.journal.begin('job-b', req('flink-deployment', 'job-b'));
    // The crashed process had patched the object, then died before finishing the journal.
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
      metadata: { name: 'orders' },
      spec: { job: { parallelism: 5 }, taskManager: { replicas: 5 }, flinkConfiguration: { 'pipeline.jobvertex-parallelism-overrides': 'v:5' } },
    });
    await crashed.journal.advance(h, 'patched');
    const patchesBefore = kube.server.served.filter((s) => s.resource === 'flinkdeployments' && s.verb === 'patch').length;
    const [r] = await new Actuator({ context: ctxFor(clients, join(dir, 'b')) }).resumeAll();
    assert.equal(r!.outcome, 'succeeded', r!.message);
    assert.deepEqual(r!.steps, ['intent', 'patched', 'verified']);
    assert.equal(kube.server.served.filter((s) => s.resource === 'flinkdeployments' && s.verb === 'patch').length, patchesBefore);
  });

  it('refuses a new action while a resumed one for the same job is unfinished, and only on the leader', async () => {
    const ctx = ctxFor(clients, join(dir, 'c'));
    await ctx.journal.begin('job-c', req('savepoint', 'job-c'));
    const act = new Actuator({ context: ctx });
    await assert.rejects(act.execute(req('in-place', 'job-c')), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_BUSY'));
    const follower = new Actuator({ context: ctx, isLeader: () => false });
    await assert.rejects(follower.execute(req('dry-run', 'job-d')), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_NOT_LEADER'));
  });
});

describe('in-cluster configuration', () => {
  it('talks to the API server from the service-account files and KUBERNETES_SERVICE_HOST/PORT', async () => {
    const kube = await startFakeKube({ namespace: 'streaming' });
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = String(kube.port);
      const clients = createKubeClients({ kind: 'in-cluster', pathPrefix: kube.inClusterPrefix });
      assert.equal(clients.namespace, 'streaming');
      kube.server.putObject('configmaps', 'streaming', { metadata: { name: 'x' }, data: { a: '1' } });
      const cm = await clients.core.readNamespacedConfigMap({ name: 'x', namespace: clients.namespace });
      assert.equal(cm.data?.a, '1');
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST; else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT; else process.env.KUBERNETES_SERVICE_PORT = saved.port;
      await kube.close();
    }
  });
});
