/**
 * A parser for the Prometheus text exposition format 0.0.4: `# HELP`/`# TYPE` metadata, samples
 * with optional labels (escapes `\\`, `\"`, `\n`), values including NaN/+Inf/-Inf, and optional
 * integer millisecond timestamps. Histogram and summary families are plain series here
 * (`_bucket{le}`, `_sum`, `_count`, `{quantile}`); their family type is kept in the metadata.
 *
 * Unlike Prometheus, which fails a whole scrape on one bad line, a malformed line is skipped and
 * reported in `errors` (the caller counts them in `flowpilot_scrape_parse_errors_total`), so one
 * odd exporter line never hides every other series of a target. The parser never throws.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';

export interface ParsedSample {
  /** The metric name (also present as `labels.__name__`). */
  name: string;
  /** All labels, including `__name__`. */
  labels: Record<string, string>;
  value: number;
  /** Explicit timestamp in ms since the epoch, when the line carried one. */
  timestampMs?: number;
  /**
   * The series exactly as written (name and label set, before the value). Set by
   * parsePrometheusText. When the caller said the series is known, `labels` is KNOWN_SERIES and
   * `name` is '' (the caller already holds them).
   */
  series?: string;
  /**
   * A 53-bit hash of `series` and 32 more check bits (see SeriesTextHash), set with `series`:
   * a scrape cache keys on these numbers instead of keeping every series text.
   */
  seriesHash?: number;
  seriesCheck?: number;
}

/** Placeholder labels of a sample whose series the caller already knows (see ParseOptions). */
export const KNOWN_SERIES: Readonly<Record<string, string>> = Object.freeze({});

export interface ParseOptions {
  /**
   * Series texts the caller has cached; their labels are not rebuilt (Prometheus's scrape cache
   * idea). `ordinal` is the index the sample will have in `samples`, so a caller can compare with
   * the same position of its previous scrape before hashing the text.
   */
  isKnownSeries?: KnownSeriesTest;
}

/**
 * Says whether the caller has cached a series text. `hash` (53 bits) and `check` (32 more bits)
 * come from 64 bits of hash state over the text, so two different texts among n series share
 * both with a chance of about n^2 / 2^65 (1e-11 for a target of 10,000 series).
 */
export type KnownSeriesTest = (series: string, ordinal: number, hash: number, check: number) => boolean;

export interface FamilyMetadata {
  type: MetricType;
  help: string;
}

export interface ParseError {
  /** 1-based line number. */
  line: number;
  message: string;
  text: string;
}

export interface ParseResult {
  samples: ParsedSample[];
  /** Keyed by family name (the name in `# TYPE`/`# HELP`). */
  metadata: Map<string, FamilyMetadata>;
  errors: ParseError[];
}

const METRIC_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'gaugehistogram', 'info', 'stateset', 'unknown']);

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58; // A-Z a-z _ :
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 48 && c <= 57);
}
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Parses a float the way Go's strconv.ParseFloat does for exposition values (NaN, ±Inf, case-insensitive). */
export function parseExpositionFloat(s: string): number | null {
  const n = s.length;
  if (n === 0) return null;
  // Fast path: only digits, signs, dots and exponents; Number() then agrees with Go (and rejects "1e", "--1").
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69)) {
      plain = false;
      break;
    }
  }
  if (plain) {
    const v = Number(s);
    return Number.isNaN(v) ? null : v;
  }
  const lower = s.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  return null;
}

class LineError extends Error {}

/**
 * A copy of a substring that does not keep the whole scrape body alive. V8 represents slices of
 * 13+ characters as views into their parent; labels outlive the body in the store, so they must
 * not be views. (Concatenation flattens into a fresh string; the slice then views only that.)
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Parses one sample line. Throws LineError on malformed input (caught per line by `parse`). */
function parseSampleLine(line: string): ParsedSample {
  let i = 0;
  const n = line.length;
  if (!isNameStart(line.charCodeAt(0))) throw new LineError('invalid metric name');
  while (i < n && isNameChar(line.charCodeAt(i))) i++;
  const name = ownString(line.slice(0, i));
  const after = line.charCodeAt(i);
  if (i < n && after !== 123 && !isBlank(after)) throw new LineError('invalid metric name');
  const labels: Record<string, string> = { __name__: name };
  while (i < n && isBlank(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) === 123 /* { */) {
    i++;
    for (;;) {
      while (i < n && isBlank(line.charCodeAt(i))) i++;
      if (i >= n) throw new LineError('unterminated label set');
      if (line.charCodeAt(i) === 125 /* } */) {
        i++;
        break;
      }
      const ls = i;
      if (!isLabelStart(line.charCodeAt(i))) throw new LineError(`invalid label name at column ${i + 1}`);
      while (i < n && isLabelChar(line.charCodeAt(i))) i++;
      const lname = ownString(line.slice(ls, i));
      while (i < n && isBlank(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) !== 61 /* = */) throw new LineError(`expected '=' after label name "${lname}"`);
      i++;
      while (i < n && isBlank(line.charCodeAt(i))) i++;
      if (line.charCodeAt(i) !== 34 /* " */) throw new LineError(`expected '"' to open the value of label "${lname}"`);
      i++;
      let value = '';
      let chunk = i;
      for (;;) {
        if (i >= n) throw new LineError(`unterminated value of label "${lname}"`);
        const c = line.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 /* \ */) {
          value += line.slice(chunk, i);
          const e = line.charCodeAt(i + 1);
          if (e === 92) value += '\\';
          else if (e === 34) value += '"';
          else if (e === 110) value += '\n';
          else throw new LineError(`invalid escape in value of label "${lname}"`);
          i += 2;
          chunk = i;
          continue;
        }
        i++;
      }
      value = ownString(value + line.slice(chunk, i));
      i++; // closing quote
      if (lname === '__name__' || Object.hasOwn(labels, lname)) throw new LineError(`duplicate label "${lname}"`);
      labels[lname] = value;
      while (i < n && isBlank(line.charCodeAt(i))) i++;
      const sep = line.charCodeAt(i);
      if (sep === 44 /* , */) {
        i++;
        continue;
      }
      if (sep === 125) {
        i++;
        break;
      }
      throw new LineError(`expected ',' or '}' after the value of label "${lname}"`);
    }
  }
  const rest = line.slice(i).trim();
  if (rest.length === 0) throw new LineError('missing value');
  const parts = rest.split(/[ \t]+/);
  if (parts.length > 2) throw new LineError('unexpected text after the timestamp');
  const value = parseExpositionFloat(parts[0]!);
  if (value === null) throw new LineError(`invalid value "${parts[0]}"`);
  const sample: ParsedSample = { name, labels, value };
  if (parts.length === 2) {
    const ts = parts[1]!;
    if (!/^-?\d+$/.test(ts)) throw new LineError(`invalid timestamp "${ts}"`);
    sample.timestampMs = Number(ts);
  }
  return sample;
}

/** Hash and check bits of the series text delimited by the last seriesEnd call. */
let lastHash = 0;
let lastCheck = 0;

/** Murmur3's finalizer: spreads every input bit over the 32 output bits. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * End of the series text (name plus label set) of a sample line, or -1 when it cannot be
 * delimited. Hashes the text on the way (two FNV-1a passes with different primes, each
 * finalized), into lastHash (53 bits) and lastCheck (32 bits). Blanks between the name and
 * `{` do not count: they do not change the series.
 */
function seriesEnd(line: string): number {
  const n = line.length;
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  let i = 0;
  for (; i < n; i++) {
    const c = line.charCodeAt(i);
    if (!isNameChar(c)) break;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  if (i === 0) return -1;
  let j = i;
  while (j < n && isBlank(line.charCodeAt(j))) j++;
  if (line.charCodeAt(j) !== 123 /* { */) return finishHash(h1, h2, i);
  let inQuote = false;
  for (; j < n; j++) {
    const c = line.charCodeAt(j);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    if (inQuote) {
      if (c === 92) {
        j++;
        const e = line.charCodeAt(j);
        h1 = Math.imul(h1 ^ e, 0x01000193);
        h2 = Math.imul(h2 ^ e, 0x5bd1e995);
      } else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 125) return finishHash(h1, h2, j + 1);
  }
  return -1;
}

function finishHash(h1: number, h2: number, end: number): number {
  const a = fmix32(h1);
  const b = fmix32(h2);
  lastHash = a * 0x200000 + (b >>> 11);
  lastCheck = fmix32(Math.imul(h1, 0x27d4eb2f) ^ b);
  return end;
}

/** Value and optional timestamp after a known series (`rest` starts with a blank). */
function parseValuePart(rest: string, series: string): ParsedSample {
  const n = rest.length;
  let i = 0;
  while (i < n && isBlank(rest.charCodeAt(i))) i++;
  let j = i;
  while (j < n && !isBlank(rest.charCodeAt(j))) j++;
  if (j === i) throw new LineError('missing value');
  const value = parseExpositionFloat(rest.slice(i, j));
  if (value === null) throw new LineError(`invalid value "${rest.slice(i, j)}"`);
  const sample: ParsedSample = { name: '', labels: KNOWN_SERIES, value, series };
  while (j < n && isBlank(rest.charCodeAt(j))) j++;
  if (j < n) {
    let k = j;
    while (k < n && !isBlank(rest.charCodeAt(k))) k++;
    const ts = rest.slice(j, k);
    while (k < n && isBlank(rest.charCodeAt(k))) k++;
    if (k < n) throw new LineError('unexpected text after the timestamp');
    if (!/^-?\d+$/.test(ts)) throw new LineError(`invalid timestamp "${ts}"`);
    sample.timestampMs = Number(ts);
  }
  return sample;
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

function parseCommentLine(line: string, metadata: Map<string, FamilyMetadata>): void {
  const m = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) {
    // `# HELP`/`# TYPE` with a bad name is an error; any other comment is ignored.
    if (/^#[ \t]+(HELP|TYPE)\b/.test(line)) throw new LineError('malformed HELP or TYPE line');
    return;
  }
  const [, kind, captured, rest = ''] = m;
  // Copies: a captured substring is a view into the whole body chunk, and the metadata outlives
  // the scrape (held until the next one), so a view would keep every chunk with a HELP line alive.
  const family = ownString(captured!);
  const meta = metadata.get(family) ?? { type: 'untyped' as MetricType, help: '' };
  if (kind === 'TYPE') {
    const type = rest.trim().toLowerCase();
    if (!METRIC_TYPES.has(type)) throw new LineError(`unknown metric type "${rest.trim()}"`);
    meta.type = type as MetricType;
  } else {
    meta.help = ownString(unescapeHelp(rest));
  }
  metadata.set(family, meta);
}

/**
 * An exposition parser fed in pieces (a response body chunk by chunk), so a scrape never holds
 * its whole body as one string: bodies of megabytes would otherwise land in V8's large-object
 * space and stay there until the next full garbage collection. `push` parses every complete
 * line and keeps the partial last one; `end` parses what is left and returns the result.
 */
export class ExpositionParser {
  private readonly known: KnownSeriesTest | undefined;
  private samples: ParsedSample[] = [];
  /** Samples already handed out by takeSamples (ordinals continue after them). */
  private taken = 0;
  private readonly metadata = new Map<string, FamilyMetadata>();
  private readonly errors: ParseError[] = [];
  private lineNo = 0;
  private rest = '';

  constructor(opts: ParseOptions = {}) {
    this.known = opts.isKnownSeries;
  }

  push(text: string): void {
    const body = this.rest.length > 0 ? this.rest + text : text;
    const last = body.lastIndexOf('\n');
    if (last < 0) {
      this.rest = body;
      return;
    }
    this.parseLines(body, last);
    // A copy, so the kept tail does not pin the whole chunk.
    this.rest = last + 1 < body.length ? ownString(body.slice(last + 1)) : '';
  }

  /** The samples parsed since the last call (or the start); `end` returns only those after. */
  takeSamples(): ParsedSample[] {
    const out = this.samples;
    this.taken += out.length;
    this.samples = [];
    return out;
  }

  /** Samples parsed so far, taken or not. */
  get sampleCount(): number {
    return this.taken + this.samples.length;
  }

  end(): ParseResult {
    if (this.rest.length > 0) this.parseLines(this.rest, this.rest.length);
    this.rest = '';
    return { samples: this.samples, metadata: this.metadata, errors: this.errors };
  }

  /** Parses the lines of body[0, stop), where `stop` is the index of a newline or the body's length. */
  private parseLines(body: string, stop: number): void {
    const known = this.known;
    const samples = this.samples;
    let next = 0;
    // (takeSamples is never called while this runs, so `samples` stays this.samples.)
    while (next <= stop) {
      const start = next;
      let end = body.indexOf('\n', start);
      if (end < 0 || end > stop) end = stop;
      next = end + 1;
      this.lineNo++;
      let line = body.slice(start, end);
      if (line.length === 0) continue;
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      const first = line.charCodeAt(0);
      const lastC = line.charCodeAt(line.length - 1);
      const trimmed = isBlank(first) || isBlank(lastC) ? line.trim() : line;
      if (trimmed.length === 0) continue;
      try {
        if (trimmed.charCodeAt(0) === 35 /* # */) parseCommentLine(trimmed, this.metadata);
        else {
          const end = seriesEnd(trimmed);
          const series = end > 0 ? trimmed.slice(0, end) : '';
          const hash = lastHash;
          const check = lastCheck;
          let sample: ParsedSample;
          if (known !== undefined && end > 0 && (end === trimmed.length || isBlank(trimmed.charCodeAt(end))) && known(series, this.taken + samples.length, hash, check)) {
            sample = parseValuePart(trimmed.slice(end), series);
          } else {
            sample = parseSampleLine(trimmed);
            if (end > 0) sample.series = series;
          }
          if (end > 0) {
            sample.seriesHash = hash;
            sample.seriesCheck = check;
          }
          samples.push(sample);
        }
      } catch (err) {
        this.errors.push({ line: this.lineNo, message: err instanceof Error ? err.message : String(err), text: line.length > 200 ? `${line.slice(0, 200)}…` : line });
      }
    }
  }
}

/** Parses a whole exposition body. Never throws; malformed lines land in `errors`. */
export function parsePrometheusText(body: string, opts: ParseOptions = {}): ParseResult {
  const p = new ExpositionParser(opts);
  p.push(body);
  return p.end();
}

/** The family a series belongs to, given the declared families (histogram/summary suffixes folded). */
export function familyOf(name: string, metadata: Map<string, FamilyMetadata>): string {
  if (metadata.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_created', '_total', '_info']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (metadata.has(base)) return base;
    }
  }
  return name;
}
