import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../common/log.ts';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { CheckpointOptions, SubtaskSnapshot } from '../contracts/task.ts';
import { writeSubtaskState } from '../checkpoint/state-files.ts';
import { loadCheckpoint } from '../checkpoint/storage.ts';
import { CheckpointCoordinator, type CheckpointHost } from './checkpoint-coordinator.ts';

const JOB_ID = 'ab'.repeat(16);
const VERTEX = 'cd'.repeat(16);
const OPERATOR = 'ef'.repeat(16);

const graph: JobGraph = {
  jobId: JOB_ID,
  jobName: 'coordinator test',
  config: {},
  vertices: [
    {
      id: VERTEX,
      name: 'Source: s -> Keyed',
      parallelism: 2,
      maxParallelism: 8,
      maxParallelismConfigured: false,
      operators: [{ id: OPERATOR, uid: 'keyed', name: 'Keyed', kind: 'keyedProcess' }],
      inputs: [],
      isSource: true,
      isSink: true,
    },
  ],
};

interface Trigger {
  checkpointId: number;
  options: CheckpointOptions;
}

/** A coordinator over a real directory; the test plays the TaskManagers' part with the real state-file writer. */
function setup(config: Record<string, string> = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'fp-coord-'));
  const triggers: Trigger[] = [];
  const failures: Error[] = [];
  const host: CheckpointHost = {
    jobId: JOB_ID,
    executionId: 'exec-1',
    jobName: graph.jobName,
    graph: () => graph,
    vertexParallelism: () => new Map([[VERTEX, 2]]),
    canCheckpoint: () => true,
    taskManagers: () => ['tm-1'],
    send: (_tm, msg) => {
      if (msg.t === 'triggerCheckpoint') triggers.push(msg as unknown as Trigger);
    },
    failJob: (err) => failures.push(err),
  };
  const coord = new CheckpointCoordinator(host, config, path.join(root, JOB_ID), silentLogger());
  return { root, coord, triggers, failures, cleanup: () => { coord.stop(); rmSync(root, { recursive: true, force: true }); } };
}

function snapshot(checkpointId: number, subtask: number): SubtaskSnapshot {
  const keyGroups = new Map<number, Uint8Array>();
  for (let kg = subtask * 4; kg < subtask * 4 + 4; kg++) keyGroups.set(kg, new Uint8Array(1000 + kg).fill(kg));
  return { checkpointId, operators: [{ operatorId: OPERATOR, keyGroups, operatorState: [], unionState: [] }] };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Triggers a checkpoint and returns where the coordinator told the tasks to write. */
async function trigger(s: ReturnType<typeof setup>): Promise<Trigger> {
  const id = s.coord.trigger(true);
  assert.ok(id !== null);
  await until(() => s.triggers.some((t) => t.checkpointId === id), `the trigger of checkpoint ${id}`);
  return s.triggers.find((t) => t.checkpointId === id)!;
}

/** Both subtasks write their files (as TaskManagers do) and acknowledge with the handles. */
async function completeOne(s: ReturnType<typeof setup>): Promise<Trigger> {
  const t = await trigger(s);
  for (const i of [0, 1]) s.coord.onAcknowledge('exec-1', VERTEX, i, t.checkpointId, await writeSubtaskState(t.options.dir, VERTEX, i, snapshot(t.checkpointId, i)));
  await until(() => s.coord.latest?.id === t.checkpointId, `checkpoint ${t.checkpointId} to complete`);
  return t;
}

async function failOne(s: ReturnType<typeof setup>): Promise<Trigger> {
  const t = await trigger(s);
  s.coord.onAcknowledge('exec-1', VERTEX, 0, t.checkpointId, await writeSubtaskState(t.options.dir, VERTEX, 0, snapshot(t.checkpointId, 0)));
  s.coord.onAcknowledge('exec-1', VERTEX, 1, t.checkpointId, null, 'could not write the state file: EFBIG');
  await until(() => !s.coord.inProgress, `checkpoint ${t.checkpointId} to fail`);
  return t;
}

describe('checkpoint coordinator with TaskManager-written state', () => {
  it('names an existing chk-N directory in the trigger and writes only _metadata next to the files the tasks wrote', async (t) => {
    const s = setup({ 'state.checkpoints.num-retained': '1' });
    t.after(s.cleanup);
    const first = await trigger(s);
    assert.equal(first.options.kind, 'CHECKPOINT');
    assert.equal(path.basename(first.options.dir), `chk-${first.checkpointId}`);
    assert.ok(existsSync(first.options.dir), 'the directory exists before any task writes');
    const handles = await Promise.all([0, 1].map((i) => writeSubtaskState(first.options.dir, VERTEX, i, snapshot(first.checkpointId, i))));
    handles.forEach((h, i) => s.coord.onAcknowledge('exec-1', VERTEX, i, first.checkpointId, h));
    await until(() => s.coord.latest?.id === first.checkpointId, 'completion');
    const files = readdirSync(first.options.dir).sort();
    assert.deepEqual(files, ['_metadata', ...handles.map((h) => h.file!)].sort());
    const loaded = await loadCheckpoint(first.options.dir, { verify: 'full' });
    assert.equal(loaded.metadata.files.reduce((n, f) => n + f.size, 0), handles[0]!.size + handles[1]!.size);
    assert.equal(s.coord.metrics().lastCheckpointSize, handles[0]!.size + handles[1]!.size);
    // Retention of one: the next completed checkpoint removes this one's directory.
    const second = await completeOne(s);
    assert.ok(existsSync(path.join(second.options.dir, '_metadata')));
    await until(() => !existsSync(first.options.dir), 'the retained-out checkpoint directory to be removed');
  });

  it('removes a declined checkpoint directory, and a task writing into it later fails cleanly', async (t) => {
    const s = setup();
    t.after(s.cleanup);
    const failed = await failOne(s);
    assert.equal(s.coord.counts.failed, 1);
    assert.match(s.coord.latestFailed?.failureMessage ?? '', /declined the checkpoint: could not write the state file: EFBIG/);
    await until(() => !existsSync(failed.options.dir), 'the declined checkpoint directory to be removed');
    await assert.rejects(writeSubtaskState(failed.options.dir, VERTEX, 1, snapshot(failed.checkpointId, 1)), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    assert.ok(!existsSync(failed.options.dir), 'a late write does not bring the directory back');
    assert.equal(s.failures.length, 0, 'without tolerable-failed-checkpoints the job goes on');
  });

  it('fails the job over when more checkpoints fail in a row than tolerated, and a completed checkpoint resets the count', async (t) => {
    const s = setup({ 'execution.checkpointing.tolerable-failed-checkpoints': '1' });
    t.after(s.cleanup);
    assert.equal(s.coord.config().tolerableFailedCheckpoints, 1);
    await failOne(s);
    await completeOne(s);
    await failOne(s);
    assert.equal(s.failures.length, 0, 'fail, complete, fail: never two in a row');
    await failOne(s);
    assert.equal(s.failures.length, 1, 'the second failure in a row exceeds a tolerance of one');
    assert.match(s.failures[0]!.message, /Exceeded checkpoint tolerable failure threshold/);
    s.coord.abortPending('the job is failing over');
    await failOne(s);
    assert.equal(s.failures.length, 1, 'the count starts again after the failover');
  });

  it('lets a savepoint overtake a periodic checkpoint in flight, without holding the abort against the tolerable limit', async (t) => {
    const s = setup({ 'execution.checkpointing.tolerable-failed-checkpoints': '0' });
    t.after(s.cleanup);
    const periodic = await trigger(s);
    const results: Array<{ location: string } | { error: string }> = [];
    const target = path.join(s.root, 'savepoints');
    const id = s.coord.trigger(true, { targetDirectory: target, done: (r) => results.push(r) });
    assert.equal(id, periodic.checkpointId + 1, 'the savepoint starts at once');
    assert.equal(s.coord.counts.failed, 1);
    assert.match(s.coord.latestFailed?.failureMessage ?? '', /subsumed by a savepoint/);
    assert.equal(s.failures.length, 0, 'the aborted checkpoint does not count toward the tolerable failures');
    await until(() => s.triggers.some((x) => x.checkpointId === id), 'the savepoint trigger');
    const sp = s.triggers.find((x) => x.checkpointId === id)!;
    assert.equal(sp.options.kind, 'SAVEPOINT');
    // A late acknowledgement of the aborted checkpoint changes nothing.
    s.coord.onAcknowledge('exec-1', VERTEX, 0, periodic.checkpointId, null, 'late');
    for (const i of [0, 1]) s.coord.onAcknowledge('exec-1', VERTEX, i, id!, await writeSubtaskState(sp.options.dir, VERTEX, i, snapshot(id!, i)));
    await until(() => results.length === 1, 'the savepoint to complete');
    assert.ok('location' in results[0]!, JSON.stringify(results[0]));
    assert.equal(s.failures.length, 0);
    const second = s.coord.trigger(true, { targetDirectory: target, done: () => undefined });
    assert.equal(second, id! + 1);
    assert.equal(s.coord.trigger(true), null, 'a periodic checkpoint never aborts a savepoint');
    assert.equal(s.coord.trigger(true, { targetDirectory: target, done: () => undefined }), null, 'nor does another savepoint');
  });
});
