/** Helpers of scrape-compare.ts: timestamped expositions, reading Prometheus's own metrics, waiting. */

/** The exposition with `tMs` appended to every sample line (explicit timestamps, as honor_timestamps keeps them). */
export function timestamped(body: string, tMs: number): string {
  const suffix = ` ${tMs}`;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.length > 0 && l.charCodeAt(0) !== 35 /* # */) lines[i] = l + suffix;
  }
  return lines.join('\n');
}

/** The samples of one metric in Prometheus's /metrics, by their label text (`''` for none). */
export async function promMetrics(base: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  return metricSamples(text, name);
}

export function metricSamples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{.*\})? (\S+)/.exec(line);
    if (m !== null && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** Polls `probe` until it returns true; an error thrown by the probe ends the wait at once. */
export async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Prometheus's own rule-evaluation times (prometheus_rule_group_last_duration_seconds), in ms
 * summed over its rule groups, for `count` evaluations of every group: waits for `count + 1` new
 * evaluations and drops the first, which may have started before the caller's previous step ended.
 */
export async function promRuleEvaluations(base: string, count: number, timeoutMs: number): Promise<number[]> {
  const seen = new Map<string, number[]>();
  const lastStamp = new Map<string, number>();
  await until(`${count + 1} rule evaluations of every group`, async () => {
    const stamps = await promMetrics(base, 'prometheus_rule_group_last_evaluation_timestamp_seconds');
    const durs = await promMetrics(base, 'prometheus_rule_group_last_duration_seconds');
    for (const [k, ts] of stamps) {
      if (ts <= 0 || lastStamp.get(k) === ts) continue;
      lastStamp.set(k, ts);
      seen.set(k, [...(seen.get(k) ?? []), (durs.get(k) ?? NaN) * 1000]);
    }
    return stamps.size > 0 && [...stamps.keys()].every((k) => (seen.get(k)?.length ?? 0) > count);
  }, timeoutMs, 200);
  return Array.from({ length: count }, (_, j) => [...seen.values()].reduce((a, l) => a + l[j + 1]!, 0));
}
