/**
 * Verifies the committed output of the counting job: reads every committed part file
 * (`part-*`, never hidden in-progress or pending files) and checks that each of the first
 * `records` generated records appears exactly once, nothing else appears, and each key's counts
 * are exactly 1..n in sequence order (n = how many generated records have that key).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countingRecord, type CountingOutput } from './counting.ts';

export interface CountingCheckParams {
  dir: string;
  partitions: number;
  keys: number;
  /** How many records the generator produced in total (its --limit). */
  records: number;
}

export interface CountingCheckResult {
  ok: boolean;
  recordsSeen: number;
  duplicates: number;
  missing: number;
  unexpected: number;
  wrongCounts: number;
  /** Up to 10 human-readable problems. */
  problems: string[];
}

export function checkCountingOutput(params: CountingCheckParams): CountingCheckResult {
  const { dir, partitions, keys, records } = params;
  const seen = new Map<number, CountingOutput>();
  const problems: string[] = [];
  let duplicates = 0;
  let unexpected = 0;
  let recordsSeen = 0;
  for (const f of readdirSync(dir).filter((x) => x.startsWith('part-')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as CountingOutput;
      recordsSeen++;
      if (!(r.seq >= 0 && r.seq < records) || countingRecord(r.seq % partitions, Math.floor(r.seq / partitions), partitions, keys).key !== r.key) {
        unexpected++;
        if (problems.length < 10) problems.push(`unexpected record ${line} in ${f}`);
        continue;
      }
      if (seen.has(r.seq)) {
        duplicates++;
        if (problems.length < 10) problems.push(`duplicate seq ${r.seq} in ${f}`);
        continue;
      }
      seen.set(r.seq, r);
    }
  }
  let missing = 0;
  let wrongCounts = 0;
  const perKey = new Map<string, number>();
  for (let seq = 0; seq < records; seq++) {
    const expected = countingRecord(seq % partitions, Math.floor(seq / partitions), partitions, keys);
    perKey.set(expected.key, (perKey.get(expected.key) ?? 0) + 1);
    const got = seen.get(seq);
    if (got === undefined) {
      missing++;
      if (problems.length < 10) problems.push(`missing seq ${seq}`);
    }
  }
  // Records of one key come from several partitions, so which record gets which count depends on
  // arrival order; the set of counts per key is fixed: exactly 1..n.
  const countsByKey = new Map<string, number[]>();
  for (const r of seen.values()) {
    const list = countsByKey.get(r.key) ?? [];
    list.push(r.count);
    countsByKey.set(r.key, list);
  }
  for (const [key, n] of perKey) {
    const counts = (countsByKey.get(key) ?? []).sort((a, b) => a - b);
    for (let i = 0; i < n; i++) {
      if (counts[i] !== i + 1) {
        wrongCounts++;
        if (problems.length < 10) problems.push(`key ${key}: counts are not 1..${n} (position ${i} has ${counts[i]})`);
        break;
      }
    }
  }
  return { ok: duplicates === 0 && missing === 0 && unexpected === 0 && wrongCounts === 0, recordsSeen, duplicates, missing, unexpected, wrongCounts, problems };
}
