/**
 * parseExpr: PromQL text -> typed AST (ast.ts). Lezer (@prometheus-io/lezer-promql)
 * tokenizes and shapes the query; any error node is refused with its position. The
 * Lezer grammar gives `offset`, `@`, subqueries and unary minus a different binding than
 * Prometheus's yacc grammar, so operator chains are flattened and re-associated here with
 * Prometheus's precedence: or < and/unless < comparisons < +,- < *,/,%,atan2 < ^ (right)
 * and postfix `offset`/`@`/`[..]` bind tightest; unary minus binds like `*` (so -2^2 = -4).
 * Type checks (typecheck.ts) run on the finished tree.
 */
import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { newMatcher, type LabelMatcher, type MatchType } from '../tsdb/matchers.ts';
import type {
  AggregateOp, AtModifier, BinaryOp, Cardinality, Expr, PosRange, ValueType, VectorMatching, VectorSelector,
} from './ast.ts';
import { decodeDurationLiteral, decodeStringLiteral, parseNumberLiteral } from './lexical.ts';
import { DurationError, MAX_PROM_DURATION_MS } from '../../common/duration.ts';
import { checkExpr, exprType as typeOf } from './typecheck.ts';
import { FUNCTION_SIGNATURES } from './functions-sig.ts';
import { normalizeTrailingDots, parseError } from './source-text.ts';
import { goQuote } from './format.ts';

export { parseError, positionOf } from './source-text.ts';

export function exprType(e: Expr): ValueType {
  return typeOf(e);
}

const BIN_OPS: Record<string, BinaryOp> = {
  Pow: '^', Mul: '*', Div: '/', Mod: '%', Atan2: 'atan2', Add: '+', Sub: '-', Eql: '==', Neq: '!=', Gtr: '>', Lss: '<',
  Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};
const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '>': 3, '<': 3, '>=': 3, '<=': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, atan2: 5, '^': 6,
};
const AGG_OPS: Record<string, AggregateOp> = {
  Sum: 'sum', Avg: 'avg', Count: 'count', Min: 'min', Max: 'max', Group: 'group', Stddev: 'stddev', Stdvar: 'stdvar',
  Topk: 'topk', Bottomk: 'bottomk', CountValues: 'count_values', Quantile: 'quantile', LimitK: 'limitk', LimitRatio: 'limit_ratio',
};

type Tok =
  | { t: 'operand'; e: Expr }
  | { t: 'prefix'; op: '-' | '+'; from: number }
  | { t: 'binary'; op: BinaryOp; returnBool: boolean; matching: MatchingClause | null; from: number }
  | { t: 'offset'; ms: number; to: number; from: number }
  | { t: 'at'; at: AtModifier; to: number; from: number }
  | { t: 'range'; ms: number; to: number; from: number }
  | { t: 'subquery'; rangeMs: number; stepMs: number; to: number; from: number };

interface MatchingClause { on: boolean; labels: string[]; group: 'left' | 'right' | null; include: string[] }

class Builder {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  fail(offset: number, msg: string): never {
    throw parseError(this.text, offset, msg);
  }

  src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
    return out;
  }

  build(n: SyntaxNode): Expr {
    const toks: Tok[] = [];
    this.flatten(n, toks);
    const p = { i: 0 };
    const e = this.parseChain(toks, p, 0);
    if (p.i !== toks.length) this.fail(n.from, 'unexpected trailing operator');
    return e;
  }

  /** Flattens operator chains into a token list; other nodes become operands. */
  flatten(n: SyntaxNode, out: Tok[]): void {
    const kids = this.children(n);
    switch (n.name) {
      case 'BinaryExpr': {
        this.flatten(kids[0]!, out);
        let i = 1;
        const op = BIN_OPS[kids[i]!.name];
        if (op === undefined) this.fail(kids[i]!.from, `unexpected ${this.src(kids[i]!)}`);
        const from = kids[i]!.from;
        i++;
        let returnBool = false;
        let matching: MatchingClause | null = null;
        for (; i < kids.length - 1; i++) {
          const k = kids[i]!;
          if (k.name === 'BoolModifier') returnBool = true;
          else if (k.name === 'MatchingModifierClause') matching = this.matchingClause(k);
          else this.fail(k.from, `unsupported binary operator modifier ${JSON.stringify(this.src(k))} (experimental)`);
        }
        out.push({ t: 'binary', op, returnBool, matching, from });
        this.flatten(kids[kids.length - 1]!, out);
        return;
      }
      case 'UnaryExpr':
        out.push({ t: 'prefix', op: this.src(kids[0]!) as '-' | '+', from: n.from });
        this.flatten(kids[1]!, out);
        return;
      case 'OffsetExpr': {
        this.flatten(kids[0]!, out);
        const d = this.offsetDuration(kids[2]!);
        out.push({ t: 'offset', ms: d, from: kids[1]!.from, to: n.to });
        return;
      }
      case 'StepInvariantExpr': {
        this.flatten(kids[0]!, out);
        out.push({ t: 'at', at: this.atModifier(kids[2]!), from: kids[1]!.from, to: n.to });
        return;
      }
      case 'SubqueryExpr': {
        this.flatten(kids[0]!, out);
        const rangeMs = this.duration(kids[1]!);
        const stepMs = kids[2] === undefined ? 0 : this.duration(kids[2]);
        if (rangeMs <= 0) this.fail(kids[1]!.from, `duration must be greater than 0`);
        out.push({ t: 'subquery', rangeMs, stepMs, from: kids[0]!.to, to: n.to });
        return;
      }
      case 'MatrixSelector': {
        this.flatten(kids[0]!, out);
        const ms = this.duration(kids[1]!);
        if (ms <= 0) this.fail(kids[1]!.from, `range must be greater than 0`);
        out.push({ t: 'range', ms, from: kids[0]!.to, to: n.to });
        return;
      }
      case 'NumberDurationLiteral': {
        const s = this.src(n);
        if (s.startsWith('-') || s.startsWith('+')) {
          out.push({ t: 'prefix', op: s[0] as '-' | '+', from: n.from });
          out.push({ t: 'operand', e: this.number(s.slice(1).trimStart(), { start: n.from + s.length - s.slice(1).trimStart().length, end: n.to }) });
          return;
        }
        out.push({ t: 'operand', e: this.number(s, { start: n.from, end: n.to }) });
        return;
      }
      default:
        out.push({ t: 'operand', e: this.primary(n, kids) });
    }
  }

  parseChain(toks: Tok[], p: { i: number }, minPrec: number): Expr {
    let left = this.parseUnary(toks, p);
    for (;;) {
      const tok = toks[p.i];
      if (tok === undefined || tok.t !== 'binary') return left;
      const prec = PRECEDENCE[tok.op];
      if (prec < minPrec) return left;
      p.i++;
      const right = this.parseChain(toks, p, tok.op === '^' ? prec : prec + 1);
      left = this.binary(tok, left, right);
    }
  }

  parseUnary(toks: Tok[], p: { i: number }): Expr {
    const tok = toks[p.i];
    if (tok === undefined) this.fail(this.text.length, 'unexpected end of input');
    if (tok.t === 'prefix') {
      p.i++;
      const operand = this.parseChain(toks, p, PRECEDENCE['^']);
      const pos = { start: tok.from, end: operand.pos.end };
      if (operand.kind === 'number') return { kind: 'number', value: tok.op === '-' ? -operand.value : operand.value, pos };
      const t = typeOf(operand);
      if (t !== 'scalar' && t !== 'vector') this.fail(tok.from, `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(typeName(t))}`);
      return { kind: 'unary', op: tok.op, expr: operand, pos };
    }
    if (tok.t !== 'operand') this.fail(tok.from, 'unexpected operator');
    p.i++;
    let e = tok.e;
    for (;;) {
      const post = toks[p.i];
      if (post === undefined || post.t === 'binary' || post.t === 'prefix' || post.t === 'operand') return e;
      p.i++;
      e = this.postfix(e, post);
    }
  }

  postfix(e: Expr, tok: Tok): Expr {
    const pos = { start: e.pos.start, end: 'to' in tok ? tok.to : e.pos.end };
    switch (tok.t) {
      case 'range':
        if (e.kind !== 'vector_selector') this.fail(tok.from, 'ranges only allowed for vector selectors');
        if (e.offsetMs !== 0 || e.at !== null) this.fail(tok.from, 'no offset or @ modifiers allowed before range');
        return { kind: 'matrix_selector', vector: e, rangeMs: tok.ms, pos };
      case 'subquery': {
        const t = typeOf(e);
        if (t !== 'vector') this.fail(tok.from, `subquery is only allowed on instant vector, got ${typeName(t)} instead`);
        return { kind: 'subquery', expr: e, rangeMs: tok.rangeMs, stepMs: tok.stepMs, offsetMs: 0, at: null, pos };
      }
      case 'offset':
        if (e.kind === 'vector_selector') {
          if (e.offsetMs !== 0) this.fail(e.pos.start, 'offset may not be set multiple times');
          return { ...e, offsetMs: tok.ms, pos };
        }
        if (e.kind === 'matrix_selector') {
          if (e.vector.offsetMs !== 0) this.fail(e.pos.start, 'offset may not be set multiple times');
          return { ...e, vector: { ...e.vector, offsetMs: tok.ms }, pos };
        }
        if (e.kind === 'subquery') {
          if (e.offsetMs !== 0) this.fail(e.pos.start, 'offset may not be set multiple times');
          return { ...e, offsetMs: tok.ms, pos };
        }
        return this.fail(tok.from, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      case 'at':
        if (e.kind === 'vector_selector') {
          if (e.at !== null) this.fail(e.pos.start, '@ <timestamp> may not be set multiple times');
          return { ...e, at: tok.at, pos };
        }
        if (e.kind === 'matrix_selector') {
          if (e.vector.at !== null) this.fail(e.pos.start, '@ <timestamp> may not be set multiple times');
          return { ...e, vector: { ...e.vector, at: tok.at }, pos };
        }
        if (e.kind === 'subquery') {
          if (e.at !== null) this.fail(e.pos.start, '@ <timestamp> may not be set multiple times');
          return { ...e, at: tok.at, pos };
        }
        return this.fail(tok.from, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      default:
        return this.fail(e.pos.end, 'unexpected token');
    }
  }

  binary(tok: Extract<Tok, { t: 'binary' }>, lhs: Expr, rhs: Expr): Expr {
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    const isComparison = ['==', '!=', '>', '<', '>=', '<='].includes(tok.op);
    const isSet = tok.op === 'and' || tok.op === 'or' || tok.op === 'unless';
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
      this.fail(lhs.pos.start, 'binary expression must contain only scalar and instant vector types');
    }
    if (tok.returnBool && !isComparison) this.fail(tok.from, 'bool modifier can only be used on comparison operators');
    if (isComparison && lt === 'scalar' && rt === 'scalar' && !tok.returnBool) this.fail(tok.from, 'comparisons between scalars must use BOOL modifier');
    if (isSet && (lt === 'scalar' || rt === 'scalar')) this.fail(lhs.pos.start, `set operator ${JSON.stringify(tok.op)} not allowed in binary scalar expression`);
    const m = tok.matching;
    let matching: VectorMatching | null = null;
    if (lt === 'vector' && rt === 'vector') {
      let card: Cardinality = isSet ? 'many-to-many' : 'one-to-one';
      if (m !== null && m.group !== null) {
        if (isSet) this.fail(tok.from, `no grouping allowed for ${JSON.stringify(tok.op)} operation`);
        card = m.group === 'left' ? 'many-to-one' : 'one-to-many';
        if (m.on) for (const l of m.include) if (m.labels.includes(l)) this.fail(tok.from, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
      }
      matching = { card, on: m?.on ?? false, labels: m?.labels ?? [], include: m?.include ?? [] };
    } else if (m !== null && (m.on || m.labels.length > 0 || m.group !== null)) {
      this.fail(tok.from, 'vector matching only allowed between instant vectors');
    }
    return { kind: 'binary', op: tok.op, lhs, rhs, returnBool: tok.returnBool, matching, pos: { start: lhs.pos.start, end: rhs.pos.end } };
  }

  matchingClause(n: SyntaxNode): MatchingClause {
    const kids = this.children(n);
    const out: MatchingClause = { on: false, labels: [], group: null, include: [] };
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i]!;
      if (k.name === 'On' || k.name === 'Ignoring') {
        out.on = k.name === 'On';
        if (kids[i + 1]?.name === 'GroupingLabels') out.labels = this.groupingLabels(kids[++i]!);
      } else if (k.name === 'GroupLeft' || k.name === 'GroupRight') {
        out.group = k.name === 'GroupLeft' ? 'left' : 'right';
        if (kids[i + 1]?.name === 'GroupingLabels') out.include = this.groupingLabels(kids[++i]!);
      } else this.fail(k.from, `unexpected ${JSON.stringify(this.src(k))} in matching clause`);
    }
    return out;
  }

  groupingLabels(n: SyntaxNode): string[] {
    return this.children(n).map((k) => {
      if (k.name === 'LabelName') return this.src(k);
      if (k.name === 'QuotedLabelName') return this.string(k.firstChild ?? k);
      if (k.name === 'StringLiteral') return this.string(k);
      return this.fail(k.from, `unexpected ${JSON.stringify(this.src(k))} in grouping opts`);
    });
  }

  number(s: string, pos: PosRange): Expr {
    const v = parseNumberLiteral(s);
    if (v === null) this.fail(pos.start, `bad number or duration syntax: ${JSON.stringify(s)}`);
    return { kind: 'number', value: v, pos };
  }

  string(n: SyntaxNode): string {
    try {
      return decodeStringLiteral(this.src(n));
    } catch (err) {
      return this.fail(n.from, (err as Error).message);
    }
  }

  duration(n: SyntaxNode): number {
    const kids = this.children(n);
    if (n.name === 'DurationExpr' && kids.length === 1 && kids[0]!.name === 'NumberDurationLiteralInDurationContext') return this.duration(kids[0]!);
    if (n.name !== 'NumberDurationLiteralInDurationContext' && n.name !== 'NumberDurationLiteral') {
      return this.fail(n.from, `unsupported duration expression ${JSON.stringify(this.src(n))} (experimental)`);
    }
    let ms: number;
    try {
      ms = decodeDurationLiteral(this.src(n));
    } catch (err) {
      if (err instanceof DurationError && err.problem === 'range') return this.fail(n.from, 'duration out of range');
      return this.fail(n.from, `bad duration syntax: ${JSON.stringify(this.src(n))}`);
    }
    // Go's time.Duration holds about 292 years; Prometheus refuses longer ones (here: float seconds).
    if (ms > MAX_PROM_DURATION_MS) return this.fail(n.from, 'duration out of range');
    return ms;
  }

  offsetDuration(n: SyntaxNode): number {
    const kids = this.children(n);
    if (kids.length === 2 && kids[0]!.name === 'UnaryOp') {
      const v = this.offsetDuration(kids[1]!);
      return this.src(kids[0]!) === '-' ? -v : v;
    }
    if (kids.length === 1) return this.duration(kids[0]!);
    return this.fail(n.from, `unsupported offset expression ${JSON.stringify(this.src(n))} (experimental)`);
  }

  atModifier(n: SyntaxNode): AtModifier {
    if (n.name === 'AtModifierPreprocessors') {
      const k = n.firstChild;
      return k?.name === 'AtStart' ? { kind: 'start' } : { kind: 'end' };
    }
    if (n.name === 'NumberDurationLiteral') {
      const v = parseNumberLiteral(this.src(n));
      if (v === null || !Number.isFinite(v)) return this.fail(n.from, `timestamp out of bounds for @ modifier: ${this.src(n)}`);
      return { kind: 'time', ms: Math.round(v * 1000) };
    }
    return this.fail(n.from, `unexpected ${JSON.stringify(this.src(n))} after @`);
  }

  primary(n: SyntaxNode, kids: SyntaxNode[]): Expr {
    const pos = { start: n.from, end: n.to };
    switch (n.name) {
      case 'ParenExpr':
        return { kind: 'paren', expr: this.build(kids[0]!), pos };
      case 'StringLiteral':
        return { kind: 'string', value: this.string(n), pos };
      case 'VectorSelector':
        return this.vectorSelector(n, kids);
      case 'FunctionCall': {
        const name = this.src(kids[0]!);
        const body = kids[1]!;
        return { kind: 'call', func: name, args: this.children(body).map((a) => this.build(a)), pos };
      }
      case 'AggregateExpr':
        return this.aggregate(n, kids);
      default:
        return this.fail(n.from, `unexpected ${JSON.stringify(this.src(n))} (${n.name})`);
    }
  }

  aggregate(n: SyntaxNode, kids: SyntaxNode[]): Expr {
    const opNode = kids[0]!.firstChild ?? kids[0]!;
    const op = AGG_OPS[opNode.name];
    if (op === undefined) this.fail(kids[0]!.from, `unknown aggregation ${this.src(kids[0]!)}`);
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | null = null;
    for (const k of kids.slice(1)) {
      if (k.name === 'AggregateModifier') {
        const mk = this.children(k);
        without = mk[0]!.name === 'Without';
        grouping = mk[1] === undefined ? [] : this.groupingLabels(mk[1]);
      } else if (k.name === 'FunctionCallBody') body = k;
    }
    if (body === null) return this.fail(n.from, 'aggregation without arguments');
    const args = this.children(body).map((a) => this.build(a));
    const needsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values' || op === 'limitk' || op === 'limit_ratio';
    if (args.length !== (needsParam ? 2 : 1)) {
      this.fail(n.from, `wrong number of arguments for aggregate expression provided, expected ${needsParam ? 2 : 1}, got ${args.length}`);
    }
    return {
      kind: 'aggregate', op, expr: args[args.length - 1]!, param: needsParam ? args[0]! : null, grouping, without, pos: { start: n.from, end: n.to },
    };
  }

  vectorSelector(n: SyntaxNode, kids: SyntaxNode[]): VectorSelector {
    let name: string | null = null;
    const matchers: LabelMatcher[] = [];
    for (const k of kids) {
      if (k.name === 'Identifier' || k.name === 'MetricName') name = this.src(k);
      else if (k.name === 'LabelMatchers') {
        for (const m of this.children(k)) {
          if (m.name === 'QuotedLabelName') {
            if (name !== null) this.fail(m.from, `metric name must not be set twice: ${JSON.stringify(name)}`);
            name = this.string(m.firstChild ?? m);
            continue;
          }
          const mk = this.children(m);
          const label = mk[0]!.name === 'QuotedLabelName' ? this.string(mk[0]!.firstChild ?? mk[0]!) : this.src(mk[0]!);
          const type = this.src(mk[1]!) as MatchType;
          const value = this.string(mk[2]!);
          try {
            matchers.push(newMatcher(type, label, value));
          } catch (err) {
            // As Prometheus: Go's regexp error alone, at the start of the matcher.
            const go = /^invalid regular expression [\s\S]*?: (error parsing regexp: [\s\S]*)$/.exec((err as Error).message);
            if (go !== null) this.fail(m.from, go[1]!);
            this.fail(mk[2]!.from, (err as Error).message);
          }
        }
      } else this.fail(k.from, `unexpected ${JSON.stringify(this.src(k))} in selector`);
    }
    if (name !== null) {
      const named = matchers.find((m) => m.name === '__name__');
      if (named !== undefined) this.fail(n.from, `metric name must not be set twice: ${goQuote(name)} or ${goQuote(named.value)}`);
      matchers.unshift(newMatcher('=', '__name__', name));
    }
    if (!matchers.some((m) => !m.matches(''))) this.fail(n.from, 'vector selector must contain at least one non-empty matcher');
    return { kind: 'vector_selector', name, matchers, offsetMs: 0, at: null, pos: { start: n.from, end: n.to } };
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

/** Parses a PromQL expression; throws FlowpilotError('FP_PROMQL_PARSE') with the position on any error. */
export function parseExpr(text: string): Expr {
  if (text.replace(/#.*$/gm, '').trim() === '') throw parseError(text, 0, 'no expression found in input');
  const open = unterminatedString(text);
  if (open !== null) throw parseError(text, open.offset, open.message);
  const tree = lezer.parse(normalizeTrailingDots(text));
  let errAt = -1;
  tree.iterate({
    enter(node) {
      if (errAt >= 0) return false;
      if (node.type.isError) {
        errAt = node.from;
        return false;
      }
      return undefined;
    },
  });
  const b = new Builder(text);
  if (errAt >= 0) {
    const known = lexerError(text, errAt);
    if (known !== null) b.fail(known.offset, known.message);
    b.fail(errAt, `unexpected ${describeToken(text, errAt)}${errorContext(text, errAt)}`);
  }
  const top = b.children(tree.topNode);
  if (top.length === 0) b.fail(0, 'no expression found in input');
  if (top.length > 1) b.fail(top[1]!.from, `unexpected ${JSON.stringify(b.src(top[1]!))}`);
  const expr = b.build(top[0]!);
  const problem = checkExpr(expr);
  if (problem !== null) b.fail(problem.offset, problem.message);
  return expr;
}

/** Words that may stand before `(` without being a function name. */
const NOT_FUNCTIONS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'atan2', 'offset', 'start', 'end', ...Object.values(AGG_OPS)]);

/**
 * The errors Prometheus's lexer and grammar report in their own words, where Lezer only
 * sees an unexpected token at errAt: an unknown function (`nosuchfn(up)`), a parenthesis,
 * bracket or brace left open at the end, or a right parenthesis without its left one.
 */
function lexerError(text: string, errAt: number): { offset: number; message: string } | null {
  const fn = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(text.slice(0, errAt));
  if (fn !== null && text[errAt] === '(' && !NOT_FUNCTIONS.has(fn[1]!.toLowerCase()) && !FUNCTION_SIGNATURES.has(fn[1]!)) {
    return { offset: fn.index, message: `unknown function with name ${JSON.stringify(fn[1])}` };
  }
  let paren = 0;
  let bracket = 0;
  let brace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      // Skip the string (Go's escapes in "..." and '...'); an unterminated one ends the scan.
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c !== '`' && text[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
      continue;
    }
    if (c === '(') paren++;
    // Prometheus's lexer has taken the parenthesis when it reports it: the position is after it.
    else if (c === ')' && --paren < 0) return i <= errAt ? { offset: i + 1, message: "unexpected right parenthesis ')'" } : null;
    else if (c === '[') bracket++;
    else if (c === ']' && --bracket < 0) return i <= errAt ? { offset: i, message: "unexpected right bracket ']'" } : null;
    else if (c === '{') brace = true;
    else if (c === '}') {
      if (!brace) return i <= errAt ? { offset: i, message: "unexpected character: '}'" } : null;
      brace = false;
    }
  }
  // A range's duration: `[]` and `[5x]`, in the lexer's words.
  const head = text.slice(0, errAt).trimEnd();
  if (head.endsWith('[') && text[errAt] === ']') return { offset: errAt, message: 'missing unit character in duration' };
  const digits = /\[\s*([0-9]+)$/.exec(text.slice(0, errAt));
  if (digits !== null && /[A-Za-z]/.test(text[errAt] ?? '')) return { offset: errAt - digits[1]!.length, message: `bad duration syntax: ${goQuote(digits[1]!)}` };
  if (errAt < text.trimEnd().length) return null;
  if (brace) return { offset: text.length, message: 'unexpected end of input inside braces' };
  if (paren > 0) return { offset: text.length, message: 'unclosed left parenthesis' };
  if (bracket > 0) return { offset: text.length, message: 'unclosed left bracket' };
  return null;
}

/** A string literal left open: Prometheus's lexer reports it at its opening quote. */
function unterminatedString(text: string): { offset: number; message: string } | null {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return null;
      i = nl;
      continue;
    }
    if (c !== '"' && c !== "'" && c !== '`') continue;
    let j = i + 1;
    while (j < text.length && text[j] !== c && !(c !== '`' && text[j] === '\n')) j += c !== '`' && text[j] === '\\' ? 2 : 1;
    if (j >= text.length || text[j] !== c) return { offset: i, message: c === '`' ? 'unterminated raw string' : 'unterminated quoted string' };
    i = j;
  }
  return null;
}

const KEYWORDS = new Set(['bool', 'by', 'group_left', 'group_right', 'ignoring', 'offset', 'on', 'without']);
const SET_WORDS = new Set(['and', 'or', 'unless', 'atan2']);

/**
 * The token at `at` as Prometheus's parser names it in "unexpected ..." (its Item.desc):
 * `end of input`, `identifier "x"`, `number "5"`, `string "\"a\""`, `duration "5m"`,
 * `<by>` for keywords, `<aggr:sum>`, `<op:*>` for operators, `"("` for punctuation.
 */
function describeToken(text: string, at: number): string {
  if (at >= text.trimEnd().length) return 'end of input';
  const rest = text.slice(at);
  let m = /^[0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*(?![A-Za-z0-9_])/.exec(rest);
  if (m) return `duration ${goQuote(m[0])}`;
  m = /^(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)/.exec(rest);
  if (m) return `number ${goQuote(m[0])}`;
  m = /^(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)/.exec(rest);
  if (m) return `string ${goQuote(m[0])}`;
  if (rest[0] === ':') return "colon ':'";
  m = /^[A-Za-z_][A-Za-z0-9_:]*/.exec(rest);
  if (m) {
    const word = m[0];
    const lower = word.toLowerCase();
    if (lower === 'inf' || lower === 'nan') return `number ${goQuote(word)}`;
    if (KEYWORDS.has(lower)) return `<${word}>`;
    if ((Object.values(AGG_OPS) as string[]).includes(lower)) return `<aggr:${word}>`;
    if (SET_WORDS.has(lower)) return `<op:${word}>`;
    return word.includes(':') ? `metric identifier ${goQuote(word)}` : `identifier ${goQuote(word)}`;
  }
  m = /^(?:==|!=|<=|>=|=~|!~|[-+*/%^<>])/.exec(rest);
  if (m) return `<op:${m[0]}>`;
  return goQuote(rest[0]!);
}

/** Where in the grammar the parser was, as Prometheus words it: ` in offset, expected duration` and the like. */
function errorContext(text: string, at: number): string {
  const before = text.slice(0, at).replace(/#[^\n]*/g, '').trimEnd();
  const atEnd = at >= text.trimEnd().length;
  const prevWord = /([A-Za-z_]+)$/.exec(before)?.[1]?.toLowerCase();
  if (prevWord === 'offset') return ' in offset, expected duration';
  if (before.endsWith('@')) return ' in @, expected timestamp';
  if (prevWord !== undefined && ['by', 'without', 'on', 'ignoring'].includes(prevWord) && text[at] !== '(') return ' in grouping opts, expected "("';
  if (atEnd && /\b(?:sum|avg|count|min|max|group|stddev|stdvar|topk|bottomk|count_values|quantile|limitk|limit_ratio)\s*(?:by|without)\s*\([^()]*\)$/i.test(before)) return ' in aggregation';
  // Inside braces: what the label matcher so far lacks.
  const brace = before.lastIndexOf('{');
  if (brace >= 0 && !before.slice(brace).includes('}')) {
    const seg = before.slice(Math.max(brace, before.lastIndexOf(',')) + 1).trim();
    if (/^(?:[A-Za-z_][A-Za-z0-9_]*|"(?:\\.|[^"\\])*")$/.test(seg)) return ' in label matching, expected label matching operator';
    if (/(?:=~|!~|!=|=)$/.test(seg)) return ' in label matching, expected string';
    if (/(?:=~|!~|!=|=)\s*(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)$/.test(seg)) return ' in label matching, expected "," or "}"';
  }
  const bracket = before.lastIndexOf('[');
  if (bracket >= 0 && !before.slice(bracket).includes(']') && /^\[\s*[0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*$/.test(before.slice(bracket))) return ' in subquery or range, expected ":" or "]"';
  return '';
}
