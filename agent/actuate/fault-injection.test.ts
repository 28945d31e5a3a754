import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseActuationConfig } from './config.ts';
import { injectCrash } from './runtime.ts';
import { IntentJournal } from './journal/intent.ts';
import { FileJournalStore } from './journal/file-store.ts';
import { silentLogger } from '../../common/log.ts';

const request = { jobId: 'a'.repeat(32), jobName: 'j', current: { v: 2 }, target: { v: 3 }, reasons: [], mode: 'savepoint' as const };

describe('test-only fault injection', () => {
  it('is off by default', () => {
    assert.equal(parseActuationConfig({}).faultInjection.crashAfter, 'off');
  });

  it('exits with 137 right after the named step is journaled, and not at other steps', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-fault-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const journal = new IntentJournal(new FileJournalStore(dir));
    const exits: Array<{ code: number; stepOnDisk: string | undefined }> = [];
    const reader = new IntentJournal(new FileJournalStore(dir));
    injectCrash(journal, 'stopped', {
      log: silentLogger(),
      exit: (code) => {
        exits.push({ code, stepOnDisk: undefined });
      },
    });
    let h = await journal.begin('j', request);
    h = await journal.advance(h, 'savepoint-triggered', { triggerId: 'x' });
    assert.equal(exits.length, 0);
    h = await journal.advance(h, 'stopped', { savepointLocation: '/sp/1' });
    assert.deepEqual(exits.map((e) => e.code), [137]);
    assert.equal((await reader.get('j'))?.record.step, 'stopped', 'the step is on disk before the exit');
    await journal.advance(h, 'submitted', { newJobId: 'b'.repeat(32) });
    assert.equal(exits.length, 1);
  });
});
