import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CreationSettler, DEFAULT_SETTLE_AFTER_SERIES, type GcFn } from './settle.ts';
import { MemoryStorage } from './storage.ts';

describe('CreationSettler', () => {
  it('asks for one asynchronous major GC per `everySeries` creations, never two at once, and none when off', async () => {
    const calls: unknown[] = [];
    let finish: () => void = () => undefined;
    const gc: GcFn = (o) => {
      calls.push(o);
      return new Promise<void>((r) => { finish = r; });
    };
    const s = new CreationSettler(3, () => gc);
    for (let i = 0; i < 2; i++) s.created1();
    assert.equal(calls.length, 0);
    s.created1();
    assert.deepEqual(calls, [{ type: 'major', execution: 'async' }]);
    // while that collection runs, further bursts do not queue another
    for (let i = 0; i < 10; i++) s.created1();
    assert.equal(calls.length, 1);
    finish();
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 3; i++) s.created1();
    assert.equal(calls.length, 2);
    assert.equal(s.settles, 2);
    const off = new CreationSettler(0, () => gc);
    for (let i = 0; i < 100; i++) off.created1();
    assert.equal(calls.length, 2);
    // no collector (the flag refused): nothing happens, nothing throws
    const none = new CreationSettler(1, () => null);
    none.created1();
    assert.equal(none.settles, 0);
  });

  it('in a process started without --expose-gc, MemoryStorage creating series runs real major GCs', () => {
    // a child without --expose-gc: the collector is exposed at run time; PerformanceObserver counts major GCs
    const script = `
      import { PerformanceObserver, constants } from 'node:perf_hooks';
      import { MemoryStorage } from ${JSON.stringify(new URL('./storage.ts', import.meta.url).href)};
      let majors = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
      const run = async (opts, perScrape) => {
        majors = 0;
        const st = new MemoryStorage(opts);
        // three scrapes of new series, the event loop turning between them as it does between
        // targets: after each, until every collection the store asked for was observed (10 s cap)
        for (let k = 0; k < 3; k++) {
          for (let i = 0; i < perScrape; i++) st.ref({ __name__: 'm', i: String(k * perScrape + i) });
          const until = Date.now() + 10_000;
          do await new Promise((r) => setImmediate(r)); while (majors < st.settles && Date.now() < until);
        }
        return majors;
      };
      const off = await run({ settleAfterSeries: 0 }, 4000);
      const on = await run({ settleAfterSeries: 1000 }, 1000);
      process.stdout.write(JSON.stringify({ off, on, exposed: typeof globalThis.gc }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })) as { off: number; on: number; exposed: string };
    assert.equal(out.exposed, 'undefined', 'the child was started without --expose-gc and the global stays clean');
    assert.ok(out.on >= out.off + 2, `major GCs every 1000 series: ${out.on}, with settling off: ${out.off}`);
  });

  it('is on in MemoryStorage by default (one per 10,000 series created) and off with settleAfterSeries 0', () => {
    const fill = (st: MemoryStorage, n: number): MemoryStorage => {
      for (let i = 0; i < n; i++) st.ref({ __name__: 'x', i: String(i) });
      return st;
    };
    assert.equal(fill(new MemoryStorage(), DEFAULT_SETTLE_AFTER_SERIES - 1).settles, 0);
    assert.equal(fill(new MemoryStorage(), DEFAULT_SETTLE_AFTER_SERIES).settles, 1);
    assert.equal(fill(new MemoryStorage({ settleAfterSeries: 0 }), DEFAULT_SETTLE_AFTER_SERIES).settles, 0);
  });
});
