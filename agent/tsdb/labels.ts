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
interface LabelsMeta { key: string | undefined }

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
  Object.defineProperty(out, META, { value: { key: undefined } satisfies LabelsMeta, enumerable: false });
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

export function compareLabels(a: Labels, b: Labels): number {
  const ka = labelsKey(a);
  const kb = labelsKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  return labelsKey(a) === labelsKey(b);
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
