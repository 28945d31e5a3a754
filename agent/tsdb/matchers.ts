/**
 * Label matchers (`=`, `!=`, `=~`, `!~`). Regex matchers are fully anchored and use RE2
 * (re2js), as Prometheus does with Go's regexp: linear-time matching, and RE2's syntax and
 * refusals. A bad regex is a FlowpilotError('FP_PROMQL_REGEX').
 */
import { RE2JS, RE2JSException } from 're2js';
import { FlowpilotError } from '../../common/errors.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** True when the label value (empty string for an absent label) satisfies the matcher. */
  matches(value: string): boolean;
}

/** Go's regexp/syntax refuses deeper nesting ("expression nests too deeply"); so do we, before compiling. */
const MAX_NESTING = 1000;

/** A compiled, fully anchored RE2 regex. */
export interface AnchoredRegex {
  readonly source: string;
  /** True when the whole value matches. Linear in the length of the value. */
  test(value: string): boolean;
  /** The groups of a whole-value match (index 0 is the match), with named groups; null when it does not match. */
  exec(value: string): RegexGroups | null;
}

export interface RegexGroups {
  readonly [index: number]: string | undefined;
  readonly length: number;
  readonly groups: Readonly<Record<string, string | undefined>>;
}

function regexError(src: string, msg: string, cause?: unknown): FlowpilotError {
  const shown = src.length > 200 ? `${JSON.stringify(src.slice(0, 200))}... (${src.length} characters)` : JSON.stringify(src);
  return new FlowpilotError('FP_PROMQL_REGEX', `invalid regular expression ${shown}: ${msg}`, cause === undefined ? undefined : { cause });
}

function nestingDepth(src: string): number {
  let depth = 0;
  let max = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 92 /* \\ */) { i++; continue; }
    if (inClass) { if (c === 93 /* ] */) inClass = false; continue; }
    if (c === 91 /* [ */) { inClass = true; if (src[i + 1] === '^') i++; if (src[i + 1] === ']') i++; continue; }
    if (c === 40 /* ( */) { if (++depth > max) max = depth; } else if (c === 41 /* ) */) depth--;
  }
  return max;
}

/** Label values that are plain text: a regex made only of these (and `|`) is a set of literals. */
const LITERAL = /^[A-Za-z0-9_:\- \/,=@%]*$/;

/**
 * Compiles src as Prometheus does (`^(?:src)$`, Go's RE2 syntax) with re2js, a linear-time
 * RE2 engine: what RE2 refuses (backreferences, lookarounds, repeat counts over 1000, ...)
 * fails with FP_PROMQL_REGEX, and matching never backtracks. Literals and alternations of
 * literals (the common `job=~"a|b"`) are matched without the automaton. Cached by source.
 */
export function compileAnchoredRegex(src: string): AnchoredRegex {
  let re = regexCache.get(src);
  if (re !== undefined) return re;
  if (nestingDepth(src) > MAX_NESTING) throw regexError(src, 'error parsing regexp: expression nests too deeply');
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(`^(?:${src})$`);
  } catch (err) {
    throw regexError(src, err instanceof RE2JSException ? err.message : `error parsing regexp: ${(err as Error).message}`, err);
  }
  const literals = src.split('|');
  const fast = literals.every((l) => LITERAL.test(l)) ? new Set(literals) : null;
  re = {
    source: src,
    test: fast !== null ? (v) => fast.has(v) : (v) => compiled.testExact(v),
    exec: (v) => {
      const m = compiled.matcher(v);
      if (!m.matches()) return null;
      const out: (string | undefined)[] = [];
      for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i) ?? undefined);
      const groups: Record<string, string | undefined> = {};
      for (const name of Object.keys(compiled.namedGroups())) groups[name] = m.group(name) ?? undefined;
      return Object.assign(out, { groups });
    },
  };
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(src, re);
  return re;
}

const regexCache = new Map<string, AnchoredRegex>();

/** Builds a matcher; throws FP_PROMQL_REGEX for a regex that does not compile. */
export function newMatcher(type: MatchType, name: string, value: string): LabelMatcher {
  switch (type) {
    case '=':
      return { type, name, value, matches: (v) => v === value };
    case '!=':
      return { type, name, value, matches: (v) => v !== value };
    case '=~': {
      const re = compileAnchoredRegex(value);
      if (value === '.*') return { type, name, value, matches: () => true };
      return { type, name, value, matches: (v) => re.test(v) };
    }
    case '!~': {
      const re = compileAnchoredRegex(value);
      return { type, name, value, matches: (v) => !re.test(v) };
    }
  }
}

export function formatMatcher(m: LabelMatcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}
