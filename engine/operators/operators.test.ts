import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WindowOperator } from './window.ts';
import { KeyedProcessOperator } from './keyed-process.ts';
import { AsyncWaitOperator } from './async.ts';
import { TumblingEventTimeWindows, SlidingEventTimeWindows } from '../api/windows.ts';
import type { KeyedProcessFunction } from '../api/functions.ts';
import { OperatorHarness, ManualProcessingTime, restoreFor } from '../testing/operator-harness.ts';
import { assignKeyToParallelOperator, computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import type { ValueState } from '../state/state-types.ts';

type Ev = { k: string; v: number };
const sumWindow = (size: number, lateness: number) => () =>
  new WindowOperator(TumblingEventTimeWindows.of(size), lateness, (e) => (e as Ev).k, {
    kind: 'reduce',
    reduce: (a, b) => ({ k: (a as Ev).k, v: (a as Ev).v + (b as Ev).v }),
  });

describe('event-time windows', () => {
  it('fires a tumbling window when the watermark passes its end and stamps results with end - 1', async () => {
    const h = new OperatorHarness(sumWindow(10, 0));
    await h.processElements([[{ k: 'a', v: 1 }, 1], [{ k: 'a', v: 2 }, 9], [{ k: 'b', v: 5 }, 3], [{ k: 'a', v: 7 }, 10]]);
    await h.processWatermark(8);
    assert.deepEqual(h.records(), []);
    await h.processWatermark(9);
    const fired = h.output.filter((e) => 'record' in e);
    assert.deepEqual(new Set(fired.map((e) => JSON.stringify(e.record))), new Set(['{"k":"a","v":3}', '{"k":"b","v":5}']));
    assert.ok(fired.every((e) => e.timestamp === 9));
    assert.deepEqual(h.watermarks(), [8, 9]);
  });

  it('re-fires for late records within allowed lateness and drops and counts records past it', async () => {
    const h = new OperatorHarness(sumWindow(10, 5));
    await h.processElements([[{ k: 'a', v: 1 }, 2]]);
    await h.processWatermark(9);
    assert.deepEqual(h.records(), [{ k: 'a', v: 1 }]);
    h.clearOutput();
    await h.processElements([[{ k: 'a', v: 10 }, 4]]); // late but within lateness: fires again with the update
    assert.deepEqual(h.records(), [{ k: 'a', v: 11 }]);
    h.clearOutput();
    await h.processWatermark(14); // cleanup time 9 + 5 = 14 passes: state purged
    await h.processElements([[{ k: 'a', v: 100 }, 5]]);
    assert.deepEqual(h.records(), []);
    assert.equal(h.counters.get('numLateRecordsDropped'), 1);
  });

  it('assigns a record to every sliding window that contains it', async () => {
    const h = new OperatorHarness(() =>
      new WindowOperator(SlidingEventTimeWindows.of(10, 5), 0, () => 'k', {
        kind: 'aggregate',
        agg: { createAccumulator: () => 0, add: (_v, acc) => (acc as number) + 1, getResult: (acc) => acc },
        result: (_k, w, n) => `${w.start}-${w.end}:${n}`,
      }),
    );
    await h.processElements([[1, 7], [2, 12]]);
    await h.processWatermark(100);
    assert.deepEqual(h.records(), ['0-10:1', '5-15:2', '10-20:1']);
  });

  it('holds the watermark at the minimum over input channels and ignores idle channels', async () => {
    const h = new OperatorHarness(sumWindow(10, 0), { numChannels: 2 });
    await h.processWatermark(50, 0);
    assert.deepEqual(h.watermarks(), []);
    await h.processWatermark(20, 1);
    assert.deepEqual(h.watermarks(), [20]);
    await h.processWatermark(Number.NEGATIVE_INFINITY, 1); // channel 1 idle
    assert.deepEqual(h.watermarks(), [20, 50]);
  });
});

function counterFn(ttlMs?: number): KeyedProcessFunction<string, string, string> {
  return {
    open(ctx) {
      (this as unknown as { s: ValueState<number> }).s = ctx.getState<number>('n', ttlMs === undefined ? undefined : { ttl: { ttlMs } });
    },
    processElement(key, ctx, out) {
      const s = (this as unknown as { s: ValueState<number> }).s;
      const n = (s.value() ?? 0) + 1;
      s.update(n);
      out.collect(`${key}=${n}`);
      if (n === 1) {
        ctx.timerService().registerEventTimeTimer(ctx.timestamp() + 100);
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 1000);
      }
    },
    onTimer(ts, ctx, out) {
      const s = (this as unknown as { s: ValueState<number> }).s;
      out.collect(`${ctx.timeDomain()}:${ctx.getCurrentKey()}@${ts}=${s.value()}`);
    },
  };
}

describe('keyed process functions', () => {
  it('keeps state per key and fires event-time and processing-time timers with the key set', async () => {
    const time = new ManualProcessingTime(0);
    const h = new OperatorHarness(() => new KeyedProcessOperator(Object.create(counterFn()), (x) => x), { time });
    await h.processElements([['a', 1], ['b', 2], ['a', 3]]);
    assert.deepEqual(h.records(), ['a=1', 'b=1', 'a=2']);
    h.clearOutput();
    await h.processWatermark(101);
    assert.deepEqual(h.records(), ['EVENT_TIME:a@101=2']);
    h.clearOutput();
    time.advanceTo(1000);
    assert.deepEqual(new Set(h.records()), new Set(['PROCESSING_TIME:a@1000=2', 'PROCESSING_TIME:b@1000=1']));
  });

  it('expires state after its TTL and never returns an expired value', async () => {
    const time = new ManualProcessingTime(0);
    const h = new OperatorHarness(() => new KeyedProcessOperator(Object.create(counterFn(50)), (x) => x), { time });
    await h.processElements([['a', 1]]);
    time.advanceTo(40);
    await h.processElements([['a', 2]]); // write refreshes the TTL (OnCreateAndWrite)
    time.advanceTo(89);
    await h.processElements([['a', 3]]);
    time.advanceTo(139 + 50);
    await h.processElements([['a', 4]]);
    assert.deepEqual(h.records(), ['a=1', 'a=2', 'a=3', 'a=1']);
  });

  it('restores keyed state and timers at a different parallelism without loss', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
    const fn = counterFn();
    const make = () => new KeyedProcessOperator(Object.create(fn), (x) => x);
    // Parallelism 1 -> snapshot -> 3 subtasks, each gets only its key groups.
    const one = new OperatorHarness(make);
    await one.processElements(keys.map((k) => [k, 5]));
    const snap = await one.snapshot();
    const restored = [0, 1, 2].map((i) => {
      const range = computeKeyGroupRangeForOperatorIndex(128, 3, i);
      return new OperatorHarness(make, { parallelism: 3, subtaskIndex: i, restored: restoreFor([snap], range) });
    });
    const fired: string[] = [];
    for (const h of restored) {
      await h.processWatermark(105); // restored event-time timers fire in their new owner, with restored state
      fired.push(...(h.records() as string[]));
    }
    assert.deepEqual(fired.sort(), keys.map((k) => `EVENT_TIME:${k}@105=1`).sort());
    // Each subtask holds only keys of its own key groups: counting continues from the restored value.
    for (const h of restored) {
      h.clearOutput();
      const mine = keys.filter((k) => fired.includes(`EVENT_TIME:${k}@105=1`) && restored.indexOf(h) === ownerOf(k));
      await h.processElements(mine.map((k) => [k, 200]));
      assert.deepEqual(h.records(), mine.map((k) => `${k}=2`));
    }
  });
});

function ownerOf(key: string): number {
  return assignKeyToParallelOperator(key, 128, 3);
}

describe('async I/O', () => {
  it('keeps input order, bounds requests in flight, and holds watermarks behind pending records', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const h = new OperatorHarness(
      () =>
        new AsyncWaitOperator(
          async (v) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await new Promise((r) => setTimeout(r, 10 - (v as number)));
            inFlight--;
            return (v as number) * 10;
          },
          { capacity: 3 },
        ),
    );
    await h.processElements([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
    await h.processWatermark(3);
    await h.chain.endInput();
    assert.deepEqual(h.records(), [10, 20, 30, 40, 50]);
    assert.equal(maxInFlight, 3);
    const wmIndex = h.output.findIndex((e) => e.watermark === 3);
    assert.ok(wmIndex > h.output.findIndex((e) => e.record === 50));
  });
});

describe('async I/O state and modes', () => {
  const slow = (ms: (v: number) => number) => async (v: unknown) => {
    await new Promise((r) => setTimeout(r, ms(v as number)));
    return `r${v as number}`;
  };

  it('stores requests in flight in its snapshot and re-issues them on restore', async () => {
    const first = new OperatorHarness(() => new AsyncWaitOperator(slow(() => 30), { capacity: 10 }));
    await first.processElements([[1, 100], [2, 200], [3, 300]]);
    const snap = await first.snapshot(1);
    assert.equal(snap.operators[0]!.operatorState.length, 3);
    await first.chain.close();
    const second = new OperatorHarness(() => new AsyncWaitOperator(slow(() => 1), { capacity: 10 }), {
      restored: restoreFor([snap], { start: 0, end: 127 }),
    });
    await second.chain.endInput();
    assert.deepEqual(second.output.filter((e) => 'record' in e), [
      { record: 'r1', timestamp: 100 },
      { record: 'r2', timestamp: 200 },
      { record: 'r3', timestamp: 300 },
    ]);
  });

  it('emits as results arrive in unordered mode but never across a watermark', async () => {
    const h = new OperatorHarness(() => new AsyncWaitOperator(slow((v) => (v === 1 ? 40 : 5)), { capacity: 10, outputMode: 'unordered' }));
    await h.processElements([[1, 1], [2, 2]]);
    await h.processWatermark(2);
    await h.processElements([[3, 3]]);
    await h.chain.endInput();
    const order = h.output.map((e) => ('record' in e ? e.record : `wm${e.watermark}`));
    assert.deepEqual(order.slice(0, 4), ['r2', 'r1', 'wm2', 'r3']);
  });
});
