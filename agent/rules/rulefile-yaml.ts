/**
 * The YAML layer under rule files, built so that no input can make it slow or large: it parses
 * with node ranges (for file:line:col), and then, in time linear in the document, finds each
 * alias's anchor, refuses duplicate keys (the yaml library's own `uniqueKeys` check is
 * quadratic in the keys of a map), refuses alias bombs twice over (the yaml library's
 * `maxAliasCount` while building the plain value, and a bound on the nodes aliases add to the
 * document), and resolves aliases and `<<` merge keys lazily as the rule-file walker reads
 * them, the way Go's yaml.v3 unmarshals a Prometheus rule file. Nothing here knows rules.
 */
import { isAlias, isCollection, isMap, isPair, isScalar, LineCounter, parseAllDocuments, visit, type Alias, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';

export interface YamlLimits {
  /** The yaml library's `maxAliasCount` (alias resolutions weighted by the aliases they contain). */
  maxAliasCount: number;
  /** How many nodes aliases may add to the document once expanded. */
  maxAliasNodes: number;
  /** Deepest nesting of flow collections (`[`, `{`); the yaml library recurses per level. */
  maxFlowDepth: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxAliasCount: 10_000, maxAliasNodes: 100_000, maxFlowDepth: 1000 };

export interface YamlProblem {
  offset: number;
  message: string;
  /** True for the alias limits (resource exhaustion), false for plain YAML errors. */
  limit: boolean;
}

const MERGE_KEY = '<<';

/**
 * The offset where `[`/`{` nesting first passes `max` levels, or -1. Brackets inside quoted
 * strings and comments count too, which can only over-count: no rule file comes near the limit.
 */
function flowDepthPast(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return -1;
}

/** The text of a mapping key, as the rule-file format compares keys. */
export function keyText(key: unknown): string {
  if (isScalar(key)) return typeof key.value === 'symbol' ? (key.value.description ?? '') : String(key.value);
  return String(key);
}

export class SafeYamlDocument {
  readonly doc: Document.Parsed;
  private readonly targets: Map<Alias, YamlNode>;

  private constructor(doc: Document.Parsed, targets: Map<Alias, YamlNode>) {
    this.doc = doc;
    this.targets = targets;
  }

  /** Parses `text`; returns the document, or the problems that stop it from being read. */
  static parse(text: string, lineCounter: LineCounter, limits: YamlLimits = DEFAULT_YAML_LIMITS): { doc: SafeYamlDocument | null; problems: YamlProblem[] } {
    const deep = flowDepthPast(text, limits.maxFlowDepth);
    if (deep >= 0) {
      lineCounter.addNewLine(0);
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineCounter.addNewLine(i + 1);
      return { doc: null, problems: [{ offset: deep, message: `yaml: collections nested deeper than ${limits.maxFlowDepth} levels`, limit: true }] };
    }
    // Prometheus decodes the first YAML document of a rule file and ignores the rest.
    const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, merge: true, prettyErrors: false });
    if (!Array.isArray(docs) || docs.length === 0) return { doc: null, problems: [] };
    const doc = docs[0]!;
    const problems: YamlProblem[] = doc.errors.map((e) => ({ offset: e.pos[0], message: `yaml: ${e.message.split('\n')[0]}`, limit: false }));
    if (problems.length > 0) return { doc: null, problems };
    const targets = new Map<Alias, YamlNode>();
    const anchors = new Map<string, YamlNode>();
    let literalNodes = 0;
    // One pass in document order: an alias refers to the last anchor of its name before it.
    visit(doc, {
      Node(_key, node) {
        literalNodes++;
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target) targets.set(node, target);
          else problems.push({ offset: node.range?.[0] ?? 0, message: `yaml: unknown anchor '${node.source}' referenced`, limit: false });
          return;
        }
        if (node.anchor) anchors.set(node.anchor, node);
        if (isMap(node)) duplicateKeys(node, problems);
      },
    });
    if (problems.length > 0) return { doc: null, problems };
    if (targets.size > 0) {
      const expanded = expandedNodes(doc.contents, targets);
      if (expanded.cycle) {
        const a = expanded.cycle as Alias;
        return { doc: null, problems: [{ offset: a.range?.[0] ?? 0, message: `yaml: anchor '${a.source}' value contains itself`, limit: false }] };
      }
      try {
        doc.toJS({ maxAliasCount: limits.maxAliasCount });
      } catch (err) {
        const first = targets.keys().next().value;
        const exhausted = err instanceof ReferenceError && /Excessive alias count/.test(err.message);
        return {
          doc: null,
          problems: [{
            offset: first?.range?.[0] ?? 0,
            message: exhausted ? `yaml: excessive alias count (more than ${limits.maxAliasCount} alias resolutions) indicates a resource exhaustion attack` : `yaml: ${(err as Error).message}`,
            limit: exhausted,
          }],
        };
      }
      const added = expanded.nodes - literalNodes;
      if (added > limits.maxAliasNodes) {
        const first = targets.keys().next().value;
        return { doc: null, problems: [{ offset: first?.range?.[0] ?? 0, message: `yaml: aliases expand to ${added} more nodes than the file holds (limit ${limits.maxAliasNodes}); this looks like an alias bomb`, limit: true }] };
      }
    }
    return { doc: new SafeYamlDocument(doc, targets), problems: [] };
  }

  /** The node an alias stands for (the node itself when it is not an alias). */
  deref(node: unknown): YamlNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.targets.get(node) ?? null;
    return node as YamlNode;
  }

  /**
   * The pairs of a mapping with `<<` merge keys applied: keys written in the map win, then the
   * merged maps in the order given, first one first.
   */
  entries(map: YAMLMap): Pair[] {
    let merges: Pair[] | null = null;
    for (const p of map.items) if (this.isMerge(p)) (merges ??= []).push(p);
    if (merges === null) return map.items;
    const own = map.items.filter((p) => !merges.includes(p));
    const have = new Set(own.map((p) => keyText(this.deref(p.key))));
    const out = [...own];
    for (const m of merges) {
      const value = this.deref(m.value);
      const sources = value && isCollection(value) && !isMap(value) ? value.items.map((i) => this.deref(i)) : [value];
      for (const src of sources) {
        if (!isMap(src)) continue;
        for (const p of this.entries(src)) {
          const k = keyText(this.deref(p.key));
          if (have.has(k)) continue;
          have.add(k);
          out.push(p);
        }
      }
    }
    return out;
  }

  private isMerge(p: Pair): boolean {
    const k = this.deref(p.key);
    return isScalar(k) && (k.value === MERGE_KEY || (typeof k.value === 'symbol' && k.value.description === MERGE_KEY));
  }
}

function duplicateKeys(map: YAMLMap, problems: YamlProblem[]): void {
  if (map.items.length < 2) return;
  const seen = new Set<string>();
  for (const p of map.items) {
    if (!isScalar(p.key)) continue;
    const v = p.key.value;
    if (typeof v === 'symbol') continue; // merge keys may repeat
    const k = `${typeof v}:${String(v)}`;
    if (seen.has(k)) problems.push({ offset: p.key.range?.[0] ?? 0, message: 'yaml: Map keys must be unique', limit: false });
    seen.add(k);
  }
}

/**
 * The node count of the document with every alias replaced by its target, memoized per anchor so
 * it runs in linear time however deep the aliases nest; or the first alias found inside the very
 * node it refers to (yaml.v3 refuses those too).
 */
function expandedNodes(root: unknown, targets: Map<Alias, YamlNode>): { nodes: number; cycle: Alias | null } {
  const memo = new Map<YamlNode, number>();
  const active = new Set<YamlNode>();
  let cycle: Alias | null = null;
  const size = (n: unknown): number => {
    if (n === null || n === undefined || cycle) return 0;
    if (isAlias(n)) {
      const t = targets.get(n);
      if (!t) return 1;
      if (active.has(t)) {
        cycle = n;
        return 0;
      }
      return memo.get(t) ?? size(t);
    }
    if (isPair(n)) return size(n.key) + size(n.value);
    if (isCollection(n)) {
      const known = memo.get(n);
      if (known !== undefined) return known;
      active.add(n);
      let s = 1;
      for (const i of n.items) s += size(i);
      active.delete(n);
      memo.set(n, s);
      return s;
    }
    return 1;
  };
  const nodes = size(root);
  return { nodes, cycle };
}
