import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SubtaskSnapshot } from '../contracts/task.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';

function snapshot(checkpointId: number): SubtaskSnapshot {
  return { checkpointId, operators: [{ operatorId: 'op', keyGroups: new Map([[3, new Uint8Array(5000).fill(3)]]), operatorState: [new Uint8Array(10)], unionState: [] }] };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fp-tm-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('TaskManager checkpoint writer', () => {
  it('waits for a checkpoint target that arrives after the barrier, then writes the file there', async (t) => {
    const dir = tempDir(t);
    const writer = new CheckpointWriter(5000);
    const pending = writer.write('exec', 'v', 1, 7, snapshot(7));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(writer.inFlight, 1, 'the write waits for its target');
    writer.setTarget('exec', 7, { kind: 'CHECKPOINT', dir });
    const handle = await pending;
    assert.equal(handle.checkpointId, 7);
    assert.equal(statSync(path.join(dir, handle.file!)).size, handle.size);
    assert.equal(handle.size, 5010);
    assert.equal(writer.inFlight, 0);
  });

  it('declines when the attempt ends or no target arrives in time, and when the directory was removed', async (t) => {
    const dir = tempDir(t);
    const writer = new CheckpointWriter(50);
    const released = writer.write('a', 'v', 0, 1, snapshot(1));
    writer.release('a');
    await assert.rejects(released, /no directory for checkpoint 1/);
    await assert.rejects(writer.write('b', 'v', 0, 2, snapshot(2)), /no directory for checkpoint 2/);
    const gone = path.join(dir, 'chk-3');
    writer.setTarget('c', 3, { kind: 'CHECKPOINT', dir: gone });
    await assert.rejects(writer.write('c', 'v', 0, 3, snapshot(3)), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    assert.ok(!existsSync(gone), 'the writer never creates the checkpoint directory');
    writer.setTarget('c', 4, { kind: 'CHECKPOINT', dir: 'relative/chk-4' });
    await assert.rejects(writer.write('c', 'v', 0, 4, snapshot(4)), /no absolute directory/);
  });
});
