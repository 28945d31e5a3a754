import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignKeyToParallelOperator } from '../keygroups/key-groups.ts';
import { ENTRY_RECORDS, ENTRY_WATERMARK, InputChannel, OutputChannel, OutputGate, type ChannelEntry } from '../network/channel.ts';
import { channelIndexOf, consumersOf, createRecordWriter, producersOf, selectorByKey, type OutputCounters } from './record-writers.ts';

/** n output channels wired in memory to receivers with ample credit. */
function channels(n: number, batchSize = 4) {
  const gate = new OutputGate();
  const inputs: InputChannel[] = [];
  const outs = Array.from({ length: n }, (_, i) => {
    const input = new InputChannel(`c${i}`, 1000);
    const out = new OutputChannel(`c${i}`, batchSize, gate);
    out.connect({ send: (e: ChannelEntry) => (input.push(e), 0), close() {} });
    input.attachProducer((k) => out.addCredit(k));
    inputs.push(input);
    return out;
  });
  const drain = (i: number) => {
    const recs: unknown[] = [];
    const events: ChannelEntry[] = [];
    for (let e = inputs[i]!.poll(); e; e = inputs[i]!.poll()) {
      if (e.kind === ENTRY_RECORDS) recs.push(...e.records!);
      else events.push(e);
    }
    return { recs, events };
  };
  return { gate, outs, drain };
}

const counters = (): OutputCounters => ({ numRecordsOut: 0, currentOutputWatermark: Number.MIN_SAFE_INTEGER });

describe('record writers', () => {
  it('routes HASH records to the subtask that owns their key group', () => {
    const { gate, outs, drain } = channels(3);
    const c = counters();
    const keyOf = (r: unknown) => (r as { user: string }).user;
    const w = createRecordWriter({ ship: 'HASH', channels: outs, select: selectorByKey(keyOf), maxParallelism: 128, subtaskIndex: 0 }, c);
    const records = Array.from({ length: 300 }, (_, i) => ({ user: `user-${i % 37}`, i }));
    for (const r of records) w.emit(r);
    gate.flush();
    for (let ch = 0; ch < 3; ch++) {
      const got = drain(ch).recs as Array<{ user: string }>;
      assert.ok(got.length > 0);
      for (const r of got) assert.equal(assignKeyToParallelOperator(r.user, 128, 3), ch);
    }
    assert.equal(c.numRecordsOut, 300);
  });

  it('spreads REBALANCE records round robin starting at the subtask index, and keeps their order per channel', () => {
    const { gate, outs, drain } = channels(4);
    const w = createRecordWriter({ ship: 'REBALANCE', channels: outs, maxParallelism: 128, subtaskIndex: 1 }, counters());
    for (let i = 0; i < 12; i++) w.emit(i);
    gate.flush();
    assert.deepEqual([0, 1, 2, 3].map((ch) => drain(ch).recs), [[3, 7, 11], [0, 4, 8], [1, 5, 9], [2, 6, 10]]);
  });

  it('sends every BROADCAST record and every watermark to all channels', () => {
    const { gate, outs, drain } = channels(3);
    const c = counters();
    const w = createRecordWriter({ ship: 'BROADCAST', channels: outs, maxParallelism: 128, subtaskIndex: 0 }, c);
    w.emit('a');
    w.emit('b');
    w.emitWatermark(42);
    gate.flush();
    for (let ch = 0; ch < 3; ch++) {
      const d = drain(ch);
      assert.deepEqual(d.recs, ['a', 'b']);
      assert.deepEqual(d.events.map((e) => [e.kind, e.value]), [[ENTRY_WATERMARK, 42]]);
    }
    assert.equal(c.numRecordsOut, 2);
    assert.equal(c.currentOutputWatermark, 42);
  });

  it('connects FORWARD point to point only between equal parallelisms', () => {
    assert.deepEqual(producersOf('FORWARD', 3, 3, 2), [2]);
    assert.deepEqual(consumersOf('FORWARD', 3, 3, 1), [1]);
    assert.equal(channelIndexOf('FORWARD', 3, 3, 2), 0);
    assert.deepEqual(producersOf('FORWARD', 2, 3, 0), [0, 1]);
    assert.deepEqual(consumersOf('HASH', 2, 3, 0), [0, 1, 2]);
    assert.equal(channelIndexOf('HASH', 2, 3, 1), 1);
  });

  it('ships a batch as soon as it is full and keeps a partial one until flushed', () => {
    const { gate, outs, drain } = channels(1, 4);
    const w = createRecordWriter({ ship: 'FORWARD', channels: outs, maxParallelism: 128, subtaskIndex: 0 }, counters());
    for (let i = 0; i < 6; i++) w.emit(i);
    assert.deepEqual(drain(0).recs, [0, 1, 2, 3]);
    gate.flush();
    assert.deepEqual(drain(0).recs, [4, 5]);
  });
});
