/**
 * The function table of Prometheus rule templates: Go's builtins (printf, eq, lt, len,
 * index, ...) and Prometheus's own (humanize*, query, first, label, value, reReplaceAll,
 * title, ...), with Prometheus's exact number formatting. The set is Prometheus 2.42's
 * (no now, toDuration or urlQueryEscape), so a file we accept also loads there. `query` runs through a
 * callback so that template expansion reads storage but does no I/O of its own.
 */
import { RE2JS } from 're2js';
import { formatFloat } from './gofmt.ts';
import { sprint, sprintf, sprintln } from './printf.ts';
import type { TemplateFunc } from './exec.ts';
import { GoDuration, GoHTML, GoInt, GoMap, GoStruct, GoTime, goTypeName, isTrue, type GoValue } from './values.ts';
import { parsePromDuration } from '../../../common/duration.ts';

export interface QuerySample {
  labels: Record<string, string>;
  value: number;
}

export interface TemplateContext {
  /** Runs an instant query at the evaluation time. */
  query?: (expr: string) => Promise<QuerySample[]> | QuerySample[];
  externalURL: string;
  /** Evaluation time in seconds since the epoch. */
  now: number;
}

/** strconv.ParseFloat(s, 64) for the decimal forms rule templates meet. */
export function goParseFloat(s: string): number {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)([eE][+-]?[0-9]+)?$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) return (s.startsWith('-') ? -1 : 1) * Number(s.replace(/^[+-]/, ''));
  throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** Prometheus's convertToFloat. */
export function toFloat(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return goParseFloat(v);
  if (v instanceof GoInt) return v.v;
  if (v instanceof GoDuration) return v.ns / 1e9;
  throw new Error(`can't convert ${goTypeName(v)} to float`);
}

const g4 = (v: number): string => formatFloat(v, 'g', 4);

export function humanize(x: GoValue): string {
  let v = toFloat(x);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

export function humanize1024(x: GoValue): string {
  let v = toFloat(x);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

export function humanizeDuration(x: GoValue): string {
  let v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

export function humanizePercentage(x: GoValue): string {
  return g4(toFloat(x) * 100) + '%';
}

/** Prometheus's floatToTime: nanoseconds, truncated to milliseconds (model.Time). */
function floatToTime(v: number): GoTime {
  const ns = v * 1e9;
  if (ns > 9223372036854775807 || ns < -9223372036854775808) {
    throw new Error(`${formatFloat(v, 'g', -1)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ms = Math.trunc(Math.trunc(ns) / 1e6);
  return new GoTime(ms / 1000);
}

export function humanizeTimestamp(x: GoValue): GoValue {
  const v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  return sprint([floatToTime(v)]);
}

/** A Go regexp, compiled by re2js (RE2: linear-time matching, Go's syntax and refusals). */
export function goRegexp(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.startsWith('error parsing regexp') ? msg : `error parsing regexp: ${msg}`);
  }
}

/** regexp.ReplaceAllString with Go's `$1`, `${1}`, `$name`, `$$` expansion. */
export function reReplaceAll(pattern: string, repl: string, text: string): string {
  const re = goRegexp(pattern);
  const count = re.groupCount();
  return re.matcher(text).replaceAll((...m: unknown[]) => {
    const numbered = m.slice(0, count + 1) as Array<string | null | undefined>;
    const last = m[m.length - 1];
    const groups = (typeof last === 'object' && last !== null ? last : {}) as Record<string, string | null | undefined>;
    return repl.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_all, tok: string, braced?: string, bare?: string) => {
      if (tok === '$') return '$';
      const name = braced ?? bare ?? '';
      if (/^[0-9]+$/.test(name)) return numbered[Number(name)] ?? '';
      return groups[name] ?? '';
    });
  });
}

function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = /[\p{L}\p{N}_]/u.test(prev) ? false : prev.codePointAt(0)! < 0x80 ? true : /\s/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function splitHostPort(hp: string): [string, string] | null {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(hp) ?? /^([^:[\]]*):([^:]*)$/.exec(hp);
  return m ? [m[1], m[2]] : null;
}

function sampleOf(v: GoValue, fn: string): GoStruct {
  if (v instanceof GoStruct && v.typeName === '*template.sample') return v;
  throw new Error(`wrong type for value; expected *template.sample; got ${goTypeName(v)} in ${fn}`);
}

function kindOf(v: GoValue): 'bool' | 'int' | 'float' | 'string' | 'invalid' {
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt || v instanceof GoDuration) return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string' || v instanceof GoHTML) return 'string';
  return 'invalid';
}

function prim(v: GoValue): number | string | boolean {
  if (v instanceof GoInt) return v.v;
  if (v instanceof GoDuration) return v.ns;
  if (v instanceof GoHTML) return v.s;
  return v as number | string | boolean;
}

function eq(a: GoValue, ...bs: GoValue[]): boolean {
  if (bs.length === 0) throw new Error('missing argument for comparison');
  const ka = kindOf(a);
  if (ka === 'invalid' && a !== null) throw new Error('invalid type for comparison');
  for (const b of bs) {
    const kb = kindOf(b);
    if (ka !== kb) {
      if (a !== null && b !== null) throw new Error('incompatible types for comparison');
      if (a === b) return true;
      continue;
    }
    if (prim(a) === prim(b)) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'invalid' || ka === 'bool' || kb === 'invalid' || kb === 'bool') throw new Error('invalid type for comparison');
  if (ka !== kb) throw new Error('incompatible types for comparison');
  return prim(a) < prim(b);
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;').replace(/\0/g, '\uFFFD');
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function index(item: GoValue, ...keys: GoValue[]): GoValue {
  let cur = item;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      const i = k instanceof GoInt ? k.v : NaN;
      if (!(i >= 0 && i < cur.length)) throw new Error(`index out of range: ${formatKey(k)}`);
      cur = Array.isArray(cur) ? cur[i] : new GoInt(Buffer.from(cur, 'utf8')[i]);
    } else if (cur instanceof GoMap) {
      if (typeof k !== 'string') throw new Error(`value has type ${goTypeName(k)}; should be string`);
      cur = cur.entries.has(k) ? (cur.entries.get(k) ?? null) : cur.zero;
    } else throw new Error(`can't index item of type ${goTypeName(cur)}`);
  }
  return cur;
}

const formatKey = (k: GoValue): string => sprint([k]);

/** Builds the function table for one expansion. */
export function templateFuncs(ctx: TemplateContext): Map<string, TemplateFunc> {
  const str = (v: GoValue, fn: string): string => {
    if (typeof v === 'string') return v;
    if (v instanceof GoHTML) return v.s;
    throw new Error(`wrong type for value; expected string; got ${goTypeName(v)} in ${fn}`);
  };
  const f = new Map<string, TemplateFunc>();
  // Go builtins
  f.set('not', (v) => !isTrue(v));
  f.set('len', (v) => {
    if (typeof v === 'string') return new GoInt(Buffer.byteLength(v, 'utf8'));
    if (Array.isArray(v)) return new GoInt(v.length);
    if (v instanceof GoMap) return new GoInt(v.entries.size);
    throw new Error(`len of type ${goTypeName(v)}`);
  });
  f.set('index', index);
  f.set('print', (...a) => sprint(a));
  f.set('printf', (fmt, ...a) => sprintf(str(fmt, 'printf'), a));
  f.set('println', (...a) => sprintln(a));
  f.set('eq', eq);
  f.set('ne', (a, b) => !eq(a, b));
  f.set('lt', lt);
  f.set('le', (a, b) => lt(a, b) || eq(a, b));
  f.set('gt', (a, b) => !(lt(a, b) || eq(a, b)));
  f.set('ge', (a, b) => !lt(a, b));
  f.set('html', (...a) => htmlEscape(sprint(a)));
  f.set('urlquery', (...a) => queryEscape(sprint(a)));
  f.set('js', (...a) => sprint(a).replace(/[\\'"<>&=]/g, (c) => (c === '\\' || c === "'" || c === '"' ? '\\' + c : '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0'))));
  // Prometheus
  f.set('query', async (q) => {
    if (!ctx.query) throw new Error('query is not available here');
    const res = await ctx.query(str(q, 'query'));
    return res.map((s) => new GoStruct('*template.sample', { Labels: new GoMap(s.labels), Value: s.value }));
  });
  f.set('first', (v) => {
    if (Array.isArray(v) && v.length > 0) return v[0];
    if (Array.isArray(v)) throw new Error('first() called on vector with no elements');
    throw new Error(`wrong type for value; expected template.queryResult; got ${goTypeName(v)}`);
  });
  f.set('label', (name, s) => index(sampleOf(s, 'label').fields.Labels, str(name, 'label')));
  f.set('value', (s) => sampleOf(s, 'value').fields.Value);
  f.set('strvalue', (s) => index(sampleOf(s, 'strvalue').fields.Labels, '__value__'));
  f.set('args', (...a) => new GoMap(new Map(a.map((v, i) => [`arg${i}`, v])), null));
  f.set('reReplaceAll', (p, r, t) => reReplaceAll(str(p, 'reReplaceAll'), str(r, 'reReplaceAll'), str(t, 'reReplaceAll')));
  f.set('safeHtml', (s) => new GoHTML(str(s, 'safeHtml')));
  f.set('match', (p, s) => goRegexp(str(p, 'match')).test(str(s, 'match')));
  f.set('title', (s) => title(str(s, 'title')));
  f.set('toUpper', (s) => str(s, 'toUpper').toUpperCase());
  f.set('toLower', (s) => str(s, 'toLower').toLowerCase());
  f.set('graphLink', (e) => `/graph?g0.expr=${queryEscape(str(e, 'graphLink'))}&g0.tab=0`);
  f.set('tableLink', (e) => `/graph?g0.expr=${queryEscape(str(e, 'tableLink'))}&g0.tab=1`);
  f.set('sortByLabel', (l, v) => {
    if (!Array.isArray(v)) throw new Error(`wrong type for value; expected template.queryResult; got ${goTypeName(v)}`);
    const name = str(l, 'sortByLabel');
    return [...v].sort((a, b) => {
      const la = String(index(sampleOf(a, 'sortByLabel').fields.Labels, name));
      const lb = String(index(sampleOf(b, 'sortByLabel').fields.Labels, name));
      return la < lb ? -1 : la > lb ? 1 : 0;
    });
  });
  f.set('stripPort', (hp) => splitHostPort(str(hp, 'stripPort'))?.[0] ?? str(hp, 'stripPort'));
  f.set('stripDomain', (hp) => {
    const s = str(hp, 'stripDomain');
    const split = splitHostPort(s);
    const host = split ? split[0] : s;
    if (/^[0-9.]+$/.test(host) || host.includes(':')) return s;
    const short = host.split('.')[0];
    return split && split[1] !== '' ? `${short.includes(':') ? `[${short}]` : short}:${split[1]}` : short;
  });
  f.set('humanize', humanize);
  f.set('humanize1024', humanize1024);
  f.set('humanizeDuration', humanizeDuration);
  f.set('humanizePercentage', humanizePercentage);
  f.set('humanizeTimestamp', humanizeTimestamp);
  f.set('toTime', (v) => {
    const x = toFloat(v);
    if (!Number.isFinite(x)) throw new Error('value is NaN or Inf');
    return floatToTime(x);
  });
  f.set('pathPrefix', () => {
    try {
      return new URL(ctx.externalURL).pathname.replace(/\/$/, '');
    } catch {
      return '';
    }
  });
  f.set('externalURL', () => ctx.externalURL);
  f.set('parseDuration', (d) => parsePromDuration(str(d, 'parseDuration')) / 1000);
  return f;
}

/** Names known at parse time (a parse-time check needs no context). */
export const TEMPLATE_FUNC_NAMES: ReadonlySet<string> = new Set([
  ...templateFuncs({ externalURL: '', now: 0 }).keys(),
  'and',
  'or',
]);
