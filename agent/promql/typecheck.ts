/**
 * Static types of AST nodes and the checks Prometheus's parser makes after building the
 * tree: function existence, arity and argument types, aggregation operand types.
 */
import type { Expr, ValueType } from './ast.ts';
import { EXPERIMENTAL_AGGREGATIONS, FUNCTION_SIGNATURES } from './functions-sig.ts';

export function exprType(e: Expr): ValueType {
  switch (e.kind) {
    case 'number': return 'scalar';
    case 'string': return 'string';
    case 'vector_selector': return 'vector';
    case 'matrix_selector': return 'matrix';
    case 'subquery': return 'matrix';
    case 'call': return FUNCTION_SIGNATURES.get(e.func)?.returnType ?? 'vector';
    case 'aggregate': return 'vector';
    case 'binary': return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary': return exprType(e.expr);
    case 'paren': return exprType(e.expr);
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

export interface TypeProblem { offset: number; message: string }

/** Returns the first type problem in the tree, or null. */
export function checkExpr(e: Expr): TypeProblem | null {
  switch (e.kind) {
    case 'number': case 'string': case 'vector_selector': return null;
    case 'matrix_selector': return null;
    case 'subquery': return checkExpr(e.expr);
    case 'paren': case 'unary': return checkExpr(e.expr);
    case 'binary': return checkExpr(e.lhs) ?? checkExpr(e.rhs);
    case 'aggregate': {
      if (EXPERIMENTAL_AGGREGATIONS.has(e.op)) return { offset: e.pos.start, message: `aggregation ${e.op} is experimental and not supported` };
      const t = exprType(e.expr);
      if (t !== 'vector') return { offset: e.expr.pos.start, message: `expected type instant vector in aggregation expression, got ${typeName(t)}` };
      if (e.param !== null) {
        const want: ValueType = e.op === 'count_values' ? 'string' : 'scalar';
        const pt = exprType(e.param);
        if (pt !== want) return { offset: e.param.pos.start, message: `expected type ${typeName(want)} in aggregation parameter, got ${typeName(pt)}` };
      }
      return (e.param === null ? null : checkExpr(e.param)) ?? checkExpr(e.expr);
    }
    case 'call': {
      const sig = FUNCTION_SIGNATURES.get(e.func);
      if (sig === undefined) return { offset: e.pos.start, message: `unknown function with name ${JSON.stringify(e.func)}` };
      if (sig.experimental === true) return { offset: e.pos.start, message: `function ${JSON.stringify(e.func)} is experimental and not supported` };
      const n = e.args.length;
      const min = sig.argTypes.length - (sig.variadic > 0 ? sig.variadic : sig.variadic < 0 ? 1 : 0);
      const max = sig.variadic < 0 ? Infinity : sig.argTypes.length;
      if (sig.variadic === 0 && n !== sig.argTypes.length) {
        return { offset: e.pos.start, message: `expected ${sig.argTypes.length} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}` };
      }
      if (n < min) return { offset: e.pos.start, message: `expected at least ${min} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}` };
      if (n > max) return { offset: e.pos.start, message: `expected at most ${max} argument(s) in call to ${JSON.stringify(e.func)}, got ${n}` };
      for (let i = 0; i < n; i++) {
        const want = sig.argTypes[Math.min(i, sig.argTypes.length - 1)]!;
        const got = exprType(e.args[i]!);
        if (got !== want) {
          return { offset: e.args[i]!.pos.start, message: `expected type ${typeName(want)} in call to function ${JSON.stringify(e.func)}, got ${typeName(got)}` };
        }
        const p = checkExpr(e.args[i]!);
        if (p !== null) return p;
      }
      return null;
    }
  }
}
