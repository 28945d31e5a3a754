/**
 * Label sets. A `Labels` value is a frozen plain record whose keys are in ascending
 * order and whose values are never empty (an empty value means "label absent", as in
 * Prometheus). That shape serializes straight into the `metric` object of Prometheus's
 * HTTP API. `labelsKey` gives a canonical string whose plain string order equals
 * Prometheus's label-set order (name, value pairs compared in turn).
 */
export type Labels = Readonly<Record<string, string>>;

export const METRIC_NAME = '__name__';

export const EMPTY_LABELS: Labels = Object.freeze({});

/**
 * Derived values cached on canonical label objects under a symbol (invisible to for-in,
 * Object.keys and JSON): property loads are much cheaper than WeakMap lookups on the
 * evaluation hot path.
 */
const META = Symbol('flowpilot.labels');
interface LabelsMeta { key: string | undefined; hash: number | undefined }

function metaOf(l: Labels): LabelsMeta | undefined {
  return (l as unknown as Record<symbol, LabelsMeta | undefined>)[META];
}

/** Builds canonical labels: sorted keys, empty values dropped, frozen. */
export function labelsFromRecord(rec: Record<string, string | undefined>): Labels {
  const names = Object.keys(rec).sort();
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = rec[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  Object.defineProperty(out, META, { value: { key: undefined, hash: undefined } satisfies LabelsMeta, enumerable: false });
  return Object.freeze(out);
}

/** Builds canonical labels from name/value pairs (later pairs win). */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const rec: Record<string, string> = {};
  for (const [n, v] of pairs) rec[n] = v;
  return labelsFromRecord(rec);
}

/** Canonical key: `name\0value\0...`. Equal label sets have equal keys; key order is label-set order. */
const keyCache = new WeakMap<Labels, string>();

/** Cached per label object (label objects are frozen, so the key never changes). */
export function labelsKey(l: Labels): string {
  const meta = metaOf(l);
  if (meta !== undefined) return (meta.key ??= computeKey(l));
  let k = keyCache.get(l);
  if (k !== undefined) return k;
  k = computeKey(l);
  if (Object.isFrozen(l)) keyCache.set(l, k);
  return k;
}

function computeKey(l: Labels): string {
  // join() yields a flat string; `+=` would keep a rope of ~4 nodes per label alive in
  // every stored key (several hundred bytes per series).
  const parts: string[] = [];
  for (const n in l) parts.push(n, l[n]!);
  parts.push('');
  return parts.join('\u0000');
}

/**
 * A 53-bit hash of a label set (two 32-bit FNV-1a passes with different seeds), cached
 * on canonical label objects. The store indexes series by it instead of keeping a key
 * string of several hundred bytes per series.
 */
export function labelsHash(l: Labels): number {
  const meta = metaOf(l);
  if (meta !== undefined && meta.hash !== undefined) return meta.hash;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (const n in l) {
    const v = l[n]!;
    for (let i = 0; i < n.length; i++) {
      const c = n.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193);
    h2 = Math.imul(h2 ^ 0xff, 0x5bd1e995);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xfe, 0x01000193);
    h2 = Math.imul(h2 ^ 0xfe, 0x5bd1e995);
  }
  const h = (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
  if (meta !== undefined) meta.hash = h;
  return h;
}

/** Equality of two label sets without building keys. */
export function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  let m = 0;
  for (const _ in b) m++;
  return n === m;
}

/** Prometheus's label-set order (names, then values, pair by pair), without building keys. */
export function compareLabelSets(a: Labels, b: Labels): number {
  if (a === b) return 0;
  // The usual case (series of one metric): the same names. Both are in ascending name order, so
  // the values decide, name by name; nothing is allocated (Object.keys below copies the names).
  let names = 0;
  let same = true;
  for (const k in a) {
    if (!(k in b)) {
      same = false;
      break;
    }
    names++;
  }
  if (same) {
    for (const _ in b) names--;
    if (names === 0) {
      for (const k in a) {
        const va = a[k]!;
        const vb = b[k]!;
        if (va !== vb) return va < vb ? -1 : 1;
      }
      return 0;
    }
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const na = ka[i]!;
    const nb = kb[i]!;
    if (na !== nb) return na < nb ? -1 : 1;
    const va = a[na]!;
    const vb = b[nb]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/**
 * The label set without `__name__`. Not cached on the label object: a query that drops
 * names from 100k stored series would otherwise keep 100k extra label sets and keys alive
 * for as long as the series live.
 */
export function withoutMetricName(l: Labels): Labels {
  if (!(METRIC_NAME in l)) return l;
  return computeWithoutName(l);
}

function computeWithoutName(l: Labels): Labels {
  const rec: Record<string, string> = {};
  for (const n in l) if (n !== METRIC_NAME) rec[n] = l[n]!;
  return labelsFromRecord(rec);
}

/** Prometheus's label-set order; same as comparing labelsKey strings, without building them. */
export function compareLabels(a: Labels, b: Labels): number {
  return compareLabelSets(a, b);
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  return sameLabels(a, b);
}

/** Renders `{__name__="x", a="b"}` as Go's labels.String() does (used in error texts). */
export function formatLabelsFull(l: Labels): string {
  const parts: string[] = [];
  for (const n in l) parts.push(`${n}=${JSON.stringify(l[n])}`);
  return `{${parts.join(', ')}}`;
}

/** Renders `name{a="b", ...}` as Prometheus prints a series. */
export function formatLabels(l: Labels): string {
  const name = l[METRIC_NAME] ?? '';
  const parts: string[] = [];
  for (const n in l) if (n !== METRIC_NAME) parts.push(`${n}=${JSON.stringify(l[n])}`);
  return parts.length === 0 && name !== '' ? name : `${name}{${parts.join(', ')}}`;
}

/** Frozen label records are taken as canonical (labelsFromRecord makes them so). */
export function canonicalLabels(input: Labels | Record<string, string>): Labels {
  return Object.isFrozen(input) ? (input as Labels) : labelsFromRecord(input);
}
