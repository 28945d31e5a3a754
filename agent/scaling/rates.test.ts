import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseObservation } from './observation.ts';
import { windowStats } from './rates.ts';

/** One observation of a 2-subtask source at second `t`, with lagging gauges and exact cumulative times. */
function obs(t: number, acc: { busy: number; bp: number } | null, gauges = { busy: 900, bp: 0 }) {
  return parseObservation({
    time: t * 1000,
    jobId: 'j',
    vertices: [{
      id: 'src', parallelism: 2, maxParallelism: 8, recordsIn: 500 * t, recordsOut: 500 * t,
      busyMsPerSecond: { avg: gauges.busy, max: gauges.busy * 1.1 }, backPressuredMsPerSecond: { avg: gauges.bp, max: gauges.bp },
      ...(acc ? { accumulatedBusyMs: acc.busy, accumulatedBackPressuredMs: acc.bp } : {}),
    }],
  }, `sample ${t}`);
}

describe('window statistics', () => {
  it('take busy and backpressured fractions from the cumulative times when every sample has them', () => {
    // 2 subtasks: per second 2000 ms of task time; 200 ms busy and 1700 ms backpressured in total.
    const samples = [0, 1, 2, 3, 4].map((t) => obs(t, { busy: 200 * t, bp: 1700 * t }));
    const w = windowStats(samples).vertices.get('src')!;
    assert.ok(Math.abs(w.busyAvg - 0.1) < 1e-9, `busy ${w.busyAvg}`);
    assert.ok(Math.abs(w.backPressuredAvg - 0.85) < 1e-9, `backpressured ${w.backPressuredAvg}`);
    assert.ok(Math.abs(w.backPressuredPeak - 0.85) < 1e-9);
    assert.ok(Math.abs(w.busyMax - 0.11) < 1e-9, 'the gauges\' skew (max/avg = 1.1) applied to the exact average');
    assert.equal(w.inRate, 500);
  });

  it('see a step in backpressure at once, where the gauges still average the minute before', () => {
    // Backpressure starts at t=3: cumulative times jump, the (60 s) gauges still show none.
    const acc = [0, 0, 0, 1900, 3800].map((bp, t) => ({ busy: 100 * t, bp }));
    const w = windowStats([0, 1, 2, 3, 4].map((t) => obs(t, acc[t]!))).vertices.get('src')!;
    assert.ok(Math.abs(w.backPressuredPeak - 0.95) < 1e-9, `peak ${w.backPressuredPeak}`);
    assert.ok(w.backPressuredAvg > 0.45);
  });

  it('fall back to the gauges when a sample lacks the cumulative times', () => {
    const samples = [obs(0, { busy: 0, bp: 0 }), obs(1, null, { busy: 400, bp: 300 }), obs(2, { busy: 800, bp: 0 }, { busy: 400, bp: 300 })];
    const w = windowStats(samples).vertices.get('src')!;
    assert.ok(Math.abs(w.busyAvg - 0.4) < 1e-9);
    assert.ok(Math.abs(w.backPressuredAvg - 0.3) < 1e-9);
  });
});
