import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromModule } from '../program/build.ts';
import { LocalJobRun, type LocalCheckpoint } from '../testing/local-harness.ts';
import counting from './counting.ts';
import { checkCountingOutput } from './counting-checker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('counting job (exactly-once)', () => {
  it('keeps every record exactly once and all keyed counts across restores at parallelism 2 -> 4 -> 1 -> 3', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-count-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const args = ['--rate', '20000', '--partitions', '6', '--keys', '37', '--limit', '6000', '--output', dir];
    let cp: LocalCheckpoint | undefined;
    for (const p of [2, 4, 1]) {
      const program = await buildFromModule(counting, { modulePath: 'counting.ts', programArgs: args, parallelism: p });
      const run = new LocalJobRun(program, { restoreFrom: cp });
      run.start();
      await sleep(40);
      cp = await run.checkpoint();
      await sleep(15); // output written after the checkpoint is never committed
      await run.cancel();
    }
    const program = await buildFromModule(counting, { modulePath: 'counting.ts', programArgs: args, parallelism: 3 });
    const last = new LocalJobRun(program, { restoreFrom: cp });
    await last.run();
    await last.close();
    const result = checkCountingOutput({ dir, partitions: 6, keys: 37, records: 6000 });
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.recordsSeen, 6000);
    assert.ok(readdirSync(dir).some((f) => f.endsWith('.inprogress') || f.endsWith('.pending')), 'cancelled runs left uncommitted files');
  });

  it('commits nothing at end of input before the final checkpoint: a failover after the input ended replays without duplicates', async (t) => {
    // The duplicate seen under load: the sources reached their limit between a checkpoint and a
    // cancel, the sink committed its last file at end of input, and the restored run wrote it again.
    const dir = mkdtempSync(join(tmpdir(), 'fp-count-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const args = ['--rate', '1000000', '--partitions', '4', '--keys', '11', '--limit', '3000', '--output', dir];
    const first = new LocalJobRun(await buildFromModule(counting, { modulePath: 'counting.ts', programArgs: args, parallelism: 2 }));
    first.start();
    const cp = await first.checkpoint();
    await first.drained(); // every record went through the sink, and its input ended
    await first.cancel(); // a failure before the final checkpoint
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('part-') && checkCountingOutput({ dir, partitions: 4, keys: 11, records: 3000 }).recordsSeen === 3000), 'nothing past the checkpoint was committed');
    const second = new LocalJobRun(await buildFromModule(counting, { modulePath: 'counting.ts', programArgs: args, parallelism: 3 }), { restoreFrom: cp });
    await second.run(); // ends with the final checkpoint, which commits
    await second.close();
    const result = checkCountingOutput({ dir, partitions: 4, keys: 11, records: 3000 });
    assert.deepEqual(result.problems, []);
    assert.equal(result.recordsSeen, 3000);
  });

  it('detects duplicates and missing records in the output', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-count-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = await buildFromModule(counting, {
      modulePath: 'counting.ts',
      programArgs: ['--rate', '50000', '--partitions', '2', '--keys', '5', '--limit', '500', '--output', dir],
      parallelism: 2,
    });
    const run = new LocalJobRun(program);
    await run.run();
    await run.close();
    assert.equal(checkCountingOutput({ dir, partitions: 2, keys: 5, records: 500 }).ok, true);
    const more = checkCountingOutput({ dir, partitions: 2, keys: 5, records: 501 });
    assert.equal(more.missing, 1);
    const fewer = checkCountingOutput({ dir, partitions: 2, keys: 5, records: 499 });
    assert.equal(fewer.unexpected, 1);
  });
});
