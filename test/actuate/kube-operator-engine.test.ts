/**
 * End to end, short of a real cluster: the agent's flink-deployment realizer, the fake API
 * server, the fake operator MODEL (its rules in docs/design/operator-rules.md) and the ENGINE as the
 * Flink behind the FlinkDeployment (JobManager + TaskManager processes, adaptive scheduler). The
 * agent patches only the overrides key; the model takes the in-place path, PUTs the resource
 * requirements to the engine, and the job rescales without being stopped: same job id, same
 * start time, never in a terminal state, the keyed vertex at its new parallelism. The realizer
 * verifies it over the resource's status and over REST, and reports in place with the time the
 * job was not RUNNING (printed as a figure). The same for STANDALONE in reactive mode: only the
 * replicas change, the model scales the TaskManager Deployment, the test plays the kubelet by
 * starting an engine TaskManager, and the job takes the new slots without being resubmitted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEngineCluster, uploadJobModule, servesFlinkRest, type EngineCluster } from './support/engine-cluster.ts';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import type { FakeKube } from '../support/fake-kube/index.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import type { KubeClients } from '../../agent/kube/client.ts';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep } from '../../agent/actuate/context.ts';
import { IntentJournal } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { OVERRIDES_KEY } from '../../agent/actuate/flink-resource.ts';
import { silentLogger } from '../../common/log.ts';

const JOB_MODULE = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');
const NAME = 'operator-counting';
const TERMINAL = new Set(['FAILED', 'CANCELED', 'CANCELLING', 'FINISHED', 'SUSPENDED']);

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a NATIVE FlinkDeployment rescaled through the operator model, with the engine as Flink', () => {
  let cluster: EngineCluster | undefined;
  let skipReason: string | undefined;
  let flink: FlinkRestClient;
  let kube: FakeKube;
  let clients: KubeClients;
  let operator: FakeFlinkOperator;
  let jobId = '';
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-operator-engine-'));
    cluster = await startEngineCluster({ taskManagers: 1, slots: 8, define: ['jobmanager.scheduler=adaptive', 'heartbeat.timeout=2000'] });
    if (!(await servesFlinkRest(cluster.restUrl))) {
      skipReason = 'the engine JobManager does not serve Flink\'s REST API';
      return;
    }
    flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
    const jarId = await uploadJobModule(cluster.restUrl, JOB_MODULE);
    const out = join(cluster.dir, 'out');
    mkdirSync(out, { recursive: true });
    jobId = await flink.runJar(jarId, { programArgsList: ['--output', out, '--rate', '200', '--name', NAME, '--checkpoint-interval', '500'], parallelism: 2 });
    await until('the job to run', 30_000, async () => (await flink.job(jobId))?.state === 'RUNNING');
    // A fresh pool for the test: an idle keep-alive connection may be closed by the server meanwhile.
    await flink.close();
    ({ kube, clients } = await startFakeKubeWithClients());
    flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
    operator = new FakeFlinkOperator(kube.server, { stepMs: 100, backend: (_ns, name) => (name === 'orders' ? { restUrl: cluster!.restUrl, jobId } : undefined) }).start();
  });
  after(async () => {
    await operator?.stop();
    await kube?.close();
    await flink?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the job running while the operator rescales it in place', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const before = (await flink.job(jobId))!;
    const keyed = before.vertices.find((v) => v.name.includes('Count'))?.id ?? before.vertices[before.vertices.length - 1]!.id;
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
      metadata: { name: 'orders' },
      spec: {
        image: 'flink:1.20', flinkVersion: 'v1_20', serviceAccount: 'flink',
        flinkConfiguration: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '8', 'state.checkpoints.dir': 'file:///c', 'state.savepoints.dir': 'file:///s' },
        jobManager: { resource: { memory: '1600m', cpu: 1 } }, taskManager: { replicas: 1, resource: { memory: '1728m', cpu: 1 } },
        job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint', state: 'running' },
      },
    });
    await operator.idle();
    assert.equal(operator.recordsFor('orders').at(-1)?.path, 'first-deploy');

    // Watch the job over REST for the whole action, independently of the realizer.
    const seen: Array<{ state: string; jid: string; start?: number }> = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ov = (await flink.jobsOverview()).filter((j) => j.name === NAME);
        for (const j of ov) seen.push({ state: j.state, jid: j.jid, ...(j['start-time'] !== undefined ? { start: j['start-time'] } : {}) });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const act = new Actuator({
      context: {
        journal: new IntentJournal(new FileJournalStore(join(dir, 'journal'))), kube: clients, flink,
        flinkDeployment: () => ({ name: 'orders' }),
        timing: { ...DEFAULT_TIMING, pollIntervalMs: 100, verifyTimeoutMs: 60_000 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
      },
    });
    const started = Date.now();
    const r = await act.execute({ jobId, jobName: NAME, current: { [keyed]: 2 }, target: { [keyed]: 4 }, reasons: ['test'], mode: 'flink-deployment' });
    const tookMs = Date.now() - started;
    watching = false;
    await watcher;

    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.expected, 'in-place');
    assert.equal(r.realization?.realized, 'in-place', r.message);
    const rec = operator.recordsFor('orders').find((x) => x.path === 'in-place');
    assert.ok(rec, JSON.stringify(operator.recordsFor('orders').map((x) => [x.path, x.diff.type, x.cannotScale])));
    assert.equal(rec.diff.type, 'SCALE');
    assert.deepEqual(rec.diff.diffs.map((d) => d.path), [`spec.flinkConfiguration["${OVERRIDES_KEY}"]`]);

    const afterJob = (await flink.job(jobId))!;
    assert.equal(afterJob.state, 'RUNNING');
    assert.equal(afterJob.vertices.find((v) => v.id === keyed)?.parallelism, 4, 'the keyed vertex runs at its new parallelism');
    assert.deepEqual((await flink.liveJobsNamed(NAME)).map((j) => j.jid), [jobId], 'the same job, never resubmitted');
    assert.ok(seen.length > 0);
    assert.deepEqual([...new Set(seen.map((s) => s.jid))], [jobId], 'one job id throughout');
    assert.deepEqual(seen.filter((s) => TERMINAL.has(s.state)), [], 'never stopped');
    const starts = new Set(seen.map((s) => s.start).filter((s) => s !== undefined));
    assert.ok(starts.size <= 1, `one start time throughout (${[...starts].join(', ')})`);
    const notRunningSamples = seen.filter((s) => s.state !== 'RUNNING').length;
    t.diagnostic(`in-place through the operator model: action ${tookMs} ms, job not RUNNING ${r.realization?.notRunningMs} ms by the realizer (${notRunningSamples}/${seen.length} REST samples not RUNNING), states seen: ${[...new Set(seen.map((s) => s.state))].join(',')}`);
  });
});

describe('a STANDALONE FlinkDeployment in reactive mode rescaled through the operator model, with the engine as Flink', () => {
  let cluster: EngineCluster | undefined;
  let skipReason: string | undefined;
  let flink: FlinkRestClient;
  let kube: FakeKube;
  let clients: KubeClients;
  let operator: FakeFlinkOperator;
  let jobId = '';
  let dir: string;
  const SLOTS = 2;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-operator-reactive-'));
    cluster = await startEngineCluster({ taskManagers: 1, slots: SLOTS, define: ['scheduler-mode=reactive', 'heartbeat.timeout=2000'] });
    if (!(await servesFlinkRest(cluster.restUrl))) {
      skipReason = 'the engine JobManager does not serve Flink\'s REST API';
      return;
    }
    flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
    const jarId = await uploadJobModule(cluster.restUrl, JOB_MODULE);
    const out = join(cluster.dir, 'out');
    mkdirSync(out, { recursive: true });
    jobId = await flink.runJar(jarId, { programArgsList: ['--output', out, '--rate', '200', '--name', NAME, '--checkpoint-interval', '500'], parallelism: SLOTS });
    await until('the job to run', 30_000, async () => (await flink.job(jobId))?.state === 'RUNNING');
    await flink.close();
    ({ kube, clients } = await startFakeKubeWithClients());
    flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
    operator = new FakeFlinkOperator(kube.server, {
      stepMs: 100,
      backend: (_ns, name) => (name === 'reactive' ? { restUrl: cluster!.restUrl, jobId } : undefined),
      // The kubelet's part: the TaskManager pods follow the Deployment's replicas.
      scaleTaskManagers: async (_ns, _name, replicas) => {
        while (cluster!.taskManagers.length < replicas) await cluster!.addTaskManager(SLOTS);
      },
    }).start();
  });
  after(async () => {
    await operator?.stop();
    await kube?.close();
    await flink?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('changes only the replicas, and the job follows the new TaskManagers without being stopped', { timeout: 120_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
      metadata: { name: 'reactive' },
      spec: {
        image: 'flink:1.20', flinkVersion: 'v1_20', serviceAccount: 'flink', mode: 'standalone',
        flinkConfiguration: { 'scheduler-mode': 'reactive', 'taskmanager.numberOfTaskSlots': String(SLOTS), 'state.checkpoints.dir': 'file:///c', 'state.savepoints.dir': 'file:///s' },
        jobManager: { resource: { memory: '1600m', cpu: 1 } }, taskManager: { replicas: 1, resource: { memory: '1728m', cpu: 1 } },
        job: { jarURI: 'local:///opt/job.jar', parallelism: SLOTS, upgradeMode: 'last-state', state: 'running' },
      },
    });
    await operator.idle();
    const before = (await flink.job(jobId))!;
    const keyed = before.vertices.find((v) => v.name.includes('Count'))?.id ?? before.vertices[before.vertices.length - 1]!.id;
    const act = new Actuator({
      context: {
        journal: new IntentJournal(new FileJournalStore(join(dir, 'journal'))), kube: clients, flink,
        flinkDeployment: () => ({ name: 'reactive' }),
        timing: { ...DEFAULT_TIMING, pollIntervalMs: 100, verifyTimeoutMs: 60_000 }, clock: Date.now, sleep: defaultSleep, log: silentLogger(),
      },
    });
    const started = Date.now();
    const r = await act.execute({ jobId, jobName: NAME, current: { [keyed]: SLOTS }, target: { [keyed]: 2 * SLOTS }, reasons: ['test'], mode: 'flink-deployment' });
    const tookMs = Date.now() - started;
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal(r.realization?.realized, 'in-place', r.message);
    const rec = operator.recordsFor('reactive').find((x) => x.path === 'in-place');
    assert.ok(rec, JSON.stringify(operator.recordsFor('reactive').map((x) => [x.path, x.diff.type, x.cannotScale])));
    assert.deepEqual(rec.diff.diffs.map((d) => [d.path, d.type]), [['spec.taskManager.replicas', 'SCALE']]);
    assert.equal((kube.server.getObject('deployments.apps', 'flink', 'reactive-taskmanager')!.spec as { replicas: number }).replicas, 2);
    const after = (await flink.job(jobId))!;
    assert.equal(after.state, 'RUNNING');
    assert.equal(after.vertices.find((v) => v.id === keyed)?.parallelism, 2 * SLOTS);
    assert.deepEqual((await flink.liveJobsNamed(NAME)).map((j) => j.jid), [jobId], 'the same job, never resubmitted');
    t.diagnostic(`STANDALONE reactive through the operator model: action ${tookMs} ms, job not RUNNING ${r.realization?.notRunningMs} ms`);
  });
});
