/**
 * `flowpilot scale set`: the dry run from a file (the real CLI process, with no reachable API
 * server) prints the exact merge patch — on a NATIVE FlinkDeployment only the overrides key,
 * on a STANDALONE one only the replicas — and the fake operator model classifies each patched
 * spec as a SCALE (in place); a FlinkSessionJob writes its own overrides; `--flink-url` prints
 * the resource-requirements body after only reading; the live path goes through the same
 * realizer against the fake API server and the operator model; usage errors are clear.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { diffSpecs } from '../support/fake-kube/flink-operator-diff.ts';
import { mergePatch, type Json } from '../support/fake-kube/patch.ts';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import { flinkCrdErrors } from '../support/fake-kube/flink-crd.ts';
import { scaleSet } from '../../cli/scale/set.ts';
import { isFlowpilotError } from '../../common/errors.ts';
import { startFlinkFixtureServer } from '../agent/flink-fixture-server.ts';

const root = join(import.meta.dirname, '..', '..');
const A = 'bc764cd8ddf7a0cff126f51c16239658';
const B = '20ba6b65f97481d5570070de90e4e791';
const KEY = 'pipeline.jobvertex-parallelism-overrides';

function fdObject(name: string, mode?: 'standalone'): Record<string, unknown> {
  return {
    apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', metadata: { name, namespace: 'flink' },
    spec: {
      image: 'flink:1.20', flinkVersion: 'v1_20', ...(mode ? { mode } : {}),
      flinkConfiguration: {
        'taskmanager.numberOfTaskSlots': '2', [mode ? 'scheduler-mode' : 'jobmanager.scheduler']: mode ? 'reactive' : 'adaptive',
        'state.checkpoints.dir': 'file:///c', 'state.savepoints.dir': 'file:///s', ...(mode ? {} : { [KEY]: `${A}:2` }),
      },
      jobManager: { resource: { memory: '1600m', cpu: 1 } }, taskManager: { replicas: 2, resource: { memory: '1728m', cpu: 1 } },
      job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint' },
    },
  };
}

/** The real CLI with no Kubernetes config anywhere: a dry run must not need one. */
function cli(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(join(root, 'bin', 'flowpilot'), ['scale', 'set', ...args], {
    cwd, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, KUBECONFIG: join(cwd, 'no-such-kubeconfig'), HOME: cwd, KUBERNETES_SERVICE_HOST: '' },
  });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('flowpilot scale set', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-scale-set-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--dry-run --from-file on a NATIVE FlinkDeployment prints a merge patch whose only spec change is the overrides key, which the operator model calls SCALE', () => {
    const obj = fdObject('orders');
    writeFileSync(join(dir, 'native.yaml'), stringify(obj));
    const r = cli(['--from-file', 'native.yaml', '--dry-run', '--vertex', `${B}=4`], dir);
    assert.equal(r.status, 0, r.stderr);
    const patch = JSON.parse(r.stdout) as Record<string, Json>;
    assert.deepEqual(patch, { spec: { flinkConfiguration: { [KEY]: `${B}:4,${A}:2`.split(',').sort().join(',') } } });
    const after = mergePatch(obj as Json, patch) as { spec: Record<string, unknown> };
    const diff = diffSpecs((obj as { spec: Record<string, unknown> }).spec, after.spec, 'native');
    assert.equal(diff.type, 'SCALE');
    assert.deepEqual(diff.diffs.map((d) => d.path), [`spec.flinkConfiguration["${KEY}"]`]);
    assert.deepEqual(flinkCrdErrors('FlinkDeployment', after), [], 'the patched object is valid under the CRD');
    assert.match(r.stderr, /NATIVE mode.*IN PLACE/);
  });

  it('--dry-run --from-file on a STANDALONE FlinkDeployment changes only the replicas, a SCALE there', () => {
    const obj = fdObject('reactive', 'standalone');
    writeFileSync(join(dir, 'standalone.yaml'), stringify(obj));
    const r = cli(['--from-file', 'standalone.yaml', '--dry-run', '--vertex', `${A}=5`, '--vertex', `${B}=3`], dir);
    assert.equal(r.status, 0, r.stderr);
    const patch = JSON.parse(r.stdout) as Record<string, Json>;
    assert.deepEqual(patch, { spec: { taskManager: { replicas: 3 } } });
    const after = mergePatch(obj as Json, patch) as { spec: Record<string, unknown> };
    assert.equal(diffSpecs((obj as { spec: Record<string, unknown> }).spec, after.spec, 'standalone').type, 'SCALE');
  });

  it('--dry-run for a TaskManager Deployment prints the scale subresource patch', async () => {
    const out: string[] = [];
    const code = await scaleSet({ deployment: 'flink/tm', vertex: [`${A}=5`], slots: 2, dryRun: true, journalDir: dir, timeout: 5 }, { out: (s) => out.push(s), err: () => {} });
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out.join('')), { spec: { replicas: 3 } });
  });

  it('--dry-run --from-file on a FlinkSessionJob writes its own overrides, with its session cluster from --cluster-file', async () => {
    writeFileSync(join(dir, 'job.yaml'), stringify({
      apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkSessionJob', metadata: { name: 'orders-job', namespace: 'flink' },
      spec: { deploymentName: 'session', job: { jarURI: 'https://x/job.jar', parallelism: 2, upgradeMode: 'stateless' } },
    }));
    const cluster = fdObject('session');
    delete (cluster.spec as Record<string, unknown>).job;
    writeFileSync(join(dir, 'session.yaml'), stringify(cluster));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    assert.equal(await scaleSet({ fromFile: join(dir, 'job.yaml'), clusterFile: join(dir, 'session.yaml'), vertex: [`${A}=3`], dryRun: true, journalDir: dir, timeout: 5 }, io), 0);
    assert.deepEqual(JSON.parse(out.join('')), { spec: { flinkConfiguration: { [KEY]: `${A}:3` } } });
    assert.match(err.join(''), /FlinkSessionJob NATIVE mode.*IN PLACE/);
    writeFileSync(join(dir, 'standalone-session.yaml'), stringify({ ...cluster, spec: { ...(cluster.spec as object), mode: 'standalone' } }));
    await assert.rejects(scaleSet({ fromFile: join(dir, 'job.yaml'), clusterFile: join(dir, 'standalone-session.yaml'), vertex: [`${A}=3`], dryRun: true, journalDir: dir, timeout: 5 }, io),
      (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_UNSUPPORTED'));
  });

  it('--dry-run --flink-url prints the resource-requirements body it would PUT, after reading the current one', async () => {
    const flink = await startFlinkFixtureServer();
    try {
      const job = '5e20cb6b0f357591171dfcca2eea09de';
      flink.rest[`/jobs/${job}/resource-requirements`] = { [A]: { parallelism: { lowerBound: 1, upperBound: 2 } }, [B]: { parallelism: { lowerBound: 1, upperBound: 2 } } };
      const out: string[] = [];
      assert.equal(await scaleSet({ flinkUrl: flink.url, job, vertex: [`${B}=6`], dryRun: true, journalDir: dir, timeout: 5 }, { out: (s) => out.push(s), err: () => {} }), 0);
      assert.deepEqual(JSON.parse(out.join('')), { [A]: { parallelism: { lowerBound: 1, upperBound: 2 } }, [B]: { parallelism: { lowerBound: 1, upperBound: 6 } } });
      assert.deepEqual(flink.requests, [`/jobs/${job}/resource-requirements`], 'one request: the read, no PUT');
    } finally {
      await flink.close();
    }
  });

  it('refuses bad usage with a clear message', async () => {
    const io = { out: () => {}, err: () => {} };
    await assert.rejects(scaleSet({ flinkdeployment: 'flink/orders', vertex: ['x=0'], journalDir: dir, timeout: 5 }, io), (e: unknown) => isFlowpilotError(e, 'FP_CLI_USAGE') && /VERTEX_ID=PARALLELISM/.test(e.message));
    await assert.rejects(scaleSet({ flinkdeployment: 'a/b/c', vertex: ['x=1'], journalDir: dir, timeout: 5 }, io), (e: unknown) => isFlowpilotError(e, 'FP_CLI_USAGE'));
    await assert.rejects(scaleSet({ fromFile: join(dir, 'native.yaml'), vertex: ['x=1'], journalDir: dir, timeout: 5 }, io), (e: unknown) => isFlowpilotError(e, 'FP_CLI_USAGE') && /--dry-run/.test(e.message));
  });

  describe('against the fake API server and the fake operator model', () => {
    let kube: FakeKube;
    let operator: FakeFlinkOperator;
    before(async () => {
      kube = await startFakeKube();
      operator = new FakeFlinkOperator(kube.server, { stepMs: 15, vertices: () => ({ [A]: 2, [B]: 2 }) }).start();
      kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', fdObject('orders'));
      await operator.idle();
    });
    after(async () => {
      await operator.stop();
      await kube.close();
    });

    it('rescales through the same realizer, in place, and prints the result', async () => {
      const out: string[] = [];
      const code = await scaleSet(
        { flinkdeployment: 'flink/orders', vertex: [`${B}=3`], kubeconfig: kube.kubeconfigPath, journalDir: join(dir, 'journal'), timeout: 20 },
        { out: (s) => out.push(s), err: () => {} },
      );
      const r = JSON.parse(out.join('')) as { outcome: string; message: string; realization: { realized: string } };
      assert.equal(code, 0, r.message);
      assert.equal(r.outcome, 'succeeded');
      assert.equal(r.realization.realized, 'in-place');
      assert.equal(operator.recordsFor('orders').at(-1)?.diff.type, 'SCALE');
      const dry: string[] = [];
      await scaleSet({ flinkdeployment: 'flink/orders', vertex: [`${B}=3`], kubeconfig: kube.kubeconfigPath, dryRun: true, journalDir: dir, timeout: 5 }, { out: (s) => dry.push(s), err: () => {} });
      assert.equal(JSON.parse(dry.join('')), null, 'already at the target: nothing to patch');
    });
  });
});
