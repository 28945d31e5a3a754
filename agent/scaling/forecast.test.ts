import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addArrival, emptyForecast, forecast } from './forecast.ts';
import { isActive, scheduleEffect } from './schedule.ts';

const DAY = 86400;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const opts = { horizonSec: 1800, minHistorySec: DAY, trendWindowSec: 1800 };

describe('forecast', () => {
  it('predicts tomorrow\'s peak from yesterday\'s profile, before it arrives', () => {
    let s = emptyForecast(600, DAY);
    const rate = (t: number): number => ((t / 3600) % 24 >= 9 && (t / 3600) % 24 < 10 ? 9000 : 3000);
    for (let t = 0; t < DAY + 8.5 * 3600; t += 60) s = addArrival(s, T0 + t * 1000, rate(t), 1800);
    const now = T0 + (DAY + 8.75 * 3600) * 1000; // 08:45 on day two, peak at 09:00
    const f = forecast(s, now, 3000, opts);
    assert.ok(f, 'a forecast');
    assert.equal(f.basis, 'seasonal');
    assert.ok(Math.abs(f.rate - 9000) < 1, `forecast ${f.rate}`);
  });

  it('needs the minimum history before trusting the profile', () => {
    let s = emptyForecast(600, DAY);
    for (let t = 0; t < 3600; t += 60) s = addArrival(s, T0 + t * 1000, 3000, 1800);
    assert.equal(forecast(s, T0 + 3600_000, 3000, opts), undefined);
  });

  it('extrapolates a clean upward trend but not a single step', () => {
    let ramp = emptyForecast(600, DAY);
    for (let t = 0; t <= 1800; t += 60) ramp = addArrival(ramp, T0 + t * 1000, 1000 + t, 1800);
    const f = forecast(ramp, T0 + 1800_000, 2800, opts)!;
    assert.equal(f.basis, 'trend');
    assert.ok(Math.abs(f.rate - (1000 + 3600)) < 1, `trend ${f.rate}`);
    let step = emptyForecast(600, DAY);
    for (let t = 0; t <= 1800; t += 60) step = addArrival(step, T0 + t * 1000, t < 1700 ? 1000 : 4000, 1800);
    assert.equal(forecast(step, T0 + 1800_000, 4000, opts), undefined);
  });
});

describe('schedules', () => {
  const s = { name: 'office', cron: '0 8 * * 1-5', duration: '10h', timeZone: 'UTC', floor: { '*': 4, map: 6 }, blackout: false };
  it('is active from each cron match for its duration', () => {
    assert.equal(isActive(s, Date.UTC(2026, 0, 5, 8, 0, 0)), true); // Monday 08:00
    assert.equal(isActive(s, Date.UTC(2026, 0, 5, 17, 59, 0)), true);
    assert.equal(isActive(s, Date.UTC(2026, 0, 5, 18, 0, 1)), false);
    assert.equal(isActive(s, Date.UTC(2026, 0, 4, 12, 0, 0)), false); // Sunday
  });
  it('combines floors and ceilings per vertex', () => {
    const e = scheduleEffect([s, { ...s, name: 'cap', floor: undefined, ceiling: { map: 5 } }], Date.UTC(2026, 0, 5, 9, 0, 0), ['src', 'map']);
    assert.deepEqual(e.floor, { src: 4, map: 6 });
    assert.deepEqual(e.ceiling, { map: 5 });
    assert.deepEqual(e.active, ['office', 'cap']);
  });
});
