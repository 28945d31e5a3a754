import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SubtaskSnapshot } from '../../engine/contracts/task.ts';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../engine/keygroups/key-groups.ts';
import { HeapKeyedStateBackend } from '../../engine/state/keyed-backend.ts';
import { decodeState, encodeState } from '../../engine/state/serde.ts';
import { CheckpointStorage, loadCheckpoint } from '../../engine/checkpoint/storage.ts';
import { assignRestoreState, readSubtaskRestore } from '../../engine/checkpoint/restore.ts';
import { countingSnapshots, graph, JOB_ID, tempDir, vertex, writeSnapshot } from './support.ts';

describe('restore at a new parallelism through real savepoints', () => {
  it('keeps every key group exactly once and every count right through 2 → 4 → 1 → 3', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: root, allowedRoots: [root] });
    const keys = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    const expected = new Map(keys.map((k, i) => [k, i % 7]));
    const first = vertex({ name: 'counter', parallelism: 2 });
    let loc = await storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT');
    await writeSnapshot(storage, loc, graph([first]), new Map([[first.id, countingSnapshots(first, expected, 1)]]));
    let checkpointId = 1;
    let previousP = 2;
    const groupsWithState = new Set(keys.map((k) => assignToKeyGroup(k, 128)));

    for (const p of [4, 1, 3]) {
      const v = vertex({ name: 'counter', parallelism: p });
      const opId = v.operators[0]!.id;
      const loaded = await loadCheckpoint(loc.dir, { verify: 'full', allowedRoots: [root] });
      const assignment = assignRestoreState(loaded, graph([v]), { allowNonRestoredState: false });
      const plans = assignment.subtasks[v.id]!;
      assert.equal(plans.length, p);
      const seenGroups: number[] = [];
      const opEntries: string[] = [];
      const snapshots: SubtaskSnapshot[] = [];
      checkpointId++;
      for (let i = 0; i < p; i++) {
        const range = computeKeyGroupRangeForOperatorIndex(128, p, i);
        assert.deepEqual(plans[i]!.keyGroupRange, range);
        const restored = await readSubtaskRestore(plans[i]!);
        const op = restored.operators.get(opId)!;
        for (const kg of op.keyGroups.keys()) {
          assert.ok(kg >= range.start && kg <= range.end, `p=${p} subtask ${i} got key group ${kg} outside ${range.start}..${range.end}`);
          seenGroups.push(kg);
        }
        for (const e of op.operatorState) opEntries.push(decodeState<{ offset: string }>(e).offset);
        const union = op.unionState.map((u) => decodeState<{ u: number }>(u).u).sort((a, b) => a - b);
        assert.deepEqual(union, [...Array(previousP).keys()], `union state of subtask ${i} at p=${p}: every old subtask's entry`);
        // Process: every key this subtask owns counts one more, then snapshot again.
        const b = new HeapKeyedStateBackend(range, 128, () => 0);
        b.restore(op.keyGroups);
        const count = b.getValueState<number>('count');
        for (const k of keys) {
          const kg = assignToKeyGroup(k, 128);
          if (kg < range.start || kg > range.end) continue; // another subtask's key
          b.setCurrentKey(k);
          const before = count.value();
          assert.equal(before, expected.get(k), `p=${p}: key ${k} restored with a wrong count`);
          count.update(before! + 1);
        }
        snapshots.push({
          checkpointId,
          operators: [{ operatorId: opId, keyGroups: b.snapshot(), operatorState: op.operatorState, unionState: [encodeState({ u: i })] }],
        });
      }
      assert.equal(seenGroups.length, new Set(seenGroups).size, `p=${p}: a key group was restored twice`);
      assert.deepEqual(new Set(seenGroups), groupsWithState, `p=${p}: key groups lost`);
      assert.deepEqual(opEntries.sort(), ['p0', 'p1'], `p=${p}: operator list state entries must survive exactly once`);
      for (const k of keys) expected.set(k, expected.get(k)! + 1);
      previousP = p;
      loc = await storage.initSavepoint(JOB_ID, checkpointId, 'SAVEPOINT');
      await writeSnapshot(storage, loc, graph([v]), new Map([[v.id, snapshots]]));
    }

    // Final check: restore at 3 and read every count back.
    const v = vertex({ name: 'counter', parallelism: 3 });
    const loaded = await loadCheckpoint(loc.dir);
    const got = new Map<string, number>();
    for (const plan of assignRestoreState(loaded, graph([v]), { allowNonRestoredState: false }).subtasks[v.id]!) {
      const r = await readSubtaskRestore(plan);
      for (const bytes of r.operators.get(v.operators[0]!.id)!.keyGroups.values()) {
        const [tables] = decodeState<[Array<[string, string, Array<[string, number]>]>]>(bytes);
        for (const [, , entries] of tables) for (const [k, c] of entries) {
          assert.ok(!got.has(k), `key ${k} restored twice`);
          got.set(k, c);
        }
      }
    }
    assert.deepEqual(got, expected);
  });
});
