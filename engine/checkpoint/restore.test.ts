import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import type { JobGraph, JobVertexSpec } from '../contracts/job-graph.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import type { CheckpointMetadata, OperatorStateMeta } from './metadata.ts';
import { assignRestoreState } from './restore.ts';
import type { LoadedCheckpoint } from './storage.ts';

const OP_A = 'aa'.repeat(16);
const OP_B = 'bb'.repeat(16);
const OP_GONE = 'cc'.repeat(16);

/** State of one operator at `parallelism`, every key group of its range present, 2 list entries and 1 union entry per subtask. */
function opState(operatorId: string, parallelism: number, maxParallelism: number, withState = true): OperatorStateMeta {
  return {
    operatorId,
    vertexId: 'v',
    parallelism,
    maxParallelism,
    subtasks: Array.from({ length: parallelism }, (_, i) => {
      const r = computeKeyGroupRangeForOperatorIndex(maxParallelism, parallelism, i);
      const kgs = withState ? Array.from({ length: r.end - r.start + 1 }, (_, k) => r.start + k) : [];
      return {
        subtaskIndex: i,
        file: withState ? `f${i}` : null,
        keyGroups: kgs.map((kg, k) => [kg, k * 10, 10, kg] as [number, number, number, number]),
        operatorState: withState ? [[1000, 5, 100 + 2 * i], [1005, 5, 101 + 2 * i]] as Array<[number, number, number]> : [],
        unionState: withState ? [[2000, 1, 900 + i]] as Array<[number, number, number]> : [],
      };
    }),
  };
}

function loaded(operators: OperatorStateMeta[]): LoadedCheckpoint {
  const meta: CheckpointMetadata = {
    checkpointId: 9, jobId: 'ab'.repeat(16), jobName: 'j', kind: 'SAVEPOINT', formatType: 'CANONICAL',
    triggerTimestamp: 1, completionTimestamp: 2, files: [], operators,
  };
  return { dir: '/sp/savepoint-ababab-000000000000', externalPath: 'file:/sp/savepoint-ababab-000000000000', metadata: meta };
}

function vertex(ops: string[], parallelism: number, maxParallelism = 128, configured = false): JobVertexSpec {
  return {
    id: 'f'.repeat(32), name: 'Counter', parallelism, maxParallelism, maxParallelismConfigured: configured,
    operators: ops.map((id) => ({ id, uid: id, name: id, kind: 'map' })), inputs: [], isSource: false, isSink: false,
  };
}

const g = (v: JobVertexSpec): JobGraph => ({ jobName: 'j', vertices: [v], config: {} });

describe('assignRestoreState', () => {
  for (const [from, to] of [[2, 4], [4, 1], [1, 3], [3, 3], [5, 128]] as const) {
    it(`gives each of ${to} subtasks exactly its key groups and deals ${from * 2} list entries once (from ${from})`, () => {
      const a = assignRestoreState(loaded([opState(OP_A, from, 128)]), g(vertex([OP_A], to)), { allowNonRestoredState: false });
      const plans = a.subtasks['f'.repeat(32)]!;
      const kgs: number[] = [];
      const entries: number[] = [];
      plans.forEach((p, i) => {
        const r = computeKeyGroupRangeForOperatorIndex(128, to, i);
        assert.deepEqual(p.keyGroupRange, r);
        const op = p.operators.find((o) => o.operatorId === OP_A);
        for (const kg of op?.keyGroups ?? []) {
          assert.ok(kg.keyGroup >= r.start && kg.keyGroup <= r.end);
          assert.equal(kg.read.crc, kg.keyGroup, 'the chunk read is the one indexed for that key group');
          kgs.push(kg.keyGroup);
        }
        entries.push(...(op?.operatorState ?? []).map((c) => c.crc));
        assert.deepEqual((op?.unionState ?? []).map((c) => c.crc), Array.from({ length: from }, (_, k) => 900 + k), 'union state goes whole to every subtask');
      });
      assert.deepEqual(kgs, Array.from({ length: 128 }, (_, k) => k), 'every key group once, in order');
      assert.deepEqual(entries.sort((x, y) => x - y), Array.from({ length: from * 2 }, (_, k) => 100 + k));
      if (from === to) {
        plans.forEach((p, i) => assert.deepEqual(p.operators[0]!.operatorState.map((c) => c.crc), [100 + 2 * i, 101 + 2 * i], 'unchanged parallelism keeps each subtask\'s own list state'));
      }
    });
  }

  it('refuses a parallelism above the state\'s maxParallelism', () => {
    assert.throws(
      () => assignRestoreState(loaded([opState(OP_A, 2, 128)]), g(vertex([OP_A], 129, 256)), { allowNonRestoredState: false }),
      (e) => isFlowpilotError(e, 'FP_RESTORE_PARALLELISM') && /lower than the configured parallelism \(129\)/.test(e.message) && e.details?.httpStatus === 400,
    );
  });

  it('adopts the state\'s maxParallelism when the job\'s was auto-configured, and refuses a user-set change', () => {
    const a = assignRestoreState(loaded([opState(OP_A, 2, 256)]), g(vertex([OP_A], 3, 128, false)), { allowNonRestoredState: false });
    assert.equal(a.maxParallelism['f'.repeat(32)], 256);
    assert.deepEqual(a.subtasks['f'.repeat(32)]![2]!.keyGroupRange, computeKeyGroupRangeForOperatorIndex(256, 3, 2));
    assert.throws(
      () => assignRestoreState(loaded([opState(OP_A, 2, 256)]), g(vertex([OP_A], 3, 128, true)), { allowNonRestoredState: false }),
      (e) => isFlowpilotError(e, 'FP_RESTORE_MAX_PARALLELISM') && /changed/.test(e.message),
    );
  });

  it('refuses state of an operator the job no longer has unless allowNonRestoredState', () => {
    const state = loaded([opState(OP_A, 2, 128), opState(OP_GONE, 2, 128)]);
    assert.throws(
      () => assignRestoreState(state, g(vertex([OP_A], 2)), { allowNonRestoredState: false }),
      (e) => isFlowpilotError(e, 'FP_RESTORE_NON_RESTORED') && e.message.includes(OP_GONE) && /allowNonRestoredState/.test(e.message),
    );
    const a = assignRestoreState(state, g(vertex([OP_A], 2)), { allowNonRestoredState: true });
    assert.deepEqual(a.nonRestored, [OP_GONE]);
  });

  it('skips an operator that vanished but held no state, and starts new operators empty', () => {
    const a = assignRestoreState(loaded([opState(OP_A, 2, 128), opState(OP_GONE, 2, 128, false)]), g(vertex([OP_A, OP_B], 2)), { allowNonRestoredState: false });
    assert.deepEqual(a.nonRestored, []);
    for (const p of a.subtasks['f'.repeat(32)]!) assert.deepEqual(p.operators.map((o) => o.operatorId), [OP_A]);
  });

  it('matches operators by id even when chaining moved them to another vertex', () => {
    const other: JobVertexSpec = { ...vertex([OP_A], 2), id: 'e'.repeat(32) };
    const a = assignRestoreState(loaded([opState(OP_A, 4, 128)]), g(other), { allowNonRestoredState: false });
    assert.equal(a.subtasks['e'.repeat(32)]!.flatMap((p) => p.operators[0]!.keyGroups).length, 128);
  });
});
