/**
 * Renders an AST back to PromQL text.
 */
import type { Expr } from './ast.ts';
export function formatExpr(_e: Expr): string {
  return '';
}
