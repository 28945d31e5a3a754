/**
 * Positions in query text (UTF-16 offsets to 1-based line:column), positioned parse
 * errors, and the one textual fix-up done before Lezer sees a query.
 */
import { FlowpilotError } from '../../common/errors.ts';

/** Converts a UTF-16 offset into 1-based line and column. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return { line, column: col };
}

export function parseError(text: string, offset: number, msg: string): FlowpilotError {
  const { line, column } = positionOf(text, offset);
  return new FlowpilotError('FP_PROMQL_PARSE', `${line}:${column}: parse error: ${msg}`, {
    details: { offset, line, column, position: `${line}:${column}` },
  });
}

/**
 * Lezer does not lex a number with a trailing dot (`2.`), which Go's parser accepts.
 * Outside string literals such a dot becomes a space, keeping every offset unchanged.
 */
export function normalizeTrailingDots(text: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === '\\' && quote !== '`') { out += c + (text[i + 1] ?? ''); i++; continue; }
      if (c === quote) quote = null;
      out += c;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '#') { out += text.slice(i); break; }
    else if (c === '.' && i > 0 && /[0-9]/.test(text[i - 1]!) && !/[0-9eE]/.test(text[i + 1] ?? '')) {
      let j = i - 1;
      while (j >= 0 && /[0-9]/.test(text[j]!)) j--;
      if (j < 0 || !/[A-Za-z_:.\]]/.test(text[j]!)) { out += ' '; continue; }
    }
    out += c;
  }
  return out;
}
