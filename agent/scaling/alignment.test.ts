import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alignParallelism } from './alignment.ts';

const opts = { maxOvershoot: 0.25, upper: 200, isSource: false, capAtPartitions: true };

describe('alignment', () => {
  it('moves up to a divisor of the key groups within the overshoot', () => {
    assert.equal(alignParallelism(29, 20, 120, opts).parallelism, 30);
    assert.equal(alignParallelism(30, 20, 120, opts).parallelism, 30);
    assert.equal(alignParallelism(7, 4, 128, opts).parallelism, 8);
  });

  it('without a divisor near, keeps the fewest subtasks with the same busiest share', () => {
    // 128/50 -> 3 key groups on the busiest subtask; 43 subtasks give the same.
    assert.equal(alignParallelism(50, 40, 128, opts).parallelism, 43);
  });

  it('never gives a source more subtasks than partitions', () => {
    assert.equal(alignParallelism(30, 10, 24, { ...opts, isSource: true }).parallelism, 24);
    assert.equal(alignParallelism(5, 2, 24, { ...opts, isSource: true }).parallelism, 6);
  });

  it('does not turn a scale-down into no change or a scale-up', () => {
    const r = alignParallelism(7, 8, 16, opts).parallelism;
    assert.ok(r < 8, `got ${r}`);
  });

  it('leaves vertices without keyed inputs or partitions alone', () => {
    assert.equal(alignParallelism(7, 3, undefined, opts).parallelism, 7);
  });
});
