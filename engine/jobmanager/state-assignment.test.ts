import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import type { SubtaskSnapshotWire } from '../runtime/deployment.ts';
import { assignSubtaskState } from './state-assignment.ts';

const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);

/** Old subtask i of p owns its key-group range; each key group's state names it. */
function snapshots(p: number, maxP: number): SubtaskSnapshotWire[] {
  return Array.from({ length: p }, (_, i) => {
    const r = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
    const kgs: Array<[number, Uint8Array]> = [];
    for (let kg = r.start; kg <= r.end; kg++) kgs.push([kg, b(`kg${kg}`)]);
    return { checkpointId: 5, operators: [{ operatorId: 'op', keyGroups: kgs, operatorState: [b(`list${i}a`), b(`list${i}b`)], unionState: [b(`union${i}`)] }] };
  });
}

describe('state assignment on restore', () => {
  it('gives each new subtask exactly the key groups of its range, at any new parallelism', () => {
    for (const newP of [1, 2, 3, 5]) {
      const seen = new Set<number>();
      for (let i = 0; i < newP; i++) {
        const r = computeKeyGroupRangeForOperatorIndex(128, newP, i);
        const st = assignSubtaskState(5, { parallelism: 2, subtasks: snapshots(2, 128) }, 128, newP, i);
        for (const [kg, bytes] of st.operators[0]!.keyGroups) {
          assert.ok(kg >= r.start && kg <= r.end);
          assert.equal(s(bytes), `kg${kg}`);
          assert.ok(!seen.has(kg));
          seen.add(kg);
        }
      }
      assert.equal(seen.size, 128);
    }
  });

  it('keeps list state in place at the same parallelism and spreads it round robin otherwise; union state goes to everyone', () => {
    const same = assignSubtaskState(5, { parallelism: 2, subtasks: snapshots(2, 128) }, 128, 2, 1).operators[0]!;
    assert.deepEqual(same.operatorState.map(s), ['list1a', 'list1b']);
    assert.deepEqual(same.unionState.map(s), ['union0', 'union1']);
    const spread = [0, 1, 2].map((i) => assignSubtaskState(5, { parallelism: 2, subtasks: snapshots(2, 128) }, 128, 3, i).operators[0]!.operatorState.map(s));
    assert.deepEqual(spread, [['list0a', 'list1b'], ['list0b'], ['list1a']]);
  });
});
