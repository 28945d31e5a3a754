/**
 * Public face of the rule template engine: compile a label or annotation template once
 * at load time (syntax errors carry an offset into the text), then expand it per alert
 * with Prometheus's data (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value` and the
 * `$labels`, `$externalLabels`, `$externalURL`, `$value` variables). An execution error
 * yields `<error expanding template: ...>` like Prometheus, never an exception.
 */
import { Executor, TemplateExecError } from './exec.ts';
import { TEMPLATE_FUNC_NAMES, templateFuncs, type TemplateContext } from './funcs.ts';
import { TemplateSyntaxError } from './lex.ts';
import { parseTemplate, type Node } from './parse.ts';
import { GoMap, GoStruct, type GoValue } from './values.ts';

export { formatFloat, formatGoFloat } from './gofmt.ts';
export { sprintf } from './printf.ts';
export { humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp } from './funcs.ts';
export type { TemplateContext, QuerySample } from './funcs.ts';
export { TemplateSyntaxError } from './lex.ts';

const PREDECLARED = ['$labels', '$externalLabels', '$externalURL', '$value'];
/** Length of Prometheus's `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`. */
const PREFIX_LENGTH = 112;

export interface CompiledTemplate {
  name: string;
  text: string;
  /** null when the text has no action at all: expansion returns it unchanged. */
  nodes: Node[] | null;
}

/** 1-based line and column of an offset in a text. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      last = i;
    }
  }
  return { line, col: offset - last };
}

/** Parses a template; throws TemplateSyntaxError with the offset of the problem. */
export function compileTemplate(name: string, text: string): CompiledTemplate {
  if (!text.includes('{{')) return { name, text, nodes: null };
  return { name, text, nodes: parseTemplate(text, TEMPLATE_FUNC_NAMES, PREDECLARED) };
}

/** The Go-style message for a syntax error: `template: NAME:LINE: msg`. */
export function syntaxErrorMessage(t: { name: string; text: string }, err: TemplateSyntaxError): string {
  return `template: ${t.name}:${lineCol(t.text, err.pos).line}: ${err.message}`;
}

export interface AlertTemplateData {
  labels: Record<string, string>;
  externalLabels: Record<string, string>;
  externalURL: string;
  value: number;
}

/** One function table per context object: a rule evaluation shares it across its alerts. */
const funcCache = new WeakMap<TemplateContext, ReturnType<typeof templateFuncs>>();

function funcsFor(ctx: TemplateContext): ReturnType<typeof templateFuncs> {
  let f = funcCache.get(ctx);
  if (!f) {
    f = templateFuncs(ctx);
    funcCache.set(ctx, f);
  }
  return f;
}

/** Expands a compiled template for one alert; errors become Prometheus's error text. */
export async function expandAlertTemplate(t: CompiledTemplate, data: AlertTemplateData, ctx: TemplateContext): Promise<string> {
  if (t.nodes === null) return t.text;
  const labels = new GoMap(data.labels);
  const externalLabels = new GoMap(data.externalLabels);
  const dot = new GoStruct('template.AlertTemplateData', {
    Labels: labels,
    ExternalLabels: externalLabels,
    ExternalURL: data.externalURL,
    Value: data.value,
  });
  const vars: Record<string, GoValue> = {
    $labels: labels,
    $externalLabels: externalLabels,
    $externalURL: data.externalURL,
    $value: data.value,
  };
  try {
    return await new Executor(funcsFor(ctx), vars).run(t.nodes, dot);
  } catch (err) {
    if (err instanceof TemplateExecError) {
      // Prometheus prepends its variable definitions on line 1, so Go's columns (0-based
      // byte offsets) on that line are shifted by their length.
      const before = Buffer.from(t.text.slice(0, err.pos), 'utf8');
      const nl = before.lastIndexOf(10);
      const line = 1 + before.filter((b) => b === 10).length;
      const col = nl < 0 ? PREFIX_LENGTH + before.length : before.length - nl - 1;
      const at = err.context !== undefined ? ` at <${err.context}>` : '';
      return `<error expanding template: error executing template ${t.name}: template: ${t.name}:${line}:${col}: executing "${t.name}"${at}: ${err.message}>`;
    }
    return `<error expanding template: ${err instanceof Error ? err.message : String(err)}>`;
  }
}

/** Expands a template over arbitrary data (for the CLI and tests). */
export async function expandTemplate(t: CompiledTemplate, dot: GoValue, vars: Record<string, GoValue>, ctx: TemplateContext): Promise<string> {
  if (t.nodes === null) return t.text;
  return new Executor(funcsFor(ctx), vars).run(t.nodes, dot);
}
