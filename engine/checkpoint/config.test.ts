import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import { checkpointConfigView, describeCheckpointOptions, parseCheckpointConfig } from './config.ts';

describe('checkpoint configuration', () => {
  it('has Flink\'s defaults and leaves periodic checkpoints off without an interval', () => {
    const c = parseCheckpointConfig({});
    assert.deepEqual(c, {
      intervalMs: null, timeoutMs: 600_000, minPauseMs: 0, maxConcurrent: 1, numRetained: 1, retention: 'DELETE_ON_CANCELLATION',
      checkpointDir: null, savepointDir: null, tolerableFailed: null, mode: 'EXACTLY_ONCE', allowedRoots: [], inlineThreshold: 20_480,
    });
  });

  it('reads durations in Flink\'s forms and honours old keys when the new one is absent', () => {
    const c = parseCheckpointConfig({
      'execution.checkpointing.interval': '10 s',
      'execution.checkpointing.timeout': '2 min',
      'execution.checkpointing.min-pause': 500,
      'state.checkpoints.dir': 'file:///data/chk',
      'state.savepoints.dir': '/data/sp',
      'execution.checkpointing.savepoint-dir': '/data/sp-new',
      'state.checkpoints.num-retained': '3',
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    });
    assert.equal(c.intervalMs, 10_000);
    assert.equal(c.timeoutMs, 120_000);
    assert.equal(c.minPauseMs, 500);
    assert.equal(c.checkpointDir, '/data/chk');
    assert.equal(c.savepointDir, '/data/sp-new', 'the new key wins over the old one');
    assert.equal(c.numRetained, 3);
    assert.deepEqual(c.allowedRoots, ['/data/sp-new', '/data/chk']);
    assert.deepEqual(checkpointConfigView(c).externalization, { enabled: true, deleteOnCancellation: false });
    assert.deepEqual(parseCheckpointConfig({ 'flowpilot.savepoint.allowed-roots': '/a, file:/b ,' }).allowedRoots, ['/a', '/b']);
  });

  it('refuses bad values with FP_CHECKPOINT_CONFIG naming the key', () => {
    for (const [k, v] of [
      ['execution.checkpointing.interval', '5 parsecs'],
      ['execution.checkpointing.max-concurrent-checkpoints', '0'],
      ['execution.checkpointing.externalized-checkpoint-retention', 'KEEP'],
      ['execution.checkpointing.num-retained', '-1'],
    ]) {
      assert.throws(() => parseCheckpointConfig({ [k!]: v }), (e) => isFlowpilotError(e, 'FP_CHECKPOINT_CONFIG') && e.message.includes(k!), k);
    }
  });

  it('reads durations as Flink\'s TimeUtils does, naming the key of a bad one', () => {
    for (const [text, ms] of [['1500', 1500], ['2 s', 2000], ['3min', 180_000], ['1 h', 3_600_000], ['1d', 86_400_000], ['250ms', 250], ['1500000 µs', 1500]] as const) {
      assert.equal(parseCheckpointConfig({ 'execution.checkpointing.timeout': text }).timeoutMs, ms, text);
    }
    for (const bad of ['1 fortnight', '1.5 s', '-1 s', '']) {
      assert.throws(() => parseCheckpointConfig({ 'execution.checkpointing.timeout': bad }), (e) => isFlowpilotError(e, 'FP_CHECKPOINT_CONFIG') && e.message.includes('execution.checkpointing.timeout'), bad);
    }
  });

  it('describes every option with its default for the docs', () => {
    const rows = describeCheckpointOptions();
    assert.ok(rows.some((r) => r.key === 'execution.checkpointing.timeout' && r.default === 600_000 && r.description.length > 0));
    assert.equal(rows.length, 12);
  });
});

describe('allowed roots come from the cluster', () => {
  it('ignores a job\'s attempt to widen the allowed roots and refuses a job checkpoint dir outside them', () => {
    const cluster = { 'execution.checkpointing.savepoint-dir': '/data/sp', 'execution.checkpointing.dir': '/data/chk' };
    const job = { ...cluster, 'flowpilot.savepoint.allowed-roots': '/', 'execution.checkpointing.savepoint-dir': '/etc' };
    const c = parseCheckpointConfig(job, { clusterConfig: cluster });
    assert.deepEqual(c.allowedRoots, ['/data/sp', '/data/chk']);
    assert.equal(c.savepointDir, '/etc', 'kept, but savepoints there are refused by the path check');
    assert.throws(
      () => parseCheckpointConfig({ ...cluster, 'execution.checkpointing.dir': '/data/chk/../../var' }, { clusterConfig: cluster }),
      (e) => isFlowpilotError(e, 'FP_CHECKPOINT_CONFIG') && /outside/.test(e.message),
    );
    assert.equal(parseCheckpointConfig({ ...cluster, 'execution.checkpointing.dir': '/data/chk/job-a' }, { clusterConfig: cluster }).checkpointDir, '/data/chk/job-a');
  });
});
