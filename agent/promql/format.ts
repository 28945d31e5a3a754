/**
 * Renders an AST back to PromQL text in Prometheus's canonical style (as its
 * `expr.String()` does, promql/parser/printer.go): `sum by (job) (rate(x[5m]))`,
 * `a / on (b) group_left (c) d`, durations like `1h30m`, label matchers sorted and joined
 * by "," (`up{instance="a",job="b"}`), `@` before `offset`, numbers as Go's
 * strconv.FormatFloat(v, 'f', -1) and strings as Go's strconv.Quote. Parsing the output
 * gives the same AST. pretty.ts splits long expressions over lines from these strings.
 */
import type { LabelMatcher } from '../tsdb/matchers.ts';
import type { AtModifier, Expr, VectorSelector } from './ast.ts';
import { formatPromDuration as formatDuration } from '../../common/duration.ts';
import { formatValue } from './value.ts';

function formatNumber(v: number): string {
  return formatValue(v);
}

/**
 * Go's strconv.Quote: printable runes as they are, `\a \b \f \n \r \t \v \\ \"` escaped,
 * other control characters as `\xNN`, other non-printable runes as `\uNNNN` / `\UNNNNNNNN`.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x7f || PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}

/** Go's unicode.IsPrint beyond ASCII: letters, marks, numbers, punctuation and symbols. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function formatMatcher(m: LabelMatcher): string {
  return `${m.name}${m.type}${goQuote(m.value)}`;
}

function formatAt(at: AtModifier | null): string {
  if (at === null) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function formatOffset(ms: number): string {
  if (ms === 0) return '';
  return ms < 0 ? ` offset -${formatDuration(-ms)}` : ` offset ${formatDuration(ms)}`;
}

function formatSelector(e: VectorSelector): string {
  const ms = e.matchers.filter((m) => !(e.name !== null && m.name === '__name__' && m.type === '=' && m.value === e.name));
  const name = e.name ?? '';
  // Go's sort.Strings: byte order of the UTF-8 text, which for these strings is code point order.
  const body = ms.length === 0 && name !== '' ? '' : `{${ms.map(formatMatcher).sort(byCodePoint).join(',')}}`;
  return name + body;
}

function byCodePoint(a: string, b: string): number {
  const x = Buffer.from(a), y = Buffer.from(b);
  return Buffer.compare(x, y);
}

function grouping(labels: readonly string[]): string {
  return `(${labels.join(', ')})`;
}

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'number': return formatNumber(e.value);
    case 'string': return goQuote(e.value);
    case 'paren': return `(${formatExpr(e.expr)})`;
    case 'unary': return `${e.op}${formatExpr(e.expr)}`;
    case 'vector_selector': return formatSelector(e) + formatAt(e.at) + formatOffset(e.offsetMs);
    case 'matrix_selector':
      return `${formatSelector(e.vector)}[${formatDuration(e.rangeMs)}]${formatAt(e.vector.at)}${formatOffset(e.vector.offsetMs)}`;
    case 'subquery':
      return formatExpr(e.expr) + subquerySuffix(e);
    case 'call': return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
    case 'aggregate': {
      const args = e.param === null ? formatExpr(e.expr) : `${formatExpr(e.param)}, ${formatExpr(e.expr)}`;
      return `${aggregateOpString(e)}(${args})`;
    }
    case 'binary':
      return `${formatExpr(e.lhs)} ${binaryOpString(e)} ${formatExpr(e.rhs)}`;
  }
}

/** `[<range>:<step>]`, then `@`, then `offset`: what follows a subquery's expression. */
export function subquerySuffix(e: Extract<Expr, { kind: 'subquery' }>): string {
  return `[${formatDuration(e.rangeMs)}:${e.stepMs > 0 ? formatDuration(e.stepMs) : ''}]${formatAt(e.at)}${formatOffset(e.offsetMs)}`;
}

/** `sum`, `sum by (job) `, `topk without (a) `: an aggregation up to its opening parenthesis (Go's getAggOpStr). */
export function aggregateOpString(e: Extract<Expr, { kind: 'aggregate' }>): string {
  if (e.without) return `${e.op} without ${grouping(e.grouping)} `;
  if (e.grouping.length > 0) return `${e.op} by ${grouping(e.grouping)} `;
  return e.op;
}

/**
 * The operator of a binary expression with `bool` and its matching clause, as Prometheus
 * prints them: group modifiers always with their (possibly empty) label list, and an
 * `ignoring ()` written out when a group modifier has no on/ignoring labels (as Prometheus 3 does).
 */
export function binaryOpString(e: Extract<Expr, { kind: 'binary' }>): string {
  let mod = e.returnBool ? ' bool' : '';
  const m = e.matching;
  if (m !== null) {
    const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
    if (m.on || m.labels.length > 0 || grouped) mod += ` ${m.on ? 'on' : 'ignoring'} ${grouping(m.labels)}`;
    if (grouped) mod += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'} ${grouping(m.include)}`;
  }
  return e.op + mod;
}
