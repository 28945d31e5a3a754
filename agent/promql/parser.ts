/**
 * Parser stub.
 */
import { FlowpilotError } from '../../common/errors.ts';
import type { Expr, ValueType } from './ast.ts';
export function parseExpr(_text: string): Expr {
  throw new FlowpilotError('FP_PROMQL_PARSE', 'not implemented yet');
}
export function exprType(_e: Expr): ValueType {
  return 'vector';
}
