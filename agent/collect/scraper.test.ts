import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { MemoryStorage, newMatcher, type Labels } from '../tsdb/index.ts';
import { HttpExpositionSource } from './http-target.ts';
import { ScrapeLoop, ScrapeManager, ScrapeSlots, createScrapeMetrics, scrapeOffset } from './scraper.ts';
import type { ScrapeTarget } from './target.ts';

interface Exporter {
  url: string;
  body: string;
  status: number;
  delayMs: number;
  requests: number;
}

async function startExporter(t: TestContext, body: string): Promise<Exporter> {
  const state: Exporter = { url: '', body, status: 200, delayMs: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    setTimeout(() => {
      res.writeHead(state.status, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(state.body);
    }, state.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  return state;
}

function target(url: string, over: Partial<ScrapeTarget> = {}): ScrapeTarget {
  const instance = new URL(url).host;
  return {
    labels: { job: 'flink', instance },
    source: new HttpExpositionSource(url, over.timeoutMs ?? 1000),
    intervalMs: 1000,
    timeoutMs: 1000,
    honorLabels: false,
    maxBackoffMs: 8000,
    ...over,
  };
}

/** The newest sample of each series matching name (and optional label), with its stale flag. */
function latest(db: MemoryStorage, name: string, extra: Record<string, string> = {}): Array<{ labels: Labels; t: number; v: number; stale: boolean }> {
  const matchers = [newMatcher('=', '__name__', name), ...Object.entries(extra).map(([k, v]) => newMatcher('=', k, v))];
  return db.select(matchers, -Infinity, Infinity).map((s) => {
    const i = s.t.length - 1;
    return { labels: s.labels, t: s.t[i]!, v: s.v[i]!, stale: s.stale?.[i] === 1 };
  });
}

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('scrape loop', () => {
  it('records up, scrape_duration_seconds and sample counts with job and instance, at the scrape start time', async (t) => {
    const exp = await startExporter(t, '# TYPE a gauge\na{x="1"} 5\na{x="2"} 6\nb 7\n');
    const db = new MemoryStorage();
    const c = clock();
    const tg = target(exp.url);
    const loop = new ScrapeLoop(tg, { pool: 'static', appender: db, metrics: createScrapeMetrics(), now: c.now });
    await loop.scrapeOnce();
    const [up] = latest(db, 'up');
    assert.deepEqual(up!.labels, { __name__: 'up', instance: tg.labels.instance, job: 'flink' });
    assert.equal(up!.v, 1);
    assert.equal(up!.t, c.now());
    assert.equal(latest(db, 'scrape_samples_scraped')[0]!.v, 3);
    assert.equal(latest(db, 'scrape_samples_post_metric_relabeling')[0]!.v, 3);
    assert.equal(latest(db, 'scrape_series_added')[0]!.v, 3);
    assert.ok(latest(db, 'scrape_duration_seconds')[0]!.v >= 0);
    const a = latest(db, 'a');
    assert.deepEqual(a.map((s) => [s.labels.x, s.labels.job, s.labels.instance, s.v]), [['1', 'flink', tg.labels.instance, 5], ['2', 'flink', tg.labels.instance, 6]]);
    c.advance(1000);
    await loop.scrapeOnce();
    assert.equal(latest(db, 'scrape_series_added')[0]!.v, 0);
    assert.equal(loop.health().health, 'up');
  });

  it('keeps clashing scraped labels as exported_* unless honor_labels is set', async (t) => {
    const exp = await startExporter(t, 'm{job="inner",instance="i0",exported_job="x"} 1\n');
    const db = new MemoryStorage();
    await new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics() }).scrapeOnce();
    const [m] = latest(db, 'm');
    assert.equal(m!.labels.job, 'flink');
    assert.equal(m!.labels.exported_job, 'x');
    assert.equal(m!.labels.exported_exported_job, 'inner');
    assert.equal(m!.labels.exported_instance, 'i0');

    const db2 = new MemoryStorage();
    await new ScrapeLoop(target(exp.url, { honorLabels: true }), { pool: 'p', appender: db2, metrics: createScrapeMetrics() }).scrapeOnce();
    const [h] = latest(db2, 'm');
    assert.equal(h!.labels.job, 'inner');
    assert.equal(h!.labels.instance, 'i0');
  });

  it('writes a stale marker for a series that disappears from the next scrape', async (t) => {
    const exp = await startExporter(t, 'a{x="1"} 1\na{x="2"} 2\n');
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    await loop.scrapeOnce();
    exp.body = 'a{x="1"} 3\n';
    c.advance(1000);
    await loop.scrapeOnce();
    const byX = new Map(latest(db, 'a').map((s) => [s.labels.x, s]));
    assert.equal(byX.get('1')!.stale, false);
    assert.equal(byX.get('1')!.v, 3);
    assert.equal(byX.get('2')!.stale, true);
    assert.equal(byX.get('2')!.t, c.now());
  });

  it('keeps every series right when lines move, change in place, or repeat under another spelling', async (t) => {
    const exp = await startExporter(t, 'a{x="1"} 1\na{x="2"} 2\nb 3\n');
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    await loop.scrapeOnce();
    // Reordered, one line changed in place, and a{x="1"} written with a trailing comma.
    exp.body = 'b 30\na{x="3"} 20\na{x="1",} 10\n';
    c.advance(1000);
    await loop.scrapeOnce();
    const byX = new Map(latest(db, 'a').map((s) => [s.labels.x, s]));
    assert.equal(byX.get('1')!.v, 10);
    assert.equal(byX.get('1')!.stale, false);
    assert.equal(byX.get('2')!.stale, true);
    assert.equal(byX.get('3')!.v, 20);
    assert.equal(latest(db, 'b')[0]!.v, 30);
    assert.equal(latest(db, 'scrape_series_added')[0]!.v, 1);
    exp.body = 'b 31\na{x="3"} 21\na{x="1",} 11\n';
    c.advance(1000);
    await loop.scrapeOnce();
    assert.equal(new Map(latest(db, 'a').map((s) => [s.labels.x, s.v])).get('1'), 11);
    assert.equal(latest(db, 'scrape_series_added')[0]!.v, 0);
  });

  it('does not track staleness of samples that carry their own timestamp', async (t) => {
    const exp = await startExporter(t, 'ts_metric 1 1600000000000\n');
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    await loop.scrapeOnce();
    exp.body = '';
    c.advance(1000);
    await loop.scrapeOnce();
    const [s] = latest(db, 'ts_metric');
    assert.equal(s!.t, 1600000000000);
    assert.equal(s!.stale, false);
  });

  it('puts every sample in its own series when scrapes reuse their arrays and bodies shrink, grow and reorder', async (t) => {
    const exp = await startExporter(t, 'a 1\nb 2\nc 3\nd 4\n');
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    const bodies = ['a 1\nb 2\nc 3\nd 4\n', 'd 14\nb 12\n', 'c 23\na 21\nb 22\nd 24\ne 25\n', 'e 35\n', 'a 41\nb 42\nc 43\nd 44\ne 45\n'];
    for (const [k, body] of bodies.entries()) {
      exp.body = body;
      if (k > 0) c.advance(1000);
      await loop.scrapeOnce();
      for (const line of body.trim().split('\n')) {
        const [name, v] = line.split(' ') as [string, string];
        const [s] = latest(db, name);
        assert.deepEqual([s!.t, s!.v, s!.stale], [c.now(), Number(v), false], `scrape ${k}: ${name}`);
      }
      for (const name of ['a', 'b', 'c', 'd', 'e'].filter((n) => !body.includes(`${n} `))) {
        const s = latest(db, name)[0];
        if (s !== undefined) assert.ok(s.stale, `scrape ${k}: ${name} is gone, so stale`);
      }
    }
  });

  it('refuses samples more than 10 minutes ahead of the scrape as out of bounds and keeps the rest', async (t) => {
    const c = clock();
    const now = c.now();
    const ahead = now + 10 * 60_000;
    const exp = await startExporter(t, `ok_metric 1 ${ahead}\nfuture_metric{x="1"} 2 ${ahead + 1}\nplain 3\n`);
    const db = new MemoryStorage();
    const registry = new Registry();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(registry), now: c.now });
    await loop.scrapeOnce();
    assert.equal(latest(db, 'ok_metric')[0]!.t, ahead, 'exactly 10 min ahead is accepted');
    assert.equal(latest(db, 'plain')[0]!.v, 3);
    assert.deepEqual(latest(db, 'future_metric'), [], 'the future sample is refused');
    assert.equal(db.series([newMatcher('=', '__name__', 'future_metric')]).length, 0, 'and no series is created for it');
    assert.equal(latest(db, 'up')[0]!.v, 1, 'the scrape itself succeeds');
    const health = loop.health();
    assert.match(health.lastError, /refused 1 sample\(s\) out of bounds: timestamp more than 10 min ahead of the scrape \(first: future_metric\{[^}]*x="1"/);
    const metric = await registry.getSingleMetricAsString('flowpilot_scrape_samples_out_of_bounds_total');
    assert.match(metric, /flowpilot_scrape_samples_out_of_bounds_total\{job="flink"\} 1/);
    // Known series too: once the clock catches up the same series is accepted; ahead again, refused again.
    c.advance(60_000);
    exp.body = `future_metric{x="1"} 2 ${ahead + 1}\n`;
    await loop.scrapeOnce();
    assert.equal(latest(db, 'future_metric')[0]!.t, ahead + 1);
    exp.body = `future_metric{x="1"} 5 ${c.now() + 11 * 60_000}\n`;
    await loop.scrapeOnce();
    assert.equal(latest(db, 'future_metric')[0]!.v, 2);
    assert.match(loop.health().lastError, /out of bounds/);
    assert.match(await registry.getSingleMetricAsString('flowpilot_scrape_samples_out_of_bounds_total'), /\{job="flink"\} 2/);
  });

  it('records up 0 and marks every series stale when the target fails', async (t) => {
    const exp = await startExporter(t, 'a 1\n');
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    await loop.scrapeOnce();
    exp.status = 500;
    c.advance(1000);
    await loop.scrapeOnce();
    assert.equal(latest(db, 'up')[0]!.v, 0);
    assert.equal(latest(db, 'scrape_samples_scraped')[0]!.v, 0);
    assert.equal(latest(db, 'a')[0]!.stale, true);
    const h = loop.health();
    assert.equal(h.health, 'down');
    assert.equal(h.lastError, 'server returned HTTP status 500 Internal Server Error');
  });

  it('reads a gzip-compressed exposition', async (t) => {
    const server = http.createServer((req, res) => {
      assert.match(String(req.headers['accept-encoding']), /gzip/);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
      res.end(gzipSync('zipped{x="1"} 7\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const db = new MemoryStorage();
    await new ScrapeLoop(target(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`), { pool: 'p', appender: db, metrics: createScrapeMetrics() }).scrapeOnce();
    assert.equal(latest(db, 'zipped')[0]!.v, 7);
  });

  it('gives up on a slow target at the scrape timeout', async (t) => {
    const exp = await startExporter(t, 'a 1\n');
    exp.delayMs = 2000;
    const db = new MemoryStorage();
    const loop = new ScrapeLoop(target(exp.url, { timeoutMs: 100 }), { pool: 'p', appender: db, metrics: createScrapeMetrics() });
    const t0 = Date.now();
    await loop.scrapeOnce();
    assert.ok(Date.now() - t0 < 1500, 'the scrape was not cut at its timeout');
    assert.equal(latest(db, 'up')[0]!.v, 0);
    assert.match(loop.health().lastError, /deadline|timeout/i);
  });

  it('backs off exponentially while a target keeps failing, still recording up 0 on every tick', async (t) => {
    const exp = await startExporter(t, 'a 1\n');
    exp.status = 503;
    const db = new MemoryStorage();
    const c = clock();
    const loop = new ScrapeLoop(target(exp.url, { maxBackoffMs: 4000 }), { pool: 'p', appender: db, metrics: createScrapeMetrics(), now: c.now });
    for (let i = 0; i < 12; i++) {
      await loop.scrapeOnce();
      c.advance(1000);
    }
    // Attempts at ticks 0, 1, 3, 7, 11 (gaps 1, 2, 4, 4 s capped).
    assert.equal(exp.requests, 5);
    const up = db.select([newMatcher('=', '__name__', 'up')], -Infinity, Infinity)[0]!;
    assert.equal(up.t.length, 12);
    assert.ok([...up.v].every((v) => v === 0));
    exp.status = 200;
    c.advance(4000);
    await loop.scrapeOnce();
    assert.equal(latest(db, 'up')[0]!.v, 1);
    assert.equal(loop.health().consecutiveFailures, 0);
  });

  it('parses the body as it streams in but appends the scrape only when it is complete', async (t) => {
    // The exporter sends the first half of its body (cut inside a line), then waits for the test.
    const lines = Array.from({ length: 400 }, (_, i) => `m{i="${i}",pad="${'x'.repeat(40)}"} ${i}`);
    const body = `# TYPE m gauge\n${lines.join('\n')}\n`;
    const cut = Math.floor(body.length / 2) + 7;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.write(body.slice(0, cut));
      void gate.then(() => res.end(body.slice(cut)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => { release(); server.closeAllConnections(); server.close(() => r()); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const db = new MemoryStorage();
    let refs = 0;
    let appends = 0;
    const appender = {
      append: db.append.bind(db),
      appendStaleMarker: db.appendStaleMarker.bind(db),
      appendStaleMarkerRef: db.appendStaleMarkerRef.bind(db),
      ref: (l: Labels) => { refs++; return db.ref(l); },
      appendRef: (r: Parameters<MemoryStorage['appendRef']>[0], tMs: number, v: number) => { appends++; return db.appendRef(r, tMs, v); },
    };
    const c = clock();
    const loop = new ScrapeLoop(target(url, { timeoutMs: 10_000 }), { pool: 'static', appender, metrics: createScrapeMetrics(), now: c.now });
    const done = loop.scrapeOnce();
    // Parsed while the rest of the body is still on its way...
    while (refs < 100) await new Promise((r) => setImmediate(r));
    assert.ok(refs < 400, `only the first half can be parsed before the rest is sent (${refs} series resolved)`);
    // ...but nothing of the scrape is visible yet.
    assert.equal(appends, 0);
    assert.equal(db.select([newMatcher('=', '__name__', 'm')], -Infinity, Infinity).filter((x) => x.t.length > 0).length, 0);
    release();
    await done;
    assert.equal(appends, 400);
    const m = latest(db, 'm');
    assert.equal(m.length, 400);
    assert.ok(m.every((s) => s.t === c.now() && s.v === Number(s.labels.i)));
    assert.equal(latest(db, 'scrape_samples_scraped')[0]!.v, 400);
    assert.equal(loop.health().health, 'up');
  });

  it('skips malformed lines, keeps the good ones and counts them in flowpilot_scrape_parse_errors_total', async (t) => {
    const exp = await startExporter(t, 'good 1\nbad line here\n{oops} 2\ngood2 3\n');
    const db = new MemoryStorage();
    const registry = new Registry();
    const metrics = createScrapeMetrics(registry);
    const loop = new ScrapeLoop(target(exp.url), { pool: 'p', appender: db, metrics });
    await loop.scrapeOnce();
    assert.equal(latest(db, 'up')[0]!.v, 1);
    assert.equal(latest(db, 'good')[0]!.v, 1);
    assert.equal(latest(db, 'good2')[0]!.v, 3);
    const text = await registry.getSingleMetricAsString('flowpilot_scrape_parse_errors_total');
    assert.match(text, /flowpilot_scrape_parse_errors_total\{job="flink"\} 2/);
  });
});

describe('scrape manager', () => {
  it('marks all series of a target stale when it leaves the pool, and scrapes new ones on their interval', async (t) => {
    const exp = await startExporter(t, 'a 1\n');
    const db = new MemoryStorage();
    const mgr = new ScrapeManager({ appender: db });
    t.after(() => mgr.stop());
    const tg = target(exp.url, { intervalMs: 50 });
    await mgr.sync('static', [tg]);
    // Three scrapes of a 50 ms interval: waited for, not slept on (a loaded machine delays timers).
    const deadline = Date.now() + 30_000;
    while (exp.requests < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(exp.requests >= 3, `expected repeated scrapes, saw ${exp.requests}`);
    assert.equal(mgr.targets()[0]!.health, 'up');
    assert.equal(mgr.notReadyReason(), null);
    await mgr.sync('static', []);
    assert.equal(latest(db, 'a')[0]!.stale, true);
    assert.equal(latest(db, 'up')[0]!.stale, true);
    assert.equal(mgr.targets().length, 0);
  });

  it('spreads targets over the interval, each scraped at its own stable offset', async (t) => {
    const offsets = Array.from({ length: 40 }, (_, i) => scrapeOffset(`instance=10.0.0.${i}:9249,job=flink|http://10.0.0.${i}:9249/metrics`, 5000));
    for (const o of offsets) assert.ok(Number.isInteger(o) && o >= 0 && o < 5000);
    assert.ok(new Set(offsets.map((o) => Math.floor(o / 500))).size >= 6, `offsets bunch up: ${offsets.join(' ')}`);
    assert.equal(scrapeOffset('a|b', 5000), scrapeOffset('a|b', 5000));

    const exp = await startExporter(t, 'a 1\n');
    const seen: number[] = [];
    const db = new MemoryStorage();
    const tg = target(exp.url, { intervalMs: 400 });
    const loop = new ScrapeLoop(tg, { pool: 'p', appender: db, metrics: createScrapeMetrics(), onScraped: (startMs) => seen.push(startMs) });
    t.after(() => loop.stop(false));
    // Timers fire late by as much as the event loop is delayed (a loaded machine): measured, not assumed.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    t.after(() => delay.disable());
    loop.start();
    const deadline = Date.now() + 30_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(seen.length >= 3, `expected scrapes, saw ${seen.length}`);
    const slackMs = 100 + delay.max / 1e6;
    // Every scrape starts on its offset's grid: a little late (timers), or up to 2 ms early (Node's
    // timers may fire a millisecond before Date.now() reaches their due time; seen in a loaded run).
    for (const startMs of seen) {
      const phase = (((startMs - loop.offsetMs) % 400) + 400) % 400;
      const late = phase > 200 ? phase - 400 : phase;
      assert.ok(late >= -2 && late < Math.min(slackMs, 200), `scrape at ${startMs} is ${late} ms off offset ${loop.offsetMs} of the 400 ms interval (event loop delayed up to ${(delay.max / 1e6).toFixed(0)} ms)`);
    }
  });

  it('scrapes targets in parallel up to the concurrency bound, never more, and every one gets its turn', async () => {
    // Each fetch blocks until the test opens its gate: scrapes run one after another would never
    // have more than one in flight, and an unbounded pool would have all six.
    let inFlight = 0;
    let maxInFlight = 0;
    const gates: Array<() => void> = [];
    const changed: Array<() => void> = [];
    const until = async (cond: () => boolean): Promise<void> => {
      while (!cond()) await new Promise<void>((r) => changed.push(r));
    };
    const notify = (): void => {
      for (const r of changed.splice(0)) r();
    };
    const source = (i: number): ScrapeTarget['source'] => ({
      url: `fake://${i}`,
      async fetch() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        notify();
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
        return { samples: [{ name: 'a', labels: { __name__: 'a' }, value: i }], parseErrors: 0 };
      },
    });
    const db = new MemoryStorage();
    const slots = new ScrapeSlots(3);
    const metrics = createScrapeMetrics();
    const loops = Array.from({ length: 6 }, (_, i) => new ScrapeLoop(target(`http://10.0.0.${i}:9249/metrics`, { source: source(i) }), { pool: 'p', appender: db, metrics, slots }));
    const all = Promise.all(loops.map((l) => l.scrapeOnce()));
    await until(() => inFlight === 3);
    assert.equal(slots.queued, 3);
    for (let released = 0; released < 6; released++) {
      await until(() => gates.length > 0);
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await all;
    assert.equal(maxInFlight, 3);
    assert.equal(slots.inFlight, 0);
    assert.deepEqual(latest(db, 'up').map((s) => s.v), [1, 1, 1, 1, 1, 1]);
    assert.equal(latest(db, 'a').length, 6);
  });

  it('a loop stopped while waiting for a slot leaves the queue without scraping', async () => {
    const slots = new ScrapeSlots(1);
    const release = await slots.acquire();
    let fetched = 0;
    const db = new MemoryStorage();
    const tg = target('http://10.0.0.1:9249/metrics', { source: { url: 'fake://1', fetch: async () => { fetched++; return { samples: [], parseErrors: 0 }; } } });
    const loop = new ScrapeLoop(tg, { pool: 'p', appender: db, metrics: createScrapeMetrics(), slots });
    const once = loop.scrapeOnce();
    assert.equal(slots.queued, 1);
    await loop.stop(false);
    await once;
    assert.equal(slots.queued, 0);
    release();
    assert.equal(slots.inFlight, 0);
    assert.equal(fetched, 0);
  });
});
