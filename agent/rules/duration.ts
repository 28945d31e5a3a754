/**
 * Prometheus durations (`model.Duration`): `1h30m`, `90s`, `2d`, `1w`, `1y`, `500ms`,
 * units in descending order, each at most once; `0` alone is allowed. Values are
 * milliseconds. `formatDuration` prints them back the way Prometheus does (`1h30m`).
 */

const UNITS: Array<[string, number]> = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

const RE = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;

export class DurationError extends Error {}

/** Parses a Prometheus duration into milliseconds; throws DurationError. */
export function parseDuration(s: string): number {
  if (s === '') throw new DurationError('empty duration string');
  if (s === '0') return 0;
  const m = RE.exec(s);
  if (!m) throw new DurationError(`not a valid duration string: ${JSON.stringify(s)}`);
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * UNITS[i][1];
  }
  if (!Number.isSafeInteger(ms)) throw new DurationError(`duration out of range: ${JSON.stringify(s)}`);
  return ms;
}

/** Prints milliseconds as Prometheus does: `0s`, `1m30s`, `1d`, `1w`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
