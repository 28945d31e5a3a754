/**
 * The one place durations are read and printed, in the two grammars the project speaks:
 *
 * - Prometheus (`model.ParseDuration`): integers with units y w d h m s ms, combined largest
 *   first, each unit at most once (`1h30m`, `90s`, `2w`); `0` alone is allowed; no sign, no
 *   fraction, no spaces; at most 2^63-1 ns (about 292 years). Used by the agent's config, rule
 *   files, PromQL and `rules test`. The HTTP API also takes float seconds (`1.5`) for
 *   `step`/`timeout` (`parsePromApiDuration`).
 * - Flink (`TimeUtils.parseDuration`): one integer, optional spaces, an optional unit label,
 *   case-insensitive; no unit means milliseconds (`10 s`, `5 min`, `1 h`, `500`). Used for
 *   Flink configuration keys (checkpointing, restart strategies, `job.autoscaler.*`).
 *
 * Values are milliseconds. Errors are DurationError (code FP_DURATION) and name the text and,
 * where there is one, the offending character; callers prefix the key, flag or file.
 * Neutral module: agent/, engine/ and cli/ import it; it imports only common/.
 */
import { FlowpilotError } from './errors.ts';

/** What was wrong, for callers that word it their own way (PromQL says "duration out of range"). */
export type DurationProblem = 'empty' | 'syntax' | 'unit' | 'order' | 'range';

export class DurationError extends FlowpilotError {
  readonly problem: DurationProblem;
  /** The text that failed to parse. */
  readonly text: string;
  /** 1-based character of the first offending character, when there is one. */
  readonly position: number | undefined;
  constructor(problem: DurationProblem, message: string, text: string, position?: number) {
    super('FP_DURATION', message, { details: { problem, text, position } });
    this.name = 'DurationError';
    this.problem = problem;
    this.text = text;
    this.position = position;
  }
}

/** Go's time.Duration holds at most 2^63-1 ns; Prometheus refuses anything longer. */
export const MAX_PROM_DURATION_MS = 9_223_372_036_854;

const DAY = 86_400_000;
/** Prometheus's units, largest first; a unit's index is its rank in a combined duration. */
const PROM_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * DAY],
  ['w', 7 * DAY],
  ['d', DAY],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const PROM_UNIT_RANK = new Map(PROM_UNITS.map(([u], i) => [u, i]));
const PROM_UNIT_LIST = PROM_UNITS.map(([u]) => u).join(' ');

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Parses a Prometheus duration (`1h30m`, `500ms`, `0`) into milliseconds; throws DurationError. */
export function parsePromDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new DurationError('empty', 'empty duration string', text);
  const q = JSON.stringify(text);
  let ns = 0n;
  let lastRank = -1;
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text[i])) {
      const what = text[i] === '-' || text[i] === '+' ? 'a sign' : text[i] === ' ' ? 'a space' : JSON.stringify(text[i]);
      throw new DurationError('syntax', `not a valid duration string: ${q}: ${what} at character ${i + 1} where a number is expected (write e.g. 15s, 1m30s, 2h)`, text, i + 1);
    }
    const numStart = i;
    while (isDigit(text[i])) i++;
    const unitStart = i;
    while (i < text.length && !isDigit(text[i])) i++;
    const unit = text.slice(unitStart, i);
    if (unit === '') throw new DurationError('syntax', `not a valid duration string: ${q}: the number at character ${numStart + 1} has no unit (one of ${PROM_UNIT_LIST})`, text, numStart + 1);
    const rank = PROM_UNIT_RANK.get(unit);
    if (rank === undefined) {
      const hint = unit.startsWith('.') ? '; fractions are not allowed (write e.g. 1m30s, 1500ms)' : ` (one of ${PROM_UNIT_LIST})`;
      throw new DurationError('unit', `unknown unit ${JSON.stringify(unit)} in duration ${q} at character ${unitStart + 1}${hint}`, text, unitStart + 1);
    }
    if (rank <= lastRank) {
      throw new DurationError('order', `not a valid duration string: ${q}: unit ${JSON.stringify(unit)} at character ${unitStart + 1} repeats or follows a smaller unit (units go largest first, each once: ${PROM_UNIT_LIST})`, text, unitStart + 1);
    }
    lastRank = rank;
    ns += BigInt(text.slice(numStart, unitStart)) * BigInt(PROM_UNITS[rank]![1]) * 1_000_000n;
    if (ns > 9_223_372_036_854_775_807n) throw new DurationError('range', `duration out of range: ${q} (at most about 292 years)`, text);
  }
  return Number(ns / 1_000_000n);
}

/** parsePromDuration, or null when the text is not a Prometheus duration. */
export function tryParsePromDuration(text: string): number | null {
  try {
    return parsePromDuration(text);
  } catch {
    return null;
  }
}

/**
 * Prints milliseconds as Prometheus's model.Duration.String(): `0s`, `1m30s`, `90d` (years and
 * weeks only when they divide exactly), `-5m` for a negative value.
 */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.trunc(Math.abs(ms));
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of PROM_UNITS) {
    if ((unit === 'y' || unit === 'w') && rest % size !== 0) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|infinity)$/i;

/**
 * A duration parameter of Prometheus's HTTP API (`step`, `timeout`): float seconds (`1.5`,
 * `30`, `1e3`) or a Prometheus duration (`1m30s`). Returns milliseconds, possibly negative (the
 * caller checks the sign); throws DurationError worded as the API words it
 * (`cannot parse "x" to a valid duration`), with the position of the first bad character.
 */
export function parsePromApiDuration(text: string): number {
  if (FLOAT.test(text)) {
    const ms = Math.round(Number(text.replace(/infinity$/i, 'Infinity').replace(/inf$/i, 'Infinity')) * 1000);
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_PROM_DURATION_MS) throw new DurationError('range', `cannot parse ${JSON.stringify(text)} to a valid duration. It overflows int64`, text);
    return ms;
  }
  try {
    return parsePromDuration(text);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new DurationError(err.problem, `cannot parse ${JSON.stringify(text)} to a valid duration`, text, err.position);
  }
}

/**
 * A duration in a policy or actuation file: a YAML number of seconds (`90`, `0.5`) or a
 * Prometheus duration string (`90s`, `1h30m`). Returns milliseconds; throws DurationError.
 */
export function parseSecondsOrPromDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new DurationError('range', `${value} is not a duration: a number is a non-negative count of seconds`, String(value));
    return value * 1000;
  }
  return parsePromDuration(value);
}

/** Flink's unit labels (TimeUtils.TimeUnit), each with its size in milliseconds. */
const FLINK_UNITS: ReadonlyArray<readonly [string, readonly string[], number]> = [
  ['DAYS', ['d', 'day', 'days'], DAY],
  ['HOURS', ['h', 'hour', 'hours'], 3_600_000],
  ['MINUTES', ['min', 'm', 'minute', 'minutes'], 60_000],
  ['SECONDS', ['s', 'sec', 'secs', 'second', 'seconds'], 1000],
  ['MILLISECONDS', ['ms', 'milli', 'millis', 'millisecond', 'milliseconds'], 1],
  ['MICROSECONDS', ['µs', 'micro', 'micros', 'microsecond', 'microseconds'], 1e-3],
  ['NANOSECONDS', ['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'], 1e-6],
];
const FLINK_LABEL_MS = new Map(FLINK_UNITS.flatMap(([, labels, ms]) => labels.map((l) => [l, ms] as const)));
const FLINK_UNIT_LIST = FLINK_UNITS.map(([name, labels]) => `${name}: (${labels.join(' | ')})`).join(', ');

/**
 * Parses a Flink duration (`10 s`, `5min`, `1 h`, `500`, or a YAML number of milliseconds)
 * into milliseconds; micro- and nanoseconds give fractions. Throws DurationError.
 */
export function parseFlinkDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new DurationError('syntax', `${value} is not a duration: a bare number is a whole, non-negative count of milliseconds`, String(value));
    return value;
  }
  const text = value.trim();
  if (text === '') throw new DurationError('empty', 'argument is an empty- or whitespace-only string (write e.g. 10 s, 5 min, 500 ms)', value);
  let i = 0;
  while (isDigit(text[i])) i++;
  const q = JSON.stringify(value);
  if (i === 0) throw new DurationError('syntax', `${q} is not a duration: it does not start with a number (write e.g. 10 s, 5 min, 500 ms)`, value, value.indexOf(text) + 1);
  const digits = text.slice(0, i);
  if (BigInt(digits) > 9_223_372_036_854_775_807n) throw new DurationError('range', `the value '${digits}' of ${q} cannot be represented as 64bit number (numeric overflow)`, value);
  const label = text.slice(i).trim().toLowerCase();
  const size = label === '' ? 1 : FLINK_LABEL_MS.get(label);
  if (size === undefined) {
    const hint = label.startsWith('.') ? ' (fractions are not allowed: write 1500 ms for 1.5 s)' : '';
    throw new DurationError('unit', `time interval unit label '${label}' in ${q} does not match any of the recognized units: ${FLINK_UNIT_LIST}${hint}`, value, value.indexOf(text) + 1 + text.indexOf(text.slice(i).trim()));
  }
  const ms = Number(digits) * size;
  if (!Number.isSafeInteger(Math.round(ms))) throw new DurationError('range', `duration out of range: ${q}`, value);
  return ms;
}

/** tryParse form of parseFlinkDuration: milliseconds or null. */
export function tryParseFlinkDuration(value: string | number): number | null {
  try {
    return parseFlinkDuration(value);
  } catch {
    return null;
  }
}

/**
 * Prints milliseconds as Flink's TimeUtils.formatWithHighestUnit: the largest unit that keeps
 * the value whole, with its first label (`1 min`, `3601 s`, `0 ms`, `1500 µs`).
 */
export function formatFlinkDuration(ms: number): string {
  // Whole milliseconds stay exact in ms (ns would pass 2^53 after about 104 days).
  const whole = Number.isInteger(ms);
  const value = whole ? ms : Math.round(ms * 1_000_000);
  if (value === 0) return '0 ms';
  for (const [, labels, size] of FLINK_UNITS) {
    const unit = whole ? size : Math.round(size * 1_000_000);
    if (unit >= 1 && Number.isInteger(unit) && value % unit === 0) return `${value / unit} ${labels[0]}`;
  }
  return `${value} ns`;
}
