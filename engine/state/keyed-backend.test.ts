import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeapKeyedStateBackend } from './keyed-backend.ts';
import { InternalTimerService } from './timers.ts';
import { repartitionSnapshots } from './repartition.ts';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import { encodeState } from './serde.ts';

const all = { start: 0, end: 127 };

describe('heap keyed state backend', () => {
  it('keeps value, map and list state per key', () => {
    const b = new HeapKeyedStateBackend(all, 128, () => 0);
    const v = b.getValueState<number>('v');
    const m = b.getMapState<string, number>('m');
    const l = b.getListState<string>('l');
    b.setCurrentKey('a');
    v.update(1);
    m.put('x', 10);
    m.put('y', 20);
    l.add('p');
    l.addAll(['q', 'r']);
    b.setCurrentKey('b');
    assert.equal(v.value(), undefined);
    assert.equal(m.isEmpty(), true);
    assert.deepEqual(l.get(), []);
    b.setCurrentKey('a');
    assert.equal(v.value(), 1);
    assert.deepEqual(m.entries(), [['x', 10], ['y', 20]]);
    m.remove('x');
    assert.equal(m.contains('x'), false);
    assert.deepEqual(l.get(), ['p', 'q', 'r']);
    l.update(['z']);
    assert.deepEqual(l.get(), ['z']);
    assert.throws(() => b.getMapState('v'), /value state/);
  });

  it('applies TTL per entry with read-and-write refresh and optional expired visibility', () => {
    let now = 0;
    const b = new HeapKeyedStateBackend(all, 128, () => now);
    const rw = b.getValueState<string>('rw', { ttl: { ttlMs: 10, updateType: 'OnReadAndWrite' } });
    const vis = b.getValueState<string>('vis', { ttl: { ttlMs: 10, stateVisibility: 'ReturnExpiredIfNotCleanedUp' } });
    const m = b.getMapState<string, number>('m', { ttl: { ttlMs: 10 } });
    const l = b.getListState<number>('l', { ttl: { ttlMs: 10 } });
    b.setCurrentKey(7);
    rw.update('x');
    vis.update('y');
    m.put('old', 1);
    l.add(1);
    now = 8;
    assert.equal(rw.value(), 'x'); // the read refreshes: expires at 18 now
    m.put('new', 2);
    l.add(2);
    now = 12;
    assert.equal(rw.value(), 'x');
    assert.equal(vis.value(), 'y'); // expired, but returned until cleaned up
    assert.deepEqual(m.entries(), [['new', 2]]);
    assert.deepEqual(l.get(), [2]);
    now = 30;
    assert.equal(rw.value(), undefined);
    assert.equal(m.get('new'), undefined);
    // Expired entries are left out of snapshots.
    assert.equal(b.snapshot().size, 0);
    rw.update('fresh');
    assert.equal(b.snapshot().size, 1);
  });

  it('snapshots per key group and restores exactly the key groups of a new range, timers included', () => {
    const b = new HeapKeyedStateBackend(all, 128, () => 0);
    const timers = new InternalTimerService(b);
    const v = b.getValueState<number>('count');
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    for (const [i, k] of keys.entries()) {
      b.setCurrentKey(k);
      v.update(i);
      timers.register('EVENT_TIME', 1000 + i);
    }
    const snap = b.snapshot();
    assert.ok([...snap.keys()].every((kg) => kg >= 0 && kg < 128));
    const restored = repartitionSnapshots(
      [{ checkpointId: 3, operators: [{ operatorId: 'op', keyGroups: snap, operatorState: [encodeState('a'), encodeState('b'), encodeState('c')], unionState: [encodeState('u')] }] }],
      4,
      128,
    );
    let seen = 0;
    for (let i = 0; i < 4; i++) {
      const range = computeKeyGroupRangeForOperatorIndex(128, 4, i);
      const op = restored[i]!.operators.get('op')!;
      assert.ok([...op.keyGroups.keys()].every((kg) => kg >= range.start && kg <= range.end));
      assert.equal(op.operatorState.length, i < 3 ? 1 : 0);
      assert.equal(op.unionState.length, 1);
      const nb = new HeapKeyedStateBackend(range, 128, () => 0);
      const nt = new InternalTimerService(nb);
      nb.restore(op.keyGroups);
      const nv = nb.getValueState<number>('count');
      for (const [j, k] of keys.entries()) {
        const kg = assignToKeyGroup(k, 128);
        if (kg < range.start || kg > range.end) continue;
        nb.setCurrentKey(k);
        assert.equal(nv.value(), j);
        seen++;
      }
      const fired: unknown[] = [];
      nt.advance('EVENT_TIME', 5000, (t) => fired.push(t.key));
      assert.equal(fired.length, nb.keys('count').length);
    }
    assert.equal(seen, keys.length);
  });
});
