import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseActuationConfig, durationMs, jobSettings } from './config.ts';
import { isFlowpilotError } from '../../common/errors.ts';

describe('actuation configuration', () => {
  it('fills every default from an empty document, with dry-run as the safe mode', () => {
    const c = parseActuationConfig({});
    assert.equal(c.mode, 'dry-run');
    assert.equal(c.journal.kind, 'file');
    assert.equal(durationMs(c.timing.verifyTimeout), 120_000);
    assert.equal(c.periodicSavepoints.retain, 5);
    assert.equal(c.memory.apply, false);
  });

  it('names the option path of every problem', () => {
    assert.throws(() => parseActuationConfig({ mode: 'yolo', timing: { pollInterval: 'soon' }, jobs: { a: { jarid: 'x' } } }), (e: unknown) =>
      isFlowpilotError(e, 'FP_CONFIG_INVALID') && /actuation\.mode/.test(e.message) && /actuation\.timing\.pollInterval/.test(e.message) && /actuation\.jobs\.a/.test(e.message));
  });

  it('reads durations in seconds or with units, and merges a job entry over the defaults', () => {
    assert.equal(durationMs(2), 2000);
    assert.equal(durationMs('500ms'), 500);
    assert.equal(durationMs('5m'), 300_000);
    const c = parseActuationConfig({ defaults: { savepointDirectory: 'file:/sp', jarId: 'default.ts' }, jobs: { orders: { jarId: 'orders.ts' } } });
    assert.deepEqual([jobSettings(c, 'orders').jarId, jobSettings(c, 'orders').savepointDirectory], ['orders.ts', 'file:/sp']);
    assert.equal(jobSettings(c, 'other').jarId, 'default.ts');
  });
});
