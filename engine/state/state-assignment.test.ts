import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignOperatorState, type StatePart } from './state-assignment.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';

// Two old subtasks of an operator with maxParallelism 8: key groups 0-3 and 4-7.
const parts: StatePart<string>[] = [0, 1].map((s) => ({
  keyGroups: [0, 1, 2, 3].map((k): [number, string] => [s * 4 + k, `kg${s * 4 + k}`]).reverse(),
  operatorState: [`list${s}a`, `list${s}b`],
  unionState: [`union${s}`],
}));

describe('state assignment', () => {
  it('gives each new subtask exactly the key groups of its range, ascending, at any parallelism', () => {
    for (const p of [1, 2, 3, 5, 8]) {
      const seen: number[] = [];
      for (let i = 0; i < p; i++) {
        const r = computeKeyGroupRangeForOperatorIndex(8, p, i);
        const kgs = assignOperatorState(parts, p, 8, i).keyGroups.map(([k]) => k);
        assert.deepEqual(kgs, Array.from({ length: r.end - r.start + 1 }, (_, j) => r.start + j), `p=${p} i=${i}`);
        seen.push(...kgs);
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7], `every key group exactly once at p=${p}`);
    }
  });

  it('keeps operator list state per subtask at the same parallelism and deals it round-robin otherwise', () => {
    assert.deepEqual(assignOperatorState(parts, 2, 8, 1).operatorState, ['list1a', 'list1b']);
    assert.deepEqual([0, 1, 2].map((i) => assignOperatorState(parts, 3, 8, i).operatorState), [['list0a', 'list1b'], ['list0b'], ['list1a']]);
  });

  it('gives union state whole to every subtask', () => {
    for (const i of [0, 1, 2]) assert.deepEqual(assignOperatorState(parts, 3, 8, i).unionState, ['union0', 'union1']);
  });
});
