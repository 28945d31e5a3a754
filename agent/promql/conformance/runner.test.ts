import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from './runner.ts';
import { runConformance } from './cli.ts';

const testdata = join(import.meta.dirname, '..', 'testdata');

describe('promqltest runner', () => {
  it('passes every case of the hand-written flowpilot script', () => {
    const results = runScript(readFileSync(join(testdata, 'flowpilot.test'), 'utf8'));
    const failed = results.filter((r) => r.status !== 'passed');
    assert.deepEqual(failed, []);
    assert.ok(results.length >= 50);
  });

  it('reports a wrong expected value as a failure with the reason', () => {
    const results = runScript('load 1m\n  x{a="b"} 1 2 3\n\neval instant at 2m x\n  x{a="b"} 4\n');
    assert.equal(results.length, 1);
    assert.equal(results[0]!.status, 'failed');
    assert.match(results[0]!.reason, /expected 4/);
  });

  it('expands the series notation of load blocks', () => {
    const results = runScript('load 30s\n  x 1+2x3 _ stale 7x1\n\neval range from 0 to 3m step 30s x\n  x 1 3 5 7 7 _ 7\n');
    assert.deepEqual(results.map((r) => r.status), ['passed']);
  });

  it('skips and counts cases that select native histograms or use experimental functions', () => {
    const script = [
      'load 1m', '  h {{schema:0 sum:1 count:1}}x2', '  f 1 2 3', '',
      'eval instant at 1m h', '  h {{schema:0 sum:1 count:1}}', '',
      'eval instant at 1m sum({__name__=~"h|f"})', '  {} 3', '',
      'eval instant at 1m mad_over_time(f[5m])', '  {} 0.5', '',
      'eval instant at 1m f', '  f 2', '',
    ].join('\n');
    const results = runScript(script);
    assert.deepEqual(results.map((r) => r.status), ['skipped', 'skipped', 'skipped', 'passed']);
  });

  it('checks expected failures against their message', () => {
    const script = 'load 1m\n  a{x="1"} 1\n  b{x="1"} 2\n  b{x="1",y="2"} 3\n\neval instant at 0m a + on(x) b\n  expect fail msg: wrong message\n';
    const [r] = runScript(script);
    assert.equal(r!.status, 'failed');
    assert.match(r!.reason, /does not match msg/);
  });

  it('prints one line per file and a final total line, and fails below the pass ratio', () => {
    const lines: string[] = [];
    const summary = runConformance(testdata, { minPassRatio: 0.95, verbose: false, out: (l) => lines.push(l) });
    assert.equal(summary.exitCode, 0);
    assert.match(lines[lines.length - 1]!, /^\d+ passed, 0 failed, 0 skipped$/);
    assert.ok(lines.some((l) => l.includes('flowpilot.test: ')));
    const strict = runConformance(testdata, { minPassRatio: 1.01, verbose: false, out: () => {} });
    assert.equal(strict.exitCode, 1);
  });

  it('skips, with the reason, the cases after a load or command it cannot read, and runs the rest', () => {
    const script = [
      'load 1m', '  a 1 2 3', '  b 1@st5 2@st5', '',
      'eval instant at 1m a', '  a 2', '',
      'clear', '',
      'load 1m', '  c 4 5', '',
      'eval instant at 1m c', '  c 5', '',
      'set_future_option true', '',
      'eval instant at 1m c', '  c 5', '',
    ].join('\n');
    const results = runScript(script);
    assert.deepEqual(results.map((r) => r.status), ['skipped', 'passed', 'skipped']);
    assert.match(results[0]!.reason, /line 3 uses a notation this runner does not read/);
    assert.match(results[2]!.reason, /unknown command "set_future_option true"/);
  });
});
