/**
 * Parser for the Go text/template subset: builds a tree of text, actions, if/else,
 * with/else, range/else (with `break`/`continue`) over pipelines of commands. It checks
 * what Go checks at parse time: unknown functions, undefined variables, unbalanced
 * `end`/`else`, so that a bad rule template is refused when the file loads.
 */
import { lex, TemplateSyntaxError, type Token } from './lex.ts';

export type Arg =
  | { kind: 'field'; names: string[]; pos: number; chainPos: number } // .A.B on dot
  | { kind: 'var'; name: string; names: string[]; pos: number; chainPos: number } // $x.A.B
  | { kind: 'dot'; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'number'; text: string; isInt: boolean; value: number; pos: number }
  | { kind: 'string'; value: string; quoted: string; pos: number }
  | { kind: 'func'; name: string; pos: number }
  | { kind: 'pipe'; pipe: Pipeline; names: string[]; pos: number; chainPos: number };

export interface Command {
  args: Arg[];
  pos: number;
}

export interface Pipeline {
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
  pos: number;
}

export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pipe: Pipeline;
  list: Node[];
  elseList: Node[] | null;
  pos: number;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline; pos: number }
  | ControlNode
  | { kind: 'break' | 'continue'; pos: number };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

class Parser {
  private toks: Token[];
  private i = 0;
  private vars: string[][];
  private readonly funcs: ReadonlySet<string>;
  private rangeDepth = 0;
  private lastEndPos = 0;

  constructor(src: string, funcs: ReadonlySet<string>, predeclared: string[]) {
    this.toks = lex(src);
    this.funcs = funcs;
    this.vars = [['$', ...predeclared]];
  }

  private peek(skipSpace = true): Token {
    let j = this.i;
    if (skipSpace) while (this.toks[j].kind === 'space') j++;
    return this.toks[j];
  }

  private next(skipSpace = true): Token {
    if (skipSpace) while (this.toks[this.i].kind === 'space') this.i++;
    return this.toks[this.i++];
  }

  private fail(msg: string, pos: number): never {
    throw new TemplateSyntaxError(msg, pos);
  }

  private hasVar(name: string): boolean {
    return this.vars.some((scope) => scope.includes(name));
  }

  parseTop(): Node[] {
    const { list, end, elsePos } = this.parseList();
    if (end !== 'eof') this.fail(`unexpected {{${end}}}`, end === 'end' ? this.lastEndPos : (elsePos ?? 0));
    return list;
  }

  /** Parses nodes up to {{end}}, {{else ...}} or EOF; returns which one stopped it. */
  private parseList(): { list: Node[]; end: 'eof' | 'end' | 'else'; elsePos?: number } {
    const list: Node[] = [];
    for (;;) {
      const t = this.next(false);
      if (t.kind === 'eof') return { list, end: 'eof' };
      if (t.kind === 'text') {
        list.push({ kind: 'text', text: t.val });
        continue;
      }
      // t is 'open'
      const kw = this.peek();
      if (kw.kind === 'ident' && KEYWORDS.has(kw.val)) {
        this.next();
        switch (kw.val) {
          case 'end':
            this.lastEndPos = kw.pos;
            this.expectClose('end');
            return { list, end: 'end' };
          case 'else':
            return { list, end: 'else', elsePos: kw.pos };
          case 'if':
          case 'with':
          case 'range':
            list.push(this.parseControl(kw.val, kw.pos));
            continue;
          case 'break':
          case 'continue':
            if (this.rangeDepth === 0) this.fail(`{{${kw.val}}} outside {{range}}`, kw.pos);
            this.expectClose(kw.val);
            list.push({ kind: kw.val, pos: kw.pos });
            continue;
          default:
            this.fail(`{{${kw.val}}} is not supported in rule templates`, kw.pos);
        }
      }
      const pipe = this.parsePipeline('command', true);
      list.push({ kind: 'action', pipe, pos: t.pos });
    }
  }

  private expectClose(ctx: string): void {
    const t = this.next();
    if (t.kind !== 'close') this.fail(`unexpected ${describe(t)} in ${ctx}`, t.pos);
  }

  private parseControl(kind: 'if' | 'with' | 'range', pos: number): Node {
    this.vars.push([]);
    const pipe = this.parsePipeline(kind, kind === 'range' ? 'range' : true);
    if (kind === 'range') this.rangeDepth++;
    const body = this.parseList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (body.end === 'eof') this.fail(`unexpected EOF: missing {{end}} for {{${kind}}}`, pos);
    if (body.end === 'else') {
      const after = this.peek();
      if ((kind === 'if' || kind === 'with') && after.kind === 'ident' && after.val === kind) {
        // {{else if ...}} / {{else with ...}}: a nested control sharing our {{end}}.
        this.next();
        const nested = this.parseControl(kind, after.pos);
        elseList = [nested];
      } else {
        this.expectClose('else');
        const rest = this.parseList();
        if (rest.end !== 'end') this.fail(`expected {{end}} for {{${kind}}}`, rest.elsePos ?? pos);
        elseList = rest.list;
      }
    }
    this.vars.pop();
    return { kind, pipe, list: body.list, elseList, pos };
  }

  private parsePipeline(ctx: string, allowDecl: boolean | 'range'): Pipeline {
    const start = this.peek();
    const decl: string[] = [];
    let isAssign = false;
    // Look ahead for "$x :=", "$x =", or "$i, $e :=".
    const save = this.i;
    const v1 = this.next();
    if (v1.kind === 'var' && allowDecl) {
      const op = this.next();
      if (op.kind === 'declare' || op.kind === 'assign') {
        decl.push(v1.val);
        isAssign = op.kind === 'assign';
      } else if (op.kind === 'comma' && allowDecl === 'range') {
        const v2 = this.next();
        const op2 = this.next();
        if (v2.kind !== 'var' || (op2.kind !== 'declare' && op2.kind !== 'assign')) this.fail('too many declarations in range', v2.pos);
        decl.push(v1.val, v2.val);
        isAssign = op2.kind === 'assign';
      } else this.i = save;
    } else this.i = save;
    if (decl.length > 0) {
      if (isAssign) for (const d of decl) if (!this.hasVar(d)) this.fail(`undefined variable: ${d}`, start.pos);
      if (!isAssign) this.vars[this.vars.length - 1].push(...decl);
    }
    const cmds: Command[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'close' || t.kind === 'rparen') {
        if (ctx !== 'paren' && t.kind === 'rparen') this.fail('unexpected right paren', t.pos);
        if (ctx === 'paren' && t.kind === 'close') this.fail('unclosed left paren', start.pos);
        this.next();
        break;
      }
      if (t.kind === 'eof') this.fail(`unclosed action`, start.pos);
      cmds.push(this.parseCommand());
      const after = this.peek();
      if (after.kind === 'pipe') {
        this.next();
        if (this.peek().kind === 'close' || this.peek().kind === 'rparen') this.fail('missing command after |', after.pos);
      }
    }
    if (cmds.length === 0) this.fail(`missing value for ${ctx}`, start.pos);
    // Like Go: constants and dot cannot take the piped value; everything else is checked when run.
    for (let k = 1; k < cmds.length; k++) {
      const kind = cmds[k].args[0].kind;
      if (kind === 'bool' || kind === 'dot' || kind === 'nil' || kind === 'number' || kind === 'string') {
        this.fail(`non executable command in pipeline stage ${k + 1}`, cmds[k].pos);
      }
    }
    return { decl, isAssign, cmds, pos: start.pos };
  }

  private parseCommand(): Command {
    const args: Arg[] = [];
    const pos = this.peek().pos;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'close' || t.kind === 'rparen' || t.kind === 'pipe' || t.kind === 'eof') break;
      args.push(this.parseOperand());
      const sep = this.toks[this.i];
      if (sep.kind !== 'space' && sep.kind !== 'close' && sep.kind !== 'rparen' && sep.kind !== 'pipe') {
        this.fail(`unexpected ${describe(sep)} in operand`, sep.pos);
      }
    }
    if (args.length === 0) this.fail('empty command', pos);
    return { args, pos };
  }

  /** Position of the next field token (Go reports a chained field at its first link). */
  private peekFieldPos(): number {
    return this.toks[this.i].kind === 'field' ? this.toks[this.i].pos : -1;
  }

  private fieldChain(): string[] {
    const names: string[] = [];
    while (this.toks[this.i].kind === 'field') names.push(this.toks[this.i++].val);
    return names;
  }

  private parseOperand(): Arg {
    const t = this.next();
    switch (t.kind) {
      case 'field': {
        const next = this.peekFieldPos();
        return { kind: 'field', names: [t.val, ...this.fieldChain()], pos: t.pos, chainPos: next < 0 ? t.pos : next };
      }
      case 'dot':
        return { kind: 'dot', pos: t.pos };
      case 'var':
        if (!this.hasVar(t.val)) this.fail(`undefined variable "${t.val}"`, t.pos);
        const next = this.peekFieldPos();
        return { kind: 'var', name: t.val, names: this.fieldChain(), pos: t.pos, chainPos: next < 0 ? t.pos : next };
      case 'string':
        return { kind: 'string', value: unquote(t.val, t.pos), quoted: t.val, pos: t.pos };
      case 'rawstring':
        return { kind: 'string', value: t.val, quoted: '`' + t.val + '`', pos: t.pos };
      case 'char': {
        const s = unquote('"' + t.val.slice(1, -1).replace(/"/g, '\\"') + '"', t.pos);
        return { kind: 'number', text: t.val, isInt: true, value: s.codePointAt(0) ?? 0, pos: t.pos };
      }
      case 'number':
        return parseNumber(t.val, t.pos);
      case 'lparen': {
        const pipe = this.parsePipeline('paren', false);
        const next = this.peekFieldPos();
        return { kind: 'pipe', pipe, names: this.fieldChain(), pos: t.pos, chainPos: next < 0 ? t.pos : next };
      }
      case 'ident':
        if (t.val === 'true' || t.val === 'false') return { kind: 'bool', value: t.val === 'true', pos: t.pos };
        if (t.val === 'nil') return { kind: 'nil', pos: t.pos };
        if (KEYWORDS.has(t.val)) this.fail(`unexpected <${t.val}> in command`, t.pos);
        if (!this.funcs.has(t.val)) this.fail(`function "${t.val}" not defined`, t.pos);
        return { kind: 'func', name: t.val, pos: t.pos };
      default:
        this.fail(`unexpected ${describe(t)} in command`, t.pos);
    }
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'close') return '"}}"';
  return `"${t.val}"`;
}

function parseNumber(text: string, pos: number): Arg {
  const clean = text.replace(/_/g, '');
  let value: number;
  let isInt: boolean;
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(clean) || /^[+-]?0[bB][01]+$/.test(clean) || /^[+-]?0[oO][0-7]+$/.test(clean)) {
    const neg = clean.startsWith('-');
    const body = clean.replace(/^[+-]/, '');
    value = Number(body) * (neg ? -1 : 1);
    isInt = true;
  } else if (/^[+-]?[0-9]+$/.test(clean)) {
    value = /^[+-]?0[0-7]+$/.test(clean) ? parseInt(clean, 8) : Number(clean);
    isInt = true;
  } else {
    value = Number(clean);
    isInt = false;
    if (Number.isNaN(value)) throw new TemplateSyntaxError(`illegal number syntax: "${text}"`, pos);
  }
  return { kind: 'number', text, isInt, value, pos };
}

function unquote(q: string, pos: number): string {
  try {
    // Go and JSON escapes overlap except for \x, \a, \v, \' and octal; map the common ones.
    const body = q.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007')
      .replace(/\\v/g, '\\u000b').replace(/\\'/g, "'");
    return JSON.parse('"' + body + '"') as string;
  } catch {
    throw new TemplateSyntaxError(`invalid syntax in quoted string ${q}`, pos);
  }
}

/** Parses a template; throws TemplateSyntaxError (message + offset) on any error. */
export function parseTemplate(src: string, funcs: ReadonlySet<string>, predeclared: string[]): Node[] {
  return new Parser(src, funcs, predeclared).parseTop();
}
