/**
 * Prometheus's /api/v1/status/tsdb figures from the store's postings (label name -> value ->
 * series, dead series skipped): see MemoryStorage.cardinality for what each list counts.
 */
/** Prometheus's /api/v1/status/tsdb shape. */
export interface TsdbStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: Array<{ name: string; value: number }>;
  labelValueCountByLabelName: Array<{ name: string; value: number }>;
  memoryInBytesByLabelName: Array<{ name: string; value: number }>;
  seriesCountByLabelValuePair: Array<{ name: string; value: number }>;
}

/** Top-`limit` breakdowns of the postings, with the head figures the store passes in. */
export function cardinalityOf(
  postings: ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<{ readonly dead: boolean }>>>,
  head: { numSeries: number; chunkCount: number; minTime: number; maxTime: number },
  limit: number,
): TsdbStatus {
  const top = (m: Map<string, number>): Array<{ name: string; value: number }> =>
    [...m].map(([name, value]) => ({ name, value })).sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1)).slice(0, limit);
  const byMetric = new Map<string, number>();
  const valuesByName = new Map<string, number>();
  const bytesByName = new Map<string, number>();
  const byPair = new Map<string, number>();
  let pairs = 0;
  for (const [name, values] of postings) {
    let live = 0;
    let bytes = 0;
    for (const [value, list] of values) {
      let n = 0;
      for (const x of list) if (!x.dead) n++;
      if (n === 0) continue;
      live++;
      pairs++;
      bytes += Buffer.byteLength(value) * n;
      byPair.set(`${name}=${value}`, n);
      if (name === '__name__') byMetric.set(value, n);
    }
    if (live > 0) {
      valuesByName.set(name, live);
      bytesByName.set(name, bytes);
    }
  }
  return {
    headStats: { numSeries: head.numSeries, numLabelPairs: pairs, chunkCount: head.chunkCount, minTime: head.minTime, maxTime: head.maxTime },
    seriesCountByMetricName: top(byMetric),
    labelValueCountByLabelName: top(valuesByName),
    memoryInBytesByLabelName: top(bytesByName),
    seriesCountByLabelValuePair: top(byPair),
  };
}
