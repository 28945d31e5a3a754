/**
 * The pieces of scrape-compare.ts that decide what both sides hold: the exporter serves each
 * scraper every step once, in order, stamped with its virtual time, and the agent's scraper keeps those timestamps (as Prometheus does with
 * honor_timestamps), so its store holds the virtual range, not the scrape times.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from '../../agent/tsdb/index.ts';
import { newMatcher } from '../../agent/tsdb/matchers.ts';
import { ScrapeLoop, ScrapeSlots, createScrapeMetrics } from '../../agent/collect/scraper.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { staticTargets } from '../../agent/process/targets.ts';
import { Exporter } from './scrape-exporter.ts';
import { timestamped } from './scrape-support.ts';

const get = async (address: string): Promise<string> => (await fetch(`http://${address}/metrics`)).text();

describe('scrape-compare', () => {
  it('stamps sample lines only', () => {
    assert.equal(timestamped('# HELP a x\n# TYPE a gauge\na{b="1",} 1.0\nc 2\n', 7000), '# HELP a x\n# TYPE a gauge\na{b="1",} 1.0 7000\nc 2 7000\n');
  });

  it('serves each scraper every step once, in order, then empty bodies', async (t) => {
    const virtualStart = 1_700_000_000_000;
    const e = await Exporter.start({ vertices: 2, subtasks: 4, intervalMs: 5000, virtualStart, targets: 2, steps: 3, ahead: 2 });
    t.after(() => e.close());
    const stamps = (body: string): Set<string> => new Set(body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.slice(l.lastIndexOf(' ') + 1)));
    for (const k of [0, 1]) assert.deepEqual([...stamps(await get(e.addresses[0]![0]!))], [String(virtualStart + k * 5000)]);
    // The other scraper, and the other target, have their own steps.
    assert.deepEqual([...stamps(await get(e.addresses[1]![0]!))], [String(virtualStart)]);
    assert.deepEqual([...stamps(await get(e.addresses[0]![1]!))], [String(virtualStart)]);
    assert.equal(e.step(0), 1);
    assert.deepEqual([...stamps(await get(e.addresses[0]![0]!))], [String(virtualStart + 2 * 5000)]);
    // Past the last step: empty bodies.
    assert.equal(await get(e.addresses[0]![0]!), '');
    assert.equal(e.step(0), 1, 'target 1 has served Prometheus one step only');
  });

  it("the agent's scraper stores the exposed timestamps, not the scrape time", async (t) => {
    const virtualStart = Math.floor((Date.now() - 3600_000) / 5000) * 5000;
    const e = await Exporter.start({ vertices: 2, subtasks: 4, intervalMs: 5000, virtualStart, targets: 2, steps: 2, ahead: 2 });
    t.after(() => e.close());
    const cfg = parseAgentConfig({ scrape: { interval: '5s', static: [{ job: 'flink', targets: [e.addresses[1]![0]!] }] } }, 'test');
    const storage = new MemoryStorage({});
    const loop = new ScrapeLoop(staticTargets(cfg)[0]!, { pool: 'static', appender: storage, metrics: createScrapeMetrics(), slots: new ScrapeSlots(1) });
    await loop.scrapeOnce();
    await loop.scrapeOnce();
    const heap = [newMatcher('=', '__name__', 'flink_taskmanager_Status_JVM_Memory_Heap_Used')];
    const samples = storage.select(heap, 0, Date.now() + 60_000);
    assert.equal(samples.length, 1);
    assert.deepEqual(samples[0]!.t, [virtualStart, virtualStart + 5000]);
    assert.equal(storage.stats().outOfOrderSamples, 0);
  });
});
