import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorStateStore } from './operator-state.ts';
import { repartitionSnapshots } from './repartition.ts';

describe('operator state store', () => {
  it('splits list state round-robin and gives union state to every subtask on rescale', () => {
    const old = [0, 1].map((i) => {
      const s = new OperatorStateStore(null);
      s.getListState<string>('files').push(`f${i}a`, `f${i}b`);
      s.getUnionListState<number>('offsets').push(i * 10);
      return { checkpointId: 7, operators: [{ operatorId: 'op', keyGroups: new Map(), ...withDefaults(s.snapshot()) }] };
    });
    const restores = repartitionSnapshots(old, 3, 128);
    const stores = restores.map((r) => new OperatorStateStore(r.operators.get('op')!));
    const lists = stores.map((s) => s.getListState<string>('files'));
    assert.deepEqual(lists.flat().sort(), ['f0a', 'f0b', 'f1a', 'f1b']);
    assert.ok(lists.every((l) => l.length >= 1 && l.length <= 2));
    for (const s of stores) assert.deepEqual(s.getUnionListState<number>('offsets').sort(), [0, 10]);
  });
});

function withDefaults(s: { operatorState?: Uint8Array[]; unionState?: Uint8Array[] }) {
  return { operatorState: s.operatorState ?? [], unionState: s.unionState ?? [] };
}
