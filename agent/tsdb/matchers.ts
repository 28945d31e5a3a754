/**
 * Label matchers (`=`, `!=`, `=~`, `!~`). Regex matchers are fully anchored and accept
 * the RE2 syntax PromQL users write; `translateRe2` maps the RE2-only constructs
 * (leading `(?i)` style flag groups, `\z`, `\Q...\E`, POSIX classes) onto JavaScript
 * regular expressions. A bad regex is a FlowpilotError('FP_PROMQL_REGEX').
 */
import { FlowpilotError } from '../../common/errors.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** True when the label value (empty string for an absent label) satisfies the matcher. */
  matches(value: string): boolean;
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/** Translates RE2 syntax into an equivalent JavaScript pattern (unicode mode off). */
export function translateRe2(src: string): { pattern: string; dotAll: boolean } {
  let out = '';
  let dotAll = false;
  // Stack of open groups; each records how many implicit `(?flags:` groups were opened inside it.
  const implicit: number[] = [0];
  let i = 0;
  let inClass = false;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const d = src[i + 1];
      if (d === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 2;
        continue;
      }
      if (d === 'z' && !inClass) { out += '$(?![\\s\\S])'; i += 2; continue; }
      if (d === 'A' && !inClass) { out += '^'; i += 2; continue; }
      out += c + (d ?? '');
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        if (end > 0) {
          const name = src.slice(i + 2, end);
          const neg = name.startsWith('^');
          const cls = POSIX[neg ? name.slice(1) : name];
          if (cls !== undefined && !neg) { out += cls; i = end + 2; continue; }
        }
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (src[i] === '^') { out += '^'; i++; }
      if (src[i] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(') {
      const m = /^\(\?([a-zA-Z]*)(-[a-zA-Z]*)?(\)|:)/.exec(src.slice(i));
      if (m !== null && m[1] !== 'P' && !src.startsWith('(?P<', i)) {
        let on = m[1] ?? '';
        const off = (m[2] ?? '').slice(1);
        if (on.includes('s')) { dotAll = true; on = on.replace('s', ''); }
        on = on.replace(/[mU]/g, '');
        const offJs = off.replace(/[smU]/g, '');
        const flags = on + (offJs !== '' ? '-' + offJs : '');
        if (m[3] === ')') {
          // A flag group `(?i)` applies to the rest of the enclosing group.
          if (flags !== '') { out += `(?${flags}:`; implicit[implicit.length - 1]!++; }
          i += m[0].length;
          continue;
        }
        out += flags !== '' ? `(?${flags}:` : '(?:';
        implicit.push(0);
        i += m[0].length;
        continue;
      }
      if (src.startsWith('(?P<', i)) { out += '(?<'; implicit.push(0); i += 4; continue; }
      out += c;
      implicit.push(0);
      i++;
      continue;
    }
    if (c === ')') {
      out += ')'.repeat(implicit.pop() ?? 0) + ')';
      if (implicit.length === 0) implicit.push(0);
      i++;
      continue;
    }
    if (c === '|' && implicit[implicit.length - 1]! > 0) {
      // Go applies a flag group to the rest of the group including other alternatives;
      // closing and reopening keeps the alternation at the right level for the common cases.
      out += c;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  out += ')'.repeat(implicit.reduce((a, b) => a + b, 0));
  return { pattern: out, dotAll };
}

const regexCache = new Map<string, RegExp>();

/** Compiles a fully anchored RE2-style regex, cached by source. */
export function compileAnchoredRegex(src: string): RegExp {
  let re = regexCache.get(src);
  if (re !== undefined) return re;
  const { pattern, dotAll } = translateRe2(src);
  try {
    re = new RegExp(`^(?:${pattern})$`, dotAll ? 's' : '');
  } catch (err) {
    throw new FlowpilotError('FP_PROMQL_REGEX', `invalid regular expression ${JSON.stringify(src)}: ${(err as Error).message}`, { cause: err });
  }
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(src, re);
  return re;
}

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
