import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobManagerConfig } from '../config/options.ts';
import { RestartStrategy } from './restart-strategy.ts';

describe('restart strategies', () => {
  it('fixed-delay allows the configured number of restarts with the configured delay', () => {
    const s = new RestartStrategy(parseJobManagerConfig({ 'restart-strategy.fixed-delay.attempts': '2', 'restart-strategy.fixed-delay.delay': '250' }));
    assert.deepEqual([s.next(), s.next(), s.next()], [
      { restart: true, delayMs: 250 },
      { restart: true, delayMs: 250 },
      { restart: false, delayMs: 0 },
    ]);
  });

  it('exponential-delay grows the pause by the multiplier up to the maximum', () => {
    const s = new RestartStrategy(
      parseJobManagerConfig({
        'restart-strategy.type': 'exponential-delay',
        'restart-strategy.exponential-delay.initial-backoff': '100',
        'restart-strategy.exponential-delay.backoff-multiplier': '2',
        'restart-strategy.exponential-delay.max-backoff': '500',
      }),
    );
    assert.deepEqual([1, 2, 3, 4, 5].map(() => s.next().delayMs), [100, 200, 400, 500, 500]);
  });

  it('none never restarts', () => {
    assert.equal(new RestartStrategy(parseJobManagerConfig({ 'restart-strategy.type': 'none' })).next().restart, false);
  });

  it('rejects a configuration value of the wrong type with a coded error naming the key', () => {
    assert.throws(() => parseJobManagerConfig({ 'heartbeat.timeout': 'soon' }), (e: { code?: string; message: string }) => e.code === 'FP_ENGINE_CONFIG' && e.message.includes('heartbeat.timeout'));
    assert.equal(parseJobManagerConfig({})['heartbeat.timeout'], 10000);
  });
});
