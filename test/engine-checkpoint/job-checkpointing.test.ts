import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { isFlowpilotError } from '../../common/errors.ts';
import type { JobGraph } from '../../engine/contracts/job-graph.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../../engine/keygroups/key-groups.ts';
import type { CheckpointTrigger } from '../../engine/checkpoint/coordinator.ts';
import { JobCheckpointing } from '../../engine/checkpoint/job-checkpointing.ts';
import { writeSubtaskState } from '../../engine/checkpoint/state-files.ts';
import { CheckpointStorage } from '../../engine/checkpoint/storage.ts';
import { ManualTimers } from '../../engine/checkpoint/timers.ts';
import { countingSnapshots, graph, JOB_ID, tempDir, vertex, writeSnapshot } from './support.ts';

const keys = new Map(Array.from({ length: 60 }, (_, i) => [`u${i}`, i]));

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Every key group 0..maxP-1 appears exactly once across the plans of `vertexId`. */
function assertCoversOnce(jc: JobCheckpointing, g: JobGraph, vertexId: string): void {
  const v = g.vertices.find((x) => x.id === vertexId)!;
  const seen: number[] = [];
  for (let i = 0; i < v.parallelism; i++) {
    const plan = jc.restorePlan(vertexId, i)!;
    assert.deepEqual(plan.keyGroupRange, computeKeyGroupRangeForOperatorIndex(v.maxParallelism, v.parallelism, i));
    for (const op of plan.operators) seen.push(...op.keyGroups.map((k) => k.keyGroup));
  }
  assert.equal(seen.length, new Set(seen).size);
}

describe('JobCheckpointing: one job\'s fault tolerance for the JobMaster', () => {
  it('restores a savepoint at a new parallelism adopting its maxParallelism, then fails over and rescales from checkpoints', async (t) => {
    const root = await tempDir(t);
    const cluster = { 'execution.checkpointing.savepoint-dir': path.join(root, 'sp'), 'execution.checkpointing.dir': path.join(root, 'chk') };
    // A savepoint taken at parallelism 2 with maxParallelism 256.
    const old = vertex({ name: 'counter', parallelism: 2, maxParallelism: 256 });
    const spStorage = new CheckpointStorage({ checkpointDir: null, savepointDir: cluster['execution.checkpointing.savepoint-dir'], allowedRoots: [root] });
    const sp = await spStorage.initSavepoint(JOB_ID, 5, 'SAVEPOINT');
    await writeSnapshot(spStorage, sp, graph([old]), new Map([[old.id, countingSnapshots(old, keys, 5)]]));

    const v = vertex({ name: 'counter', parallelism: 3, maxParallelism: 128 });
    const g = { ...graph([v]), config: { 'execution.checkpointing.interval': '100 ms', 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '2' } };
    const timers = new ManualTimers();
    const triggers: CheckpointTrigger[] = [];
    const jc = await JobCheckpointing.create({
      jobId: JOB_ID, jobName: 'j', graph: g, clusterConfig: cluster, defaultCheckpointDir: path.join(root, 'unused'),
      restoreFrom: { path: `file:${sp.dir}`, allowNonRestoredState: false },
      triggerSources: (tr) => triggers.push(tr), notifyComplete: () => undefined, timers,
    });
    t.after(() => jc.executionStopping());
    assert.equal(jc.graph.vertices[0]!.maxParallelism, 256, 'auto-configured maxParallelism adopted from the state');
    assert.equal(g.vertices[0]!.maxParallelism, 128, 'the caller\'s graph is not mutated');
    assertCoversOnce(jc, jc.graph, v.id);
    assert.equal(jc.coordinator.statsView().restored?.id, 5);
    assert.equal(jc.restart.describe(), 'Restart with fixed delay (1000 ms). #2 restart attempts.');

    // Running: one periodic checkpoint completes, acknowledged by the 3 subtasks.
    jc.executionRunning();
    timers.advance(100);
    await until(() => triggers.length === 1, 'trigger');
    assert.equal(triggers[0]!.checkpointId, 6, 'ids continue after the restored savepoint');
    const running = jc.graph.vertices[0]!;
    const snaps = countingSnapshots(running, keys, 6);
    for (let i = 0; i < 3; i++) jc.coordinator.acknowledge(6, v.id, i, await writeSubtaskState(triggers[0]!.dir, v.id, i, snaps[i]!));
    await until(() => jc.coordinator.latestCompleted()?.checkpointId === 6, 'completion');

    // Failover: restart decision, then plans from chk-6.
    jc.executionStopping();
    assert.deepEqual(jc.onFailure(1000), { restart: true, delayMs: 1000, attempt: 1, merged: false });
    assert.equal(await jc.prepareRestore(), path.join(root, 'chk', JOB_ID, 'chk-6'));
    assert.equal(jc.restorePlan(v.id, 0)!.checkpointId, 6);
    assertCoversOnce(jc, jc.graph, v.id);

    // Rescale in place to 5 from the same checkpoint.
    const bigger = { ...g, vertices: [{ ...v, parallelism: 5 }] };
    await jc.prepareRestore(bigger);
    assert.equal(jc.graph.vertices[0]!.parallelism, 5);
    assert.equal(jc.graph.vertices[0]!.maxParallelism, 256);
    assertCoversOnce(jc, jc.graph, v.id);
    assert.equal(jc.coordinator.statsView().counts.restored, 3);
    assert.equal(jc.onFailure(5000).restart, true);
    assert.equal(jc.onFailure(9000).restart, false, 'fixed-delay with 2 attempts gives up at the third failure');
  });

  it('refuses a corrupt savepoint, a path outside the roots and a job that widens its roots, before anything exists', async (t) => {
    const root = await tempDir(t);
    const cluster = { 'execution.checkpointing.savepoint-dir': path.join(root, 'sp') };
    const v = vertex({ name: 'counter', parallelism: 2 });
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: cluster['execution.checkpointing.savepoint-dir'], allowedRoots: [path.join(root, 'sp')] });
    const sp = await storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT');
    await writeSnapshot(storage, sp, graph([v]), new Map([[v.id, countingSnapshots(v, keys, 1)]]));
    const base = { jobId: JOB_ID, jobName: 'j', clusterConfig: cluster, defaultCheckpointDir: path.join(root, 'sp', 'chk'), triggerSources: () => undefined, notifyComplete: () => undefined };
    const ok = await JobCheckpointing.create({ ...base, graph: graph([v]), restoreFrom: { path: sp.dir, allowNonRestoredState: false } });
    assert.ok(ok.restorePlan(v.id, 1));
    const widened = { ...graph([v]), config: { 'flowpilot.savepoint.allowed-roots': '/' } };
    await assert.rejects(JobCheckpointing.create({ ...base, graph: widened, restoreFrom: { path: '/etc', allowNonRestoredState: true } }), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH'));
    const renamed = vertex({ name: 'renamed-operator', parallelism: 2 });
    await assert.rejects(JobCheckpointing.create({ ...base, graph: graph([renamed]), restoreFrom: { path: sp.dir, allowNonRestoredState: false } }), (e) => isFlowpilotError(e, 'FP_RESTORE_NON_RESTORED'));
    // Same size, other bytes: only full verification can tell, and create() uses it.
    const stateFile = path.join(sp.dir, (await readdir(sp.dir)).find((f) => f.endsWith('.state'))!);
    await writeFile(stateFile, Buffer.alloc((await stat(stateFile)).size));
    await assert.rejects(JobCheckpointing.create({ ...base, graph: graph([v]), restoreFrom: { path: sp.dir, allowNonRestoredState: false } }), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT'));
  });
});
