import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addArrival, emptyForecast, forecast, zoneOffsetSec } from './forecast.ts';
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

describe('forecast: robust to one-off bursts, phase from a time zone (issue 13)', () => {
  it('with minSeasons 2 forecasts only a rise seen on each of the last two days', () => {
    let s = emptyForecast(600, DAY);
    // Day one: a burst at 09:00 (once); day two, 08:45: does it come again?
    const burst = (t: number): number => (t < DAY && (t / 3600) % 24 >= 9 && (t / 3600) % 24 < 10 ? 9000 : 3000);
    for (let t = 0; t < DAY + 8.5 * 3600; t += 60) s = addArrival(s, T0 + t * 1000, burst(t), 1800);
    const now = T0 + (DAY + 8.75 * 3600) * 1000;
    assert.ok((forecast(s, now, 3000, opts)?.rate ?? 0) > 8000, 'one season: the plain profile predicts the burst again');
    const robust = forecast(s, now, 3000, { ...opts, minSeasons: 2 });
    assert.ok(robust === undefined || robust.rate < 3500, `one season is not a pattern: ${robust?.rate}`);
    // A peak at 09:00 on two days is a pattern.
    let d = emptyForecast(600, DAY);
    const daily = (t: number): number => ((t / 3600) % 24 >= 9 && (t / 3600) % 24 < 10 ? 9000 : 3000);
    for (let t = 0; t < 2 * DAY + 8.5 * 3600; t += 60) d = addArrival(d, T0 + t * 1000, daily(t), 1800);
    const f = forecast(d, T0 + (2 * DAY + 8.75 * 3600) * 1000, 3000, { ...opts, minSeasons: 2 });
    assert.ok(f && Math.abs(f.rate - 9000) < 1, `two seasons: ${f?.rate}`);
  });

  it('takes the season boundary at the time zone\'s midnight', () => {
    assert.equal(zoneOffsetSec(Date.UTC(2026, 0, 15, 12), 'Asia/Tokyo'), 9 * 3600);
    assert.equal(zoneOffsetSec(Date.UTC(2026, 6, 15, 12), 'Europe/Berlin'), 2 * 3600);
    assert.equal(zoneOffsetSec(Date.UTC(2026, 0, 15, 12), undefined), 0);
    // A peak at 09:00 Tokyo time each day is bucket 54 of 144 in Tokyo's day.
    let s = emptyForecast(600, DAY, 'Asia/Tokyo');
    s = addArrival(s, Date.UTC(2026, 0, 15, 0, 5), 5000, 1800); // 09:05 in Tokyo
    assert.deepEqual(Object.keys(s.profile), ['54']);
  });
});
