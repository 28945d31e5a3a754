import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobManagerConfig } from './options.ts';

describe('engine configuration', () => {
  it('rejects a configuration value of the wrong type with a coded error naming the key', () => {
    assert.throws(() => parseJobManagerConfig({ 'heartbeat.timeout': 'soon' }), (e: { code?: string; message: string }) => e.code === 'FP_ENGINE_CONFIG' && e.message.includes('heartbeat.timeout'));
    assert.equal(parseJobManagerConfig({})['heartbeat.timeout'], 10000);
  });

  it('reads time options as Flink durations, a bare number being milliseconds', () => {
    const c = parseJobManagerConfig({ 'heartbeat.timeout': '30 s', 'heartbeat.interval': '500', 'slot.request.timeout': '5 min', 'rpc.ask-timeout': 2000 });
    assert.deepEqual([c['heartbeat.timeout'], c['heartbeat.interval'], c['slot.request.timeout'], c['rpc.ask-timeout']], [30_000, 500, 300_000, 2000]);
    assert.throws(() => parseJobManagerConfig({ 'heartbeat.timeout': '1.5 s' }), /heartbeat\.timeout: time interval unit label '\.5 s' in "1\.5 s" does not match/);
    assert.throws(() => parseJobManagerConfig({ 'heartbeat.interval': '5 ms' }), /heartbeat\.interval: Too small/);
  });

  it('reads the network buffer size as a Flink memory size, 32 kb by default as in Flink', () => {
    assert.equal(parseJobManagerConfig({})['taskmanager.memory.segment-size'], 32 * 1024);
    assert.equal(parseJobManagerConfig({ 'taskmanager.memory.segment-size': '64 kb' })['taskmanager.memory.segment-size'], 64 * 1024);
    assert.equal(parseJobManagerConfig({ 'taskmanager.memory.segment-size': 4096 })['taskmanager.memory.segment-size'], 4096);
    assert.throws(() => parseJobManagerConfig({ 'taskmanager.memory.segment-size': '12 parsecs' }), /taskmanager\.memory\.segment-size/);
  });
});
