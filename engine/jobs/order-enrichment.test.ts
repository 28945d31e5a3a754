import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromModule } from '../program/build.ts';
import { LocalJobRun, type LocalCheckpoint } from '../testing/local-harness.ts';
import orderEnrichment, { order, type CustomerWindow } from './order-enrichment.ts';

describe('order enrichment job', () => {
  it('enriches every order asynchronously and aggregates each customer per event-time window', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-orders-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = await buildFromModule(orderEnrichment, {
      modulePath: 'order-enrichment.ts',
      programArgs: ['--rate', '4000', '--partitions', '4', '--customers', '20', '--latency', '5', '--capacity', '50', '--window', '100', '--limit', '800', '--output', dir],
      parallelism: 2,
    });
    assert.deepEqual(
      program.graph.vertices.map((v) => [v.name, v.inputs.map((e) => e.ship)]),
      [
        ['Source: orders', []],
        ['Enrich', ['REBALANCE']],
        ['TumblingEventTimeWindows(100) -> Sink: customer-windows', ['HASH']],
      ],
    );
    const run = new LocalJobRun(program);
    await run.run();
    await run.close();
    const rows: CustomerWindow[] = [];
    for (const f of readdirSync(dir).filter((x) => x.startsWith('part-'))) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line !== '') rows.push(JSON.parse(line) as CustomerWindow);
    }
    // Each (customer, window) appears once (no lateness, so each window fires once) and the totals add up.
    const seen = new Set(rows.map((r) => `${r.customer}@${r.windowStart}`));
    assert.equal(seen.size, rows.length);
    assert.equal(rows.reduce((n, r) => n + r.orders, 0), 800);
    let revenue = 0;
    for (let id = 0; id < 800; id++) revenue += order(id % 4, Math.floor(id / 4), 4, 20, 0).amountCents;
    assert.equal(rows.reduce((n, r) => n + r.revenueCents, 0), revenue);
    assert.ok(rows.every((r) => r.windowEnd - r.windowStart === 100 && r.segment !== ''));
  });

  it('loses and duplicates nothing across checkpoints, cancels and restores at other parallelisms', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-orders-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const args = ['--rate', '20000', '--partitions', '4', '--customers', '13', '--latency', '3', '--capacity', '20', '--window', '50', '--out-of-orderness', '0', '--limit', '3000', '--output', dir, '--checkpoint-interval', '1000'];
    let cp: LocalCheckpoint | undefined;
    for (const p of [2, 3]) {
      const program = await buildFromModule(orderEnrichment, { modulePath: 'order-enrichment.ts', programArgs: args, parallelism: p });
      const run = new LocalJobRun(program, { restoreFrom: cp });
      run.start();
      await new Promise((r) => setTimeout(r, 40));
      cp = await run.checkpoint();
      await new Promise((r) => setTimeout(r, 10));
      await run.cancel();
    }
    const program = await buildFromModule(orderEnrichment, { modulePath: 'order-enrichment.ts', programArgs: args, parallelism: 1 });
    const last = new LocalJobRun(program, { restoreFrom: cp });
    await last.run();
    await last.close();
    const rows: CustomerWindow[] = [];
    for (const f of readdirSync(dir).filter((x) => x.startsWith('part-'))) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line !== '') rows.push(JSON.parse(line) as CustomerWindow);
    }
    const keys = rows.map((r) => `${r.customer}@${r.windowStart}`);
    assert.equal(new Set(keys).size, keys.length, 'a window was emitted twice');
    assert.equal(rows.reduce((n, r) => n + r.orders, 0), 3000);
  });
});
