/**
 * prettify(expr): PromQL split over lines as Prometheus's `parser.Prettify` does
 * (promql/parser/prettier.go, what /api/v1/format_query answers since 2.35). A node whose
 * one-line form (formatExpr) fits in 100 characters stays on one line; a longer one opens up:
 *
 * - binary expressions put each side one level deeper, with the operator (and `bool`,
 *   `on (...)`, `group_left (...)`) alone on a line at the node's own level;
 * - aggregations, calls and parentheses put their arguments one level deeper, one per line,
 *   separated by ",", with the closing parenthesis back at the node's level;
 * - a subquery prints its expression (split as needed) followed by its `[range:step]` suffix;
 * - selectors, numbers and strings are never split; a unary operator sticks to its operand.
 *
 * A level is two spaces. As in Prometheus, a subquery short enough for one line is printed
 * without its level's indentation (prettier.go returns `e.String()` there).
 */
import type { Expr } from './ast.ts';
import { aggregateOpString, binaryOpString, formatExpr, subquerySuffix } from './format.ts';

/** Prometheus's maxCharactersPerLine. */
export const PRETTY_COLUMN_LIMIT = 100;

const INDENT = '  ';

export function prettify(e: Expr, columnLimit = PRETTY_COLUMN_LIMIT): string {
  return pretty(e, 0, columnLimit);
}

function indent(level: number): string {
  return INDENT.repeat(level);
}

function pretty(e: Expr, level: number, limit: number): string {
  const flat = formatExpr(e);
  const split = flat.length > limit;
  switch (e.kind) {
    case 'aggregate': {
      if (!split) return indent(level) + flat;
      let s = `${indent(level)}${aggregateOpString(e)}(\n`;
      if (e.param !== null) s += `${pretty(e.param, level + 1, limit)},\n`;
      return `${s}${pretty(e.expr, level + 1, limit)}\n${indent(level)})`;
    }
    case 'binary':
      if (!split) return indent(level) + flat;
      return `${pretty(e.lhs, level + 1, limit)}\n${indent(level)}${binaryOpString(e)}\n${pretty(e.rhs, level + 1, limit)}`;
    case 'call':
      if (!split) return indent(level) + flat;
      return `${indent(level)}${e.func}(\n${e.args.map((a) => pretty(a, level + 1, limit)).join(',\n')}\n${indent(level)})`;
    case 'paren':
      if (!split) return indent(level) + flat;
      return `${indent(level)}(\n${pretty(e.expr, level + 1, limit)}\n${indent(level)})`;
    case 'subquery':
      if (!split) return flat;
      return pretty(e.expr, level, limit) + subquerySuffix(e);
    case 'unary':
      return `${indent(level)}${e.op}${pretty(e.expr, level, limit).trim()}`;
    case 'matrix_selector':
    case 'vector_selector':
    case 'number':
    case 'string':
      return indent(level) + flat;
  }
}
