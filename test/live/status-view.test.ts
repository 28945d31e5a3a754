/**
 * The live status view against a real local cluster started through engine/local's launcher
 * (1 JobManager, 1 TaskManager, the word-count sample job at a small rate, no agent), in plain
 * mode (what logs and `flowpilot up | tee` see) and in TTY mode, and against a port where
 * nothing listens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createServer } from 'node:net';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { startStatusView } from '../../cli/live/status-view.ts';
import { visibleLength } from '../../cli/live/status-render.ts';

/** Collects what the view writes; resolves `waitFor` when the text matches. */
class Capture extends PassThrough {
  text = '';
  columns: number | undefined;
  rows: number | undefined;
  constructor(columns?: number, rows?: number) {
    super();
    this.columns = columns;
    this.rows = rows;
    this.on('data', (d: Buffer) => (this.text += d.toString()));
  }
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.text.match(re);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no match for ${re} within ${timeoutMs} ms; written so far:\n${this.text.slice(-3000)}`);
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('live status view against a running engine', () => {
  let dir = '';
  let cluster: LocalCluster | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-live-'));
    cluster = await startQuietCluster({
      slots: 2,
      stateDir: dir,
      jobArgs: ['--rate', '50'],
      parallelism: 2,
    });
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints plain summary lines with the job RUNNING, its parallelism and a records/s figure', async () => {
    const out = new Capture();
    const view = startStatusView({ restUrl: cluster!.restUrl, out, intervalMs: 300 });
    try {
      // The first line may come before the sources' first records (in=0): wait for the line after traffic starts.
      const m = await out.waitFor(/job word-count RUNNING p=(\d+) in=((?!0\.0 |0 )[\d.]+) rec\/s out=([\d.]+) rec\/s lag=\S+ bp=(ok|low|high)/, 15_000);
      assert.equal(m[1], '2');
      const inRate = Number(m[2]);
      assert.ok(inRate > 0 && inRate < 500, `sentences/s near the configured 50, got ${inRate}`);
      assert.doesNotMatch(out.text, /\x1b\[/, 'no ANSI codes in plain mode');
      for (const line of out.text.trim().split('\n')) assert.match(line, /^\[\d\d:\d\d:\d\d\] /);
    } finally {
      await view.stop();
    }
    const written = out.text.length;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(out.text.length, written, 'nothing is written after stop()');
  });

  it('redraws a full-screen frame that fits the terminal and restores the screen on stop', async () => {
    const out = new Capture(60, 30);
    const view = startStatusView({ restUrl: cluster!.restUrl, out, isTTY: true, intervalMs: 300, header: ['  JobManager REST ' + cluster!.restUrl] });
    await out.waitFor(/RUNNING[\s\S]*in [\d.]+\/s[\s\S]*Source: sen/, 15_000);
    await view.stop();
    assert.ok(out.text.startsWith('\x1b[?1049h'), 'enters the alternate screen');
    assert.ok(out.text.endsWith('\x1b[?25h\x1b[?1049l'), 'shows the cursor and leaves the alternate screen');
    const frames = out.text.split('\x1b[H').slice(1);
    assert.ok(frames.length >= 1);
    const last = frames.at(-1)!.replace(/\x1b\[(K|J|\?25h|\?1049l)/g, '');
    const lines = last.split('\n');
    assert.ok(lines.length <= 30);
    for (const line of lines) assert.ok(visibleLength(line) <= 60, `wider than 60: ${JSON.stringify(line)}`);
    assert.match(last, /word-count\x1b\[0m {2}\x1b\[32mRUNNING\x1b\[0m {2}up \d+s {2}p 2 /);
  });

  it('shows the engine and the agent as unreachable when nothing answers, and keeps polling', async () => {
    const [deadRest, deadAgent] = await Promise.all([freePort(), freePort()]);
    const out = new Capture();
    let polls = 0;
    const view = startStatusView({ restUrl: `http://127.0.0.1:${deadRest}`, agentUrl: `http://127.0.0.1:${deadAgent}`, out, intervalMs: 150, onSnapshot: () => polls++ });
    try {
      await out.waitFor(/engine unreachable \(connection refused\) \| agent unreachable \(connection refused\)/, 5000);
      const deadline = Date.now() + 5000;
      while (polls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(polls >= 3, `kept polling after failures (${polls} polls)`);
      assert.equal(out.text.trim().split('\n').length, 1, 'an unchanged status is written once');
    } finally {
      await view.stop();
    }
  });

  it('shows the agent unreachable next to a live engine when the agent URL does not answer', async () => {
    const out = new Capture();
    const view = startStatusView({ restUrl: cluster!.restUrl, agentUrl: `http://127.0.0.1:${await freePort()}`, out, intervalMs: 300 });
    try {
      await out.waitFor(/job word-count RUNNING .* \| agent unreachable/, 10_000);
    } finally {
      await view.stop();
    }
  });
});
