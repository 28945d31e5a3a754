/**
 * The Go values a Prometheus template sees, modelled in JavaScript: float64 is a plain
 * number, int is `GoInt` (Go keeps them apart: `gt $value 100` is a type error), maps,
 * structs, slices, time.Time and time.Duration, and how `%v` prints each of them.
 */
import { formatGoFloat } from './gofmt.ts';

export class GoInt {
  readonly v: number;
  constructor(v: number) {
    this.v = Math.trunc(v);
  }
}

/** map[string]string (or map[string]any): missing keys read as the zero value. */
export class GoMap {
  readonly entries: Map<string, GoValue>;
  readonly zero: GoValue;
  constructor(entries: Map<string, GoValue> | Record<string, string>, zero: GoValue = '') {
    this.entries = entries instanceof Map ? entries : new Map(Object.entries(entries));
    this.zero = zero;
  }
}

export class GoStruct {
  readonly typeName: string;
  readonly fields: Record<string, GoValue>;
  constructor(typeName: string, fields: Record<string, GoValue>) {
    this.typeName = typeName;
    this.fields = fields;
  }
}

/** time.Time, held as float seconds since the epoch (UTC). */
export class GoTime {
  readonly seconds: number;
  constructor(seconds: number) {
    this.seconds = seconds;
  }
}

/** time.Duration, held as integer nanoseconds. */
export class GoDuration {
  readonly ns: number;
  constructor(ns: number) {
    this.ns = Math.trunc(ns);
  }
}

/** html/template.HTML as returned by safeHtml: prints as its string. */
export class GoHTML {
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
}

export type GoValue =
  | string
  | number
  | boolean
  | null
  | GoInt
  | GoMap
  | GoStruct
  | GoTime
  | GoDuration
  | GoHTML
  | GoValue[];

export function goTypeName(v: GoValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return 'int';
  if (v instanceof GoMap) return 'map[string]string';
  if (v instanceof GoStruct) return v.typeName;
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoDuration) return 'time.Duration';
  if (v instanceof GoHTML) return 'template.HTML';
  return '[]interface {}';
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + String(n);

/** time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function formatGoTime(seconds: number): string {
  // Prometheus times have millisecond precision; rounding to it avoids float noise.
  const totalMs = Math.round(seconds * 1000);
  const secs = Math.floor(totalMs / 1000);
  const nanos = (totalMs - secs * 1000) * 1e6;
  const d = new Date(secs * 1000);
  let s = `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  if (nanos > 0) s += '.' + String(nanos).padStart(9, '0').replace(/0+$/, '');
  return s + ' +0000 UTC';
}

/** time.Duration.String(): "1h2m3.5s", "150ms", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    let unit: string;
    let div: number;
    if (u < 1e3) return (neg ? '-' : '') + String(u) + 'ns';
    if (u < 1e6) {
      unit = 'µs';
      div = 1e3;
    } else {
      unit = 'ms';
      div = 1e6;
    }
    out = trimFrac(u, div) + unit;
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    out = trimFrac(u, 1e9) + 's';
    if (h > 0 || m > 0) out = String(m) + 'm' + out;
    if (h > 0) out = String(h) + 'h' + out;
  }
  return (neg ? '-' : '') + out;
}

function trimFrac(u: number, div: number): string {
  const whole = Math.floor(u / div);
  const frac = u - whole * div;
  if (frac === 0) return String(whole);
  const width = Math.round(Math.log10(div));
  return String(whole) + '.' + String(frac).padStart(width, '0').replace(/0+$/, '');
}

/** fmt's %v. */
export function formatValue(v: GoValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatGoFloat(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoInt) return String(v.v);
  if (v instanceof GoHTML) return v.s;
  if (v instanceof GoTime) return formatGoTime(v.seconds);
  if (v instanceof GoDuration) return formatGoDuration(v.ns);
  if (v instanceof GoMap) {
    const keys = [...v.entries.keys()].sort();
    return 'map[' + keys.map((k) => `${k}:${formatValue(v.entries.get(k) ?? null)}`).join(' ') + ']';
  }
  if (v instanceof GoStruct) return '{' + Object.values(v.fields).map(formatValue).join(' ') + '}';
  return '[' + v.map(formatValue).join(' ') + ']';
}

/** Go's notion of truth for if/with/and/or/not. */
export function isTrue(v: GoValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoInt) return v.v !== 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoDuration) return v.ns !== 0;
  if (v instanceof GoHTML) return v.s.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true; // structs and time.Time are always true
}
