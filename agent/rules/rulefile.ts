/**
 * Reads and validates Prometheus rule files (the field set Prometheus 2.42 accepts:
 * groups with name/interval/limit/rules; alerting rules with alert/expr/for/
 * keep_firing_for/labels/annotations; recording rules with record/expr/labels).
 * YAML is parsed with node ranges, so every problem, including a PromQL or template
 * error deep inside a multi-line value, is reported as file:line:col. It collects all
 * problems of a file instead of stopping at the first, like `promtool check rules`.
 */
import { open } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node as YamlNode, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { FlowpilotError, type ErrorCode } from '../../common/errors.ts';
import { parseExpr, type Expr } from '../promql/index.ts';
import { DurationError, parsePromDuration } from '../../common/duration.ts';
import { compileTemplate, syntaxErrorMessage, TemplateSyntaxError, type CompiledTemplate } from './template/index.ts';
import { DEFAULT_YAML_LIMITS, keyText, SafeYamlDocument, type YamlLimits } from './rulefile-yaml.ts';

export interface RuleProblem {
  code: ErrorCode;
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface RuleDef {
  kind: 'alert' | 'record';
  /** Alert name or recorded metric name. */
  name: string;
  expr: string;
  ast: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Compiled label and annotation templates (alerting rules only). */
  labelTemplates: Record<string, CompiledTemplate>;
  annotationTemplates: Record<string, CompiledTemplate>;
  file: string;
  line: number;
  column: number;
}

export interface GroupDef {
  name: string;
  file: string;
  /** null: use the manager's default evaluation interval. */
  intervalMs: number | null;
  /** 0: no limit. */
  limit: number;
  rules: RuleDef[];
  line: number;
}

export interface RuleFile {
  file: string;
  groups: GroupDef[];
}

export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const GROUP_FIELDS = ['name', 'interval', 'limit', 'rules'];
const RULE_FIELDS = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** Maps an offset inside a scalar's value back to an offset in the file, by aligning value and source. */
function mapValueOffset(text: string, node: Scalar, value: string, off: number): number {
  const [start, end] = node.range ?? [0, 0, 0];
  const src = text.slice(start, end);
  const target = Math.min(off, value.length);
  let p = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    const ws = /\s/.test(c);
    while (p < src.length && !(src[p] === c || (ws && /\s/.test(src[p])))) p++;
    if (p >= src.length) return start;
    if (i === target) return start + p;
    p++;
  }
  return start + p;
}

class FileParser {
  readonly problems: RuleProblem[] = [];
  private readonly lc = new LineCounter();
  private readonly text: string;
  private readonly file: string;
  private readonly limits: YamlLimits;
  private y: SafeYamlDocument | null = null;

  constructor(text: string, file: string, limits: YamlLimits) {
    this.text = text;
    this.file = file;
    this.limits = limits;
  }

  private entries(map: YAMLMap): Pair[] {
    return this.y ? this.y.entries(map) : map.items;
  }

  /** Aliases resolve to their anchor's node, so positions inside aliased values point at the anchor. */
  private deref(node: unknown): YamlNode | null {
    return this.y ? this.y.deref(node) : null;
  }

  private report(code: ErrorCode, offset: number, message: string): void {
    const { line, col } = this.lc.linePos(offset);
    this.problems.push({ code, file: this.file, line, column: col, message });
  }

  private at(node: YamlNode | null | undefined, fallback = 0): number {
    return node?.range?.[0] ?? fallback;
  }

  parse(): GroupDef[] {
    const parsed = SafeYamlDocument.parse(this.text, this.lc, this.limits);
    for (const e of parsed.problems) this.report(e.limit ? 'FP_RULE_LIMIT' : 'FP_RULE_YAML', e.offset, e.message);
    if (!parsed.doc) return [];
    this.y = parsed.doc;
    const root = this.deref(parsed.doc.doc.contents);
    if (root === null || (isScalar(root) && root.value === null)) return [];
    if (!isMap(root)) {
      this.report('FP_RULE_TYPE', this.at(root), 'a rule file must be a mapping with a "groups" list');
      return [];
    }
    let groupsNode: YamlNode | null = null;
    for (const pair of this.entries(root)) {
      const key = this.keyOf(pair);
      if (key === 'groups') groupsNode = this.deref(pair.value);
      else this.report('FP_RULE_UNKNOWN_FIELD', this.at(this.deref(pair.key)), `field ${key} not found in type rulefmt.RuleGroups (a rule file holds only "groups")`);
    }
    if (groupsNode === null || (isScalar(groupsNode) && groupsNode.value === null)) return [];
    if (!isSeq(groupsNode)) {
      this.report('FP_RULE_TYPE', this.at(groupsNode), '"groups" must be a list');
      return [];
    }
    const groups: GroupDef[] = [];
    const seen = new Set<string>();
    for (const item of groupsNode.items) {
      const g = this.deref(item);
      const group = g === null ? null : this.parseGroup(g);
      if (!group) continue;
      if (seen.has(group.name)) {
        this.report('FP_RULE_GROUP_DUP', this.at(g), `groupname: "${group.name}" is repeated in the same file`);
      }
      seen.add(group.name);
      groups.push(group);
    }
    return groups;
  }

  private keyOf(pair: Pair): string {
    return keyText(this.deref(pair.key));
  }

  private scalarString(node: YamlNode | null | undefined): string | null {
    if (!isScalar(node) || node.value === null) return null;
    if (typeof node.value === 'string') return node.value;
    return (node as Scalar & { source?: string }).source ?? String(node.value);
  }

  private fields(node: YAMLMap, allowed: string[], typeName: string): Map<string, YamlNode | null> {
    const out = new Map<string, YamlNode | null>();
    for (const pair of this.entries(node)) {
      const key = this.keyOf(pair);
      if (!allowed.includes(key)) {
        this.report('FP_RULE_UNKNOWN_FIELD', this.at(this.deref(pair.key)),
          `field ${key} not found in type ${typeName} (allowed: ${allowed.join(', ')})`);
        continue;
      }
      out.set(key, this.deref(pair.value));
    }
    return out;
  }

  private duration(node: YamlNode | null | undefined, what: string, ctx: string): number | null {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return null;
    const s = this.scalarString(node);
    if (s === null) {
      this.report('FP_RULE_TYPE', this.at(node), `${ctx}"${what}" must be a duration like 30s, 5m or 1h`);
      return null;
    }
    try {
      return parsePromDuration(s);
    } catch (err) {
      const msg = err instanceof DurationError ? err.message : String(err);
      this.report('FP_RULE_DURATION', this.at(node), `${ctx}bad "${what}": ${msg}`);
      return null;
    }
  }

  private parseGroup(node: YamlNode): GroupDef | null {
    const offset = this.at(node);
    if (!isMap(node)) {
      this.report('FP_RULE_TYPE', offset, 'each group must be a mapping with name and rules');
      return null;
    }
    const f = this.fields(node, GROUP_FIELDS, 'rulefmt.RuleGroup');
    const name = this.scalarString(f.get('name'));
    if (name === null || name === '') {
      this.report('FP_RULE_GROUP_NAME', this.at(f.get('name'), offset), 'Groupname must not be empty');
      return null;
    }
    const ctx = `group "${name}": `;
    const intervalMs = this.duration(f.get('interval'), 'interval', ctx);
    let limit = 0;
    const limitNode = f.get('limit');
    if (limitNode !== undefined && limitNode !== null && !(isScalar(limitNode) && limitNode.value === null)) {
      const v = isScalar(limitNode) ? limitNode.value : undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        this.report('FP_RULE_TYPE', this.at(limitNode), `${ctx}"limit" must be a non-negative integer`);
      } else limit = v;
    }
    const rules: RuleDef[] = [];
    const rulesNode = f.get('rules');
    if (rulesNode !== undefined && rulesNode !== null && !(isScalar(rulesNode) && rulesNode.value === null)) {
      if (!isSeq(rulesNode)) this.report('FP_RULE_TYPE', this.at(rulesNode), `${ctx}"rules" must be a list`);
      else {
        rulesNode.items.forEach((r, i) => {
          const rule = this.parseRule(this.deref(r), name, i + 1);
          if (rule) rules.push(rule);
        });
      }
    }
    return { name, file: this.file, intervalMs: intervalMs === 0 ? null : intervalMs, limit, rules, line: this.lc.linePos(offset).line };
  }

  private stringMap(node: YamlNode | null | undefined, what: 'label' | 'annotation', ctx: string): Map<string, { value: string; node: Scalar }> {
    const out = new Map<string, { value: string; node: Scalar }>();
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.report('FP_RULE_TYPE', this.at(node), `${ctx}"${what}s" must be a mapping of names to strings`);
      return out;
    }
    for (const pair of this.entries(node)) {
      const key = this.keyOf(pair);
      const valNode = this.deref(pair.value);
      if (!LABEL_NAME_RE.test(key)) {
        this.report('FP_RULE_LABEL', this.at(this.deref(pair.key)), `${ctx}invalid ${what} name: ${key}`);
        continue;
      }
      const value = isScalar(valNode) ? (valNode.value === null ? '' : this.scalarString(valNode)) : null;
      if (value === null || !isScalar(valNode)) {
        this.report('FP_RULE_TYPE', this.at(valNode, this.at(this.deref(pair.key))), `${ctx}${what} "${key}" must be a string`);
        continue;
      }
      out.set(key, { value, node: valNode });
    }
    return out;
  }

  private parseRule(node: YamlNode | null, group: string, index: number): RuleDef | null {
    const offset = this.at(node);
    if (!isMap(node)) {
      this.report('FP_RULE_TYPE', offset, `group "${group}", rule ${index}: a rule must be a mapping`);
      return null;
    }
    const f = this.fields(node, RULE_FIELDS, 'rulefmt.RuleNode');
    const record = this.scalarString(f.get('record')) ?? '';
    const alert = this.scalarString(f.get('alert')) ?? '';
    const ctx = `group "${group}", rule ${index}, ${JSON.stringify(record || alert)}: `;
    const before = this.problems.length;
    if (record !== '' && alert !== '') this.report('FP_RULE_KIND', offset, `${ctx}only one of 'record' and 'alert' must be set`);
    if (record === '' && alert === '') this.report('FP_RULE_KIND', offset, `${ctx}one of 'record' or 'alert' must be set`);
    if (record !== '' && !METRIC_NAME_RE.test(record)) {
      this.report('FP_RULE_NAME', this.at(f.get('record')), `${ctx}invalid recording rule name: ${record}`);
    }
    const kind: 'alert' | 'record' = record !== '' ? 'record' : 'alert';
    if (kind === 'record') {
      for (const field of ['for', 'keep_firing_for', 'annotations']) {
        if (f.has(field)) this.report('FP_RULE_FIELD', this.at(f.get(field), offset), `${ctx}invalid field '${field}' in recording rule`);
      }
    }
    const forMs = this.duration(f.get('for'), 'for', ctx) ?? 0;
    const keepFiringForMs = this.duration(f.get('keep_firing_for'), 'keep_firing_for', ctx) ?? 0;
    const exprNode = f.get('expr');
    const expr = this.scalarString(exprNode) ?? '';
    let ast: Expr | null = null;
    if (expr.trim() === '') this.report('FP_RULE_EXPR', this.at(exprNode, offset), `${ctx}field 'expr' must be set in rule`);
    else {
      try {
        ast = parseExpr(expr);
      } catch (err) {
        const details = (err as FlowpilotError).details as { offset?: number } | undefined;
        const at = details?.offset !== undefined && isScalar(exprNode) ? mapValueOffset(this.text, exprNode, expr, details.offset) : this.at(exprNode);
        this.report('FP_RULE_EXPR', at, `${ctx}could not parse expression: ${(err as Error).message}`);
      }
    }
    const labels = this.stringMap(f.get('labels'), 'label', ctx);
    const annotations = this.stringMap(f.get('annotations'), 'annotation', ctx);
    const labelTemplates: Record<string, CompiledTemplate> = {};
    const annotationTemplates: Record<string, CompiledTemplate> = {};
    if (kind === 'alert') {
      const tname = `__alert_${alert}`;
      for (const [map, out] of [[labels, labelTemplates], [annotations, annotationTemplates]] as const) {
        for (const [k, { value, node: vn }] of map) {
          try {
            out[k] = compileTemplate(tname, value);
          } catch (err) {
            if (!(err instanceof TemplateSyntaxError)) throw err;
            this.report('FP_RULE_TEMPLATE', mapValueOffset(this.text, vn, value, err.pos),
              `${ctx}${map === labels ? 'label' : 'annotation'} "${k}": ${syntaxErrorMessage({ name: tname, text: value }, err)}`);
          }
        }
      }
    }
    if (this.problems.length > before || ast === null) return null;
    const { line, col } = this.lc.linePos(offset);
    return {
      kind,
      name: kind === 'record' ? record : alert,
      expr,
      ast,
      forMs,
      keepFiringForMs,
      labels: Object.fromEntries([...labels].map(([k, v]) => [k, v.value])),
      annotations: Object.fromEntries([...annotations].map(([k, v]) => [k, v.value])),
      labelTemplates,
      annotationTemplates,
      file: this.file,
      line,
      column: col,
    };
  }
}

/** Parses rule-file text. `file` is used only in positions. Runs in time linear in the text and its expanded aliases. */
export function parseRuleFile(text: string, file: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): { groups: GroupDef[]; problems: RuleProblem[] } {
  const p = new FileParser(text, file, limits);
  const groups = p.parse();
  const problems = [...p.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  return { groups, problems };
}

/** Bounds on what one reload (or one `rules check`) reads. */
export interface RuleLoadLimits extends YamlLimits {
  /** Largest rule file, in bytes. */
  maxFileBytes: number;
  /** Largest sum of all rule files read together, in bytes. */
  maxTotalBytes: number;
}

export const DEFAULT_RULE_LOAD_LIMITS: RuleLoadLimits = { ...DEFAULT_YAML_LIMITS, maxFileBytes: 8 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 };

function size(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

/** Reads a file but stops past `max` bytes, so a file that grows while it is read is refused without being read whole. */
async function readBounded(path: string, max: number): Promise<{ text: string } | { size: number }> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.size > max) return { size: st.size };
    const chunks: Buffer[] = [];
    let n = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(max + 1 - n, Math.max(st.size - n + 1, 64 * 1024)));
      const { bytesRead } = await fh.read(buf, 0, buf.length, n);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      n += bytesRead;
      if (n > max) return { size: n };
    }
    return { text: Buffer.concat(chunks, n).toString('utf8') };
  } finally {
    await fh.close();
  }
}

/**
 * Reads and parses several rule files; problems from all of them are returned together. A file
 * over `maxFileBytes`, or the files past `maxTotalBytes` altogether, are refused unread
 * (FP_RULE_LIMIT), so a reload cannot be made to hold an unbounded amount of text.
 */
export async function loadRuleFiles(paths: readonly string[], limits: Partial<RuleLoadLimits> = {}): Promise<{ files: RuleFile[]; problems: RuleProblem[] }> {
  const lim: RuleLoadLimits = { ...DEFAULT_RULE_LOAD_LIMITS, ...limits };
  const files: RuleFile[] = [];
  const problems: RuleProblem[] = [];
  let total = 0;
  for (const path of paths) {
    let read: { text: string } | { size: number };
    try {
      read = await readBounded(path, Math.min(lim.maxFileBytes, Math.max(0, lim.maxTotalBytes - total)));
    } catch (err) {
      problems.push({ code: 'FP_RULE_READ', file: path, line: 1, column: 1, message: `cannot read rule file: ${(err as Error).message}` });
      continue;
    }
    if ('size' in read) {
      const message = read.size > lim.maxFileBytes
        ? `rule file is larger than the limit of ${size(lim.maxFileBytes)} per file (${read.size} bytes)`
        : `rule files together are larger than the limit of ${size(lim.maxTotalBytes)} per reload (${total} bytes before this file)`;
      problems.push({ code: 'FP_RULE_LIMIT', file: path, line: 1, column: 1, message });
      continue;
    }
    total += Buffer.byteLength(read.text);
    const res = parseRuleFile(read.text, path, lim);
    problems.push(...res.problems);
    files.push({ file: path, groups: res.groups });
  }
  return { files, problems };
}

/** Throws one FlowpilotError listing every problem (for callers that want an exception). */
export function assertNoProblems(problems: readonly RuleProblem[]): void {
  if (problems.length === 0) return;
  throw new FlowpilotError(problems[0].code, problems.map(formatProblem).join('\n'), { details: { problems } });
}
