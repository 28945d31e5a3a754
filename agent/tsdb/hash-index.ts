/**
 * Finds stored series by label set through a 53-bit hash of the labels, resolving the
 * rare collision by comparing labels. It replaces a Map keyed by label-key strings, which
 * cost several hundred bytes per series.
 */
import { labelsHash, sameLabels, type Labels } from './labels.ts';

export class LabelHashIndex<T extends { readonly labels: Labels }> {
  private readonly map = new Map<number, T | T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(labels: Labels): T | undefined {
    const e = this.map.get(labelsHash(labels));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return sameLabels(e.labels, labels) ? e : undefined;
    for (const x of e) if (sameLabels(x.labels, labels)) return x;
    return undefined;
  }

  /** Adds an item whose labels are not in the index yet. */
  add(item: T): void {
    const h = labelsHash(item.labels);
    const e = this.map.get(h);
    if (e === undefined) this.map.set(h, item);
    else if (Array.isArray(e)) e.push(item);
    else this.map.set(h, [e, item]);
    this.count++;
  }

  delete(item: T): boolean {
    const h = labelsHash(item.labels);
    const e = this.map.get(h);
    if (e === undefined) return false;
    if (!Array.isArray(e)) {
      if (e !== item) return false;
      this.map.delete(h);
    } else {
      const i = e.indexOf(item);
      if (i < 0) return false;
      e.splice(i, 1);
      if (e.length === 1) this.map.set(h, e[0]!);
    }
    this.count--;
    return true;
  }

  *values(): IterableIterator<T> {
    for (const e of this.map.values()) {
      if (Array.isArray(e)) yield* e;
      else yield e;
    }
  }

  clear(): void {
    this.map.clear();
    this.count = 0;
  }
}
