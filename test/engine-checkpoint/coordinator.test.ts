import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isFlowpilotError, type FlowpilotError } from '../../common/errors.ts';
import { parseCheckpointConfig } from '../../engine/checkpoint/config.ts';
import { CheckpointCoordinator, type CheckpointTrigger } from '../../engine/checkpoint/coordinator.ts';
import { writeSubtaskState } from '../../engine/checkpoint/state-files.ts';
import { CheckpointStorage, loadCheckpoint } from '../../engine/checkpoint/storage.ts';
import { ManualTimers } from '../../engine/checkpoint/timers.ts';
import { checkpointingStatistics, checkpointConfig } from '../../engine/rest/views-checkpoints.ts';
import { countingSnapshots, graph, JOB_ID, vertex } from './support.ts';

const source = vertex({ name: 'source', parallelism: 1 });
const counter = vertex({ name: 'counter', parallelism: 2 });
const g = graph([source, counter]);
const keys = new Map(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));

/** Lets pending fs work and promise chains run until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Setup {
  root: string;
  timers: ManualTimers;
  coord: CheckpointCoordinator;
  triggers: CheckpointTrigger[];
  events: string[];
  thresholdErrors: FlowpilotError[];
  /** Every subtask snapshots with real state files and acknowledges, as TaskManagers do. */
  ackAll(tr: CheckpointTrigger, skip?: string): Promise<void>;
}

async function setup(t: TestContext, conf: Record<string, string> = {}, autoAck = true): Promise<Setup> {
  const root = await mkdtemp(path.join(tmpdir(), 'fp-coord-'));
  const inflight = new Set<Promise<void>>();
  // One hook, in this order: no new triggers, let running acknowledgements finish, then remove the files.
  t.after(async () => {
    coord.stop();
    coord.abortPending();
    await Promise.allSettled([...inflight]);
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  });
  const config = parseCheckpointConfig({
    'execution.checkpointing.interval': '100 ms',
    'execution.checkpointing.dir': `file:${root}/chk`,
    'execution.checkpointing.savepoint-dir': `${root}/sp`,
    ...conf,
  });
  const storage = new CheckpointStorage({ checkpointDir: config.checkpointDir, savepointDir: config.savepointDir, allowedRoots: config.allowedRoots });
  const timers = new ManualTimers();
  const triggers: CheckpointTrigger[] = [];
  const events: string[] = [];
  const thresholdErrors: FlowpilotError[] = [];
  const ackAll = async (tr: CheckpointTrigger, skip?: string) => {
    for (const v of g.vertices) {
      const snaps = v === counter ? countingSnapshots(v, keys, tr.checkpointId) : [{ checkpointId: tr.checkpointId, operators: [] }];
      for (let i = 0; i < v.parallelism; i++) {
        if (skip === `${v.name}#${i}`) continue;
        const handle = await writeSubtaskState(tr.dir, v.id, i, snaps[i]!);
        coord.acknowledge(tr.checkpointId, v.id, i, handle);
      }
    }
  };
  const coord: CheckpointCoordinator = new CheckpointCoordinator({
    jobId: JOB_ID,
    jobName: 'test job',
    graph: g,
    config,
    storage,
    timers,
    triggerSources: (tr) => {
      triggers.push(tr);
      if (autoAck) {
        const p = ackAll(tr).catch(() => undefined);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    },
    notifyComplete: (id, kind) => {
      const dir = triggers.find((x) => x.checkpointId === id)!.dir;
      events.push(`complete:${id}:${kind}:metadata=${existsSync(path.join(dir, '_metadata'))}`);
    },
    notifyAborted: (id, reason) => events.push(`aborted:${id}:${reason}`),
    onFailureThresholdExceeded: (err) => thresholdErrors.push(err),
  });
  return { root, timers, coord, triggers, events, thresholdErrors, ackAll };
}

describe('CheckpointCoordinator periodic checkpoints', () => {
  it('triggers every interval, writes _metadata before telling tasks, and keeps num-retained checkpoints', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.num-retained': '2' });
    s.coord.start();
    for (let n = 1; n <= 4; n++) {
      s.timers.advance(100);
      await until(() => s.events.length === n, `checkpoint ${n}`);
    }
    assert.deepEqual(s.events, [1, 2, 3, 4].map((n) => `complete:${n}:CHECKPOINT:metadata=true`));
    assert.deepEqual(s.triggers.map((x) => x.timestamp - s.triggers[0]!.timestamp), [0, 100, 200, 300]);
    await until(() => !existsSync(path.join(s.root, 'chk', JOB_ID, 'chk-2')), 'retention');
    assert.deepEqual((await readdir(path.join(s.root, 'chk', JOB_ID))).sort(), ['chk-3', 'chk-4']);
    assert.equal(s.coord.latestCompleted()?.checkpointId, 4);
    assert.equal(s.coord.restorePointForFailover(), path.join(s.root, 'chk', JOB_ID, 'chk-4'));
    const loaded = await loadCheckpoint(s.coord.restorePointForFailover()!, { verify: 'full' });
    assert.deepEqual(loaded.metadata.operators.map((o) => [o.operatorId, o.parallelism]), [[source.operators[0]!.id, 1], [counter.operators[0]!.id, 2]]);
    const stats = s.coord.statsView();
    assert.equal(stats.history.find((h) => h.id === 1)?.discarded, true);
    assert.equal(stats.history.find((h) => h.id === 4)?.discarded, false);
  });

  it('never has more than max-concurrent checkpoints in flight and resumes when one completes', async (t) => {
    const s = await setup(t, {}, false);
    s.coord.start();
    s.timers.advance(100);
    await until(() => s.triggers.length === 1, 'first trigger');
    s.timers.advance(1000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.triggers.length, 1, 'no second checkpoint while the first is pending');
    assert.equal(s.coord.metrics().numberOfInProgressCheckpoints, 1);
    await s.ackAll(s.triggers[0]!);
    await until(() => s.events.length === 1, 'completion');
    s.timers.advance(0);
    await until(() => s.triggers.length === 2, 'next trigger right after completion (interval already passed)');
  });

  it('waits min-pause after a checkpoint ends before triggering the next', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.min-pause': '500 ms' });
    s.coord.start();
    s.timers.advance(100);
    await until(() => s.events.length === 1, 'first completion');
    const end = s.timers.now();
    s.timers.advance(499);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.triggers.length, 1);
    s.timers.advance(1);
    await until(() => s.triggers.length === 2, 'second trigger');
    assert.equal(s.triggers[1]!.timestamp - end, 500);
  });

  it('fails an expired checkpoint, counts and reports it, deletes its directory, and goes on', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.timeout': '1 s' }, false);
    s.coord.start();
    s.timers.advance(100);
    await until(() => s.triggers.length === 1, 'trigger');
    await s.ackAll(s.triggers[0]!, 'counter#1');
    s.timers.advance(1000);
    assert.deepEqual(s.events, ['aborted:1:Checkpoint expired before completing.']);
    await until(() => !existsSync(s.triggers[0]!.dir), 'failed checkpoint cleanup');
    // The periodic trigger that fell due while checkpoint 1 was pending runs right after it failed.
    await until(() => s.triggers.length === 2, 'the next checkpoint is triggered');
    const view = s.coord.statsView();
    assert.deepEqual(view.counts, { restored: 0, total: 2, inProgress: 1, completed: 0, failed: 1 });
    assert.equal(view.latestFailed?.failureMessage, 'Checkpoint expired before completing.');
    assert.equal(view.latestFailed?.numAcknowledgedSubtasks, 2);
    assert.equal(view.latestFailed?.endToEndDuration, 1000);
    assert.equal(view.latestFailed?.tasks?.[counter.id]?.status, 'FAILED');
    assert.equal(view.latestFailed?.tasks?.[source.id]?.status, 'COMPLETED');
    assert.equal(s.coord.metrics().numberOfFailedCheckpoints, 1);
    assert.equal(s.thresholdErrors.length, 0, 'no tolerance configured: the job goes on');
  });

  it('declines fail the checkpoint, and exceeding tolerable-failed-checkpoints reports once', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.tolerable-failed-checkpoints': '1' }, false);
    s.coord.start();
    for (let n = 1; n <= 2; n++) {
      s.timers.advance(100);
      await until(() => s.triggers.length === n, `trigger ${n}`);
      s.coord.decline(n, counter.id, 0, 'snapshot failed: disk full');
    }
    assert.equal(s.thresholdErrors.length, 1);
    assert.ok(isFlowpilotError(s.thresholdErrors[0], 'FP_CHECKPOINT_TOLERABLE'));
    assert.match(s.coord.statsView().latestFailed!.failureMessage!, /declined.*disk full/);
  });

  it('never overwrites a completed checkpoint left by an earlier run with the same job id', async (t) => {
    const first = await setup(t);
    first.coord.start();
    first.timers.advance(100);
    await until(() => first.events.length === 1, 'first run completes chk-1');
    first.coord.stop();
    const metaBefore = await readFile(path.join(first.triggers[0]!.dir, '_metadata'));
    // A second coordinator (a new JobManager) over the same directory, job id and config.
    const second = new CheckpointCoordinator({
      jobId: JOB_ID, jobName: 'test job', graph: g, config: first.coord.config,
      storage: new CheckpointStorage({ checkpointDir: first.coord.config.checkpointDir, savepointDir: null, allowedRoots: first.coord.config.allowedRoots }),
      timers: new ManualTimers(), triggerSources: () => undefined, notifyComplete: () => undefined,
    });
    second.start();
    const p = await second.trigger('CHECKPOINT');
    second.stop();
    second.abortPending();
    assert.equal(p.checkpointId, 2);
    assert.deepEqual(await readFile(path.join(first.triggers[0]!.dir, '_metadata')), metaBefore);
  });

  it('rejects acknowledgements for unknown checkpoints, foreign subtasks and duplicates', async (t) => {
    const s = await setup(t, {}, false);
    s.coord.start();
    s.timers.advance(100);
    await until(() => s.triggers.length === 1, 'trigger');
    const tr = s.triggers[0]!;
    const handle = await writeSubtaskState(tr.dir, counter.id, 0, countingSnapshots(counter, keys, 1)[0]!);
    assert.equal(s.coord.acknowledge(99, counter.id, 0, handle), 'UNKNOWN_CHECKPOINT');
    assert.equal(s.coord.acknowledge(1, counter.id, 5, handle), 'UNEXPECTED_TASK');
    assert.equal(s.coord.acknowledge(1, source.id, 0, handle), 'UNEXPECTED_TASK', 'handle of another subtask');
    assert.equal(s.coord.acknowledge(1, counter.id, 0, { ...handle, file: '../escape.state' }), 'UNEXPECTED_TASK');
    assert.equal(s.coord.acknowledge(1, counter.id, 0, handle), 'ACCEPTED');
    assert.equal(s.coord.acknowledge(1, counter.id, 0, handle), 'DUPLICATE');
  });

  it('does not complete a checkpoint whose acknowledged state file is gone', async (t) => {
    const s = await setup(t, {}, false);
    s.coord.start();
    s.timers.advance(100);
    await until(() => s.triggers.length === 1, 'trigger');
    const tr = s.triggers[0]!;
    const { rm } = await import('node:fs/promises');
    const h = await writeSubtaskState(tr.dir, counter.id, 0, countingSnapshots(counter, keys, 1)[0]!);
    await rm(path.join(tr.dir, h.file!));
    s.coord.acknowledge(1, counter.id, 0, h);
    const rest = await writeSubtaskState(tr.dir, counter.id, 1, countingSnapshots(counter, keys, 1)[1]!);
    s.coord.acknowledge(1, counter.id, 1, rest);
    s.coord.acknowledge(1, source.id, 0, await writeSubtaskState(tr.dir, source.id, 0, { checkpointId: 1, operators: [] }));
    await until(() => s.coord.statsView().counts.failed === 1, 'finalize failure');
    assert.match(s.coord.statsView().latestFailed!.failureMessage!, /^Failure to finalize checkpoint/);
    assert.ok(!s.events.some((e) => e.startsWith('complete')));
  });
});

describe('CheckpointCoordinator savepoints', () => {
  it('answers a 32-hex trigger id, reports IN_PROGRESS then COMPLETED with the location', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.interval': '1 h' }, false);
    s.coord.start();
    const { triggerId } = await s.coord.triggerSavepoint({});
    assert.match(triggerId, /^[0-9a-f]{32}$/);
    assert.deepEqual(s.coord.savepointStatus(triggerId), { status: 'IN_PROGRESS' });
    await until(() => s.triggers.length === 1, 'savepoint trigger');
    assert.equal(s.triggers[0]!.kind, 'SAVEPOINT');
    await s.ackAll(s.triggers[0]!);
    await until(() => s.coord.savepointStatus(triggerId)!.status === 'COMPLETED', 'savepoint completion');
    const st = s.coord.savepointStatus(triggerId)!;
    assert.ok('location' in st);
    assert.match(st.location, new RegExp(`^file:${s.root}/sp/savepoint-a1b2c3-[0-9a-f]{12}$`));
    assert.equal(s.coord.statsView().latestSavepoint?.checkpointType, 'SAVEPOINT');
    assert.equal(s.coord.statsView().latestSavepoint?.savepointFormat, 'CANONICAL');
    assert.equal(s.coord.latestCompleted(), null, 'savepoints are not retained checkpoints');
    assert.equal(s.coord.savepointStatus('0'.repeat(32)), undefined);
  });

  it('joins a second identical request, refuses a different one with a conflict, and honours client trigger ids', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.interval': '1 h' }, false);
    s.coord.start();
    const first = await s.coord.triggerSavepoint({ triggerId: 'ab'.repeat(16) });
    assert.equal(first.triggerId, 'ab'.repeat(16));
    assert.deepEqual(await s.coord.triggerSavepoint({}), first, 'same request joins the running one');
    assert.deepEqual(await s.coord.triggerSavepoint({ triggerId: 'ab'.repeat(16) }), first, 'a retry gets its id back');
    await assert.rejects(s.coord.triggerSavepoint({ kind: 'SYNC_SAVEPOINT' }), (e) => isFlowpilotError(e, 'FP_REST_CONFLICT') && e.message.includes(first.triggerId));
    await assert.rejects(s.coord.triggerSavepoint({ targetDirectory: `${s.root}/sp/other` }), (e) => isFlowpilotError(e, 'FP_REST_CONFLICT'));
    await assert.rejects(s.coord.triggerSavepoint({ triggerId: 'nothex' }), (e) => isFlowpilotError(e, 'FP_REST_BAD_REQUEST'));
    await assert.rejects(s.coord.triggerSavepoint({ targetDirectory: '/etc' }), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH'));
    await until(() => s.triggers.length === 1, 'one savepoint trigger');
    await s.ackAll(s.triggers[0]!);
    await until(() => s.coord.savepointStatus(first.triggerId)!.status === 'COMPLETED', 'completion');
    const second = await s.coord.triggerSavepoint({});
    assert.notEqual(second.triggerId, first.triggerId, 'after completion a new request starts a new savepoint');
    await until(() => s.triggers.length === 2, 'the new savepoint is triggered');
  });

  it('reports a failed savepoint as COMPLETED with a failure cause and deletes its directory', async (t) => {
    const s = await setup(t, { 'execution.checkpointing.timeout': '1 s', 'execution.checkpointing.interval': '1 h' }, false);
    s.coord.start();
    const failed = await s.coord.triggerSavepoint({});
    await until(() => s.triggers.length === 1, 'trigger');
    s.timers.advance(1000);
    await until(() => s.coord.savepointStatus(failed.triggerId)!.status === 'COMPLETED', 'failure');
    const st = s.coord.savepointStatus(failed.triggerId)!;
    assert.ok('failure' in st && /expired/.test(st.failure.message));
    await until(() => !existsSync(s.triggers[0]!.dir), 'cleanup of the partial savepoint');
  });

  it('stops periodic checkpoints once a stop-with-savepoint is triggered, and runs its hook before reporting completion', async (t) => {
    const s = await setup(t, {}, false);
    s.coord.start();
    let stopped = false;
    const stop = await s.coord.triggerSavepoint({ kind: 'SYNC_SAVEPOINT', drain: true, afterCompletion: async () => { stopped = true; } });
    await until(() => s.triggers.length === 1, 'stop trigger');
    assert.equal(s.triggers[0]!.drain, true);
    assert.equal(s.triggers[0]!.kind, 'SYNC_SAVEPOINT');
    s.timers.advance(500);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.triggers.length, 1, 'no periodic checkpoint after a stop-with-savepoint was triggered');
    await s.ackAll(s.triggers[0]!);
    await until(() => s.coord.savepointStatus(stop.triggerId)!.status === 'COMPLETED', 'stop completion');
    assert.equal(stopped, true);
  });
});

describe('CheckpointCoordinator statistics', () => {
  it('produces the REST view Flink\'s /checkpoints serves, and the job-scope gauges', async (t) => {
    const s = await setup(t, {}, false);
    s.coord.start();
    assert.equal(s.coord.metrics().lastCheckpointDuration, -1);
    assert.equal(s.coord.metrics().lastCheckpointExternalPath, 'n/a');
    s.timers.advance(100);
    await until(() => s.triggers.length === 1, 'trigger');
    const inProgress = checkpointingStatistics(s.coord.statsView()) as { history: Array<Record<string, unknown>> };
    assert.equal(inProgress.history[0]!.className, 'in_progress');
    assert.equal(inProgress.history[0]!.num_subtasks, 3);
    s.timers.advance(30);
    await s.ackAll(s.triggers[0]!);
    await until(() => s.events.length === 1, 'completion');
    const json = checkpointingStatistics(s.coord.statsView()) as Record<string, any>;
    assert.deepEqual(json.counts, { restored: 0, total: 1, in_progress: 0, completed: 1, failed: 0 });
    assert.deepEqual(Object.keys(json.summary).sort(), ['alignment_buffered', 'checkpointed_size', 'end_to_end_duration', 'persisted_data', 'processed_data', 'state_size']);
    const c = json.latest.completed;
    assert.equal(c.className, 'completed');
    assert.equal(c.checkpoint_type, 'CHECKPOINT');
    assert.equal(c.end_to_end_duration, 30);
    assert.equal(c.num_acknowledged_subtasks, 3);
    assert.ok(c.state_size > 0);
    assert.equal(c.external_path, `file:${path.join(s.root, 'chk', JOB_ID, 'chk-1')}`);
    assert.equal(json.summary.state_size.max, c.state_size);
    assert.equal(json.latest.savepoint, null);
    assert.equal(json.history.length, 1);
    const m = s.coord.metrics();
    assert.equal(m.lastCheckpointDuration, 30);
    assert.equal(m.lastCheckpointSize, c.state_size);
    assert.equal(m.numberOfCompletedCheckpoints, 1);
    assert.equal(m.totalNumberOfCheckpoints, 1);
    assert.equal(m.lastCompletedCheckpointId, 1);
    assert.equal(m.lastCheckpointRestoreTimestamp, -1);
    const cfg = checkpointConfig(s.coord.configView()) as Record<string, unknown>;
    assert.equal(cfg.mode, 'exactly_once');
    assert.equal(cfg.interval, 100);
    assert.equal(cfg.timeout, 600000);
    assert.deepEqual(cfg.externalization, { enabled: true, delete_on_cancellation: true });
  });

  it('records a restore and continues checkpoint ids after the restored one', async (t) => {
    const s = await setup(t);
    const loc = await (async () => {
      s.coord.start();
      s.timers.advance(100);
      await until(() => s.events.length === 1, 'completion');
      return s.coord.latestCompleted()!.location;
    })();
    const loaded = await loadCheckpoint(loc.dir);
    const again = await setup(t);
    again.coord.recordRestore({ ...loaded, metadata: { ...loaded.metadata, checkpointId: 41 } }, 12345);
    again.coord.start();
    again.timers.advance(100);
    await until(() => again.triggers.length === 1, 'trigger after restore');
    assert.equal(again.triggers[0]!.checkpointId, 42);
    const json = checkpointingStatistics(again.coord.statsView()) as Record<string, any>;
    assert.deepEqual(json.latest.restored, { id: 41, restore_timestamp: 12345, is_savepoint: false, external_path: loaded.externalPath });
    assert.equal(json.counts.restored, 1);
    assert.equal(again.coord.metrics().lastCheckpointRestoreTimestamp, 12345);
  });
});
