import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BufferDebloater } from './buffer-debloater.ts';

const opts = { targetMs: 1000, samples: 1, thresholdPercent: 25, minBatch: 16, maxBatch: 512 };

describe('buffer debloating', () => {
  it('sizes batches so that the buffered input takes the target time at the measured throughput', () => {
    const d = new BufferDebloater(opts);
    // 200 records/s (40 in 200 ms) over 8 buffers with a 1 s target: 25 records per batch.
    assert.equal(d.sample(40, 200, 8), 25);
    assert.equal(d.batchSize, 25);
  });

  it('stays within the configured bounds', () => {
    const d = new BufferDebloater(opts);
    assert.equal(d.sample(1_000_000, 200, 8), null, 'the maximum is the starting size: nothing to announce');
    assert.equal(d.sample(1, 1000, 8), 16);
  });

  it('ignores changes within the threshold and periods without input', () => {
    const d = new BufferDebloater(opts);
    assert.equal(d.sample(400, 1000, 4), 100);
    assert.equal(d.sample(440, 1000, 4), null, '10 % larger: not announced');
    assert.equal(d.sample(0, 1000, 4), null, 'no input says nothing about the consumer');
    assert.equal(d.batchSize, 100);
    assert.equal(d.sample(600, 1000, 4), 150);
  });

  it('averages the throughput over its samples', () => {
    const d = new BufferDebloater({ ...opts, samples: 3, thresholdPercent: 0 });
    assert.equal(d.sample(800, 1000, 1), null, 'clamped to the maximum, the starting size');
    d.sample(0, 1000, 1);
    const next = d.sample(100, 1000, 1);
    // alpha = 0.5: 800 + 0.5 × (100 − 800) = 450.
    assert.equal(d.averageThroughput, 450);
    assert.equal(next, 450);
  });
});
