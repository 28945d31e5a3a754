/**
 * A fleet job's journal is read for unfinished actions only when one can be there
 * (agent/fleet/journal-scan.ts): not on every tick of a steady job, but after each action this
 * pipeline starts or ends and after its guard was seen lapsed; an interrupted action is still
 * found and resumed on the next tick, through the real AutoscalerPipeline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JournalScanSkipping } from '../../agent/fleet/journal-scan.ts';
import { AutoscalerPipeline, type Realized, type RealizeOrder, type Realizer } from '../../agent/scaling/pipeline.ts';
import { policySchema } from '../../agent/scaling/policy-schema.ts';

/** A journal in memory: `open` lists the jobs whose last action is unfinished; every read is counted. */
class MemoryRealizer implements Realizer {
  readonly mode = 'test';
  leader = true;
  open: string[] = [];
  reads = 0;
  resumed: string[] = [];
  isLeader(): boolean {
    return this.leader;
  }
  async realize(order: RealizeOrder): Promise<Realized> {
    return { jobKey: order.jobKey, actionId: 'a1', mode: this.mode, outcome: 'succeeded', message: 'ok', resumed: false, finished: true };
  }
  async unfinished(): Promise<string[]> {
    this.reads++;
    return [...this.open];
  }
  async resume(jobKey: string): Promise<Realized | null> {
    this.resumed.push(jobKey);
    this.open = this.open.filter((k) => k !== jobKey);
    return { jobKey, actionId: 'a0', mode: this.mode, outcome: 'succeeded', message: 'resumed', resumed: true, finished: true };
  }
}

describe('the fleet journal scan', () => {
  it('reads once while nothing is open, again after an action, after a lapsed guard, and while something is open', async () => {
    const inner = new MemoryRealizer();
    const r = new JournalScanSkipping(inner);
    assert.deepEqual(await r.unfinished(), []);
    assert.deepEqual(await r.unfinished(), []);
    assert.equal(inner.reads, 1, 'a steady job: one read');
    await r.realize({ jobKey: 'j', decision: {} as never, running: {} });
    await r.unfinished();
    assert.equal(inner.reads, 2, 'read again after an action');
    await r.unfinished();
    assert.equal(inner.reads, 2);
    inner.leader = false;
    assert.equal(r.isLeader(), false);
    inner.leader = true;
    await r.unfinished();
    assert.equal(inner.reads, 3, 'read again after the guard was seen lapsed');
    inner.open = ['j'];
    await r.realize({ jobKey: 'j', decision: {} as never, running: {} });
    assert.deepEqual(await r.unfinished(), ['j']);
    assert.deepEqual(await r.unfinished(), ['j'], 'an open action is read again each time');
    assert.equal(inner.reads, 5);
  });

  it('an action that starts while a read is in flight makes that read stale', async () => {
    const inner = new MemoryRealizer();
    const r = new JournalScanSkipping(inner);
    const reading = r.unfinished();
    await r.realize({ jobKey: 'j', decision: {} as never, running: {} });
    await reading;
    await r.unfinished();
    assert.equal(inner.reads, 2);
  });

  it('through the pipeline: ticks of a steady job do not read; an interrupted action is found on the next tick and resumed', async () => {
    const inner = new MemoryRealizer();
    const r = new JournalScanSkipping(inner);
    const p = new AutoscalerPipeline({ policy: policySchema.parse({}), realizer: r, tickEveryMs: 0 });
    for (let i = 0; i < 5; i++) await p.tick();
    assert.equal(inner.reads, 1, 'the first tick reads (the takeover), the next ones do not');
    // This pipeline's own action stops between two steps: its record stays open.
    inner.open = ['job-1'];
    await r.realize({ jobKey: 'job-1', decision: {} as never, running: {} });
    await p.tick();
    assert.equal(inner.reads, 2);
    await waitUntil(() => inner.resumed.length === 1);
    assert.deepEqual(inner.resumed, ['job-1']);
  });
});

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((res) => setImmediate(res));
  }
}
