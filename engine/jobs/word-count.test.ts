import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromModule } from '../program/build.ts';
import { LocalJobRun } from '../testing/local-harness.ts';
import wordCount, { sentence, type WordCount } from './word-count.ts';

function expectedCounts(limit: number, partitions: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let g = 0; g < limit; g++) {
    for (const w of sentence(g % partitions, Math.floor(g / partitions), partitions).split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  }
  return m;
}

function finalCounts(dir: string): Map<string, number> {
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

describe('word count job', () => {
  it('counts every word exactly at parallelism 3', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-wc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = await buildFromModule(wordCount, {
      modulePath: 'word-count.ts',
      programArgs: ['--rate', '200000', '--partitions', '5', '--limit', '3000', '--output', dir],
      parallelism: 3,
    });
    assert.deepEqual(
      program.graph.vertices.map((v) => [v.name, v.parallelism, v.inputs.map((e) => e.ship)]),
      [
        ['Source: sentences -> Flat Map', 3, []],
        ['Count -> Sink: counts', 3, ['HASH']],
      ],
    );
    const run = new LocalJobRun(program);
    await run.run();
    await run.close();
    assert.deepEqual(finalCounts(dir), expectedCounts(3000, 5));
  });
});
