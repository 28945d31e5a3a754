import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusSnapshot } from './status-model.ts';
import { fitLine, renderFrame, renderSummaryLine, summaryKey, visibleLength } from './status-render.ts';

const T = Date.UTC(2026, 10, 21, 7, 3, 4);

function snapshot(): StatusSnapshot {
  return {
    time: T,
    restUrl: 'http://127.0.0.1:8081',
    agentUrl: 'http://127.0.0.1:9269',
    engine: {
      reachable: true,
      taskManagers: 2,
      slotsTotal: 2,
      slotsAvailable: 0,
      jobs: [
        {
          id: 'a'.repeat(32),
          name: 'order-enrichment',
          state: 'RUNNING',
          durationMs: 125_000,
          inRate: 2400,
          outRate: 1980.4,
          lag: 35_000,
          backpressure: 'high',
          vertices: [
            { id: 'v1'.padEnd(32, '0'), name: 'Source: orders', parallelism: 2, maxParallelism: 128, status: 'RUNNING', isSource: true, isSink: false, inRate: 2400, outRate: 2400, backpressureRatio: 0.7, backpressure: 'high', busyRatio: 0.2, pendingRecords: 35_000 },
            { id: 'v2'.padEnd(32, '0'), name: 'Enrich', parallelism: 2, maxParallelism: 128, status: 'RUNNING', isSource: false, isSink: false, inRate: 2000, outRate: 2000, backpressureRatio: 0, backpressure: 'ok', busyRatio: 0.98, pendingRecords: null },
            { id: 'v3'.padEnd(32, '0'), name: 'TumblingEventTimeWindows(10000) -> Sink: a very long sink name that will not fit', parallelism: 2, maxParallelism: 128, status: 'RUNNING', isSource: false, isSink: true, inRate: 1980.4, outRate: 0, backpressureRatio: 0, backpressure: 'ok', busyRatio: 0.1, pendingRecords: null },
          ],
        },
      ],
    },
    agent: {
      reachable: true,
      alerts: [{ name: 'FlinkSourceLagGrowing', severity: 'warning', summary: 'source lag of order-enrichment keeps growing', labels: { alertname: 'FlinkSourceLagGrowing', job_name: 'order-enrichment', severity: 'warning' }, activeAt: '2026-11-21T07:01:00Z' }],
      scaling: {
        available: true,
        last: { time: T - 1000, jobId: 'a'.repeat(32), action: 'rescale', direction: 'up', blockedBy: null, reasons: ['Enrich utilization 1.21 is above the 0.8 target band'], changes: [{ vertexId: 'v2'.padEnd(32, '0'), from: 2, to: 4 }] },
        lastRescale: null,
      },
    },
  };
}

describe('status renderer', () => {
  it('draws a TTY frame whose every line fits the terminal width', () => {
    for (const width of [40, 60, 80, 132]) {
      const frame = renderFrame(snapshot(), { width, color: true, header: ['  JobManager REST http://127.0.0.1:8081   metrics http://127.0.0.1:9249/metrics'] });
      for (const line of frame.split('\n')) assert.ok(visibleLength(line) <= width, `line wider than ${width}: ${JSON.stringify(line)}`);
    }
  });

  it('shows the job state, its parallelism, a firing alert and the reason of the last decision', () => {
    const frame = renderFrame(snapshot(), { width: 200, color: false });
    assert.match(frame, /order-enrichment {2}RUNNING {2}up 2m05s {2}p 2 {2}in 2400\/s {2}out 1980\/s {2}lag 35\.0k {2}bp high/);
    assert.match(frame, /alerts {2}1 firing/);
    assert.match(frame, /FlinkSourceLagGrowing \[warning\] order-enrichment — source lag of order-enrichment keeps growing/);
    assert.match(frame, /last decision 07:03:03 {2}rescale up \(v20000 2→4\)/);
    assert.match(frame, /- Enrich utilization 1\.21 is above the 0\.8 target band/);
    assert.doesNotMatch(frame, /\x1b\[/, 'no ANSI codes when colour is off');
  });

  it('colours states and levels only when asked', () => {
    const frame = renderFrame(snapshot(), { width: 120, color: true });
    assert.ok(frame.includes('\x1b[32mRUNNING\x1b[0m'));
    assert.ok(frame.includes('\x1b[31mhigh\x1b[0m'));
  });

  it('cuts the frame to the terminal height', () => {
    assert.equal(renderFrame(snapshot(), { width: 80, height: 5, color: false }).split('\n').length, 5);
  });

  it('says unreachable instead of failing when the engine or the agent does not answer', () => {
    const s = snapshot();
    s.engine = { reachable: false, error: 'connection refused' };
    s.agent = { reachable: false, error: 'timed out' };
    const frame = renderFrame(s, { width: 100, color: false });
    assert.match(frame, /engine {2}http:\/\/127\.0\.0\.1:8081 {2}unreachable \(connection refused\)/);
    assert.match(frame, /agent {3}http:\/\/127\.0\.0\.1:9269 {2}unreachable \(timed out\)/);
    assert.equal(renderSummaryLine(s), '[07:03:04] engine unreachable (connection refused) | agent unreachable (timed out)');
  });

  it('writes a plain one-line summary with parallelism per vertex when they differ', () => {
    const s = snapshot();
    if (!s.engine.reachable) throw new Error('unreachable');
    s.engine.jobs[0]!.vertices[1]!.parallelism = 4;
    assert.equal(
      renderSummaryLine(s),
      '[07:03:04] job order-enrichment RUNNING p=2/4/2 in=2400 rec/s out=1980 rec/s lag=35.0k bp=high | alerts: FlinkSourceLagGrowing | scaling: rescale up (v20000 2→4) — Enrich utilization 1.21 is above the 0.8 target band',
    );
  });

  it('changes the summary key on a parallelism change but not on rate jitter', () => {
    const a = snapshot();
    const b = snapshot();
    if (!b.engine.reachable) throw new Error('unreachable');
    b.engine.jobs[0]!.inRate = 2411;
    b.engine.jobs[0]!.lag = 35_100;
    assert.equal(summaryKey(a), summaryKey(b));
    b.engine.jobs[0]!.vertices[1]!.parallelism = 4;
    assert.notEqual(summaryKey(a), summaryKey(b));
  });

  it('at 80×24 under the header `up` prints, keeps the job, its vertices (named, with short ids), the last decision and the last rescale', () => {
    const s = snapshot();
    if (!s.agent?.reachable || !s.agent.scaling.available || !s.engine.reachable) throw new Error('fixture');
    const last = s.agent.scaling.last!;
    s.agent.scaling.last = { ...last, time: T - 500, action: 'none', direction: null, blockedBy: 'cooldown', changes: [], reasons: ['rescaled 40 s ago; cooldown 2m', 'second reason', 'third reason', 'fourth reason'] };
    s.agent.scaling.lastRescale = { ...last, changes: [{ vertexId: 'v2'.padEnd(32, '0'), name: 'Enrich', from: 2, to: 4 }], reasons: ['Enrich (v20000) utilization 1.21 is above the 0.8 target band', 'second'] };
    s.agent.alerts.push({ ...s.agent.alerts[0]!, name: 'FlinkHighBackpressure' });
    // What `flowpilot up` prints above the view (cli/up/run-up.ts), blank and Ctrl-C lines removed.
    const header = [
      'flowpilot is up:',
      '  JobManager   REST http://127.0.0.1:8081   metrics http://127.0.0.1:9249/metrics   rpc 127.0.0.1:40000',
      '  TaskManager 1  metrics http://127.0.0.1:9250/metrics   data port 40001   id 127.0.0.1:40001-aaaaaa',
      '  TaskManager 2  metrics http://127.0.0.1:9251/metrics   data port 40002   id 127.0.0.1:40002-bbbbbb',
      `  job          order-enrichment ${'a'.repeat(32)}   http://127.0.0.1:8081/jobs/${'a'.repeat(32)}`,
      '  job output   /home/u/flowpilot-state/output/order-enrichment',
      '  agent        http://127.0.0.1:9269  (Prometheus API, /api/v1/alerts, /api/v1/scaling/decisions; rescales in place)',
      '  state dir    /home/u/flowpilot-state',
      '  logs         /home/u/flowpilot-state/logs/cluster.log',
    ];
    const frame = renderFrame(s, { width: 80, height: 24, color: true, header });
    const lines = frame.split('\n');
    assert.ok(lines.length <= 24, `${lines.length} lines`);
    for (const line of lines) assert.ok(visibleLength(line) <= 80, `wider than 80: ${JSON.stringify(line)}`);
    const plain = frame.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    assert.match(plain, /^flowpilot · local stack {4}07:03:04 UTC$/m);
    assert.match(plain, /order-enrichment {2}RUNNING/);
    assert.match(plain, /Source: orders \(v10000\)/);
    assert.match(plain, /Enrich \(v20000\)/);
    assert.match(plain, /last decision 07:03:03 {2}no rescale \(cooldown\)/);
    assert.match(plain, /- rescaled 40 s ago; cooldown 2m/);
    assert.match(plain, /last rescale {2}07:03:03 {2}rescale up \(Enrich \(v20000\) 2→4\)/);
    assert.match(plain, /Ctrl-C stops everything\.$/);
    // One time format: every clock time is HH:MM:SS.
    for (const t of plain.match(/\b\d{1,2}:\d{2}(?::\d{2})?\b/g) ?? []) assert.match(t, /^\d{2}:\d{2}:\d{2}$/);
    // With room to spare nothing is dropped.
    const tall = renderFrame(s, { width: 80, height: 60, color: false, header });
    assert.match(tall, /- fourth reason|… 1 more/);
    assert.match(tall, /logs {9}\/home\/u/);
  });

  it('prints a new summary line on a new outcome, not on a new decision that says the same', () => {
    const a = snapshot();
    const b = snapshot();
    if (!a.agent?.reachable || !a.agent.scaling.available || !b.agent?.reachable || !b.agent.scaling.available) throw new Error('fixture');
    const none = { time: T, jobId: 'j', action: 'none', direction: null, blockedBy: 'within-band', reasons: ['all vertices within the utilization band (0.52)'], changes: [] };
    a.agent.scaling.last = none;
    b.agent.scaling.last = { ...none, time: T + 5000, reasons: ['all vertices within the utilization band (0.57)'] };
    assert.equal(summaryKey(a), summaryKey(b));
    b.agent.scaling.last = { ...none, time: T + 10_000, blockedBy: 'cooldown' };
    assert.notEqual(summaryKey(a), summaryKey(b));
  });

  it('cuts a coloured line to the width and closes its colour', () => {
    const line = `\x1b[31m${'x'.repeat(30)}\x1b[0m tail`;
    const cut = fitLine(line, 10);
    assert.equal(visibleLength(cut), 10);
    assert.ok(cut.endsWith('…\x1b[0m'));
    assert.equal(fitLine('short', 10), 'short');
  });
});
