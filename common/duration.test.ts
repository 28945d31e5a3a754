import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DurationError,
  MAX_PROM_DURATION_MS,
  formatFlinkDuration,
  formatPromDuration,
  parseFlinkDuration,
  parsePromApiDuration,
  parsePromDuration,
  parseSecondsOrPromDuration,
  tryParseFlinkDuration,
  tryParsePromDuration,
} from './duration.ts';

const failsWith = (fn: () => unknown, re: RegExp, position?: number): void => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DurationError, `not a DurationError: ${String(err)}`);
    assert.equal(err.code, 'FP_DURATION');
    assert.match(err.message, re);
    if (position !== undefined) assert.equal(err.position, position, err.message);
    return true;
  });
};

describe('Prometheus durations', () => {
  it('reads single and combined units, largest first, and 0 alone', () => {
    const cases: Array<[string, number]> = [
      ['0', 0], ['0s', 0], ['500ms', 500], ['15s', 15_000], ['1m30s', 90_000], ['1h30m', 5_400_000],
      ['2d', 172_800_000], ['1w', 604_800_000], ['1y', 31_536_000_000], ['1y2w3d4h5m6s7ms', 31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6000 + 7],
      ['90m', 5_400_000], ['007s', 7000],
    ];
    for (const [text, ms] of cases) assert.equal(parsePromDuration(text), ms, text);
  });

  it('refuses empty text, repeats, wrong order, signs, fractions, spaces and unknown units, naming the character', () => {
    failsWith(() => parsePromDuration(''), /^empty duration string$/);
    failsWith(() => parsePromDuration('1h1h'), /not a valid duration string: "1h1h": unit "h" at character 4 repeats or follows a smaller unit/, 4);
    failsWith(() => parsePromDuration('1m1h'), /unit "h" at character 4/, 4);
    failsWith(() => parsePromDuration('-1m'), /a sign at character 1/, 1);
    failsWith(() => parsePromDuration('1.5m'), /unknown unit "\." in duration "1\.5m" at character 2; fractions are not allowed/, 2);
    failsWith(() => parsePromDuration('5 minutes'), /unknown unit " minutes"/, 2);
    failsWith(() => parsePromDuration('1x'), /unknown unit "x" in duration "1x" at character 2 \(one of y w d h m s ms\)/, 2);
    failsWith(() => parsePromDuration('m'), /"m" at character 1 where a number is expected/, 1);
    failsWith(() => parsePromDuration('15'), /the number at character 1 has no unit/, 1);
    failsWith(() => parsePromDuration('1.5'), /unknown unit "\."/);
    assert.equal(tryParsePromDuration('1h1h'), null);
    assert.equal(tryParsePromDuration('2h'), 7_200_000);
  });

  it('refuses durations past 2^63-1 ns (about 292 years) as Prometheus does', () => {
    assert.equal(parsePromDuration('292y'), 292 * 31_536_000_000);
    failsWith(() => parsePromDuration('293y'), /duration out of range: "293y"/);
    failsWith(() => parsePromDuration('99999999999999999999999s'), /out of range/);
    assert.equal(parsePromDuration(`${MAX_PROM_DURATION_MS}ms`), MAX_PROM_DURATION_MS);
    failsWith(() => parsePromDuration(`${MAX_PROM_DURATION_MS + 1}ms`), /out of range/);
  });

  it('prints as model.Duration.String(): years and weeks only when exact', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'], [500, '500ms'], [90_000, '1m30s'], [5_400_000, '1h30m'], [604_800_000, '1w'], [8 * 86_400_000, '8d'],
      [90 * 86_400_000, '90d'], [31_536_000_000, '1y'], [-300_000, '-5m'], [86_400_000 + 1, '1d1ms'],
    ];
    for (const [ms, text] of cases) assert.equal(formatPromDuration(ms), text, String(ms));
  });

  it('round-trips every duration it prints', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_PROM_DURATION_MS }), (ms) => parsePromDuration(formatPromDuration(ms)) === ms));
  });
});

describe('Prometheus HTTP API durations', () => {
  it('takes float seconds as the API does, and Prometheus durations', () => {
    const cases: Array<[string, number]> = [['1.5', 1500], ['30', 30_000], ['0.001', 1], ['1e3', 1_000_000], ['.5', 500], ['-2', -2000], ['1m30s', 90_000], ['0', 0]];
    for (const [text, ms] of cases) assert.equal(parsePromApiDuration(text), ms, text);
  });

  it('refuses overflow, infinity and text that is neither', () => {
    failsWith(() => parsePromApiDuration('1e20'), /cannot parse "1e20" to a valid duration\. It overflows int64/);
    failsWith(() => parsePromApiDuration('Inf'), /overflows int64/);
    failsWith(() => parsePromApiDuration('1.5s'), /^cannot parse "1\.5s" to a valid duration$/, 2);
    failsWith(() => parsePromApiDuration(''), /^cannot parse "" to a valid duration$/);
  });
});

describe('policy and actuation durations', () => {
  it('take a number of seconds or a Prometheus duration string', () => {
    assert.equal(parseSecondsOrPromDuration(90), 90_000);
    assert.equal(parseSecondsOrPromDuration(0.5), 500);
    assert.equal(parseSecondsOrPromDuration('1h30m'), 5_400_000);
    failsWith(() => parseSecondsOrPromDuration(-1), /non-negative count of seconds/);
    failsWith(() => parseSecondsOrPromDuration('90'), /has no unit/);
  });
});

describe('Flink durations', () => {
  it('reads a number, optional spaces and any of TimeUtils\' unit labels; no unit is milliseconds', () => {
    const cases: Array<[string | number, number]> = [
      ['500', 500], [1500, 1500], ['10 s', 10_000], ['10s', 10_000], ['  5 min ', 300_000], ['5m', 300_000], ['1 MIN', 60_000], ['2 minutes', 120_000],
      ['1 h', 3_600_000], ['3 hours', 10_800_000], ['1d', 86_400_000], ['2 days', 172_800_000], ['30 sec', 30_000], ['30 secs', 30_000],
      ['1 second', 1000], ['250ms', 250], ['250 milli', 250], ['250 millis', 250], ['7 milliseconds', 7],
      ['1500 µs', 1.5], ['2 micros', 0.002], ['3000000 ns', 3], ['4 nanoseconds', 4e-6], ['0', 0],
    ];
    for (const [text, ms] of cases) assert.equal(parseFlinkDuration(text), ms, String(text));
  });

  it('refuses what TimeUtils refuses, with its wording', () => {
    failsWith(() => parseFlinkDuration('   '), /empty- or whitespace-only/);
    failsWith(() => parseFlinkDuration('-5 s'), /does not start with a number/, 1);
    failsWith(() => parseFlinkDuration('s'), /does not start with a number/);
    failsWith(() => parseFlinkDuration('1 fortnight'), /time interval unit label 'fortnight' in "1 fortnight" does not match any of the recognized units: DAYS: \(d \| day \| days\)/, 3);
    failsWith(() => parseFlinkDuration('1.5 s'), /unit label '\.5 s'.*fractions are not allowed/);
    failsWith(() => parseFlinkDuration('1h30m'), /unit label 'h30m'/);
    failsWith(() => parseFlinkDuration('5 mins'), /unit label 'mins'/);
    failsWith(() => parseFlinkDuration('9223372036854775808'), /cannot be represented as 64bit number \(numeric overflow\)/);
    failsWith(() => parseFlinkDuration('9223372036854775807 d'), /out of range/);
    failsWith(() => parseFlinkDuration(-1), /whole, non-negative/);
    failsWith(() => parseFlinkDuration(1.5), /whole, non-negative/);
    assert.equal(tryParseFlinkDuration('x'), null);
  });

  it('prints with the largest unit that keeps the value whole, as formatWithHighestUnit', () => {
    const cases: Array<[number, string]> = [[0, '0 ms'], [60_000, '1 min'], [3_601_000, '3601 s'], [1500, '1500 ms'], [86_400_000, '1 d'], [1.5, '1500 µs'], [7_200_000, '2 h']];
    for (const [ms, text] of cases) assert.equal(formatFlinkDuration(ms), text, String(ms));
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (ms) => parseFlinkDuration(formatFlinkDuration(ms)) === ms));
  });
});
