import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adviseMemory, DEFAULT_MEMORY_POLICY, type MemoryObservation } from './memory-advice.ts';

const MiB = 1024 * 1024;
const base: MemoryObservation = {
  heapUsedPeakBytes: 300 * MiB, heapMaxBytes: 512 * MiB, gcTimeMsPerSecond: 5,
  stateSizeBytesPerTaskManager: 0, managedUsedBytes: 0,
  current: { processBytes: 1728 * MiB, heapBytes: 512 * MiB, managedBytes: 512 * MiB },
  taskManagersBefore: 2, taskManagersAfter: 2,
};

describe('TaskManager memory advice', () => {
  it('shrinks an oversized layout to the heap peak plus head room and drops unused managed memory', () => {
    const a = adviseMemory(base);
    assert.equal(a.heapBytes, 360 * MiB);
    assert.equal(a.managedBytes, 0);
    assert.equal(a.processBytes, (360 + 704) * MiB);
    assert.equal(a.configuration['taskmanager.memory.process.size'], '1064m');
    assert.ok(a.worthApplying);
    assert.equal(a.apply, false, 'report-only by default');
    assert.ok(a.reasons.some((r) => r.includes('managed memory unused')));
  });

  it('asks for more heap under GC pressure even when the peak fits', () => {
    const a = adviseMemory({ ...base, gcTimeMsPerSecond: 250 });
    assert.equal(a.heapBytes, 768 * MiB);
    assert.ok(a.reasons.some((r) => r.startsWith('GC takes 250 ms/s')));
  });

  it('sizes managed memory from state when the state backend uses it, and grows heap on scale-down', () => {
    const a = adviseMemory({ ...base, managedUsedBytes: 400 * MiB, stateSizeBytesPerTaskManager: 500 * MiB, taskManagersAfter: 1 });
    assert.equal(a.managedBytes, 600 * MiB);
    assert.equal(a.heapBytes, 720 * MiB);
  });

  it('does not advise a restart for a small change, and applies only when the policy allows', () => {
    const cur = { processBytes: (360 + 704) * MiB, heapBytes: 360 * MiB, managedBytes: 0 };
    assert.equal(adviseMemory({ ...base, current: cur }).worthApplying, false);
    assert.equal(adviseMemory(base, { ...DEFAULT_MEMORY_POLICY, apply: true }).apply, true);
  });
});
