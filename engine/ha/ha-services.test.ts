import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/log.ts';
import { startFakeKube } from '../../test/support/fake-kube/index.ts';
import { FileSystemHaServices, parseHaType, sha256Hex, type HaServices, type JobGraphRecord } from './ha-services.ts';
import { KubernetesHaServices, LEADER_ANNOTATION, checkpointKey } from './kubernetes-store.ts';

const JOB = 'a'.repeat(32);
const JOB2 = 'b'.repeat(32);

function record(jobId: string, bytes: Uint8Array): JobGraphRecord {
  return {
    jobId,
    submission: { modulePath: '/jobs/counting.ts', programArgs: ['--rate', '10'], parallelism: 2 },
    configuration: { 'execution.checkpointing.interval': '500' },
    module: { sha256: sha256Hex(bytes), fileName: 'counting.ts' },
    submittedAt: 1,
  };
}

/** The same contract for both stores. */
async function exercise(ha: HaServices): Promise<void> {
  const bytes = new TextEncoder().encode('export default function job() {}\n');
  assert.deepEqual(await ha.jobGraphs(), []);
  assert.equal(await ha.latestCheckpoint(JOB), null);
  assert.equal(await ha.checkpointCounter(JOB), 0);
  await ha.grantLeadership({ address: '127.0.0.1:6123', restAddress: '127.0.0.1:8081', sessionId: 'jm-1' });
  await ha.putJobGraph(record(JOB, bytes), bytes);
  await ha.putJobGraph(record(JOB2, bytes), bytes);
  const graphs = await ha.jobGraphs();
  assert.deepEqual(graphs.map((g) => g.record.jobId), [JOB, JOB2]);
  assert.deepEqual(graphs[0]!.record.submission.programArgs, ['--rate', '10']);
  assert.deepEqual(Buffer.from(graphs[0]!.moduleBytes).toString(), Buffer.from(bytes).toString());
  await ha.addCheckpoint(JOB, { checkpointId: 3, path: '/cp/chk-3', isSavepoint: false }, 4);
  await ha.addCheckpoint(JOB, { checkpointId: 5, path: '/cp/chk-5', isSavepoint: false }, 7);
  // The counter never goes back.
  await ha.addCheckpoint(JOB, { checkpointId: 6, path: '/sp/savepoint-x', isSavepoint: true }, 6);
  assert.deepEqual(await ha.latestCheckpoint(JOB), { checkpointId: 6, path: '/sp/savepoint-x', isSavepoint: true });
  assert.equal(await ha.checkpointCounter(JOB), 7);
  // A new leader (another instance on the same store) sees the same.
  await ha.grantLeadership({ address: '127.0.0.1:6124', restAddress: '127.0.0.1:8081', sessionId: 'jm-2' });
  await ha.removeJob(JOB);
  assert.deepEqual((await ha.jobGraphs()).map((g) => g.record.jobId), [JOB2]);
  assert.equal(await ha.latestCheckpoint(JOB), null);
  assert.equal(await ha.checkpointCounter(JOB), 0);
}

describe('HA services', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'fp-ha-'));
    dirs.push(d);
    return d;
  };

  it('parses Flink\'s high-availability.type spellings', () => {
    assert.equal(parseHaType(undefined), 'none');
    assert.equal(parseHaType('NONE'), 'none');
    assert.equal(parseHaType('kubernetes'), 'kubernetes');
    assert.equal(parseHaType('org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory'), 'kubernetes');
    assert.equal(parseHaType('filesystem'), 'filesystem');
    assert.throws(() => parseHaType('zookeeper'), /not supported/);
  });

  it('filesystem: job graphs, latest checkpoint pointer and counter survive a new instance; a corrupt module blob is skipped', async () => {
    const dir = tmp();
    await exercise(new FileSystemHaServices(`file://${dir}`, 'c1'));
    const again = new FileSystemHaServices(dir, 'c1');
    assert.deepEqual((await again.jobGraphs()).map((g) => g.record.jobId), [JOB2]);
    writeFileSync(again.blobs.modulePath(JOB2), 'tampered');
    assert.deepEqual(await again.jobGraphs(), []);
  });

  it('kubernetes: ConfigMaps in Flink\'s shape (cluster config map with the leader annotation and jobGraph- keys; per-job checkpointID- and counter)', async () => {
    const kube = await startFakeKube();
    try {
      const dir = tmp();
      const ha = await KubernetesHaServices.fromDefaultConfig({ storageDir: dir, clusterId: 'fp', namespace: kube.namespace, log: silentLogger(), kubeconfig: kube.kubeconfigPath });
      const bytes = new TextEncoder().encode('x');
      await ha.grantLeadership({ address: '10.0.0.1:6123', restAddress: '10.0.0.1:8081', sessionId: 'jm-1' });
      await ha.putJobGraph(record(JOB, bytes), bytes);
      await ha.addCheckpoint(JOB, { checkpointId: 12, path: '/cp/chk-12', isSavepoint: false }, 13);
      const cluster = kube.server.getObject('configmaps', kube.namespace, 'fp-cluster-config-map') as unknown as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; data: Record<string, string> };
      assert.equal(cluster.metadata.labels['configmap-type'], 'high-availability');
      assert.equal(cluster.metadata.labels.app, 'fp');
      const leader = JSON.parse(cluster.metadata.annotations[LEADER_ANNOTATION]!) as { holderIdentity: string; renewTime: string };
      assert.equal(leader.holderIdentity, 'jm-1');
      assert.equal(cluster.data.address, '10.0.0.1:6123');
      assert.ok(cluster.data[`jobGraph-${JOB}`]);
      const perJob = kube.server.getObject('configmaps', kube.namespace, `fp-${JOB}-config-map`) as unknown as { data: Record<string, string> };
      assert.deepEqual(Object.keys(perJob.data).sort(), [checkpointKey(12), 'counter']);
      assert.equal(checkpointKey(12), 'checkpointID-0000000000000000012');
      assert.equal(perJob.data.counter, '13');
      await ha.removeJob(JOB);
      assert.equal(kube.server.getObject('configmaps', kube.namespace, `fp-${JOB}-config-map`), undefined);
      await exercise(ha);
    } finally {
      await kube.close();
    }
  });
});
