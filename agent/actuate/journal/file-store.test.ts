import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournalStore } from './file-store.ts';
import { IntentJournal } from './intent.ts';
import { updateDocument } from './store.ts';
import { isFlowpilotError } from '../../../common/errors.ts';
import type { RescaleRequest } from '../types.ts';

const req: RescaleRequest = { jobId: 'f'.repeat(32), jobName: 'orders', current: { v1: 2 }, target: { v1: 4 }, reasons: ['busy 0.9'], mode: 'savepoint' };

describe('the file journal', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-journal-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically: only whole documents and no temp files remain', async () => {
    const s = new FileJournalStore(join(dir, 'a'));
    let v: number | null = null;
    for (let i = 0; i < 20; i++) v = await s.write('k', { i, pad: 'x'.repeat(1000) }, v);
    assert.deepEqual(readdirSync(join(dir, 'a')), ['k.json']);
    assert.equal(JSON.parse(readFileSync(join(dir, 'a', 'k.json'), 'utf8')).value.i, 19);
    assert.equal(v, 20);
  });

  it('rejects a write whose expected version is stale', async () => {
    const s = new FileJournalStore(join(dir, 'b'));
    const v1 = await s.write('k', 1, null);
    await s.write('k', 2, v1);
    await assert.rejects(s.write('k', 3, v1), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CONFLICT'));
    await assert.rejects(s.write('k', 3, null), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CONFLICT'));
    assert.equal((await s.read<number>('k'))?.value, 2);
  });

  it('serialises concurrent read-modify-write updates in one process without losing any', async () => {
    const s = new FileJournalStore(join(dir, 'c'));
    await Promise.all(Array.from({ length: 10 }, () => updateDocument<number>(s, 'n', (cur) => (cur ?? 0) + 1, 20)));
    assert.equal((await s.read<number>('n'))?.value, 10);
  });

  it('reports a corrupt document instead of silently starting over', async () => {
    const s = new FileJournalStore(join(dir, 'd'));
    await s.write('k', 1, null);
    writeFileSync(join(dir, 'd', 'k.json'), '{"version":1,"val');
    await assert.rejects(s.read('k'), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CORRUPT'));
  });

  it('lets a restarted process see the unfinished action where the crashed one left it', async () => {
    const first = new IntentJournal(new FileJournalStore(join(dir, 'e')));
    let h = await first.begin('orders', req);
    h = await first.advance(h, 'savepoint-triggered', { triggerId: 'a'.repeat(32) });
    h = await first.advance(h, 'stopped', { savepointLocation: 'file:/sp/savepoint-1' });
    // "crash": drop every in-memory object and open the directory again.
    const second = new IntentJournal(new FileJournalStore(join(dir, 'e')));
    const open = await second.unfinished();
    assert.equal(open.length, 1);
    assert.equal(open[0]!.record.step, 'stopped');
    assert.equal(open[0]!.record.data.savepointLocation, 'file:/sp/savepoint-1');
    assert.equal(open[0]!.record.data.triggerId, 'a'.repeat(32));
    assert.deepEqual(open[0]!.record.history.map((s) => s.step), ['intent', 'savepoint-triggered', 'stopped']);
    await assert.rejects(second.begin('orders', { ...req, mode: 'in-place' }), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_BUSY'));
    // The old process's handle is stale once the new one has moved on.
    const resumed = await second.advance(open[0]!, 'submitted', { newJobId: 'b'.repeat(32) });
    await assert.rejects(first.advance(h, 'submitted', { newJobId: 'c'.repeat(32) }), (e: unknown) => isFlowpilotError(e, 'FP_JOURNAL_CONFLICT'));
    await second.finish(resumed, 'verified', 'succeeded', 'ok');
    assert.equal((await second.unfinished()).length, 0);
    const next = await second.begin('orders', { ...req, mode: 'in-place' });
    assert.equal(next.record.step, 'intent');
  });
});
