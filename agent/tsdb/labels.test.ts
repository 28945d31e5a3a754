import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareLabelSets, labelsFromRecord, labelsKey } from './labels.ts';

describe('compareLabelSets', () => {
  it('orders label sets as their canonical keys do, with the same names or different ones', () => {
    const rec = fc.dictionary(fc.constantFrom('__name__', 'a', 'b', 'job', 'z'), fc.constantFrom('', 'x', 'y', 'x1', 'Y'));
    fc.assert(fc.property(rec, rec, (ra, rb) => {
      const a = labelsFromRecord(ra);
      const b = labelsFromRecord(rb);
      const ka = labelsKey(a);
      const kb = labelsKey(b);
      assert.equal(Math.sign(compareLabelSets(a, b)), ka < kb ? -1 : ka > kb ? 1 : 0, `${ka} vs ${kb}`);
    }), { numRuns: 2000 });
  });
});
