/**
 * The short, seeded REST fuzz of the suite (see engine-rest-fuzz.ts): a real JobManager with a
 * TaskManager and a running job gets FLOWPILOT_FUZZ_RUNS (default 300) generated requests with
 * seed FLOWPILOT_FUZZ_SEED (default fixed, so a failure reproduces). The bar: 0 × 500, every 4xx
 * with a message, no server path in any answer, the cluster intact afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzEngineRest } from './engine-rest-fuzz.ts';

const RUNS = Number(process.env.FLOWPILOT_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FLOWPILOT_FUZZ_SEED ?? 20261207);

describe('engine REST fuzz', () => {
  it(`answers ${RUNS} random requests (seed ${SEED}) without a 500, every error with a message, no server path`, { timeout: 600_000 }, async (t) => {
    const result = await fuzzEngineRest({ runs: RUNS, seed: SEED });
    t.diagnostic(`status histogram: ${JSON.stringify(result.histogram)}; accepted commands: ${JSON.stringify(result.accepted)}; ${result.durationMs} ms`);
    assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} failures (seed ${SEED})`);
    const answered = Object.entries(result.histogram).filter(([k]) => k !== 'not sent').reduce((s, [, n]) => s + n, 0);
    assert.ok(answered >= RUNS * 0.9, `only ${answered} of ${RUNS} requests were answered`);
    assert.ok((result.histogram['200'] ?? 0) > 0 && Object.keys(result.histogram).some((k) => k.startsWith('4')), 'the fuzz reached both success and error paths');
  });
});
