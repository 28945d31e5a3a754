import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENTRY_BARRIER, ENTRY_END, ENTRY_RECORDS, InputChannel, eventEntry, recordsEntry } from './channel.ts';
import { InputGate } from './input-gate.ts';

function gateOf(n: number) {
  const chans = Array.from({ length: n }, (_, i) => new InputChannel(`k${i}`, 100));
  const gate = new InputGate(chans.map((channel, i) => ({ channel, inputIndex: 0, channelIndex: i })));
  return { chans, gate };
}

/** Everything the gate hands out until it has nothing ready, as short strings. */
function drain(gate: InputGate): string[] {
  const out: string[] = [];
  for (let p = gate.poll(); p; p = gate.poll()) {
    const e = p.entry;
    if (e.kind === ENTRY_RECORDS) out.push(`${p.channelIndex}:${(e.records as string[]).join(',')}`);
    else if (e.kind === ENTRY_BARRIER) out.push(`barrier ${e.value}`);
    else if (e.kind === ENTRY_END) out.push(`${p.channelIndex}:end`);
  }
  return out;
}

describe('barrier alignment in the input gate', () => {
  it('holds back a channel after its barrier until every channel has delivered the barrier', () => {
    const { chans, gate } = gateOf(2);
    chans[0]!.push(recordsEntry(['a1']));
    chans[0]!.push(eventEntry(ENTRY_BARRIER, 7));
    chans[0]!.push(recordsEntry(['a2']));
    chans[1]!.push(recordsEntry(['b1']));
    assert.deepEqual(drain(gate), ['0:a1', '1:b1']);
    chans[1]!.push(recordsEntry(['b2']));
    chans[1]!.push(eventEntry(ENTRY_BARRIER, 7));
    chans[1]!.push(recordsEntry(['b3']));
    const after = drain(gate);
    assert.deepEqual(after.slice(0, 2), ['1:b2', 'barrier 7']);
    assert.deepEqual(after.slice(2).sort(), ['0:a2', '1:b3']);
    assert.ok(gate.checkpointAlignmentTimeNs() >= 0);
  });

  it('completes an alignment when the channel it waits for ends instead', () => {
    const { chans, gate } = gateOf(2);
    chans[0]!.push(eventEntry(ENTRY_BARRIER, 1));
    chans[0]!.push(recordsEntry(['a']));
    chans[1]!.push(eventEntry(ENTRY_END));
    assert.deepEqual(drain(gate), ['1:end', 'barrier 1', '0:a']);
  });

  it('abandons an alignment when a newer barrier arrives and drops the late barrier of the old one', () => {
    const { chans, gate } = gateOf(2);
    chans[0]!.push(eventEntry(ENTRY_BARRIER, 1));
    chans[0]!.push(eventEntry(ENTRY_BARRIER, 2));
    assert.deepEqual(drain(gate), []);
    chans[1]!.push(eventEntry(ENTRY_BARRIER, 2));
    chans[1]!.push(eventEntry(ENTRY_BARRIER, 1));
    chans[1]!.push(recordsEntry(['x']));
    // channel 0 is blocked on 1; barrier 2 from channel 1 abandons 1 and unblocks it; channel 0's 2 then completes it.
    assert.deepEqual(drain(gate), ['barrier 2', '1:x']);
  });

  it('hands a single channel\'s barrier straight through', () => {
    const { chans, gate } = gateOf(1);
    chans[0]!.push(recordsEntry(['r']));
    chans[0]!.push(eventEntry(ENTRY_BARRIER, 3));
    assert.deepEqual(drain(gate), ['0:r', 'barrier 3']);
  });
});
