/**
 * Checks the committed output of a RUNNING counting job (engine/jobs/counting.ts): what the
 * sinks committed up to a completed checkpoint is, per generator partition, a contiguous prefix
 * of offsets, each record exactly once, and each key's counts exactly 1..n over its committed
 * records. So, without waiting for the job to end:
 * - duplicated = records committed more than once;
 * - lost = offsets missing below the highest committed offset of their partition (or below
 *   `below[partition]`: sinks commit a checkpoint one after the other, so the newest checkpoint's
 *   records can be half-visible for a moment; a gap under an earlier check's top is real);
 * - wrongCounts = keys whose committed counts are not exactly 1..n.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countingRecord, type CountingOutput } from '../../engine/jobs/counting.ts';

export interface PrefixCheck {
  records: number;
  duplicated: number;
  lost: number;
  unexpected: number;
  wrongCounts: number;
  /** Per partition, the highest committed offset (-1: none). */
  maxOffset: number[];
  problems: string[];
}

export function checkCommittedPrefix(dir: string, partitions: number, keys: number, below?: number[]): PrefixCheck {
  const seen = new Set<number>();
  const counts = new Map<string, number[]>();
  const maxOffset = new Array<number>(partitions).fill(-1);
  const perPartition = new Array<number>(partitions).fill(0);
  const bound = (p: number) => (below ? below[p]! : Number.POSITIVE_INFINITY);
  const problems: string[] = [];
  let duplicated = 0;
  let unexpected = 0;
  let records = 0;
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith('part-')).sort();
  } catch {
    // nothing committed yet
  }
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as CountingOutput;
      records++;
      const partition = r.seq % partitions;
      const offset = Math.floor(r.seq / partitions);
      if (!(r.seq >= 0) || countingRecord(partition, offset, partitions, keys).key !== r.key) {
        unexpected++;
        if (problems.length < 10) problems.push(`unexpected ${line} in ${f}`);
        continue;
      }
      if (seen.has(r.seq)) {
        duplicated++;
        if (problems.length < 10) problems.push(`duplicate seq ${r.seq} in ${f}`);
        continue;
      }
      seen.add(r.seq);
      if (offset <= bound(partition)) perPartition[partition]!++;
      if (offset > maxOffset[partition]!) maxOffset[partition] = offset;
      const list = counts.get(r.key) ?? [];
      list.push(r.count);
      counts.set(r.key, list);
    }
  }
  let lost = 0;
  for (let p = 0; p < partitions; p++) {
    const top = Math.min(maxOffset[p]!, bound(p));
    const missing = top + 1 - perPartition[p]!;
    if (missing > 0) {
      lost += missing;
      if (problems.length < 10) problems.push(`partition ${p}: ${missing} offsets missing below ${maxOffset[p]}`);
    }
  }
  let wrongCounts = 0;
  for (const [key, list] of counts) {
    list.sort((a, b) => a - b);
    if (list.some((c, i) => c !== i + 1)) {
      wrongCounts++;
      if (problems.length < 10) problems.push(`key ${key}: counts are not 1..${list.length}`);
    }
  }
  return { records, duplicated, lost, unexpected, wrongCounts, maxOffset, problems };
}
