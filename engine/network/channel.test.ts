import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/log.ts';
import { ENTRY_END, ENTRY_RECORDS, ENTRY_WATERMARK, InputChannel, OutputChannel, OutputGate, eventEntry } from './channel.ts';
import { InputGate } from './input-gate.ts';
import { ShuffleService } from './shuffle-service.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Two TaskManagers' data planes on 127.0.0.1 (a sends to b), closed when the test ends. */
async function twoTaskManagers(t: TestContext, capacity: number): Promise<{ a: ShuffleService; b: ShuffleService; addressB: string }> {
  const log = silentLogger();
  const a = new ShuffleService({ host: '127.0.0.1', port: 0, capacity, log });
  const b = new ShuffleService({ host: '127.0.0.1', port: 0, capacity, log });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.start();
  return { a, b, addressB: `127.0.0.1:${await b.start()}` };
}

/** Produces `total` records as fast as credit allows; returns the producer's peak backlog. */
async function produce(gate: OutputGate, out: OutputChannel, total: number, stats: { peakBacklog: number; waits: number }): Promise<void> {
  for (let i = 0; i < total; i++) {
    if (!gate.hasCapacity()) {
      stats.waits++;
      await gate.waitForCapacity();
    }
    out.add(i);
    stats.peakBacklog = Math.max(stats.peakBacklog, out.backlogLength);
  }
  out.emitEvent(ENTRY_END);
}

describe('credit-based channels', () => {
  it('closes batches at the limit, as dense arrays of exactly their records, also after the limit changes', () => {
    const gate = new OutputGate();
    const out = new OutputChannel('e/v/0/0/0', 4, gate);
    const shipped: unknown[][] = [];
    out.connect({ send: (e) => (e.kind === ENTRY_RECORDS && shipped.push(e.records!), 0), close() {} });
    out.addCredit(100);
    for (let i = 0; i < 9; i++) out.add(i);
    assert.equal(out.pending, 1);
    out.setBatchLimit(2); // smaller: the open batch closes at its next record
    out.add(9);
    out.add(10);
    out.add(11);
    out.setBatchLimit(100); // larger than the configured size: capped at 4
    for (let i = 12; i < 18; i++) out.add(i);
    out.finishBatch();
    out.finishBatch(); // nothing open: no empty batch
    assert.deepEqual(shipped, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10, 11], [12, 13, 14, 15], [16, 17]]);
    for (const b of shipped) for (let i = 0; i < b.length; i++) assert.ok(i in b, 'no holes in a shipped batch');
    assert.equal(new Set(shipped).size, shipped.length, 'every batch is its own array');
  });

  it('closes a started batch at its array when the limit rises, so records are never stored past an array', () => {
    const gate = new OutputGate();
    const out = new OutputChannel('e/v/0/0/0', 8, gate);
    const shipped: unknown[][] = [];
    out.connect({ send: (e) => (e.kind === ENTRY_RECORDS && shipped.push(e.records!), 0), close() {} });
    out.addCredit(100);
    out.setBatchLimit(2);
    out.add(0);
    out.add(1); // closed at 2: the next array has 2 slots
    out.add(2);
    out.setBatchLimit(8); // rises while a batch is open
    for (let i = 3; i < 12; i++) out.add(i);
    out.finishBatch();
    assert.deepEqual(shipped, [[0, 1], [2, 3], [4, 5, 6, 7, 8, 9, 10, 11]]);
  });

  it('closes batches on the wire at about one segment of bytes, and never past the batch size or the announced size', () => {
    const gate = new OutputGate();
    const out = new OutputChannel('e/v/0/0/0', 1000, gate, 800);
    const sizes: number[] = [];
    // A transport that puts 10 bytes per record plus a 20-byte header on the wire.
    out.connect({ send: (e) => (e.kind === ENTRY_RECORDS ? (sizes.push(e.records!.length), 20 + 10 * e.records!.length) : 0), close() {} });
    out.addCredit(1000);
    for (let i = 0; i < 100; i++) out.add(i);
    out.finishBatch(); // the first batch: no estimate yet, closed by hand at 100
    for (let i = 0; i < 400; i++) out.add(i);
    // 800 bytes at (20 + 1000) / 100 bytes per record: 78 records, then (20 + 780) / 78 per record: 78 again.
    assert.deepEqual(sizes.slice(0, 4), [100, 78, 78, 78]);
    out.setBatchLimit(50); // the receiver announces less: that wins
    for (let i = 0; i < 100; i++) out.add(i);
    assert.equal(Math.max(...sizes.slice(-2)), 50);
    out.setBatchLimit(1000); // back above the segment: the segment's bound again
    sizes.length = 0;
    for (let i = 0; i < 200; i++) out.add(i);
    assert.ok(sizes.length > 0 && sizes.every((n) => n <= 80), `segment-bound batches: ${sizes}`);
    const local = new OutputChannel('e/v/0/1/0', 300, gate, 800);
    const localSizes: number[] = [];
    local.connect({ send: (e) => (e.kind === ENTRY_RECORDS && localSizes.push(e.records!.length), 0), close() {} });
    local.addCredit(10);
    for (let i = 0; i < 900; i++) local.add(i);
    assert.deepEqual(localSizes, [300, 300, 300], 'in memory nothing is encoded: only the batch size bounds');
  });

  it('blocks a fast producer so a slow consumer never holds more than its credit', async () => {
    const input = new InputChannel('e/v/0/0/0', 3);
    const gate = new OutputGate();
    const out = new OutputChannel('e/v/0/0/0', 10, gate);
    out.connect({ send: (e) => (input.push(e), 0), close() {} });
    input.attachProducer((n) => out.addCredit(n));
    const stats = { peakBacklog: 0, waits: 0 };
    const producing = produce(gate, out, 500, stats);
    const seen: number[] = [];
    let peakQueued = 0;
    for (;;) {
      peakQueued = Math.max(peakQueued, input.queued);
      assert.equal(input.failure, null);
      const e = input.poll();
      if (!e) {
        await tick();
        continue;
      }
      if (e.kind === ENTRY_END) break;
      seen.push(...(e.records as number[]));
      await new Promise((r) => setTimeout(r, 1)); // slow consumer
    }
    await producing;
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i));
    assert.ok(peakQueued <= 3, `receiver held ${peakQueued} batches with credit 3`);
    assert.ok(stats.peakBacklog <= 1, `producer backlog reached ${stats.peakBacklog}`);
    assert.ok(stats.waits > 10, 'the producer should have waited for credit');
  });

  it('coalesces watermarks that wait for credit into the latest one', () => {
    const input = new InputChannel('k', 1);
    const gate = new OutputGate();
    const out = new OutputChannel('k', 100, gate);
    out.connect({ send: (e) => (input.push(e), 0), close() {} });
    input.attachProducer((n) => out.addCredit(n));
    out.add('a');
    out.finishBatch(); // uses the only credit
    out.emitWatermark(1);
    out.emitWatermark(2);
    out.emitWatermark(3);
    assert.equal(out.backlogLength, 1);
    assert.equal(gate.hasCapacity(), false);
    assert.equal(input.poll()?.kind, ENTRY_RECORDS); // returns a credit, which ships the watermark
    const wm = input.poll();
    assert.equal(wm?.kind, ENTRY_WATERMARK);
    assert.equal(wm?.value, 3);
    assert.equal(gate.hasCapacity(), true);
  });

  it('fails a channel that receives an entry it gave no credit for', () => {
    const input = new InputChannel('k', 1);
    input.push(eventEntry(ENTRY_WATERMARK, 1));
    input.push(eventEntry(ENTRY_WATERMARK, 2));
    assert.equal((input.failure as { code?: string } | null)?.code, 'FP_NET_CREDIT');
  });

  it('carries batches between two TaskManagers over TCP in order, bounded by credit', async (t) => {
    const { a, b, addressB } = await twoTaskManagers(t, 2);
    const keys = ['x/v/0/0/0', 'x/v/0/1/0'];
    const gates = keys.map(() => new OutputGate());
    const outs = keys.map((k, i) => new OutputChannel(k, 50, gates[i]!));
    for (const o of outs) a.connectRemote(o, addressB);
    const inGate = new InputGate(keys.map((k, i) => ({ channel: b.inputChannel(k), inputIndex: 0, channelIndex: i })));
    const stats = outs.map(() => ({ peakBacklog: 0, waits: 0 }));
    const producers = outs.map((o, i) => produce(gates[i]!, o, 3000, stats[i]!));
    const received: number[][] = [[], []];
    let peakQueued = 0;
    while (!inGate.finished) {
      peakQueued = Math.max(peakQueued, inGate.queued());
      const p = inGate.poll();
      if (!p) {
        await inGate.waitForData();
        continue;
      }
      if (p.entry.kind === ENTRY_RECORDS) {
        received[p.channelIndex]!.push(...(p.entry.records as number[]));
        if (received[0]!.length % 500 === 0) await new Promise((r) => setTimeout(r, 2));
      }
    }
    await Promise.all(producers);
    const expected = Array.from({ length: 3000 }, (_, i) => i);
    assert.deepEqual(received[0], expected);
    assert.deepEqual(received[1], expected);
    assert.ok(peakQueued <= 4, `receiver held ${peakQueued} entries with 2 channels × credit 2`);
    assert.ok(inGate.numBytesIn > 0);
    assert.ok(stats.some((s) => s.waits > 0), 'producers should have waited for credit');
  });

  it('lets a consumer announce a smaller batch size that producers honour, in memory and over TCP', async (t) => {
    const { a, b, addressB } = await twoTaskManagers(t, 4);
    const gate = new OutputGate();
    const remote = new OutputChannel('z/v/0/0/0', 100, gate);
    const local = new OutputChannel('z/v/0/1/0', 100, gate);
    // Announced before the producer connects (remote) and after (local): both must arrive.
    const inGate = new InputGate([
      { channel: b.inputChannel('z/v/0/0/0'), inputIndex: 0, channelIndex: 0 },
      { channel: b.inputChannel('z/v/0/1/0'), inputIndex: 0, channelIndex: 1 },
    ]);
    assert.equal(inGate.buffers(), 8);
    b.inputChannel('z/v/0/0/0').announceBatchSize(7);
    a.connectRemote(remote, addressB);
    b.connectLocal(local);
    inGate.announceBatchSize(7);
    for (let i = 0; i < 50 && remote.batchLimit !== 7; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(remote.batchLimit, 7);
    assert.equal(local.batchLimit, 7);
    local.setBatchLimit(1000);
    assert.equal(local.batchLimit, 100, 'never above the configured batch size');
    local.setBatchLimit(7);
    for (let i = 0; i < 21; i++) {
      remote.add(i);
      local.add(i);
    }
    const sizes: number[][] = [[], []];
    let got = 0;
    while (got < 42) {
      const p = inGate.poll();
      if (!p) {
        await inGate.waitForData();
        continue;
      }
      if (p.entry.kind !== ENTRY_RECORDS) continue;
      sizes[p.channelIndex]!.push(p.entry.records!.length);
      got += p.entry.records!.length;
    }
    assert.deepEqual(sizes, [[7, 7, 7], [7, 7, 7]]);
    assert.equal(inGate.takeConsumed(), 42);
    assert.equal(inGate.takeConsumed(), 0);
  });

  it('fails the receiving channels when the producing TaskManager goes away', async (t) => {
    const { a, b, addressB } = await twoTaskManagers(t, 2);
    const out = new OutputChannel('y/v/0/0/0', 10, new OutputGate());
    a.connectRemote(out, addressB);
    const inGate = new InputGate([{ channel: b.inputChannel('y/v/0/0/0'), inputIndex: 0, channelIndex: 0 }]);
    out.add(1);
    out.finishBatch();
    while (!inGate.poll()) await inGate.waitForData();
    await a.close();
    await inGate.waitForData();
    assert.throws(() => inGate.poll(), /lost/);
  });

  it('drops the channels of a released execution and keeps late ones from lingering', async () => {
    const svc = new ShuffleService({ host: '127.0.0.1', port: 0, capacity: 2, log: silentLogger() });
    svc.inputChannel('a/v/0/0/0');
    svc.inputChannel('a/v/0/1/0');
    svc.inputChannel('b/v/0/0/0');
    assert.equal(svc.numInputChannels, 3);
    svc.releaseExecution('a');
    assert.equal(svc.numInputChannels, 1);
    svc.inputChannel('a/v/0/2/0');
    assert.equal(svc.numInputChannels, 1);
    await svc.close();
  });
});
