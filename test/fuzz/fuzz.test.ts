import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReports, inputsOf, runFuzz, runInputs } from './run.ts';

/** The short CI run; the long run is `node test/fuzz/run.ts --cases 5000` (docs/design/development.md). */
const CI_CASES = 150;

describe('fuzz harness', () => {
  it('tells a hang, a crash and an untyped error apart from typed errors', async () => {
    const r = await runInputs('selftest', ['ok', 'typed', 'untyped', 'spin', 'die', 'ok'], { seed: 0, killMs: 1_500 });
    assert.deepEqual([r.cases, r.ok, r.typed, r.untyped, r.hangs, r.crashes], [6, 2, 1, 1, 1, 1]);
    assert.deepEqual(r.findings.map((f) => [f.kind, f.input]), [['untyped', 'untyped'], ['hang', 'spin'], ['crash', 'die']]);
  });

  it('generates the same inputs for the same seed', () => {
    for (const t of ['promql', 'rules', 'exposition'] as const) assert.deepEqual(inputsOf(t, 42, 20), inputsOf(t, 42, 20));
    assert.notDeepEqual(inputsOf('promql', 1, 20), inputsOf('promql', 2, 20));
    assert.deepEqual(inputsOf('rules', 42, 5, 15), inputsOf('rules', 42, 20).slice(15));
  });

  it(`runs ${CI_CASES} cases per parser with no crash, no hang and every error typed`, async () => {
    const reports = await runFuzz({ cases: CI_CASES, seed: 20261207, targets: ['promql', 'rules', 'exposition'] });
    const text = formatReports(reports);
    for (const r of reports) {
      assert.equal(r.cases, CI_CASES, text);
      assert.deepEqual({ target: r.target, crashes: r.crashes, hangs: r.hangs, untyped: r.untyped }, { target: r.target, crashes: 0, hangs: 0, untyped: 0 }, text);
      assert.equal(r.ok + r.typed, r.cases, text);
      assert.ok(r.ok > 0 && r.typed > 0, `${r.target} meets both good and bad input\n${text}`);
    }
    assert.ok(reports[0]!.evaluated > CI_CASES / 3, `most PromQL cases reach evaluation\n${text}`);
  });
});
