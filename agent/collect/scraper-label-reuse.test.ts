/**
 * A source without series text (the Flink REST collector) hands over label records; the scrape
 * loop reuses the series at the same position of the last scrape when the scraped labels, with
 * the target's applied, are that series' labels (mergesTo), instead of building, sorting and
 * hashing the final label set for every sample. These tests check that the reuse never files a
 * value under the wrong series: labels that change at a position, series that swap positions,
 * a scraped label the target also sets, and, property-based, that mergesTo agrees with building
 * the labels.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStorage, newMatcher } from '../tsdb/index.ts';
import { labelsFromRecord, sameLabels } from '../tsdb/labels.ts';
import { ScrapeLoop, createScrapeMetrics } from './scraper.ts';
import { mergeTargetLabels, mergesTo, type ScrapeTarget } from './target.ts';
import type { ParsedSample } from './prometheus-text.ts';

function sample(name: string, labels: Record<string, string>, value: number): ParsedSample {
  return { name, labels: { ...labels, __name__: name }, value };
}

/** A loop over a source that returns the next scrape's samples from `scrapes`. */
function loopOver(scrapes: ParsedSample[][], over: Partial<ScrapeTarget> = {}): { loop: ScrapeLoop; db: MemoryStorage; advance: () => void } {
  const db = new MemoryStorage();
  let t = 1_700_000_000_000;
  let n = 0;
  const target: ScrapeTarget = {
    labels: { job: 'flink-rest', namespace: 'team-a', resource_name: 'job-1' },
    source: { url: 'fake://rest', fetch: async () => ({ samples: scrapes[n++]!, parseErrors: 0 }) },
    intervalMs: 10_000, timeoutMs: 10_000, honorLabels: false, maxBackoffMs: 10_000,
    ...over,
  };
  const loop = new ScrapeLoop(target, { pool: 'fleet', appender: db, metrics: createScrapeMetrics(), now: () => t });
  return { loop, db, advance: () => { t += 10_000; } };
}

/** Every stored series of `name`: its labels other than the target's, and its values (NaN for a stale marker). */
function series(db: MemoryStorage, name: string): Array<{ labels: string; values: number[] }> {
  return db.select([newMatcher('=', '__name__', name)], -Infinity, Infinity).map((s) => {
    const own = Object.entries(s.labels).filter(([k]) => !['__name__', 'job', 'namespace', 'resource_name'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',');
    return { labels: own, values: [...s.v].map((v, i) => (s.stale?.[i] === 1 ? Number.NaN : v)) };
  }).sort((a, b) => a.labels.localeCompare(b.labels));
}

describe('scrape loop: label records reused by position', () => {
  it('files each value under its own series when a label changes at a position, and marks the old series stale', async () => {
    const { loop, db, advance } = loopOver([
      [sample('busy', { tm_id: 'tm-1', subtask_index: '0' }, 1), sample('busy', { tm_id: 'tm-2', subtask_index: '1' }, 2)],
      [sample('busy', { tm_id: 'tm-1', subtask_index: '0' }, 3), sample('busy', { tm_id: 'tm-2', subtask_index: '1' }, 4)],
      // the job restarted: subtask 1 on another TaskManager, at the same position
      [sample('busy', { tm_id: 'tm-1', subtask_index: '0' }, 5), sample('busy', { tm_id: 'tm-3', subtask_index: '1' }, 6)],
    ]);
    for (let i = 0; i < 3; i++) {
      await loop.scrapeOnce();
      advance();
    }
    assert.deepEqual(series(db, 'busy'), [
      { labels: 'subtask_index=0,tm_id=tm-1', values: [1, 3, 5] },
      { labels: 'subtask_index=1,tm_id=tm-2', values: [2, 4, Number.NaN] },
      { labels: 'subtask_index=1,tm_id=tm-3', values: [6] },
    ]);
    assert.deepEqual(series(db, 'scrape_series_added').map((s) => s.values), [[2, 0, 1]]);
  });

  it('files each value under its own series when series swap positions, or a label is added or emptied', async () => {
    const { loop, db, advance } = loopOver([
      [sample('a', { x: '1' }, 1), sample('a', { x: '2' }, 2), sample('b', {}, 3)],
      [sample('a', { x: '2' }, 20), sample('a', { x: '1' }, 10), sample('b', {}, 30)],
      // b gains a label; a{x="2"} has an empty extra label, which is no label
      [sample('b', { y: 'z' }, 300), sample('a', { x: '2', w: '' }, 200), sample('a', { x: '1' }, 100)],
      // and loses it again, at the same position
      [sample('b', {}, 3000), sample('a', { x: '2' }, 2000), sample('a', { x: '1' }, 1000)],
    ]);
    for (let i = 0; i < 4; i++) {
      await loop.scrapeOnce();
      advance();
    }
    assert.deepEqual(series(db, 'a'), [{ labels: 'x=1', values: [1, 10, 100, 1000] }, { labels: 'x=2', values: [2, 20, 200, 2000] }]);
    assert.deepEqual(series(db, 'b'), [{ labels: '', values: [3, 30, Number.NaN, 3000] }, { labels: 'y=z', values: [300, Number.NaN] }]);
  });

  it('moves a scraped label the target also sets aside as exported_*, on every scrape', async () => {
    const { loop, db, advance } = loopOver([
      [sample('m', { namespace: 'flink-internal' }, 1)],
      [sample('m', { namespace: 'flink-internal' }, 2)],
    ]);
    for (let i = 0; i < 2; i++) {
      await loop.scrapeOnce();
      advance();
    }
    assert.deepEqual(series(db, 'm'), [{ labels: 'exported_namespace=flink-internal', values: [1, 2] }]);
  });

  it('mergesTo is true only for the labels the target merge builds', () => {
    const name = fc.constantFrom('a', 'b', 'job', 'instance', 'namespace', 'exported_job', '__name__');
    const value = fc.constantFrom('', 'x', 'y', 'team-a');
    const record = fc.dictionary(name, value, { maxKeys: 5 });
    fc.assert(fc.property(record, record, record, fc.boolean(), fc.boolean(), (scraped, target, other, honor, around) => {
      const built = labelsFromRecord(mergeTargetLabels(scraped, target, honor));
      // against another label set (often the built one with labels added or changed): true only when it is the built one
      const otherFinal = labelsFromRecord(around ? { ...mergeTargetLabels(scraped, target, honor), ...other } : other);
      if (mergesTo(scraped, target, otherFinal)) assert.ok(sameLabels(otherFinal, built), JSON.stringify({ scraped, target, other, honor, around }));
      // against the built one: true whenever no scraped label is also a target label
      const clash = Object.keys(scraped).some((k) => scraped[k] !== '' && target[k] !== undefined);
      if (!clash) assert.ok(mergesTo(scraped, target, built), JSON.stringify({ scraped, target, honor }));
      else assert.equal(mergesTo(scraped, target, built), false);
    }), { numRuns: 2000 });
  });
});
