/**
 * Decoding of PromQL literal tokens from their source text: numbers (decimal, hex,
 * octal, Inf, NaN, exponents), durations (`1h30m`, `500ms`, or plain seconds) and
 * strings (Go escapes in "..." and '...', raw `...`). Strings are decoded to bytes and
 * then UTF-8, so an escaped byte sequence that is not valid UTF-8 yields U+FFFD and is
 * later refused where a valid name is required.
 */
import { parsePromDuration, tryParsePromDuration } from '../../common/duration.ts';

/** Parses a number literal; returns NaN-with-flag via null when the text is not a number. */
export function parseNumberLiteral(text: string): number | null {
  const t = text.trim();
  const lower = t.toLowerCase().replace(/^[+]/, '');
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan' || lower === '-nan') return NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) return (t.startsWith('-') ? -1 : 1) * parseInt(t.replace(/^[+-]?0x/i, ''), 16);
  if (/^[+-]?0[0-7]+$/.test(t)) return (t.startsWith('-') ? -1 : 1) * parseInt(t.replace(/^[+-]?0/, ''), 8);
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  const d = tryParsePromDuration(t.replace(/^[+-]/, ''));
  if (d !== null) return ((t.startsWith('-') ? -1 : 1) * d) / 1000;
  return null;
}

/**
 * Decodes a duration literal: `1h30m`, `5m`, `100ms` (common/duration.ts), or a plain (float or
 * hex) number of seconds. Returns ms; throws DurationError.
 */
export function decodeDurationLiteral(text: string): number {
  const t = text.trim();
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Math.round(Number(t) * 1000);
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16) * 1000;
  return parsePromDuration(t);
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };

/** Decodes a quoted string literal (with its quotes). Throws Error with a message on a bad escape. */
export function decodeStringLiteral(raw: string): string {
  const q = raw[0];
  const body = raw.slice(1, -1);
  if (q === '`') return body;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of enc.encode(String.fromCodePoint(cp))) bytes.push(b);
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new Error('escape sequence not terminated');
    if (e in SIMPLE_ESCAPES) {
      if ((e === '"' && q === "'") || (e === "'" && q === '"')) throw new Error(`unknown escape sequence \\${e}`);
      bytes.push(SIMPLE_ESCAPES[e]!);
    } else if (e === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('invalid \\x escape');
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      const o = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new Error('invalid octal escape');
      bytes.push(parseInt(o, 8));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 1, i + 1 + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error(`invalid \\${e} escape`);
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('escape sequence is an invalid Unicode code point');
      for (const b of enc.encode(String.fromCodePoint(cp))) bytes.push(b);
      i += n;
    } else {
      throw new Error(`unknown escape sequence \\${e}`);
    }
  }
  return new TextDecoder('utf-8').decode(new Uint8Array(bytes));
}

/** Prometheus's legacy-safe check: valid UTF-8 (no replacement char) and non-empty. */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && !name.includes('\uFFFD');
}
