import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import { createRestartStrategy, parseRestartStrategyConfig, type RestartDecision } from './restart-strategy.ts';

const delays = (ds: RestartDecision[]) => ds.map((d) => (d.restart ? d.delayMs : 'FAIL'));

describe('restart strategy configuration', () => {
  it('defaults to exponential-delay with checkpointing and to none without, as Flink', () => {
    assert.equal(parseRestartStrategyConfig({}, { checkpointingEnabled: true }).type, 'exponential-delay');
    assert.equal(parseRestartStrategyConfig({}).type, 'none');
    for (const off of ['none', 'off', 'disable']) assert.equal(parseRestartStrategyConfig({ 'restart-strategy.type': off }).type, 'none');
    assert.equal(parseRestartStrategyConfig({ 'restart-strategy.type': 'fixeddelay' }).type, 'fixed-delay');
  });

  it('reads Flink\'s keys with Flink\'s defaults and duration syntax', () => {
    const c = parseRestartStrategyConfig({
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.initial-backoff': '2 s',
      'restart-strategy.exponential-delay.max-backoff': '1 min',
    });
    assert.deepEqual(c.exponentialDelay, {
      initialBackoffMs: 2000, maxBackoffMs: 60000, multiplier: 1.5, resetThresholdMs: 3_600_000, jitterFactor: 0.1, attemptsBeforeReset: 2147483647,
    });
    assert.deepEqual(parseRestartStrategyConfig({ 'restart-strategy.type': 'fixed-delay' }).fixedDelay, { attempts: 1, delayMs: 1000 });
  });

  it('refuses unknown types and inconsistent backoffs with FP_RESTART_CONFIG', () => {
    assert.throws(() => parseRestartStrategyConfig({ 'restart-strategy.type': 'failure-rate' }), (e) => isFlowpilotError(e, 'FP_RESTART_CONFIG') && /fixed-delay/.test(e.message));
    assert.throws(() => parseRestartStrategyConfig({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.max-backoff': '10 ms' }), (e) => isFlowpilotError(e, 'FP_RESTART_CONFIG'));
    assert.throws(() => parseRestartStrategyConfig({ 'restart-strategy.fixed-delay.delay': 'soon' }), (e) => isFlowpilotError(e, 'FP_RESTART_CONFIG'));
  });
});

describe('restart decisions', () => {
  it('none never restarts', () => {
    const s = createRestartStrategy(parseRestartStrategyConfig({ 'restart-strategy.type': 'none' }));
    assert.deepEqual(s.onFailure(0), { restart: false, reason: 'Recovery is suppressed by NoRestartBackoffTimeStrategy.' });
    assert.equal(s.numRestarts, 0);
  });

  it('fixed-delay restarts `attempts` times after `delay`, then gives up', () => {
    const s = createRestartStrategy(parseRestartStrategyConfig({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '3', 'restart-strategy.fixed-delay.delay': '250 ms' }));
    const ds = [0, 1000, 2000, 3000].map((t) => s.onFailure(t));
    assert.deepEqual(delays(ds), [250, 250, 250, 'FAIL']);
    assert.equal(s.numRestarts, 3);
    assert.match(s.describe(), /fixed delay \(250 ms\)\. #3 restart attempts/);
  });

  it('exponential-delay multiplies the backoff up to the maximum (no jitter)', () => {
    const s = createRestartStrategy(
      parseRestartStrategyConfig({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '100', 'restart-strategy.exponential-delay.max-backoff': '1000', 'restart-strategy.exponential-delay.backoff-multiplier': '2', 'restart-strategy.exponential-delay.jitter-factor': '0' }),
    );
    let t = 0;
    const ds: RestartDecision[] = [];
    for (let i = 0; i < 6; i++) {
      const d = s.onFailure(t);
      ds.push(d);
      t += (d.restart ? d.delayMs : 0) + 10; // fails again shortly after each restart
    }
    assert.deepEqual(delays(ds), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(s.numRestarts, 6);
  });

  it('exponential-delay keeps jitter within ±jitter-factor of the backoff', () => {
    const cfg = parseRestartStrategyConfig({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '1000', 'restart-strategy.exponential-delay.jitter-factor': '0.2' });
    assert.equal((createRestartStrategy(cfg, { random: () => 0 }).onFailure(0) as { delayMs: number }).delayMs, 800);
    assert.equal((createRestartStrategy(cfg, { random: () => 0.999999 }).onFailure(0) as { delayMs: number }).delayMs, 1200);
    assert.equal((createRestartStrategy(cfg, { random: () => 0.5 }).onFailure(0) as { delayMs: number }).delayMs, 1000);
  });

  it('exponential-delay resets after running longer than the threshold, and merges failures during a pending restart', () => {
    const s = createRestartStrategy(
      parseRestartStrategyConfig({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '100', 'restart-strategy.exponential-delay.backoff-multiplier': '2', 'restart-strategy.exponential-delay.jitter-factor': '0', 'restart-strategy.exponential-delay.reset-backoff-threshold': '10 s' }),
    );
    assert.deepEqual(s.onFailure(0), { restart: true, delayMs: 100, attempt: 1, merged: false });
    assert.deepEqual(s.onFailure(50), { restart: true, delayMs: 50, attempt: 1, merged: true }, 'a second task failing before the restart joins it');
    assert.deepEqual(s.onFailure(200), { restart: true, delayMs: 200, attempt: 2, merged: false });
    assert.deepEqual(s.onFailure(400 + 10_000), { restart: true, delayMs: 100, attempt: 1, merged: false }, 'ran 10 s after the restart: reset');
    assert.equal(s.numRestarts, 3);
  });

  it('exponential-delay gives up after attempts-before-reset-backoff attempts without a reset', () => {
    const s = createRestartStrategy(
      parseRestartStrategyConfig({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '10', 'restart-strategy.exponential-delay.jitter-factor': '0', 'restart-strategy.exponential-delay.attempts-before-reset-backoff': '2' }),
    );
    const ds = [0, 100, 1000].map((t) => s.onFailure(t));
    assert.deepEqual(ds.map((d) => d.restart), [true, true, false]);
    assert.equal(s.numRestarts, 2);
  });
});
