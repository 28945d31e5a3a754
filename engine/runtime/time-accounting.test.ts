import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
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
    const busy = t.total(BUSY);
    const idle = t.total(IDLE);
    assert.ok(Math.abs(busy - idle) < 5, `busy ${busy} vs idle ${idle} at half occupancy`);
    occupancy = 1;
    await sleep(100);
    t.switchTo(BUSY);
    const busyAfter = t.total(BUSY);
    assert.ok(busyAfter - busy >= 70, `a full queue counts as busy (${busyAfter - busy} ms of ~100)`);
    assert.ok(t.total(IDLE) - idle < 30);
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
