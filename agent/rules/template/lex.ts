/**
 * Lexer for the Go text/template subset Prometheus rule templates use: text, `{{ }}`
 * actions with `{{-`/`-}}` trimming, comments, strings (interpreted, raw, char),
 * numbers, `.Field` chains, `$variables`, identifiers, `|`, `(`, `)`, `:=`, `=`, `,`.
 * Every token keeps its offset in the template text so errors can point into the file.
 */

export type TokKind =
  | 'text'
  | 'open'
  | 'close'
  | 'ident'
  | 'field'
  | 'var'
  | 'dot'
  | 'string'
  | 'rawstring'
  | 'char'
  | 'number'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'space'
  | 'eof';

export interface Token {
  kind: TokKind;
  val: string;
  pos: number;
}

export class TemplateSyntaxError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string): boolean => /[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) > 127;

/** Splits a template into tokens; throws TemplateSyntaxError with an offset on bad input. */
export function lex(src: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < src.length) {
    let open = src.indexOf('{{', i);
    if (open < 0) open = src.length;
    let textEnd = open;
    let afterOpen = open + 2;
    const trimLeft = /^\{\{-[ \t\r\n]/.test(src.slice(open, open + 4));
    if (trimLeft) {
      while (textEnd > i && isSpace(src[textEnd - 1])) textEnd--;
      afterOpen = open + 3;
    }
    if (textEnd > i) toks.push({ kind: 'text', val: src.slice(i, textEnd), pos: i });
    if (open >= src.length) break;
    // comment
    let j = afterOpen;
    while (j < src.length && isSpace(src[j]) && trimLeft) j++;
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j + 2);
      if (end < 0) throw new TemplateSyntaxError('unclosed comment', open);
      let k = end + 2;
      let trimRight = false;
      if (src.startsWith(' -}}', k)) {
        trimRight = true;
        k += 4;
      } else if (src.startsWith('}}', k)) k += 2;
      else throw new TemplateSyntaxError('comment ends before closing delimiter', end);
      if (trimRight) while (k < src.length && isSpace(src[k])) k++;
      i = k;
      continue;
    }
    toks.push({ kind: 'open', val: '{{', pos: open });
    i = lexAction(src, afterOpen, toks);
  }
  toks.push({ kind: 'eof', val: '', pos: src.length });
  return toks;
}

/** Lexes inside one action; returns the offset after the closing delimiter (and trimmed space). */
function lexAction(src: string, start: number, toks: Token[]): number {
  let i = start;
  for (;;) {
    if (i >= src.length) throw new TemplateSyntaxError('unclosed action', start - 2);
    const c = src[i];
    if (isSpace(c)) {
      let j = i;
      while (j < src.length && isSpace(src[j])) j++;
      if (src.startsWith('-}}', j)) {
        toks.push({ kind: 'close', val: '}}', pos: j });
        j += 3;
        while (j < src.length && isSpace(src[j])) j++;
        return j;
      }
      toks.push({ kind: 'space', val: ' ', pos: i });
      i = j;
      continue;
    }
    if (src.startsWith('}}', i)) {
      toks.push({ kind: 'close', val: '}}', pos: i });
      return i + 2;
    }
    if (c === '|') {
      toks.push({ kind: 'pipe', val: c, pos: i++ });
    } else if (c === '(') {
      toks.push({ kind: 'lparen', val: c, pos: i++ });
    } else if (c === ')') {
      toks.push({ kind: 'rparen', val: c, pos: i++ });
    } else if (c === ',') {
      toks.push({ kind: 'comma', val: c, pos: i++ });
    } else if (c === ':' && src[i + 1] === '=') {
      toks.push({ kind: 'declare', val: ':=', pos: i });
      i += 2;
    } else if (c === '=') {
      toks.push({ kind: 'assign', val: c, pos: i++ });
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') j++;
        if (src[j] === '\n') throw new TemplateSyntaxError('unterminated quoted string', i);
        j++;
      }
      if (j >= src.length) throw new TemplateSyntaxError('unterminated quoted string', i);
      toks.push({ kind: 'string', val: src.slice(i, j + 1), pos: i });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateSyntaxError('unterminated raw quoted string', i);
      toks.push({ kind: 'rawstring', val: src.slice(i + 1, j), pos: i });
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== "'") {
        if (src[j] === '\\') j++;
        j++;
      }
      if (j >= src.length) throw new TemplateSyntaxError('unterminated character constant', i);
      toks.push({ kind: 'char', val: src.slice(i, j + 1), pos: i });
      i = j + 1;
    } else if (c === '$') {
      let j = i + 1;
      while (j < src.length && isAlnum(src[j])) j++;
      toks.push({ kind: 'var', val: src.slice(i, j), pos: i });
      i = j;
    } else if (c === '.') {
      if (/[0-9]/.test(src[i + 1] ?? '')) {
        i = lexNumber(src, i, toks);
        continue;
      }
      let j = i + 1;
      while (j < src.length && isAlnum(src[j])) j++;
      if (j === i + 1) toks.push({ kind: 'dot', val: '.', pos: i });
      else toks.push({ kind: 'field', val: src.slice(i + 1, j), pos: i });
      i = j;
    } else if (/[0-9+-]/.test(c)) {
      i = lexNumber(src, i, toks);
    } else if (isAlnum(c)) {
      let j = i;
      while (j < src.length && isAlnum(src[j])) j++;
      toks.push({ kind: 'ident', val: src.slice(i, j), pos: i });
      i = j;
    } else {
      throw new TemplateSyntaxError(`unrecognized character in action: ${JSON.stringify(c)}`, i);
    }
  }
}

function lexNumber(src: string, i: number, toks: Token[]): number {
  const m = /^[+-]?(0[xX][0-9a-fA-F_]+(\.[0-9a-fA-F_]*)?([pP][+-]?[0-9]+)?|0[bB][01_]+|0[oO][0-7_]+|([0-9][0-9_]*)?\.?[0-9_]*([eE][+-]?[0-9]+)?)/
    .exec(src.slice(i));
  const text = m ? m[0] : '';
  if (text === '' || text === '+' || text === '-' || isAlnum(src[i + text.length] ?? ' ')) {
    throw new TemplateSyntaxError(`bad number syntax: ${JSON.stringify(src.slice(i, i + Math.max(text.length, 1) + 1))}`, i);
  }
  toks.push({ kind: 'number', val: text, pos: i });
  return i + text.length;
}
