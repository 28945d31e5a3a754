import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import { BarrierAligner, type AlignerAction } from './barrier-aligner.ts';

type Step =
  | ['barrier', number, number]
  | ['cancel', number, number]
  | ['end', number]
  | ['abort'];

interface Script {
  name: string;
  channels: number;
  mode?: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  /** Each step with the actions it must produce (type:id:reason) and the blocked channels after it. */
  steps: Array<[Step, string[], number[]]>;
}

const describeActions = (actions: AlignerAction[]) =>
  actions.map((a) => (a.type === 'snapshot' ? `snapshot:${a.checkpointId}` : `abort:${a.checkpointId}:${a.reason}`));

function apply(a: BarrierAligner, step: Step): AlignerAction[] {
  switch (step[0]) {
    case 'barrier':
      return a.onBarrier(step[1], step[2]);
    case 'cancel':
      return a.onCancellationBarrier(step[1], step[2]);
    case 'end':
      return a.onEndOfPartition(step[1]);
    case 'abort':
      return a.abortCurrent();
  }
}

const scripts: Script[] = [
  {
    name: 'a single channel snapshots on its first barrier and never blocks',
    channels: 1,
    steps: [[['barrier', 0, 1], ['snapshot:1'], []], [['barrier', 0, 2], ['snapshot:2'], []]],
  },
  {
    name: 'blocks each channel once its barrier arrived and snapshots when the last one arrives',
    channels: 3,
    steps: [
      [['barrier', 1, 1], [], [1]],
      [['barrier', 0, 1], [], [0, 1]],
      [['barrier', 2, 1], ['snapshot:1'], []],
    ],
  },
  {
    name: 'a newer barrier aborts the older alignment and starts its own',
    channels: 2,
    steps: [
      [['barrier', 0, 1], [], [0]],
      [['barrier', 1, 2], ['abort:1:SUBSUMED'], [1]],
      [['barrier', 1, 1], [], [1]],
      [['barrier', 0, 2], ['snapshot:2'], []],
    ],
  },
  {
    name: 'ignores barriers of a checkpoint already completed',
    channels: 2,
    steps: [
      [['barrier', 0, 3], [], [0]],
      [['barrier', 1, 3], ['snapshot:3'], []],
      [['barrier', 0, 2], [], []],
      [['barrier', 1, 3], [], []],
    ],
  },
  {
    name: 'an ended channel no longer takes part, and its end can complete an alignment',
    channels: 3,
    steps: [
      [['barrier', 0, 1], [], [0]],
      [['barrier', 1, 1], [], [0, 1]],
      [['end', 2], ['snapshot:1'], []],
      [['barrier', 0, 2], [], [0]],
      [['barrier', 1, 2], ['snapshot:2'], []],
    ],
  },
  {
    name: 'a channel that ends after its barrier still lets the alignment finish',
    channels: 2,
    steps: [
      [['barrier', 0, 5], [], [0]],
      [['end', 0], [], []],
      [['barrier', 1, 5], ['snapshot:5'], []],
    ],
  },
  {
    name: 'a cancellation marker for the aligned checkpoint aborts it and unblocks',
    channels: 3,
    steps: [
      [['barrier', 0, 4], [], [0]],
      [['cancel', 1, 4], ['abort:4:CANCELLED'], []],
      [['barrier', 1, 4], [], []],
      [['barrier', 2, 4], [], []],
      [['barrier', 0, 5], [], [0]],
    ],
  },
  {
    name: 'a cancellation marker for a newer checkpoint subsumes the current one and is reported once',
    channels: 2,
    steps: [
      [['barrier', 0, 1], [], [0]],
      [['cancel', 1, 2], ['abort:1:SUBSUMED', 'abort:2:CANCELLED'], []],
      [['cancel', 0, 2], [], []],
      [['barrier', 0, 2], [], []],
    ],
  },
  {
    name: 'the task can abort its own alignment',
    channels: 2,
    steps: [
      [['barrier', 1, 7], [], [1]],
      [['abort'], ['abort:7:ABORTED'], []],
      [['barrier', 0, 7], [], []],
      [['abort'], [], []],
    ],
  },
  {
    name: 'at-least-once counts barriers without blocking any channel',
    channels: 2,
    mode: 'AT_LEAST_ONCE',
    steps: [
      [['barrier', 0, 1], [], []],
      [['barrier', 1, 1], ['snapshot:1'], []],
    ],
  },
];

describe('BarrierAligner scripts', () => {
  for (const s of scripts) {
    it(s.name, () => {
      const a = new BarrierAligner(s.channels, { mode: s.mode });
      s.steps.forEach(([step, actions, blocked], i) => {
        assert.deepEqual(describeActions(apply(a, step)), actions, `actions of step ${i} ${JSON.stringify(step)}`);
        assert.deepEqual(a.blockedChannels(), blocked, `blocked channels after step ${i} ${JSON.stringify(step)}`);
      });
    });
  }
});

describe('BarrierAligner protocol errors', () => {
  it('refuses a second barrier of the same checkpoint on one channel', () => {
    const a = new BarrierAligner(2);
    a.onBarrier(0, 1);
    assert.throws(() => a.onBarrier(0, 1), (e) => isFlowpilotError(e, 'FP_BARRIER_PROTOCOL'));
  });
  it('refuses a barrier after the channel ended, and unknown channels', () => {
    const a = new BarrierAligner(2);
    a.onEndOfPartition(1);
    assert.throws(() => a.onBarrier(1, 1), (e) => isFlowpilotError(e, 'FP_BARRIER_PROTOCOL'));
    assert.throws(() => a.onBarrier(2, 1), (e) => isFlowpilotError(e, 'FP_BARRIER_PROTOCOL'));
    assert.throws(() => new BarrierAligner(0), (e) => isFlowpilotError(e, 'FP_BARRIER_PROTOCOL'));
  });
  it('reports the alignment time in nanoseconds from the first to the last barrier', () => {
    let t = 100;
    const a = new BarrierAligner(2, { now: () => t });
    a.onBarrier(0, 1);
    t = 103.5;
    const [snap] = a.onBarrier(1, 1);
    assert.deepEqual(snap, { type: 'snapshot', checkpointId: 1, alignmentDurationNs: 3_500_000 });
  });
});

/** A seeded PRNG so a failing interleaving can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('BarrierAligner under random interleavings', () => {
  it('snapshots every checkpoint once, in order, after exactly the records before its barrier on every channel', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = rng(seed);
      const channels = 1 + Math.floor(rand() * 5);
      const checkpoints = 1 + Math.floor(rand() * 4);
      // Each channel: records tagged with the epoch (number of barriers before them), barriers 1..k, maybe an early end.
      const queues: Array<Array<{ kind: 'rec'; epoch: number } | { kind: 'barrier'; id: number } | { kind: 'end' }>> = [];
      for (let c = 0; c < channels; c++) {
        const q: (typeof queues)[number] = [];
        const endsAfter = rand() < 0.2 ? Math.floor(rand() * (checkpoints + 1)) : checkpoints + 1;
        for (let epoch = 0; epoch <= checkpoints; epoch++) {
          for (let r = Math.floor(rand() * 4); r > 0; r--) q.push({ kind: 'rec', epoch });
          if (epoch === endsAfter || epoch === checkpoints) {
            q.push({ kind: 'end' });
            break;
          }
          q.push({ kind: 'barrier', id: epoch + 1 });
        }
        queues.push(q);
      }
      const a = new BarrierAligner(channels);
      const snapshots: number[] = [];
      const consumedBySnapshot: number[] = []; // per snapshot: the highest epoch consumed so far
      let maxEpochConsumed = -1;
      let progress = true;
      while (progress) {
        progress = false;
        const order = [...queues.keys()].sort(() => rand() - 0.5);
        for (const c of order) {
          if (a.isBlocked(c) || queues[c]!.length === 0) continue;
          const e = queues[c]!.shift()!;
          progress = true;
          let actions: AlignerAction[] = [];
          if (e.kind === 'rec') {
            // Exactly-once: a record of epoch e must never be consumed before snapshot e is taken.
            assert.ok(e.epoch <= snapshots.length, `seed ${seed}: record of epoch ${e.epoch} consumed before snapshot ${e.epoch}`);
            maxEpochConsumed = Math.max(maxEpochConsumed, e.epoch);
          } else if (e.kind === 'barrier') actions = a.onBarrier(c, e.id);
          else actions = a.onEndOfPartition(c);
          for (const act of actions) {
            assert.equal(act.type, 'snapshot', `seed ${seed}: unexpected ${JSON.stringify(act)}`);
            snapshots.push(act.checkpointId);
            consumedBySnapshot.push(maxEpochConsumed);
          }
        }
      }
      assert.ok(queues.every((q) => q.length === 0), `seed ${seed}: a channel stayed blocked forever`);
      const expected = Array.from({ length: snapshots.length }, (_, i) => i + 1);
      assert.deepEqual(snapshots, expected, `seed ${seed}: snapshots out of order or repeated`);
      consumedBySnapshot.forEach((epoch, i) => assert.ok(epoch <= i, `seed ${seed}: snapshot ${i + 1} taken after a record of epoch ${epoch}`));
    }
  });
});
