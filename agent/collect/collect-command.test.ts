import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCollect } from './collect-command.ts';
import { parseObservationLine } from './observation.ts';
import { loadRecordedScenario, startFlinkFixtureServer } from '../../test/agent/flink-fixture-server.ts';

function sink(): { text: string; write(s: string): boolean } {
  return { text: '', write(s: string) { this.text += s; return true; } };
}

describe('flowpilot collect (runCollect)', () => {
  it('without --once repeats every interval, one JSON line per running job each time, until stopped', async (t) => {
    const server = await startFlinkFixtureServer(loadRecordedScenario('dynamic-kafka'));
    t.after(() => server.close());
    const out = sink();
    const err = sink();
    const stop = new AbortController();
    const done = runCollect({ flinkUrl: server.url, once: false, interval: '50ms', timeout: '5s', concurrency: '4' }, { out, err }, stop.signal);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 15_000;
      const poll = setInterval(() => {
        if (out.text.split('\n').filter((l) => l !== '').length >= 3) { clearInterval(poll); resolve(); }
        else if (Date.now() > deadline) { clearInterval(poll); reject(new Error(`three collections expected; stderr: ${err.text}`)); }
      }, 20);
    });
    stop.abort();
    assert.equal(await done, 0);
    const lines = out.text.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3);
    for (const [i, l] of lines.entries()) assert.equal(parseObservationLine(l, `line ${i + 1}`).vertices[0]!.partitions, 6);
    assert.match(err.text, /^collecting from http:\/\/127\.0\.0\.1:\d+\n/);
  });

  it('refuses a bad duration with a usage error', async () => {
    await assert.rejects(runCollect({ flinkUrl: 'http://127.0.0.1:1', once: true, interval: 'soon', timeout: '1s', concurrency: '1' }, { out: sink(), err: sink() }), { code: 'FP_CLI_USAGE' });
  });
});
