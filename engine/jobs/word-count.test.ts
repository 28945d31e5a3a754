import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromModule } from '../program/build.ts';
import { LocalJobRun } from '../testing/local-harness.ts';
import wordCount from './word-count.ts';
import { committedWordCounts as finalCounts, expectedWordCounts as expectedCounts } from './word-count-checker.ts';

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
