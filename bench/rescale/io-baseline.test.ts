import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatFigures, measureCheckpointIo, measureIoBaseline, parseBytes } from './io-baseline.ts';

describe('rescale I/O baseline', () => {
  it('parses sizes as the bench CLI takes them', () => {
    assert.deepEqual(['10MB', '1GB', '512k', '4096', '1.5mb'].map(parseBytes), [10 * 2 ** 20, 2 ** 30, 512 * 1024, 4096, 1.5 * 2 ** 20]);
    assert.throws(() => parseBytes('lots'));
  });

  it('measures plain writes and reads of the bytes asked for, and through the checkpoint modules, leaving no files', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fp-io-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const raw = await measureIoBaseline(3 * 2 ** 20 + 7, { files: 3, dir });
    assert.equal(raw.bytes, 3 * 2 ** 20 + 7);
    assert.ok(raw.writeMs > 0 && raw.readMs > 0 && Math.abs(raw.totalMs - raw.writeMs - raw.readMs) < 1e-6);
    const chk = await measureCheckpointIo(2 ** 20, { files: 2, dir });
    assert.equal(chk.bytes, 2 ** 20);
    assert.ok(chk.writeMs > 0 && chk.readMs > 0);
    assert.match(formatFigures('raw fs', raw), /raw fs\s+3 MB\s+write/);
    assert.deepEqual(await readdir(dir), []);
  });
});
