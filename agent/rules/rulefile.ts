/**
 * Reads and validates Prometheus rule files (the field set Prometheus 2.42 accepts:
 * groups with name/interval/limit/rules; alerting rules with alert/expr/for/
 * keep_firing_for/labels/annotations; recording rules with record/expr/labels).
 * YAML is parsed with node ranges, so every problem, including a PromQL or template
 * error deep inside a multi-line value, is reported as file:line:col. It collects all
 * problems of a file instead of stopping at the first, like `promtool check rules`.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node as YamlNode, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { FlowpilotError, type ErrorCode } from '../../common/errors.ts';
import { parseExpr, type Expr } from '../promql/index.ts';
import { DurationError, parseDuration } from './duration.ts';
import { compileTemplate, syntaxErrorMessage, TemplateSyntaxError, type CompiledTemplate } from './template/index.ts';

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
/**
 * Expands aliases (`*name`) and merge keys (`<<: *name`) in place, as Go's yaml.v3 does
 * when Prometheus unmarshals a rule file; expanded nodes keep the anchor's positions.
 */
function expandAliases(doc: Document.Parsed): void {
  visit(doc, {
    Alias(_key, node) {
      const target = node.resolve(doc);
      return target ? (target.clone() as YamlNode) : undefined;
    },
  });
  visit(doc, {
    Map(_key, map) {
      const merges = map.items.filter((p) => isScalar(p.key) && p.key.value === '<<');
      if (merges.length === 0) return undefined;
      map.items = map.items.filter((p) => !merges.includes(p));
      const have = new Set(map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key))));
      for (const m of merges) {
        const sources = isSeq(m.value) ? m.value.items : [m.value];
        for (const src of sources) {
          if (!isMap(src)) continue;
          for (const p of src.items) {
            const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
            if (have.has(k)) continue;
            have.add(k);
            map.items.push(p);
          }
        }
      }
      return undefined;
    },
  });
}

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

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
  }

  private report(code: ErrorCode, offset: number, message: string): void {
    const { line, col } = this.lc.linePos(offset);
    this.problems.push({ code, file: this.file, line, column: col, message });
  }

  private at(node: YamlNode | null | undefined, fallback = 0): number {
    return node?.range?.[0] ?? fallback;
  }

  parse(): GroupDef[] {
    // Prometheus decodes the first YAML document of a rule file and ignores the rest.
    const docs = parseAllDocuments(this.text, { lineCounter: this.lc, uniqueKeys: true, prettyErrors: false });
    if (!Array.isArray(docs) || docs.length === 0) return [];
    const doc = docs[0]!;
    for (const e of doc.errors) this.report('FP_RULE_YAML', e.pos[0], `yaml: ${e.message.split('\n')[0]}`);
    if (doc.errors.length > 0) return [];
    expandAliases(doc);
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return [];
    if (!isMap(root)) {
      this.report('FP_RULE_TYPE', this.at(root), 'a rule file must be a mapping with a "groups" list');
      return [];
    }
    let groupsNode: YamlNode | null = null;
    for (const pair of root.items) {
      const key = this.keyOf(pair);
      if (key === 'groups') groupsNode = pair.value as YamlNode | null;
      else this.report('FP_RULE_UNKNOWN_FIELD', this.at(pair.key as YamlNode), `field ${key} not found in type rulefmt.RuleGroups (a rule file holds only "groups")`);
    }
    if (groupsNode === null || (isScalar(groupsNode) && groupsNode.value === null)) return [];
    if (!isSeq(groupsNode)) {
      this.report('FP_RULE_TYPE', this.at(groupsNode), '"groups" must be a list');
      return [];
    }
    const groups: GroupDef[] = [];
    const seen = new Set<string>();
    for (const g of groupsNode.items) {
      const group = this.parseGroup(g as YamlNode);
      if (!group) continue;
      if (seen.has(group.name)) {
        this.report('FP_RULE_GROUP_DUP', group.line, `groupname: "${group.name}" is repeated in the same file`);
      }
      seen.add(group.name);
      groups.push(group);
    }
    return groups;
  }

  private keyOf(pair: Pair): string {
    return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
  }

  private scalarString(node: YamlNode | null | undefined): string | null {
    if (!isScalar(node) || node.value === null) return null;
    if (typeof node.value === 'string') return node.value;
    return (node as Scalar & { source?: string }).source ?? String(node.value);
  }

  private fields(node: YAMLMap, allowed: string[], typeName: string): Map<string, YamlNode | null> {
    const out = new Map<string, YamlNode | null>();
    for (const pair of node.items) {
      const key = this.keyOf(pair);
      if (!allowed.includes(key)) {
        this.report('FP_RULE_UNKNOWN_FIELD', this.at(pair.key as YamlNode),
          `field ${key} not found in type ${typeName} (allowed: ${allowed.join(', ')})`);
        continue;
      }
      out.set(key, pair.value as YamlNode | null);
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
      return parseDuration(s);
    } catch (err) {
      const msg = err instanceof DurationError ? err.message : String(err);
      this.report('FP_RULE_DURATION', this.at(node), `${ctx}bad "${what}": ${msg} (use units ms, s, m, h, d, w, y such as 1m30s)`);
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
          const rule = this.parseRule(r as YamlNode, name, i + 1);
          if (rule) rules.push(rule);
        });
      }
    }
    return { name, file: this.file, intervalMs: intervalMs === 0 ? null : intervalMs, limit, rules, line: offset };
  }

  private stringMap(node: YamlNode | null | undefined, what: 'label' | 'annotation', ctx: string): Map<string, { value: string; node: Scalar }> {
    const out = new Map<string, { value: string; node: Scalar }>();
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.report('FP_RULE_TYPE', this.at(node), `${ctx}"${what}s" must be a mapping of names to strings`);
      return out;
    }
    for (const pair of node.items) {
      const key = this.keyOf(pair);
      const valNode = pair.value as YamlNode | null;
      if (!LABEL_NAME_RE.test(key)) {
        this.report('FP_RULE_LABEL', this.at(pair.key as YamlNode), `${ctx}invalid ${what} name: ${key}`);
        continue;
      }
      const value = isScalar(valNode) ? (valNode.value === null ? '' : this.scalarString(valNode)) : null;
      if (value === null || !isScalar(valNode)) {
        this.report('FP_RULE_TYPE', this.at(valNode, this.at(pair.key as YamlNode)), `${ctx}${what} "${key}" must be a string`);
        continue;
      }
      out.set(key, { value, node: valNode });
    }
    return out;
  }

  private parseRule(node: YamlNode, group: string, index: number): RuleDef | null {
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

/** Parses rule-file text. `file` is used only in positions. */
export function parseRuleFile(text: string, file: string): { groups: GroupDef[]; problems: RuleProblem[] } {
  const p = new FileParser(text, file);
  const groups = p.parse();
  for (const g of groups) g.line = lineOf(text, g.line);
  const problems = [...p.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  return { groups, problems };
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Reads and parses several rule files; problems from all of them are returned together. */
export async function loadRuleFiles(paths: readonly string[]): Promise<{ files: RuleFile[]; problems: RuleProblem[] }> {
  const files: RuleFile[] = [];
  const problems: RuleProblem[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      problems.push({ code: 'FP_RULE_READ', file: path, line: 1, column: 1, message: `cannot read rule file: ${(err as Error).message}` });
      continue;
    }
    const res = parseRuleFile(text, path);
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
