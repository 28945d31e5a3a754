import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignKeyToParallelOperator,
  assignToKeyGroup,
  computeDefaultMaxParallelism,
  computeKeyGroupRangeForOperatorIndex,
  computeOperatorIndexForKeyGroup,
  murmurHash,
} from './key-groups.ts';
import { javaHashCode, javaLongHash } from './java-hash.ts';

// Test vectors from shared/research/flink-api.md §4 (computed under Java).
const vectors: Array<[unknown, number, number, number, number, number]> = [
  [0, 0, 593689054, 94, 31198, 2],
  [1, 1, 68075478, 86, 16342, 2],
  [42, 42, 1134849565, 29, 28189, 0],
  [-1, -1, 1982413648, 80, 15184, 1],
  ['a', 97, 1455541201, 81, 19409, 1],
  ['hello', 99162322, 1715862179, 35, 31395, 0],
  ['user-1', -836031825, 1662039673, 121, 13945, 2],
];

describe('key groups', () => {
  for (const [key, hash, murmur, kg128, kg32768, op] of vectors) {
    it(`places ${JSON.stringify(key)} exactly where Flink does`, () => {
      assert.equal(javaHashCode(key), hash);
      assert.equal(murmurHash(hash), murmur);
      assert.equal(assignToKeyGroup(key, 128), kg128);
      assert.equal(assignToKeyGroup(key, 32768), kg32768);
      assert.equal(assignKeyToParallelOperator(key, 128, 3), op);
    });
  }

  it('hashes longs like Java Long.hashCode', () => {
    assert.equal(javaLongHash(0n), 0);
    assert.equal(javaLongHash(-1n), 0);
    assert.equal(javaLongHash(1n << 32n), 1);
    assert.equal(javaHashCode(1n), 1);
    assert.equal(javaHashCode(2 ** 40), 256);
  });

  it('computes the default max parallelism like Flink', () => {
    assert.equal(computeDefaultMaxParallelism(1), 128);
    assert.equal(computeDefaultMaxParallelism(85), 128);
    assert.equal(computeDefaultMaxParallelism(86), 256);
    assert.equal(computeDefaultMaxParallelism(100), 256);
    assert.equal(computeDefaultMaxParallelism(1000), 2048);
    assert.equal(computeDefaultMaxParallelism(21846), 32768);
    assert.equal(computeDefaultMaxParallelism(30000), 32768);
  });

  it('splits 128 key groups over 3 subtasks into contiguous inclusive ranges', () => {
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 0), { start: 0, end: 42 });
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 1), { start: 43, end: 85 });
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 2), { start: 86, end: 127 });
  });

  it('maps every key group to the subtask whose range contains it', () => {
    for (const [maxP, p] of [[128, 3], [128, 7], [256, 100], [128, 128], [32768, 13]] as const) {
      for (let kg = 0; kg < maxP; kg++) {
        const op = computeOperatorIndexForKeyGroup(maxP, p, kg);
        const r = computeKeyGroupRangeForOperatorIndex(maxP, p, op);
        assert.ok(kg >= r.start && kg <= r.end, `kg ${kg} maxP ${maxP} p ${p} op ${op}`);
      }
    }
  });
});
