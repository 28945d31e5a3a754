import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reactiveTarget, type ReactiveJob } from './reactive-scaler.ts';

function job(parallelism: number, upperBounds: Record<string, number> = {}, maxParallelism = 128): ReactiveJob {
  return {
    jobId: 'j',
    isTerminal: false,
    graph: { vertices: [{ id: 'a', parallelism, maxParallelism }, { id: 'b', parallelism, maxParallelism }] },
    upperBounds,
    rescale: async () => undefined,
  };
}

describe('reactive target parallelism', () => {
  it('uses every slot up to the upper bound or maxParallelism, and answers null when nothing changes', () => {
    assert.deepEqual(reactiveTarget(job(2), 3), { a: 3, b: 3 });
    assert.deepEqual(reactiveTarget(job(3), 2), { a: 2, b: 2 });
    assert.equal(reactiveTarget(job(3), 3), null);
    assert.deepEqual(reactiveTarget(job(2, { a: 2 }), 5), { a: 2, b: 5 });
    assert.deepEqual(reactiveTarget(job(2, {}, 4), 9), { a: 4, b: 4 });
  });
});
