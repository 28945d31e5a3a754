/**
 * Executes a parsed template over Go-modelled values, with Go's semantics for dot,
 * variables, field chains (missingkey=zero on maps), pipelines that pass the previous
 * result as the last argument, if/with/range/else, and comparison builtins that refuse
 * int-vs-float like Go does. Functions may be async (the `query` function is).
 */
import type { Arg, Command, ControlNode, Node, Pipeline } from './parse.ts';
import { sprint } from './printf.ts';
import { GoHTML, GoInt, GoMap, GoStruct, goTypeName, isTrue, type GoValue } from './values.ts';

export type TemplateFunc = (...args: GoValue[]) => GoValue | Promise<GoValue>;

export class TemplateExecError extends Error {
  readonly pos: number;
  /** The node being executed, as Go prints it in `at <...>`. */
  readonly context: string | undefined;
  constructor(message: string, pos: number, context?: string) {
    super(message);
    this.pos = pos;
    this.context = context;
  }
}

/** Go's parse.Node String() for the nodes we keep. */
export function argString(a: Arg): string {
  switch (a.kind) {
    case 'func':
      return a.name;
    case 'string':
      return a.quoted;
    case 'number':
      return a.text;
    case 'bool':
      return String(a.value);
    case 'nil':
      return 'nil';
    case 'dot':
      return '.';
    case 'field':
      return '.' + a.names.join('.');
    case 'var':
      return a.name + a.names.map((n) => '.' + n).join('');
    case 'pipe':
      return '(' + pipelineString(a.pipe) + ')' + a.names.map((n) => '.' + n).join('');
  }
}

function pipelineString(p: Pipeline): string {
  const decl = p.decl.length > 0 ? p.decl.join(', ') + (p.isAssign ? ' = ' : ' := ') : '';
  return decl + p.cmds.map(commandString).join(' | ');
}

export function commandString(c: Command): string {
  return c.args.map(argString).join(' ');
}

class LoopSignal {
  readonly kind: 'break' | 'continue';
  constructor(kind: 'break' | 'continue') {
    this.kind = kind;
  }
}

interface Scope {
  vars: Array<{ name: string; value: GoValue }>;
}

export class Executor {
  private out = '';
  private readonly funcs: ReadonlyMap<string, TemplateFunc>;
  private readonly scope: Scope;

  constructor(funcs: ReadonlyMap<string, TemplateFunc>, vars: Record<string, GoValue>) {
    this.funcs = funcs;
    this.scope = { vars: Object.entries(vars).map(([name, value]) => ({ name, value })) };
  }

  async run(nodes: Node[], dot: GoValue): Promise<string> {
    this.scope.vars.unshift({ name: '$', value: dot });
    await this.walkList(nodes, dot);
    return this.out;
  }

  private lookupVar(name: string, pos: number): GoValue {
    for (let k = this.scope.vars.length - 1; k >= 0; k--) if (this.scope.vars[k].name === name) return this.scope.vars[k].value;
    throw new TemplateExecError(`undefined variable: ${name}`, pos);
  }

  private setVar(name: string, value: GoValue): void {
    for (let k = this.scope.vars.length - 1; k >= 0; k--) {
      if (this.scope.vars[k].name === name) {
        this.scope.vars[k].value = value;
        return;
      }
    }
  }

  private async walkList(nodes: Node[], dot: GoValue): Promise<void> {
    const mark = this.scope.vars.length;
    try {
      for (const n of nodes) await this.walk(n, dot);
    } finally {
      this.scope.vars.length = mark;
    }
  }

  private async walk(n: Node, dot: GoValue): Promise<void> {
    switch (n.kind) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = await this.evalPipeline(n.pipe, dot);
        if (n.pipe.decl.length === 0) this.out += printValue(v);
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.scope.vars.length;
        const v = await this.evalPipeline(n.pipe, dot);
        try {
          if (isTrue(v)) await this.walkList(n.list, n.kind === 'with' ? v : dot);
          else if (n.elseList) await this.walkList(n.elseList, dot);
        } finally {
          this.scope.vars.length = mark;
        }
        return;
      }
      case 'range':
        return this.walkRange(n, dot);
      case 'break':
      case 'continue':
        throw new LoopSignal(n.kind);
    }
  }

  private async walkRange(n: ControlNode, dot: GoValue): Promise<void> {
    const mark = this.scope.vars.length;
    const decl = n.pipe.decl;
    const v = await this.evalPipeline({ ...n.pipe, decl: [] }, dot);
    let items: Array<[GoValue, GoValue]>;
    if (Array.isArray(v)) items = v.map((e, k) => [new GoInt(k), e]);
    else if (v instanceof GoMap) items = [...v.entries.keys()].sort().map((k) => [k, v.entries.get(k) ?? null]);
    else if (v === null) items = [];
    else throw new TemplateExecError(`range can't iterate over ${printValue(v)}`, n.pipe.cmds[0]?.pos ?? n.pos, pipelineString(n.pipe));
    try {
      if (items.length === 0) {
        if (n.elseList) await this.walkList(n.elseList, dot);
        return;
      }
      for (const [key, elem] of items) {
        const inner = this.scope.vars.length;
        if (decl.length === 1) this.declareVar(decl[0], elem, n.pipe.isAssign);
        if (decl.length === 2) {
          this.declareVar(decl[0], key, n.pipe.isAssign);
          this.declareVar(decl[1], elem, n.pipe.isAssign);
        }
        try {
          await this.walkList(n.list, elem);
        } catch (err) {
          if (!(err instanceof LoopSignal)) throw err;
          if (err.kind === 'break') break;
        } finally {
          this.scope.vars.length = inner;
        }
      }
    } finally {
      this.scope.vars.length = mark;
    }
  }

  private declareVar(name: string, value: GoValue, isAssign: boolean): void {
    if (isAssign) this.setVar(name, value);
    else this.scope.vars.push({ name, value });
  }

  private async evalPipeline(p: Pipeline, dot: GoValue): Promise<GoValue> {
    let value: GoValue | undefined;
    for (const cmd of p.cmds) value = await this.evalCommand(cmd, dot, value);
    const result = value ?? null;
    for (const d of p.decl) this.declareVar(d, result, p.isAssign);
    return result;
  }

  private async evalCommand(cmd: Command, dot: GoValue, final: GoValue | undefined): Promise<GoValue> {
    const [first, ...rest] = cmd.args;
    const hasArgs = rest.length > 0 || final !== undefined;
    switch (first.kind) {
      case 'func':
        return this.callFunc(first.name, rest, dot, final, first.pos, commandString(cmd));
      case 'field':
        if (hasArgs) throw new TemplateExecError(`can't give argument to non-function .${first.names.join('.')}`, first.pos);
        return fieldChain(dot, first.names, first);
      case 'var': {
        if (hasArgs) throw new TemplateExecError(`can't give argument to non-function ${first.name}`, first.pos);
        return fieldChain(this.lookupVar(first.name, first.pos), first.names, first);
      }
      case 'pipe': {
        if (hasArgs) throw new TemplateExecError(`can't give argument to non-function`, first.pos);
        return fieldChain(await this.evalPipeline(first.pipe, dot), first.names, first);
      }
      default:
        if (hasArgs) throw new TemplateExecError(`can't give argument to non-function ${argText(first)}`, first.pos);
        return this.evalArg(first, dot);
    }
  }

  private async evalArg(a: Arg, dot: GoValue): Promise<GoValue> {
    switch (a.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
        return a.value;
      case 'number':
        return a.isInt ? new GoInt(a.value) : a.value;
      case 'string':
        return a.value;
      case 'field':
        return fieldChain(dot, a.names, a);
      case 'var':
        return fieldChain(this.lookupVar(a.name, a.pos), a.names, a);
      case 'pipe':
        return fieldChain(await this.evalPipeline(a.pipe, dot), a.names, a);
      case 'func':
        return this.callFunc(a.name, [], dot, undefined, a.pos, a.name);
    }
  }

  private async callFunc(name: string, argNodes: Arg[], dot: GoValue, final: GoValue | undefined, pos: number, context: string): Promise<GoValue> {
    if (name === 'and' || name === 'or') {
      // Short-circuit like Go 1.18+: stop at the first falsy (and) / truthy (or) argument.
      const all = [...argNodes];
      if (all.length === 0 && final === undefined) throw new TemplateExecError(`wrong number of args for ${name}: want at least 1 got 0`, pos);
      let v: GoValue = null;
      for (const a of all) {
        v = await this.evalArg(a, dot);
        if (isTrue(v) !== (name === 'and')) return v;
      }
      return final !== undefined ? final : v;
    }
    const fn = this.funcs.get(name);
    if (!fn) throw new TemplateExecError(`function "${name}" not defined`, pos);
    const args: GoValue[] = [];
    for (const a of argNodes) args.push(await this.evalArg(a, dot));
    if (final !== undefined) args.push(final);
    try {
      return await fn(...args);
    } catch (err) {
      if (err instanceof TemplateExecError) throw err;
      throw new TemplateExecError(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`, pos, context);
    }
  }
}

function argText(a: Arg): string {
  switch (a.kind) {
    case 'number':
      return a.text;
    case 'string':
      return JSON.stringify(a.value);
    case 'bool':
      return String(a.value);
    case 'dot':
      return '.';
    default:
      return a.kind;
  }
}

function fieldChain(v: GoValue, names: string[], node: Arg & { chainPos: number }): GoValue {
  const fail = (msg: string): never => {
    throw new TemplateExecError(msg, node.chainPos, argString(node));
  };
  let cur = v;
  for (const name of names) {
    if (cur instanceof GoMap) cur = cur.entries.has(name) ? (cur.entries.get(name) ?? null) : cur.zero;
    else if (cur instanceof GoStruct) {
      if (!(name in cur.fields)) fail(`can't evaluate field ${name} in type ${cur.typeName}`);
      cur = cur.fields[name];
    } else if (cur === null) fail(`nil pointer evaluating interface {}.${name}`);
    else fail(`can't evaluate field ${name} in type ${goTypeName(cur)}`);
  }
  return cur;
}

/** What an action prints: fmt.Fprint of the value. */
function printValue(v: GoValue): string {
  if (v instanceof GoHTML) return v.s;
  return sprint([v]);
}
