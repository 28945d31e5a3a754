import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asJobManagerBound, asTaskManagerBound } from './messages.ts';

describe('RPC message unions', () => {
  it('accepts well-formed messages for their direction and narrows them by tag', () => {
    const msg = asJobManagerBound({ t: 'heartbeat', taskManagerId: 'tm-1', metrics: { taskManager: {}, tasks: [] } });
    assert.ok(!(msg instanceof Error));
    assert.equal(msg.t === 'heartbeat' ? msg.taskManagerId : '', 'tm-1');
    const cancel = asTaskManagerBound({ t: 'cancel', executionId: 'e1', id: 7 });
    assert.ok(!(cancel instanceof Error) && cancel.t === 'cancel' && cancel.executionId === 'e1');
  });

  it('refuses unknown tags, messages for the other direction, and missing or mistyped fields, saying which', () => {
    assert.match(String(asJobManagerBound({ t: 'nope' })), /unknown message type "nope"/);
    assert.match(String(asJobManagerBound({ t: 'deploy', deployment: {} })), /unknown message type "deploy"/);
    assert.match(String(asJobManagerBound({ t: 'toString' })), /unknown message type/);
    assert.match(String(asTaskManagerBound({ t: 'cancel' })), /field executionId/);
    const state = { t: 'taskState', taskManagerId: 'a', jobId: 'j', executionId: 'e', vertexId: 'v', subtaskIndex: 0, attemptNumber: 0, timestamp: 1 };
    assert.match(String(asJobManagerBound({ ...state, state: 'EXPLODED' })), /field state/);
    assert.ok(!(asJobManagerBound({ ...state, state: 'RUNNING' }) instanceof Error));
    assert.match(String(asJobManagerBound({ ...state, state: 'RUNNING', subtaskIndex: '0' })), /field subtaskIndex/);
  });
});
