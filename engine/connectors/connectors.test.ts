import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorContext, SourceOutput } from '../api/functions.ts';
import type { SourceControl } from '../contracts/task.ts';
import { RateProfile } from './rate-profile.ts';
import { generatorSource, partitionShare } from './generator.ts';
import { fileSink } from './file-sink.ts';
import { fileSource } from './file-source.ts';
import { discardSink, logSink } from './simple-sinks.ts';
import { ManualProcessingTime } from '../testing/operator-harness.ts';

function context(over: Partial<ConnectorContext> & { clock?: { t: number } }): ConnectorContext & { gauges: Map<string, () => number> } {
  const gauges = new Map<string, () => number>();
  const clock = over.clock ?? { t: 0 };
  return {
    subtaskIndex: 0,
    parallelism: 1,
    attemptNumber: 0,
    config: {},
    metrics: { gauge: (n, r) => void gauges.set(n, r), count: () => {} },
    now: () => clock.t,
    signal: new AbortController().signal,
    restored: null,
    ...over,
    gauges,
  };
}

function collecting<T>(): SourceOutput<T> & { records: T[] } {
  const records: T[] = [];
  return { records, collect: (r) => void records.push(r), flush: () => {}, markIdle: () => {} };
}

function control(abort: AbortController, onWait?: () => void): SourceControl {
  return {
    signal: abort.signal,
    hasCapacity: () => true,
    waitForCapacity: async () => onWait?.(),
    idle: async () => onWait?.(),
  };
}

describe('rate profiles', () => {
  it('integrates and inverts step profiles exactly', () => {
    const p = RateProfile.parse('steps:1000@0s,4000@60s');
    assert.equal(p.cumulative(30), 30_000);
    assert.equal(p.cumulative(61), 64_000);
    assert.equal(p.timeOf(64_000), 61);
    assert.equal(p.rateAt(59.9), 1000);
    assert.equal(RateProfile.parse('constant:250').cumulative(4), 1000);
  });

  it('reads step offsets as seconds or Prometheus durations, and names a bad one', () => {
    assert.deepEqual(RateProfile.parse('steps:1@0,2@1m30s,3@90500ms,4@100.5').steps.map((s) => s.at), [0, 90, 90.5, 100.5]);
    assert.throws(() => RateProfile.parse('steps:1@0s,2@1h1h'), /bad offset in step "2@1h1h" of rate profile "steps:1@0s,2@1h1h": .*unit "h" at character 4 repeats/);
  });

  it('reads a CSV of second,rate with a header', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-rate-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, 'p.csv');
    writeFileSync(f, 'second,rate\n0,10\n5,20\n');
    assert.equal(RateProfile.parse(f).cumulative(10), 150);
    assert.throws(() => RateProfile.parse('steps:abc'), /bad step/);
  });
});

describe('generator source', () => {
  it('splits records over partitions round-robin and subtasks by partition index', () => {
    assert.deepEqual([0, 1, 2].map((p) => partitionShare(10, p, 3)), [4, 3, 3]);
  });

  it('produces the same records from (partition, offset) at any parallelism and reports pendingRecords', async () => {
    const make = (parallelism: number, index: number, clock: { t: number }) => {
      const src = generatorSource({ partitions: 4, profile: 'constant:1000', limit: 50, record: (p, o) => `${p}:${o}` });
      const ctx = context({ subtaskIndex: index, parallelism, clock });
      return { reader: src.createReader(ctx), ctx };
    };
    const clock = { t: 0 };
    const { reader, ctx } = make(1, 0, clock);
    clock.t = 20; // 20 records due
    assert.equal(ctx.gauges.get('pendingRecords')!(), 20);
    const out = collecting<string>();
    const abort = new AbortController();
    await reader.run(out, control(abort, () => (clock.t += 10)));
    assert.equal(out.records.length, 50);
    assert.equal(ctx.gauges.get('pendingRecords')!(), 0);
    // The same 50 records come out of two subtasks, split by partition.
    const clock2 = { t: 0 };
    const parts = [0, 1].map((i) => make(2, i, clock2));
    clock2.t = 1_000;
    const outs = parts.map(() => collecting<string>());
    await Promise.all(parts.map((x, i) => x.reader.run(outs[i]!, control(new AbortController()))));
    assert.deepEqual([...outs[0]!.records, ...outs[1]!.records].sort(), [...out.records].sort());
    assert.ok(outs[0]!.records.every((r) => r.startsWith('0:') || r.startsWith('2:')));
  });

  it('resumes from restored offsets without repeating or skipping records', async () => {
    const src = generatorSource({ partitions: 3, profile: 'constant:100000', limit: 30, record: (p, o) => `${p}:${o}`, batchSize: 6 });
    const clock = { t: 0 };
    const first = src.createReader(context({ clock }));
    const out1 = collecting<string>();
    const abort = new AbortController();
    let snap: ReturnType<typeof first.snapshotState> | undefined;
    clock.t = 1000;
    await first.run(out1, control(abort, () => {
      if (snap === undefined) {
        snap = first.snapshotState(1);
        abort.abort();
      }
    }));
    const second = src.createReader(context({ clock, parallelism: 2, subtaskIndex: 0, restored: { operatorState: [], unionState: snap!.unionState! } }));
    const third = src.createReader(context({ clock, parallelism: 2, subtaskIndex: 1, restored: { operatorState: [], unionState: snap!.unionState! } }));
    const out2 = collecting<string>();
    await second.run(out2, control(new AbortController()));
    await third.run(out2, control(new AbortController()));
    assert.equal(out1.records.length, 6);
    assert.deepEqual([...out1.records, ...out2.records].sort(), Array.from({ length: 30 }, (_, g) => `${g % 3}:${Math.floor(g / 3)}`).sort());
  });
});

describe('file sink', () => {
  it('commits part files only when their checkpoint completes, and idempotently on restore', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-sink-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sink = fileSink<number>({ path: dir });
    const config = { 'execution.checkpointing.interval': '1000' };
    const w = await sink.createWriter(context({ config }));
    const visible = () => readdirSync(dir).filter((f) => f.startsWith('part-'));
    const committed = () => visible().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)).map(Number).sort((a, b) => a - b);
    await w.write([1, 2]);
    const s1 = await w.snapshotState!(1);
    await w.write([3]);
    assert.deepEqual(visible(), []);
    await w.notifyCheckpointComplete!(1);
    assert.deepEqual(committed(), [1, 2]);
    const s2 = await w.snapshotState!(2); // [3] pending for checkpoint 2; then the task fails before the notification
    await w.write([4]);
    await w.close!();
    assert.deepEqual(committed(), [1, 2]);
    // Restore from checkpoint 2: its pending file is committed; [4] (after it) never is.
    const w2 = await sink.createWriter(context({ config, attemptNumber: 1, restored: { operatorState: s2.operatorState!, unionState: [] } }));
    assert.deepEqual(committed(), [1, 2, 3]);
    // A second restore of the same checkpoint commits nothing twice.
    await sink.createWriter(context({ config, attemptNumber: 2, restored: { operatorState: s2.operatorState!, unionState: [] } }));
    assert.deepEqual(committed(), [1, 2, 3]);
    await w2.close!();
    assert.equal(s1.operatorState!.length, 1);
    assert.ok(readdirSync(dir).some((f) => f.endsWith('.inprogress')));
  });

  it('without checkpointing commits at end of input', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-sink-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const w = await fileSink<string>({ path: dir, format: (s) => s.toUpperCase() }).createWriter(context({}));
    await w.write(['a', 'b']);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('part-')).length, 0);
    await w.endInput!();
    const files = readdirSync(dir).filter((f) => f.startsWith('part-'));
    assert.equal(readFileSync(join(dir, files[0]!), 'utf8'), 'A\nB\n');
    assert.ok(!existsSync(join(dir, `.${files[0]}.inprogress`)));
  });

  it('without checkpointing commits a quiet part file when its rolling interval passes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-sink-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const time = new ManualProcessingTime(0);
    const w = await fileSink<string>({ path: dir, rollingIntervalMs: 100 }).createWriter(context({ time, now: () => time.now() }));
    await w.write(['x']);
    time.advanceTo(99);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('part-')).length, 0);
    time.advanceTo(100);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('part-')).length, 1);
    await w.close!();
  });
});

describe('file source', () => {
  it('replays a file from the restored byte offset', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-src-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, 'in.txt');
    writeFileSync(f, 'alpha\nbeta\r\ngamma\ndelta');
    const src = fileSource<string>({ paths: [f], batchSize: 2 });
    const r1 = src.createReader(context({}));
    const out1 = collecting<string>();
    const abort = new AbortController();
    let snap: ReturnType<typeof r1.snapshotState> | undefined;
    await r1.run(out1, control(abort, () => {
      snap ??= r1.snapshotState(1);
      abort.abort();
    }));
    assert.deepEqual(out1.records, ['alpha', 'beta']);
    const r2 = src.createReader(context({ restored: { operatorState: [], unionState: snap!.unionState! } }));
    const out2 = collecting<string>();
    await r2.run(out2, control(new AbortController()));
    assert.deepEqual(out2.records, ['gamma', 'delta']);
  });
});

describe('log and discard sinks', () => {
  it('logs every n-th record as a pino line and discards while counting', async () => {
    const { pino } = await import('pino');
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const w = await logSink<{ n: number }>({ every: 2, logger }).createWriter(context({ subtaskIndex: 3 }));
    await w.write([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    const logged = lines.map((l) => JSON.parse(l) as { record: { n: number }; subtask: number });
    assert.deepEqual(logged.map((l) => l.record.n), [0, 2, 4]);
    assert.ok(logged.every((l) => l.subtask === 3));
    const d = discardSink<number>();
    const dw = await d.createWriter(context({}));
    await dw.write([1, 2, 3]);
    assert.equal(d.received(), 3);
  });
});
