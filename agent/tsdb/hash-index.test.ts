import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabelHashIndex } from './hash-index.ts';
import { compareLabelSets, labelsFromRecord, labelsHash, labelsKey, sameLabels } from './labels.ts';

describe('LabelHashIndex', () => {
  it('finds items by an equal label set built separately, and forgets deleted ones', () => {
    const idx = new LabelHashIndex<{ labels: ReturnType<typeof labelsFromRecord> }>();
    const items = Array.from({ length: 2000 }, (_, i) => ({ labels: labelsFromRecord({ __name__: 'x', i: String(i), j: String(i % 7) }) }));
    for (const it of items) idx.add(it);
    assert.equal(idx.size, 2000);
    assert.equal(idx.get(labelsFromRecord({ j: '5', i: '12', __name__: 'x' })), items[12]);
    assert.equal(idx.get(labelsFromRecord({ __name__: 'x', i: '12' })), undefined);
    assert.equal(idx.delete(items[12]!), true);
    assert.equal(idx.delete(items[12]!), false);
    assert.equal(idx.get(items[12]!.labels), undefined);
    assert.equal([...idx.values()].length, 1999);
  });

  it('hashes equal label sets equally and orders label sets as their keys do', () => {
    const a = labelsFromRecord({ a: '1', b: 'x' });
    const b = { b: 'x', a: '1' };
    assert.equal(labelsHash(a), labelsHash(labelsFromRecord(b)));
    assert.notEqual(labelsHash(a), labelsHash(labelsFromRecord({ a: '1', b: 'y' })));
    assert.ok(sameLabels(a, labelsFromRecord(b)));
    assert.ok(!sameLabels(a, labelsFromRecord({ a: '1' })));
    const sets = [{ a: '1' }, { a: '1', b: '' }, { a: '10' }, { a: '1', b: 'x' }, { ab: '0' }, { b: '0' }].map(labelsFromRecord);
    const byCompare = [...sets].sort(compareLabelSets).map(labelsKey);
    const byKey = sets.map(labelsKey).sort();
    assert.deepEqual(byCompare, byKey);
  });
});
