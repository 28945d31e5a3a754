/**
 * Command-line flags generated from a zod config schema, so the schema is the one source of a
 * key's name, type, default and help: every leaf key gets a flag named after its path, dotted as
 * Prometheus names its flags, each segment in kebab-case (`scrape.maxBackoff` →
 * `--scrape.max-backoff`). Values are coerced by the leaf's type (numbers, booleans with a
 * `--no-` form, enums, durations, lists, `key=value` maps, YAML for nested values) and checked
 * by the leaf's own schema, so a bad value is reported against its flag. Shortcuts (`--port`
 * for `listen.port`) are declared as aliases of a key. Unknown flags get the closest flag and key
 * as a suggestion. No commander here: the CLI turns `ConfigFlag`s into its options.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FlowpilotError, errorMessage } from './errors.ts';

/** Marks a string schema as a Prometheus duration (`.meta({ format: DURATION_FORMAT })`). */
export const DURATION_FORMAT = 'prometheus-duration';

export type FlagKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'duration' | 'seconds-or-duration' | 'list' | 'map' | 'yaml';

export interface ConfigFlag {
  /** `--scrape.interval` */
  flag: string;
  /** The config key it sets: `['scrape', 'interval']`. */
  path: string[];
  kind: FlagKind;
  /** For a list: the kind of its elements. */
  element?: 'string' | 'number' | 'integer' | 'enum';
  choices?: string[];
  description: string;
  defaultValue?: unknown;
  /** The leaf's schema, which checks one value. */
  schema: z.ZodType;
  /** A shortcut kept for existing command lines, not generated from the path. */
  alias?: boolean;
  /** How a shortcut's value becomes the key's value (e.g. `--scrape job=URL` → a scrape group). */
  map?: (value: string | string[] | boolean) => unknown;
  /** The value syntax in help when the kind's own does not say it (`<[job=]url...>`). */
  valueHint?: string;
  /** A string that must be a URL. */
  url?: boolean;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  defaultValue?: unknown;
  getter?: () => z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'pipe', 'readonly', 'catch', 'nonoptional']);

/** A schema without its default/optional/pipe layers, with the first description and default found. */
function unwrap(schema: z.ZodType): { base: z.ZodType; description: string | undefined; defaultValue: unknown } {
  let s = schema;
  let description = s.description;
  let defaultValue: unknown;
  for (let i = 0; i < 10; i++) {
    const def = defOf(s);
    if (!WRAPPERS.has(def.type)) break;
    if ((def.type === 'default' || def.type === 'prefault') && defaultValue === undefined) defaultValue = def.defaultValue;
    const inner = def.innerType ?? def.in;
    if (!inner) break;
    s = inner;
    description ??= s.description;
  }
  return { base: s, description, defaultValue };
}

/** `maxBackoff` → `max-backoff`. */
export const kebab = (segment: string): string => segment.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The flag of a config key: `['web', 'enableLifecycle']` → `--web.enable-lifecycle`. */
export const flagOf = (path: readonly string[]): string => `--${path.map(kebab).join('.')}`;

/** The property commander stores a flag under (its camelCase rule, so `--flink-url` → `flinkUrl`). */
export function attributeOf(flag: string): string {
  return flag.replace(/^--(no-)?/, '').split('-').reduce((out, word, i) => (i === 0 ? word : out + word[0]!.toUpperCase() + word.slice(1)), '');
}

/** z.url(), or the older z.string().url() (a check on a plain string). */
function isUrl(base: z.ZodType): boolean {
  const def = defOf(base) as { format?: string; checks?: Array<{ _zod: { def: { format?: string } } }> };
  return def.format === 'url' || (def.checks ?? []).some((c) => c._zod.def.format === 'url');
}

function scalarKind(base: z.ZodType): ConfigFlag['element'] | 'boolean' | 'duration' | undefined {
  const def = defOf(base);
  if (def.type === 'string') return z.globalRegistry.get(base)?.format === DURATION_FORMAT ? 'duration' : 'string';
  if (def.type === 'number') return (base as z.ZodNumber).isInt ? 'integer' : 'number';
  if (def.type === 'enum') return 'enum';
  if (def.type === 'boolean') return 'boolean';
  return undefined;
}

function leafOf(schema: z.ZodType, path: string[]): ConfigFlag {
  const { base, description, defaultValue } = unwrap(schema);
  const def = defOf(base);
  const flag: ConfigFlag = { flag: flagOf(path), path, kind: 'yaml', description: description ?? '', schema, ...(defaultValue === undefined ? {} : { defaultValue }) };
  const scalar = scalarKind(base);
  if (scalar !== undefined) flag.kind = scalar;
  if (isUrl(base)) flag.url = true;
  if (def.type === 'enum') flag.choices = Object.values(def.entries ?? {});
  if (def.type === 'array' && def.element) {
    const { base: el } = unwrap(def.element);
    const k = scalarKind(el);
    if (k === 'string' || k === 'number' || k === 'integer' || k === 'enum') {
      flag.kind = 'list';
      flag.element = k;
      if (isUrl(el)) flag.url = true;
      if (k === 'enum') flag.choices = Object.values(defOf(el).entries ?? {});
    }
  }
  if (def.type === 'record' && def.valueType && scalarKind(unwrap(def.valueType).base) === 'string') flag.kind = 'map';
  if (def.type === 'union' && def.options?.length === 2 && def.options.every((o) => ['number', 'string'].includes(defOf(o).type))) flag.kind = 'seconds-or-duration';
  return flag;
}

/**
 * One flag per leaf key of an object schema, in schema order. Objects (also optional ones) are
 * walked into; anything else is a leaf (lists of objects and lazy schemas take YAML).
 */
export function schemaFlags(schema: z.ZodType, prefix: string[] = []): ConfigFlag[] {
  const out: ConfigFlag[] = [];
  const walk = (s: z.ZodType, path: string[]): void => {
    const { base } = unwrap(s);
    const def = defOf(base);
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key]);
      return;
    }
    out.push(leafOf(s, path));
  };
  walk(schema, prefix);
  return out;
}

/** The leaf schema at a path, for aliases. */
export function leafSchemaAt(schema: z.ZodType, path: readonly string[]): z.ZodType {
  let s = schema;
  for (const key of path) {
    const def = defOf(unwrap(s).base);
    const child = def.shape?.[key];
    if (!child) throw new Error(`no config key ${path.join('.')}`);
    s = child;
  }
  return s;
}

/** A shortcut flag for a key, checked and coerced as the key's own flag is. */
export function aliasFlag(schema: z.ZodType, flag: string, path: string[], description: string, custom?: { map: NonNullable<ConfigFlag['map']>; valueHint: string }): ConfigFlag {
  const f: ConfigFlag = { ...leafOf(leafSchemaAt(schema, path), path), flag, description, alias: true };
  // A shortcut with its own value syntax takes a list of strings and maps them itself.
  if (custom) Object.assign(f, { kind: 'list', element: 'string', map: custom.map, valueHint: custom.valueHint });
  return f;
}

/** The value syntax shown in help: `<duration>`, `<n>`, `<url...>`. */
export function valueName(f: ConfigFlag): string {
  if (f.valueHint) return f.valueHint;
  const word = f.url ? 'url' : 'value';
  switch (f.kind) {
    case 'boolean':
      return '';
    case 'duration':
      return '<duration>';
    case 'seconds-or-duration':
      return '<seconds|duration>';
    case 'number':
    case 'integer':
      return '<n>';
    case 'enum':
      return '<choice>';
    case 'list':
      return f.element === 'number' || f.element === 'integer' ? '<n...>' : `<${word}...>`;
    case 'map':
      return '<key=value...>';
    case 'yaml':
      return '<yaml>';
    default:
      return `<${word}>`;
  }
}

/** The help line: the schema's description, its choices and default, and the negation of a boolean. */
export function helpText(f: ConfigFlag): string {
  let text = f.description;
  if (f.alias) text += ` (config key ${f.path.join('.')})`;
  if (f.choices && f.kind !== 'enum') text += ` (choices: ${f.choices.join(', ')})`;
  const showDefault = f.defaultValue !== undefined && !/\bdefault\b/.test(f.description) && !(Array.isArray(f.defaultValue) && f.defaultValue.length === 0)
    && !(typeof f.defaultValue === 'object' && f.defaultValue !== null && !Array.isArray(f.defaultValue) && Object.keys(f.defaultValue).length === 0);
  if (showDefault) text += ` (default ${typeof f.defaultValue === 'string' ? f.defaultValue : JSON.stringify(f.defaultValue)})`;
  if (f.kind === 'yaml') text += ' (as YAML or JSON)';
  if (f.kind === 'boolean') text += `; --no-${f.flag.slice(2)} sets it false`;
  return text;
}

function usage(flag: string, message: string): FlowpilotError {
  return new FlowpilotError('FP_CLI_USAGE', `${flag}: ${message}`);
}

function number(f: ConfigFlag, text: string, integer: boolean): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw usage(f.flag, `"${text}" is not ${integer ? 'an integer' : 'a number'}`);
  return n;
}

/** Coerces a flag's command-line value to the key's value type. */
export function coerceFlag(f: ConfigFlag, value: string | string[] | boolean): unknown {
  if (f.map) return f.map(value);
  const one = Array.isArray(value) ? value[value.length - 1]! : value;
  switch (f.kind) {
    case 'boolean':
      if (typeof one === 'boolean') return one;
      if (one === 'true' || one === 'false') return one === 'true';
      throw usage(f.flag, `"${one}" is not true or false`);
    case 'number':
    case 'integer':
      return number(f, String(one), f.kind === 'integer');
    case 'seconds-or-duration':
      return /^\d+(\.\d+)?$/.test(String(one)) ? Number(one) : String(one);
    case 'list': {
      const items = (Array.isArray(value) ? value : [String(value)]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
      return f.element === 'number' || f.element === 'integer' ? items.map((v) => number(f, v, f.element === 'integer')) : items;
    }
    case 'map': {
      const out: Record<string, string> = {};
      for (const pair of Array.isArray(value) ? value : [String(value)]) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw usage(f.flag, `"${pair}" is not key=value`);
        out[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return out;
    }
    case 'yaml':
      try {
        return parseYaml(String(one)) as unknown;
      } catch (err) {
        throw usage(f.flag, `not valid YAML: ${errorMessage(err).split('\n')[0]}`);
      }
    default:
      return String(one);
  }
}

function setIn(raw: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * Puts the given flags on top of a raw config (the file's, or `{}`), each value coerced and
 * checked against its key's schema so errors name the flag. `values` is keyed by commander's
 * attribute name (`attributeOf`); undefined entries were not given. Two flags for one key are an
 * error, as a shortcut and the key's own flag may otherwise silently disagree.
 */
export function applyFlags(raw: Record<string, unknown>, flags: readonly ConfigFlag[], values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const setBy = new Map<string, string>();
  for (const f of flags) {
    const v = values[attributeOf(f.flag)];
    if (v === undefined) continue;
    const key = f.path.join('.');
    const other = setBy.get(key);
    if (other !== undefined && other !== f.flag) throw new FlowpilotError('FP_CLI_USAGE', `${other} and ${f.flag} both set ${key}; give one of them`);
    setBy.set(key, f.flag);
    const value = coerceFlag(f, v as string | string[] | boolean);
    const res = f.schema.safeParse(value);
    if (!res.success) {
      const issue = res.error.issues[0]!;
      const where = issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
      throw usage(f.flag, `${issue.message}${where}`);
    }
    setIn(raw, f.path, value);
  }
  return raw;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

const norm = (s: string): string => s.replace(/^-+(no-)?/, '').replace(/=.*$/, '').toLowerCase().replace(/[-_.]/g, '');

/** The flag closest to an unknown one (spelling, or camelCase/kebab/dot mix-ups), if any is close. */
export function closestFlag(unknown: string, flags: readonly ConfigFlag[]): ConfigFlag | undefined {
  const u = norm(unknown);
  let best: ConfigFlag | undefined;
  let bestD = Infinity;
  for (const f of flags) {
    const d = Math.min(editDistance(u, norm(f.flag)), editDistance(u, norm(f.path.join('.'))));
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(u.length / 3)) ? best : undefined;
}

/** The error for an unknown flag, naming it and suggesting the closest flag and its key. */
export function unknownFlagError(unknown: string, flags: readonly ConfigFlag[], command: string): FlowpilotError {
  const name = unknown.replace(/=.*$/, '');
  const near = closestFlag(name, flags);
  const hint = near ? `; did you mean ${near.flag} (config key ${near.path.join('.')})?` : `; see ${command} --help`;
  return new FlowpilotError('FP_CLI_USAGE', `unknown option '${name}' for ${command}${hint}`);
}
