import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { BUSY, IDLE, TaskTimer } from './time-accounting.ts';

describe('task time accounting', () => {
  it('counts waiting for input as idle when the task has nothing in flight', async () => {
    const t = new TaskTimer(IDLE);
    await sleep(60);
    assert.equal(t.total(BUSY), 0);
    assert.ok(t.total(IDLE) >= 50);
  });

  it('counts the occupied share of an I/O-bound task\'s wait for input as busy, and the rest as idle', async () => {
    const t = new TaskTimer(IDLE);
    let occupancy = 0.5;
    t.setOccupancy(() => occupancy);
    await sleep(100);
    // Every read of an idle stretch splits it at the occupancy, so at half occupancy busy and idle
    // grow by the same amount at each read, however long the scheduler kept us away: a read of busy,
    // then of idle, then of busy again must be ordered b1 <= i1 <= b2 (the later reads add the time
    // between the reads; idle also counts the microseconds between its flush and its clock read), and each
    // is about half the time elapsed.
    const b1 = t.total(BUSY);
    const i1 = t.total(IDLE);
    const b2 = t.total(BUSY);
    assert.ok(b1 <= i1 && i1 <= b2 + 1, `busy ${b1} <= idle ${i1} <= busy ${b2} at half occupancy`);
    assert.ok(b1 >= 45, `half of a >= 100 ms wait counts as busy (${b1} ms)`);
    occupancy = 1;
    const busy = t.total(BUSY); // closes the stretch that straddles the change of occupancy
    const idle = t.total(IDLE);
    const start = performance.now();
    await sleep(100);
    t.switchTo(BUSY);
    const elapsed = performance.now() - start;
    const busyAfter = t.total(BUSY);
    assert.ok(busyAfter - busy >= 95, `a full queue counts as busy (${busyAfter - busy} ms of >= 100)`);
    assert.ok(busyAfter - busy <= elapsed + 1, `no more busy time than elapsed (${busyAfter - busy} of ${elapsed})`);
    assert.ok(t.total(IDLE) - idle < 1, `no idle time at full occupancy (${t.total(IDLE) - idle} ms)`);
  });

  it('keeps totals growing when read in the middle of a stretch', async () => {
    const t = new TaskTimer(IDLE);
    t.setOccupancy(() => 0.3);
    let last = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(10);
      const sum = t.total(BUSY) + t.total(IDLE);
      assert.ok(sum >= last, 'monotonic');
      last = sum;
    }
  });
});
