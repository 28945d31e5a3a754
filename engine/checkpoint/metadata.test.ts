import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFlowpilotError } from '../../common/errors.ts';
import { decodeMetadata, encodeMetadata, type CheckpointMetadata } from './metadata.ts';

function meta(): CheckpointMetadata {
  return {
    checkpointId: 3, jobId: 'ab'.repeat(16), jobName: 'j', kind: 'CHECKPOINT', formatType: 'CANONICAL', triggerTimestamp: 10, completionTimestamp: 20,
    files: [{ name: 'v-0-aa.state', size: 30 }],
    operators: [{
      operatorId: 'cd'.repeat(16), vertexId: 'ef'.repeat(16), parallelism: 1, maxParallelism: 128,
      subtasks: [{ subtaskIndex: 0, file: 'v-0-aa.state', keyGroups: [[5, 0, 10, 1], [6, 10, 10, 2]], operatorState: [[20, 5, 3]], unionState: [[25, 5, 4]] }],
    }],
  };
}

const rejects = (m: CheckpointMetadata, re: RegExp) =>
  assert.throws(() => decodeMetadata(encodeMetadata(m), '/x/_metadata'), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && re.test(e.message));

describe('_metadata format', () => {
  it('round-trips a checkpoint description exactly', () => {
    assert.deepEqual(decodeMetadata(encodeMetadata(meta()), '/x/_metadata'), meta());
  });

  it('refuses file names that could point outside the snapshot directory', () => {
    for (const bad of ['../x.state', '/etc/passwd', 'a/b', '..', '_metadata']) {
      const m = meta();
      m.files[0]!.name = bad;
      m.operators[0]!.subtasks[0]!.file = bad;
      rejects(m, /unexpected content/);
    }
  });

  it('refuses cross-references that do not add up', () => {
    const outside = meta();
    outside.operators[0]!.subtasks[0]!.keyGroups[1] = [128, 10, 10, 2];
    rejects(outside, /outside \[0, 128\)/);
    const past = meta();
    past.operators[0]!.subtasks[0]!.unionState = [[25, 6, 4]];
    rejects(past, /past the end/);
    const unlisted = meta();
    unlisted.files = [];
    rejects(unlisted, /unlisted file/);
    const twice = meta();
    twice.operators[0]!.subtasks[0]!.keyGroups[1] = [5, 10, 10, 2];
    rejects(twice, /twice/);
    const gaps = meta();
    gaps.operators[0]!.parallelism = 2;
    rejects(gaps, /subtasks 0\.\.1/);
  });
});
