import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoscalerPipeline, type RealizeOrder, type Realized, type Realizer } from './pipeline.ts';
import { ObservationBuilder, type IntervalRates } from './observation-builder.ts';
import { policySchema } from './policy-schema.ts';
import { checkHistory, shrinkState, stateValue } from './state.ts';
import type { ScalingHistory } from './history.ts';
import type { ScaleDecision } from './decision.ts';
import { CompressedStateStore } from '../actuate/journal/state-store.ts';
import { FileJournalStore } from '../actuate/journal/file-store.ts';

/**
 * A realizer whose actions end when the test says so: it records every order and resume, and
 * reports whatever outcome the test gives. It lets the test hold an action "in flight".
 */
class HeldRealizer implements Realizer {
  readonly mode = 'test';
  leader = true;
  orders: RealizeOrder[] = [];
  resumes: string[] = [];
  open: string[] = [];
  private release: Array<(r: Partial<Realized>) => void> = [];

  isLeader(): boolean {
    return this.leader;
  }

  realize(order: RealizeOrder): Promise<Realized> {
    this.orders.push(order);
    return new Promise((resolve) => this.release.push((r) => resolve({ actionId: `a${this.orders.length}`, jobKey: order.jobKey, mode: this.mode, outcome: 'succeeded', message: '', resumed: false, ...r })));
  }

  async unfinished(): Promise<string[]> {
    return [...this.open];
  }

  resume(jobKey: string): Promise<Realized | null> {
    this.resumes.push(jobKey);
    return new Promise((resolve) => this.release.push((r) => {
      this.open = this.open.filter((k) => k !== jobKey);
      resolve({ actionId: 'resumed', jobKey, mode: this.mode, outcome: 'succeeded', message: '', resumed: true, ...r });
    }));
  }

  /** Ends the oldest action in flight. */
  finish(r: Partial<Realized> = {}): void {
    const f = this.release.shift();
    assert.ok(f, 'an action is in flight');
    f(r);
  }

  get held(): number {
    return this.release.length;
  }
}

const PER_SUBTASK = 2500;

function rates(processed: number, p: number): Record<string, IntervalRates> {
  const busy = processed / (PER_SUBTASK * p);
  return { src: { inRate: processed, busy: 0.1, backPressured: busy >= 1 ? 0.8 : 0, pending: 0 }, map: { inRate: processed, busy: Math.min(1, busy) } };
}

function job(): ObservationBuilder {
  return new ObservationBuilder('job-1', [
    { id: 'src', parallelism: 4, partitions: 24 },
    { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
  ]);
}

/** Feeds `n` intervals at `arrival` (capped by the map's capacity); returns the decisions. */
async function feed(p: AutoscalerPipeline, b: ObservationBuilder, arrival: number, n: number): Promise<Array<ScaleDecision | null>> {
  const out: Array<ScaleDecision | null> = [];
  for (let i = 0; i < n; i++) {
    const mapP = b.vertices.find((v) => v.id === 'map')!.parallelism;
    out.push(await p.scale(b.next(15, rates(Math.min(arrival, PER_SUBTASK * mapP), mapP))));
  }
  return out;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('the autoscaler pipeline', () => {
  it('owns the action in flight: decide() holds off while it runs, no second action starts, and deciding resumes when it ends', async () => {
    const realizer = new HeldRealizer();
    const p = new AutoscalerPipeline({ policy: policySchema.parse({}), realizer });
    const b = job();
    await feed(p, b, 4000, 6);
    const up = (await feed(p, b, 9000, 2)).at(-1)!;
    assert.equal(up?.action, 'rescale');
    assert.equal(realizer.orders.length, 1);
    assert.equal(realizer.orders[0]!.jobKey, 'job-1');
    assert.deepEqual(realizer.orders[0]!.running, { src: 4, map: 2 });
    assert.equal(realizer.orders[0]!.decision, up);
    assert.equal(p.actions.has('job-1'), true);
    const during = await feed(p, b, 9000, 3);
    assert.ok(during.every((d) => d?.blockedBy === 'rescale-in-progress'), JSON.stringify(during.map((d) => d?.blockedBy)));
    assert.match(during[0]!.reasons.join('\n'), /still being carried out/);
    assert.equal(realizer.orders.length, 1, 'no second action');
    realizer.finish();
    await settle();
    assert.equal(p.actions.has('job-1'), false);
    assert.equal(p.lastResults.get('job-1')?.outcome, 'succeeded');
    b.restart(up.parallelism, 30);
    const after = await feed(p, b, 9000, 1);
    assert.notEqual(after[0]?.blockedBy, 'rescale-in-progress');
  });

  it('resumes an action a previous leader left unfinished before it decides anything for that job', async () => {
    const realizer = new HeldRealizer();
    realizer.open = ['job-1'];
    const p = new AutoscalerPipeline({ policy: policySchema.parse({}), realizer });
    const b = job();
    const ds = await feed(p, b, 9000, 8);
    assert.deepEqual(realizer.resumes, ['job-1'], 'resumed once');
    assert.ok(ds.every((d) => d?.blockedBy === 'rescale-in-progress'), 'no decision while the resumed action runs');
    assert.equal(realizer.orders.length, 0);
    realizer.finish();
    await settle();
    assert.equal(p.actions.has('job-1'), false);
    assert.equal(p.lastResults.get('job-1')?.resumed, true);
  });

  it('resumes an action that stopped between two steps on the next tick, and keeps deciding blocked until then', async () => {
    const realizer = new HeldRealizer();
    const p = new AutoscalerPipeline({ policy: policySchema.parse({}), realizer });
    const b = job();
    await feed(p, b, 4000, 6);
    await feed(p, b, 9000, 2);
    assert.equal(realizer.orders.length, 1);
    realizer.open = ['job-1'];
    realizer.finish({ outcome: 'failed', finished: false, message: 'interrupted at step "intent" (will resume)' });
    await settle();
    assert.equal(p.actions.has('job-1'), true, 'still in flight: the journal record is open');
    assert.equal((await feed(p, b, 9000, 1))[0]?.blockedBy, 'rescale-in-progress');
    await p.tick();
    assert.deepEqual(realizer.resumes, ['job-1']);
    realizer.finish();
    await settle();
    assert.equal(p.actions.has('job-1'), false);
  });

  for (const how of ['rejected', 'thrown'] as const) {
    it(`an action that was not carried out (${how}) does not block the job: after a back-off the autoscaler decides and acts again`, async () => {
      const realizer = new HeldRealizer();
      const p = new AutoscalerPipeline({ policy: policySchema.parse({}), realizer });
      if (how === 'thrown') {
        realizer.realize = (order: RealizeOrder): Promise<Realized> => {
          realizer.orders.push(order);
          return Promise.reject(new Error('patch FlinkDeployment flink/job-1: HTTP 500'));
        };
      }
      const b = job();
      await feed(p, b, 4000, 6);
      const up = (await feed(p, b, 9000, 2)).at(-1)!;
      assert.equal(up?.action, 'rescale');
      assert.equal(realizer.orders.length, 1);
      if (how === 'rejected') realizer.finish({ outcome: 'rejected', message: 'did not rescale through FlinkDeployment flink/job-1: HTTP 500' });
      await settle();
      assert.equal(p.actions.has('job-1'), false);
      // The job still runs at its old parallelism: the next decisions are not waiting for that rescale.
      const next = (await feed(p, b, 9000, 1))[0]!;
      assert.notEqual(next.blockedBy, 'rescale-in-progress', next.reasons.join('\n'));
      assert.equal(next.blockedBy, 'cooldown');
      assert.match(next.reasons.join('\n'), /not carried out/);
      assert.equal(realizer.orders.length, 1, 'no retry inside the back-off');
      // 15 s per observation: past the back-off, the autoscaler asks again.
      const later = await feed(p, b, 9000, 6);
      const again = later.findIndex((d) => d?.action === 'rescale');
      assert.ok(again >= 0, JSON.stringify(later.map((d) => d?.blockedBy ?? d?.action)));
      // until then it was the back-off, never "waiting for the rescale to take effect"
      assert.ok(later.slice(0, again).every((d) => d?.blockedBy === 'cooldown'), JSON.stringify(later.map((d) => d?.blockedBy ?? d?.action)));
      assert.equal(realizer.orders.length, 2);
    });
  }

  it('waits retryAfterFailed (a policy key) after an action that was not carried out before asking again', async () => {
    const realizer = new HeldRealizer();
    const p = new AutoscalerPipeline({ policy: policySchema.parse({ retryAfterFailed: '3m' }), realizer });
    const b = job();
    await feed(p, b, 4000, 6);
    assert.equal((await feed(p, b, 9000, 2)).at(-1)?.action, 'rescale');
    realizer.finish({ outcome: 'rejected', message: 'did not rescale: HTTP 500' });
    await settle();
    // 15 s per observation: 10 observations (2.5 min) are inside a 3 min back-off (the default 1 min would have asked again).
    const inside = await feed(p, b, 9000, 10);
    assert.ok(inside.every((d) => d?.blockedBy === 'cooldown'), JSON.stringify(inside.map((d) => d?.blockedBy ?? d?.action)));
    assert.match(inside[0]!.reasons.join('\n'), /asking again 3m after it/);
    assert.equal(realizer.orders.length, 1);
    const later = await feed(p, b, 9000, 4);
    assert.ok(later.some((d) => d?.action === 'rescale'), JSON.stringify(later.map((d) => d?.blockedBy ?? d?.action)));
  });

  it('decides nothing on a follower, and a new leader continues from the saved state', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-pipeline-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const docs = new CompressedStateStore(new FileJournalStore(dir), { check: (raw) => (checkHistory(raw) ? (raw as ReturnType<typeof stateValue>) : null), shrink: shrinkState });
    const store = { where: dir, load: async (k: string) => (await docs.load(k))?.history ?? null, save: (k: string, h: ScalingHistory) => docs.save(k, stateValue(h)) };
    const policy = policySchema.parse({ cooldown: '10m', scaleDown: { delay: 0, minGain: 0 } });
    const ra = new HeldRealizer();
    const rb = new HeldRealizer();
    rb.leader = false;
    const a = new AutoscalerPipeline({ policy, realizer: ra, store });
    const bPipe = new AutoscalerPipeline({ policy, realizer: rb, store });
    const b = job();
    await feed(a, b, 4000, 6);
    const up = (await feed(a, b, 12000, 2)).at(-1)!;
    assert.equal(up?.action, 'rescale');
    ra.finish();
    await settle();
    b.restart(up.parallelism, 30);
    const settled = await feed(a, b, 2000 * up.parallelism.map!, 3); // inside the band at the new parallelism
    assert.ok(settled.every((d) => d?.action === 'none'));
    const learned = a.controller.history('job-1')!;
    assert.equal(learned.restartSamples, 1);
    // The follower sees the same observations and decides nothing.
    assert.equal(await bPipe.scale(b.next(15, rates(1000, up.parallelism.map!))), null);
    // Leadership moves: A steps down, B takes over and reads the state A saved.
    ra.leader = false;
    rb.leader = true;
    const [first] = await feed(bPipe, b, 1000, 1);
    assert.equal(await a.scale(b.next(15, rates(1000, up.parallelism.map!))), null, 'the old leader stops deciding');
    const h = bPipe.controller.history('job-1')!;
    assert.equal(h.rescales.length, 1, 'the rescale record carried over');
    assert.equal(h.rescales[0]!.time, up.time);
    assert.equal(h.restartCostSec, learned.restartCostSec, 'the learned restart cost carried over');
    assert.equal(first?.restartCostSec, learned.restartCostSec);
    const next = await feed(bPipe, b, 1000, 6);
    assert.ok([first, ...next].some((d) => d?.blockedBy === 'cooldown'), `the new leader refuses the reversal inside the cool-down: ${JSON.stringify([first, ...next].map((d) => d?.blockedBy))}`);
    assert.ok([first, ...next].every((d) => d?.action !== 'rescale'));
    assert.equal(rb.orders.length, 0);
  });
});
