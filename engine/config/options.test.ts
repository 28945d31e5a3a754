import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobManagerConfig } from './options.ts';

describe('engine configuration', () => {
  it('rejects a configuration value of the wrong type with a coded error naming the key', () => {
    assert.throws(() => parseJobManagerConfig({ 'heartbeat.timeout': 'soon' }), (e: { code?: string; message: string }) => e.code === 'FP_ENGINE_CONFIG' && e.message.includes('heartbeat.timeout'));
    assert.equal(parseJobManagerConfig({})['heartbeat.timeout'], 10000);
  });
});
