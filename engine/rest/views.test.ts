import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SubtaskView } from './backend.ts';
import { percentile, statsSummary } from './views-checkpoints.ts';
import { aggregateVertexState, backpressure } from './views-jobs.ts';

const st = (status: SubtaskView['status']): SubtaskView => ({ index: 0, status, attempt: 0, endpoint: 'h:1', taskManagerId: 't', statusTimestamps: {} });

describe('wire views', () => {
  it('aggregates a vertex state the way Flink does', () => {
    assert.equal(aggregateVertexState([st('RUNNING'), st('FAILED')], 2), 'FAILED');
    assert.equal(aggregateVertexState([st('RUNNING'), st('CANCELING')], 2), 'CANCELING');
    assert.equal(aggregateVertexState([st('RUNNING'), st('INITIALIZING')], 2), 'INITIALIZING');
    assert.equal(aggregateVertexState([st('RUNNING'), st('FINISHED')], 2), 'RUNNING');
    assert.equal(aggregateVertexState([st('FINISHED'), st('FINISHED')], 2), 'FINISHED');
    assert.equal(aggregateVertexState([st('SCHEDULED'), st('DEPLOYING')], 2), 'CREATED');
  });

  it('estimates percentiles like commons-math (p·(n+1) with interpolation)', () => {
    const xs = [10, 20, 30, 40];
    assert.equal(percentile(xs, 50), 25);
    assert.equal(percentile(xs, 90), 40);
    assert.equal(percentile(xs, 10), 10);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('writes an empty checkpoint summary with zeros and "NaN" percentiles, as Jackson does', () => {
    assert.deepEqual(statsSummary([]), { min: 0, max: 0, avg: 0, p50: 'NaN', p90: 'NaN', p95: 'NaN', p99: 'NaN', p999: 'NaN' });
    assert.equal(statsSummary([1, 2]).avg, 1);
  });

  it('derives backpressure levels from backPressuredTimeMsPerSecond, and "deprecated" without metrics', () => {
    const b = backpressure([{ backPressuredTimeMsPerSecond: 50 }, { backPressuredTimeMsPerSecond: 300 }], 7) as { 'backpressure-level': string; subtasks: Array<{ backpressureLevel: string }> };
    assert.deepEqual(b.subtasks.map((s) => s.backpressureLevel), ['ok', 'low']);
    assert.equal(b['backpressure-level'], 'low');
    assert.deepEqual(backpressure([{ backPressuredTimeMsPerSecond: 800 }], 7)['backpressure-level'], 'high');
    assert.deepEqual(backpressure(undefined, 7), { status: 'deprecated' });
    assert.deepEqual(backpressure([], 7), { status: 'deprecated' });
  });
});
