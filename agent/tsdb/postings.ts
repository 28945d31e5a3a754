/** Set operations on postings lists: series lists sorted by id. */

/** Intersection of two lists sorted by series id. */
export function intersectById<T extends { readonly id: number }>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!.id;
    const y = b[j]!.id;
    if (x === y) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}
