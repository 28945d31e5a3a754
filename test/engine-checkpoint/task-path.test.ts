import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SubtaskSnapshot, TaskInvokable } from '../../engine/contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../../engine/keygroups/key-groups.ts';
import { HeapKeyedStateBackend } from '../../engine/state/keyed-backend.ts';
import { BarrierAligner } from '../../engine/checkpoint/barrier-aligner.ts';
import { parseCheckpointConfig } from '../../engine/checkpoint/config.ts';
import { CheckpointCoordinator, type CheckpointTrigger } from '../../engine/checkpoint/coordinator.ts';
import { assignRestoreState, readSubtaskRestore } from '../../engine/checkpoint/restore.ts';
import { CheckpointStorage, loadCheckpoint } from '../../engine/checkpoint/storage.ts';
import { barrierOptions, SubtaskCheckpointer, type BarrierOptions } from '../../engine/checkpoint/subtask-checkpointer.ts';
import { ManualTimers } from '../../engine/checkpoint/timers.ts';
import { graph, JOB_ID, tempDir, vertex } from './support.ts';

/** A keyed running count, the way a keyed operator chain keeps it: a real heap backend per subtask. */
class CountingTask implements TaskInvokable {
  readonly backend: HeapKeyedStateBackend;
  readonly opId: string;
  committed: number[] = [];
  failSnapshots = false;
  constructor(opId: string, maxP: number, p: number, i: number) {
    this.opId = opId;
    this.backend = new HeapKeyedStateBackend(computeKeyGroupRangeForOperatorIndex(maxP, p, i), maxP, () => 0);
  }
  count(key: string): number | undefined {
    this.backend.setCurrentKey(key);
    return this.backend.getValueState<number>('count').value();
  }
  processBatch(_input: number, _channel: number, records: unknown[]): void {
    const st = this.backend.getValueState<number>('count');
    for (const key of records as string[]) {
      this.backend.setCurrentKey(key);
      st.update((st.value() ?? 0) + 1);
    }
  }
  processWatermark(): void {}
  async endInput(): Promise<void> {}
  async snapshotState(checkpointId: number): Promise<SubtaskSnapshot> {
    if (this.failSnapshots) throw new Error('state too large');
    return { checkpointId, operators: [{ operatorId: this.opId, keyGroups: this.backend.snapshot(), operatorState: [], unionState: [] }] };
  }
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    this.committed.push(checkpointId);
  }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('the task side of a checkpoint', () => {
  it('aligns two input channels, snapshots exactly the records before the barrier, writes asynchronously, and commits after completion', async (t) => {
    const root = await tempDir(t);
    const v = vertex({ name: 'count', parallelism: 1 });
    const g = graph([v]);
    const config = parseCheckpointConfig({ 'execution.checkpointing.interval': '1 h', 'execution.checkpointing.dir': root });
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: config.allowedRoots });
    const task = new CountingTask(v.operators[0]!.id, 128, 1, 0);
    const triggers: CheckpointTrigger[] = [];
    const coord = new CheckpointCoordinator({
      jobId: JOB_ID, jobName: 'j', graph: g, config, storage, timers: new ManualTimers(),
      triggerSources: (tr) => triggers.push(tr),
      notifyComplete: (id) => void task.notifyCheckpointComplete(id),
    });
    const checkpointer = new SubtaskCheckpointer({
      vertexId: v.id, subtaskIndex: 0,
      acknowledge: (id, handle) => coord.acknowledge(id, v.id, 0, handle),
      decline: (id, reason) => coord.decline(id, v.id, 0, reason),
    });
    coord.start();
    const pending = await coord.trigger('CHECKPOINT');
    const opts = barrierOptions(triggers[0]!);
    // Two upstream channels: "a" twice then the barrier on channel 0; "b" once, the barrier, then "b" again on channel 1.
    type E = { rec: string } | { barrier: BarrierOptions };
    const channels: E[][] = [
      [{ rec: 'a' }, { rec: 'a' }, { barrier: opts }, { rec: 'a' }],
      [{ rec: 'b' }, { rec: 'b' }, { rec: 'b' }, { barrier: opts }, { rec: 'b' }],
    ];
    const aligner = new BarrierAligner(2);
    let forwarded = 0;
    // The input loop: round-robin over channels that are not blocked.
    for (let progress = true; progress; ) {
      progress = false;
      for (let ch = 0; ch < 2; ch++) {
        if (aligner.isBlocked(ch) || channels[ch]!.length === 0) continue;
        const e = channels[ch]!.shift()!;
        progress = true;
        if ('rec' in e) {
          task.processBatch(0, ch, [e.rec]);
          continue;
        }
        for (const action of aligner.onBarrier(ch, e.barrier.checkpointId)) {
          if (action.type !== 'snapshot') continue;
          await checkpointer.checkpoint(task, e.barrier, { alignmentDurationNs: action.alignmentDurationNs });
          forwarded++; // the runtime forwards the barrier on every output here, then resumes
        }
      }
    }
    assert.equal(forwarded, 1);
    assert.deepEqual([task.count('a'), task.count('b')], [3, 4], 'records after the barrier were processed too');
    const completed = await pending.completion;
    assert.deepEqual(task.committed, [1], 'the sink side commits only after completion');
    const loaded = await loadCheckpoint(completed.location.dir, { verify: 'full' });
    const restoredTask = new CountingTask(v.operators[0]!.id, 128, 1, 0);
    const plan = assignRestoreState(loaded, g, { allowNonRestoredState: false }).subtasks[v.id]![0]!;
    restoredTask.backend.restore((await readSubtaskRestore(plan)).operators.get(v.operators[0]!.id)!.keyGroups);
    assert.deepEqual([restoredTask.count('a'), restoredTask.count('b')], [2, 3], 'the snapshot holds exactly the records before barrier 1');
    coord.stop();
  });

  it('declines when the snapshot fails, and the checkpoint fails without stopping the task', async (t) => {
    const root = await tempDir(t);
    const v = vertex({ name: 'count', parallelism: 1 });
    const config = parseCheckpointConfig({ 'execution.checkpointing.interval': '1 h', 'execution.checkpointing.dir': root });
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: config.allowedRoots });
    const triggers: CheckpointTrigger[] = [];
    const coord = new CheckpointCoordinator({
      jobId: JOB_ID, jobName: 'j', graph: graph([v]), config, storage, timers: new ManualTimers(),
      triggerSources: (tr) => triggers.push(tr), notifyComplete: () => undefined,
    });
    const task = new CountingTask(v.operators[0]!.id, 128, 1, 0);
    task.failSnapshots = true;
    const checkpointer = new SubtaskCheckpointer({
      vertexId: v.id, subtaskIndex: 0,
      acknowledge: (id, handle) => coord.acknowledge(id, v.id, 0, handle),
      decline: (id, reason) => coord.decline(id, v.id, 0, reason),
    });
    coord.start();
    const pending = await coord.trigger('CHECKPOINT');
    await checkpointer.checkpoint(task, barrierOptions(triggers[0]!));
    await assert.rejects(pending.completion, /declined.*state too large/);
    await until(() => coord.statsView().counts.failed === 1, 'failure recorded');
    task.processBatch(0, 0, ['x']);
    assert.equal(task.count('x'), 1);
    coord.stop();
  });
});
