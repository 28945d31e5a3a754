import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { balanceEfficiency, computeRates, predictedRate, smallestSufficient } from './capacity.ts';
import { windowStats } from './rates.ts';
import { ObservationBuilder } from './observation-builder.ts';
import { fitScaling } from './scalability.ts';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

describe('capacity model', () => {
  it('computes true rate, propagated target, catch-up and utilization as calculated by hand', () => {
    const b = new ObservationBuilder('j', [
      { id: 'src', parallelism: 1 },
      { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    ]);
    const o1 = b.next(60, { src: { inRate: 1000, busy: 0.2, pending: 0 }, map: { inRate: 1000, outRate: 500, busy: 0.5 } });
    const o2 = b.next(60, { src: { inRate: 1000, busy: 0.2, pending: 6000 }, map: { inRate: 1000, outRate: 500, busy: 0.5 } });
    const m = computeRates(o2, windowStats([o1, o2]), { catchUpSec: 300, knownRatios: {}, knownRates: {} });
    const src = m.vertices.get('src')!;
    const map = m.vertices.get('map')!;
    // Source: backlog grows 100 rec/s, not backpressured -> observed capacity 1000/(1-0) beats busy-time 1000/0.2.
    assert.equal(src.basis, 'observed-catch-up');
    close(src.trueRate, 1000);
    close(src.targetRate, 1100);
    close(src.catchUpRate, 20);
    // Map: 1000 rec/s at 50 % busy -> 2000 rec/s; target 1100 * ratio 1; catch-up 20.
    close(map.trueRate, 2000);
    close(map.targetRate, 1100);
    close(map.catchUpRate, 20);
    close(map.utilization, 1120 / 2000);
    close(m.arrivalRate, 1100);
    close(m.lagSeconds, 6000 / 1100);
  });

  // From the autoscaler e2e under a CPU hog per core: at the job's start the order source drained a
  // backlog at 434 rec/s while busy 2 % of the time (its timers fired late on the starved host); that
  // rate was remembered as its capacity and later grew the source 2 -> 8 although it was backpressured.
  it('a source that idled while catching up does not show its capacity: busy time is used', () => {
    const b = new ObservationBuilder('j', [{ id: 'src', parallelism: 2 }]);
    const o1 = b.next(5, { src: { inRate: 434, busy: 0.02, pending: 0 } });
    const o2 = b.next(5, { src: { inRate: 434, busy: 0.02, pending: 2000 } });
    const src = computeRates(o2, windowStats([o1, o2]), { catchUpSec: 300, knownRatios: {}, knownRates: {} }).vertices.get('src')!;
    assert.equal(src.basis, 'busy-time');
    close(src.trueRate, 434 / 0.02);
    // The same catch-up at a busy time that lies as Flink sources' does (0.35 of a saturated source) is an observation.
    const b2 = new ObservationBuilder('j', [{ id: 'src', parallelism: 2 }]);
    const p1 = b2.next(5, { src: { inRate: 434, busy: 0.35, pending: 0 } });
    const p2 = b2.next(5, { src: { inRate: 434, busy: 0.35, pending: 2000 } });
    const lying = computeRates(p2, windowStats([p1, p2]), { catchUpSec: 300, knownRatios: {}, knownRates: {} }).vertices.get('src')!;
    assert.equal(lying.basis, 'observed-catch-up');
    close(lying.trueRate, 434);
  });

  it('propagates targets through measured selectivity (records out / records in)', () => {
    const b = new ObservationBuilder('j', [
      { id: 'src', parallelism: 1 },
      { id: 'flat', parallelism: 1, inputs: [{ id: 'src', shipStrategy: 'FORWARD' }] },
      { id: 'agg', parallelism: 1, inputs: [{ id: 'flat', shipStrategy: 'HASH' }] },
    ]);
    const r = { src: { inRate: 100, busy: 0.1, pending: 0 }, flat: { inRate: 100, outRate: 300, busy: 0.2 }, agg: { inRate: 300, outRate: 30, busy: 0.6 } };
    const o1 = b.next(30, r);
    const o2 = b.next(30, { ...r, src: { ...r.src, pending: 1500 } });
    const m = computeRates(o2, windowStats([o1, o2]), { catchUpSec: 0, knownRatios: {}, knownRates: {} });
    close(m.vertices.get('src')!.targetRate, 150); // 100 read + 50/s backlog growth
    close(m.vertices.get('flat')!.targetRate, 150);
    close(m.vertices.get('agg')!.targetRate, 450); // flat emits 3 per record
    close(m.ratios['flat>agg']!, 3);
    close(m.vertices.get('agg')!.trueRate, 500);
  });

  it('models key-group balance and sublinear scaling in predicted capacity', () => {
    close(balanceEfficiency(5, 128), 25.6 / 26);
    close(balanceEfficiency(8, 128), 1);
    close(balanceEfficiency(4, undefined), 1);
    close(predictedRate(1000, 4, 8, 1, undefined), 2000);
    close(predictedRate(1000, 4, 8, 0.5, undefined), 1000 * Math.SQRT2);
    close(predictedRate(1000, 8, 5, 1, 128), 1000 * (5 / 8) * (25.6 / 26));
    assert.equal(smallestSufficient(1000, 2, 2600, 1, undefined, 1, 10), 6);
    assert.equal(smallestSufficient(1000, 2, 1e9, 1, undefined, 1, 10), 10);
  });

  it('fits rate(p) = a*p^b from points', () => {
    const pts = [1, 2, 4, 8].map((p) => ({ p, rate: 100 * Math.pow(p, 0.8), n: 1 }));
    const fit = fitScaling(pts, 3)!;
    close(fit.b, 0.8, 1e-9);
    close(fit.a, 100, 1e-9);
    assert.equal(fitScaling(pts.slice(0, 2), 3), undefined);
  });
});
