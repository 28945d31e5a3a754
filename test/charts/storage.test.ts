/**
 * The engine's durable storage in the chart: by default one PVC holds the checkpoints, the
 * savepoints and the HA store's files, mounted at the same path on the JobManager and on every
 * TaskManager (TaskManagers write their subtasks' state files into the checkpoint directory the
 * JobManager names), so a deleted JobManager pod recovers its jobs. An existing claim or a
 * StorageClass can be named; emptyDir stays available and is flagged in the notes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiVersionArgs, helmBinaries, missingHelm, runHelm, chartDir, template, type K8sObject } from './helm.ts';

const skip = missingHelm();

interface Container { name: string; args?: string[]; volumeMounts?: Array<{ name: string; mountPath: string }> }
interface Volume { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: Record<string, never> }
interface PodSpec { containers: Container[]; volumes?: Volume[] }

function deployment(objs: K8sObject[], suffix: string): PodSpec {
  const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith(suffix));
  assert.ok(d, `a Deployment named *${suffix}`);
  return (d as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

/** The claim a path inside a container lives on, or what else backs it. */
function backing(pod: PodSpec, container: string, path: string): string {
  const c = pod.containers.find((x) => x.name === container);
  assert.ok(c, `container ${container}`);
  const mount = (c.volumeMounts ?? []).filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return `no volume (${path} is in the container's own file system)`;
  const v = pod.volumes?.find((x) => x.name === mount.name);
  if (v?.persistentVolumeClaim) return `pvc:${v.persistentVolumeClaim.claimName}`;
  return v?.emptyDir ? `emptyDir:${mount.name}` : `volume:${mount.name}`;
}

/** The value after a flag, and every -D/--define key=value. */
function argAfter(c: Container, flag: string): string | undefined {
  const args = c.args ?? [];
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
function defines(c: Container): Map<string, string> {
  const out = new Map<string, string>();
  (c.args ?? []).forEach((a, i, all) => {
    if (all[i - 1] !== '--define' && all[i - 1] !== '-D') return;
    const eq = a.indexOf('=');
    out.set(a.slice(0, eq), a.slice(eq + 1));
  });
  return out;
}

for (const helm of helmBinaries()) {
  describe(`the chart's engine storage under ${helm.label}`, { skip: skip ?? false }, () => {
    it('puts the checkpoints, the savepoints and the HA files on one kept ReadWriteMany PVC, mounted by the JobManager and every TaskManager, by default', () => {
      const objs = template(helm, apiVersionArgs);
      const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim') as unknown as { metadata: { name: string; annotations?: Record<string, string> }; spec: { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } } };
      assert.ok(pvc, 'a PersistentVolumeClaim with the default values');
      assert.equal(pvc.metadata.name, 'rel-flowpilot-state');
      assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
      assert.equal(pvc.spec.storageClassName, undefined, 'the cluster\'s default StorageClass');
      assert.equal(pvc.spec.resources.requests.storage, '10Gi');
      assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');

      const jmPod = deployment(objs, '-jobmanager');
      const jm = jmPod.containers.find((c) => c.name === 'jobmanager')!;
      const d = defines(jm);
      assert.equal(d.get('high-availability.type'), 'kubernetes', 'HA is on by default');
      const stateDir = argAfter(jm, '--state-dir')!;
      // Checkpoints go to <state.dir>/checkpoints unless a checkpoint directory is configured.
      const checkpoints = d.get('execution.checkpointing.dir') ?? d.get('state.checkpoints.dir') ?? `${stateDir}/checkpoints`;
      const savepoints = d.get('state.savepoints.dir') ?? `${stateDir}/savepoints`;
      for (const [what, path] of [['the HA storageDir', d.get('high-availability.storageDir')!], ['the checkpoints', checkpoints], ['the savepoints', savepoints]] as const) {
        assert.ok(path, what);
        assert.equal(backing(jmPod, 'jobmanager', path), 'pvc:rel-flowpilot-state', `${what} (${path}) on the JobManager`);
      }
      // The TaskManagers write state files into the checkpoint directory: the same claim, at the same path.
      const tmPod = deployment(objs, '-taskmanager');
      assert.equal(backing(tmPod, 'taskmanager', checkpoints), 'pvc:rel-flowpilot-state', 'the checkpoints on the TaskManagers');
      // Their own files (job modules, local state) stay in the pod, never shared between TaskManagers.
      const tmStateDir = argAfter(tmPod.containers.find((c) => c.name === 'taskmanager')!, '--state-dir')!;
      assert.match(backing(tmPod, 'taskmanager', tmStateDir), /^emptyDir:/);
    });

    it('uses an existing claim, or a StorageClass and access mode, when given', () => {
      const existing = template(helm, [...apiVersionArgs, '--set', 'engine.storage.existingClaim=team-flink-state']);
      assert.equal(existing.find((o) => o.kind === 'PersistentVolumeClaim'), undefined, 'no claim of the chart\'s own');
      for (const suffix of ['-jobmanager', '-taskmanager']) {
        assert.equal(deployment(existing, suffix).volumes?.find((v) => v.name === 'state')?.persistentVolumeClaim?.claimName, 'team-flink-state', suffix);
      }
      const classed = template(helm, [...apiVersionArgs, '--set', 'engine.storage.storageClassName=efs', '--set', 'engine.storage.accessModes={ReadWriteOnce}', '--set', 'engine.storage.size=50Gi']);
      const pvc = classed.find((o) => o.kind === 'PersistentVolumeClaim') as unknown as { spec: { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } } };
      assert.equal(pvc.spec.storageClassName, 'efs');
      assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
      assert.equal(pvc.spec.resources.requests.storage, '50Gi');
    });

    it('keeps emptyDir as an explicit choice, with no claim and a warning in the notes', () => {
      const objs = template(helm, [...apiVersionArgs, '--set', 'engine.storage.type=emptyDir']);
      assert.equal(objs.find((o) => o.kind === 'PersistentVolumeClaim'), undefined);
      const jmPod = deployment(objs, '-jobmanager');
      assert.ok(jmPod.volumes?.find((v) => v.name === 'state')?.emptyDir, 'the state volume is an emptyDir');
      // The notes come from `install --dry-run=client`, which helm 3 only runs against a reachable cluster.
      if (!helm.label.startsWith('helm 4')) return;
      const notes = runHelm(helm, ['install', 'rel', chartDir, '--dry-run=client', '--namespace', 'streaming', '--set', 'engine.storage.type=emptyDir']);
      assert.equal(notes.status, 0, notes.output);
      assert.match(notes.output, /WARNING: engine\.storage\.type is emptyDir/);
      const durable = runHelm(helm, ['install', 'rel', chartDir, '--dry-run=client', '--namespace', 'streaming']);
      assert.equal(durable.status, 0, durable.output);
      assert.match(durable.output, /Checkpoints, savepoints and HA files: PVC rel-flowpilot-state at \/data/);
    });
  });
}
