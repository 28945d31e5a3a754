/**
 * Checks word count output: the counts the generator's sentences must give, and the final count
 * per word found in committed part files (each line is a running count; the last is the highest).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sentence, type WordCount } from './word-count.ts';

/** What `limit` sentences over `partitions` partitions count, word by word. */
export function expectedWordCounts(limit: number, partitions: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let g = 0; g < limit; g++) {
    for (const w of sentence(g % partitions, Math.floor(g / partitions), partitions).split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  }
  return m;
}

/** The highest running count per word in the committed part files of `dir`. */
export function committedWordCounts(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of readdirSync(dir).filter((x) => x.startsWith('part-'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as WordCount;
      m.set(r.word, Math.max(m.get(r.word) ?? 0, r.count));
    }
  }
  return m;
}
