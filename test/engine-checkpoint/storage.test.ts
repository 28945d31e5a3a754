import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isFlowpilotError } from '../../common/errors.ts';
import { CheckpointStorage, loadCheckpoint, type CheckpointLocation } from '../../engine/checkpoint/storage.ts';
import { assignRestoreState, readSubtaskRestore } from '../../engine/checkpoint/restore.ts';
import { decodeState } from '../../engine/state/serde.ts';
import { countingSnapshots, graph, JOB_ID, tempDir, vertex, writeSnapshot } from './support.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeBin = process.execPath;

function counts(n: number): Map<string, number> {
  return new Map(Array.from({ length: n }, (_, i) => [`key-${i}`, i + 1]));
}

const v = vertex({ name: 'counter', parallelism: 2 });
const g = graph([v]);

async function takeCheckpoint(storage: CheckpointStorage, id: number, n = 50): Promise<CheckpointLocation> {
  const loc = await storage.initCheckpoint(JOB_ID, id);
  await writeSnapshot(storage, loc, g, new Map([[v.id, countingSnapshots(v, counts(n), id)]]));
  return loc;
}

/** Restores every subtask and returns key → count as the new subtasks see it. */
async function restoredCounts(pointer: string, verify: 'sizes' | 'full' = 'sizes'): Promise<Map<string, number>> {
  const loaded = await loadCheckpoint(pointer, { verify });
  const a = assignRestoreState(loaded, g, { allowNonRestoredState: false });
  const out = new Map<string, number>();
  for (const plan of a.subtasks[v.id]!) {
    const r = await readSubtaskRestore(plan);
    for (const bytes of r.operators.get(v.operators[0]!.id)?.keyGroups.values() ?? []) {
      const [tables] = decodeState<[Array<[string, string, Array<[string, number]>]>]>(bytes);
      for (const [, , entries] of tables) for (const [k, c] of entries) out.set(k, c);
    }
  }
  return out;
}

describe('checkpoint storage layout', () => {
  it('lays checkpoints out as <dir>/<job-id>/chk-<n>/ with state files and _metadata, and restores every key', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: [root] });
    const loc = await takeCheckpoint(storage, 1);
    assert.equal(loc.dir, path.join(root, JOB_ID, 'chk-1'));
    assert.equal(loc.externalPath, `file:${loc.dir}`);
    const files = await readdir(loc.dir);
    assert.ok(files.includes('_metadata'));
    assert.equal(files.filter((f) => f.endsWith('.state')).length, 2);
    assert.ok(!files.some((f) => f.includes('.tmp-')), 'no temp file left behind');
    assert.deepEqual(await restoredCounts(loc.externalPath, 'full'), counts(50));
  });

  it('leaves no _metadata when the process dies before the rename, so the checkpoint is never restored', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: [root] });
    const good = await takeCheckpoint(storage, 1);
    const crashed = await storage.initCheckpoint(JOB_ID, 2);
    const child = spawnSync(nodeBin, [path.join(here, 'fixtures', 'crash-before-rename.ts'), crashed.dir, '2'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.signal, 'SIGKILL', `child should be killed mid-write: ${child.stderr}${child.stdout}`);
    const files = await readdir(crashed.dir);
    assert.ok(files.some((f) => f.startsWith('_metadata.tmp-')), 'the synced temp file is there');
    assert.ok(!files.includes('_metadata'));
    await assert.rejects(loadCheckpoint(crashed.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_MISSING') && /never completed/.test(e.message));
    assert.equal(await storage.findLatestCheckpoint(JOB_ID), good.dir);
  });

  it('keeps only the last num-retained completed checkpoints and deletes older directories', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: [root] });
    const all: CheckpointLocation[] = [];
    for (let id = 1; id <= 5; id++) all.push(await takeCheckpoint(storage, id, 5));
    const kept = await storage.retain(all, 2);
    assert.deepEqual(kept.map((l) => l.checkpointId), [4, 5]);
    assert.deepEqual((await readdir(path.join(root, JOB_ID))).sort(), ['chk-4', 'chk-5']);
    assert.equal(await storage.findLatestCheckpoint(JOB_ID), all[4]!.dir);
  });

  it('applies externalized-checkpoint retention when the job ends', async (t) => {
    const cases: Array<[Parameters<CheckpointStorage['onJobTerminal']>[2], 'CANCELED' | 'FAILED' | 'FINISHED', boolean]> = [
      ['DELETE_ON_CANCELLATION', 'CANCELED', false],
      ['DELETE_ON_CANCELLATION', 'FAILED', true],
      ['DELETE_ON_CANCELLATION', 'FINISHED', false],
      ['RETAIN_ON_CANCELLATION', 'CANCELED', true],
      ['RETAIN_ON_CANCELLATION', 'FINISHED', true],
      ['NO_EXTERNALIZED_CHECKPOINTS', 'FAILED', false],
    ];
    for (const [mode, status, kept] of cases) {
      const root = await tempDir(t);
      const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: [root] });
      await takeCheckpoint(storage, 1, 3);
      await storage.onJobTerminal(JOB_ID, status, mode);
      assert.equal(existsSync(path.join(root, JOB_ID, 'chk-1', '_metadata')), kept, `${mode} on ${status}`);
    }
  });
});

describe('savepoints', () => {
  it('names savepoint directories savepoint-<6 of job id>-<12 hex> and restores them after a move', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: path.join(root, 'sp'), allowedRoots: [root] });
    const loc = await storage.initSavepoint(JOB_ID, 7, 'SAVEPOINT');
    assert.match(path.basename(loc.dir), /^savepoint-a1b2c3-[0-9a-f]{12}$/);
    await writeSnapshot(storage, loc, g, new Map([[v.id, countingSnapshots(v, counts(40), 7)]]));
    const moved = path.join(root, 'elsewhere', 'renamed-savepoint');
    await mkdir(path.dirname(moved), { recursive: true });
    await rename(loc.dir, moved);
    assert.deepEqual(await restoredCounts(moved, 'full'), counts(40));
    assert.deepEqual(await restoredCounts(`file:${moved}/_metadata`), counts(40), 'the _metadata file works as a pointer too');
  });

  it('refuses a savepoint request without a target when no default is configured, with Flink\'s message', async (t) => {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: null, allowedRoots: [root] });
    await assert.rejects(storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT'), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH') && /target-directory/.test(e.message));
  });
});

describe('savepoint path safety', () => {
  it('refuses targets that escape the allowed roots by .., by a symlink, by a dangling symlink, or by being relative', async (t) => {
    const base = await tempDir(t);
    const root = path.join(base, 'root');
    const outside = path.join(base, 'outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    await symlink(outside, path.join(root, 'link-out'));
    await symlink(path.join(base, 'nowhere'), path.join(root, 'dangling'));
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: null, allowedRoots: [root] });
    const refused = [
      path.join(root, '..', 'outside'),
      `${root}/sub/../../outside`,
      path.join(root, 'link-out'),
      path.join(root, 'link-out', 'deeper', 'still'),
      path.join(root, 'dangling', 'x'),
      'relative/dir',
      '/etc',
    ];
    for (const target of refused) {
      await assert.rejects(storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT', target), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH') && e.details?.httpStatus === 400, target);
    }
    assert.deepEqual(await readdir(outside), [], 'nothing was created outside the root');
    assert.ok(!existsSync(path.join(base, 'nowhere')));
    await writeFile(path.join(root, 'a-file'), 'x');
    await assert.rejects(storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT', path.join(root, 'a-file')), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH') && /cannot be used as a directory/.test(e.message));
    const ok = await storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT', `file:${root}/a/../b`);
    assert.equal(path.dirname(ok.dir), path.join(root, 'b'));
  });

  it('accepts targets under a root that is itself reached through a symlink', async (t) => {
    const base = await tempDir(t);
    await mkdir(path.join(base, 'real'));
    await symlink(path.join(base, 'real'), path.join(base, 'alias'));
    const storage = new CheckpointStorage({ checkpointDir: null, savepointDir: null, allowedRoots: [path.join(base, 'alias')] });
    const loc = await storage.initSavepoint(JOB_ID, 1, 'SAVEPOINT', path.join(base, 'alias', 'sps'));
    assert.equal(path.dirname(loc.dir), path.join(base, 'real', 'sps'));
  });

  it('refuses restore paths outside the allowed roots, also through a symlink inside the root', async (t) => {
    const base = await tempDir(t);
    const root = path.join(base, 'root');
    await mkdir(root);
    const outsideStorage = new CheckpointStorage({ checkpointDir: null, savepointDir: null, allowedRoots: [path.join(base, 'outside')] });
    const sp = await outsideStorage.initSavepoint(JOB_ID, 1, 'SAVEPOINT', path.join(base, 'outside'));
    await writeSnapshot(outsideStorage, sp, g, new Map([[v.id, countingSnapshots(v, counts(3), 1)]]));
    await symlink(sp.dir, path.join(root, 'looks-inside'));
    for (const p of [path.join(root, '..'), path.join(root, '..', 'outside', path.basename(sp.dir)), path.join(root, 'looks-inside'), path.join(root, 'looks-inside', '_metadata')]) {
      await assert.rejects(loadCheckpoint(p, { allowedRoots: [root] }), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_PATH'), p);
    }
    assert.equal((await loadCheckpoint(path.join(root, 'looks-inside'))).metadata.checkpointId, 1, 'without roots (internal paths) it loads');
  });
});

describe('refusing corrupt, partial and mismatched snapshots', () => {
  async function fresh(t: Parameters<typeof tempDir>[0]) {
    const root = await tempDir(t);
    const storage = new CheckpointStorage({ checkpointDir: root, savepointDir: null, allowedRoots: [root] });
    const loc = await takeCheckpoint(storage, 2, 30);
    const stateFiles = (await readdir(loc.dir)).filter((f) => f.endsWith('.state')).map((f) => path.join(loc.dir, f));
    return { root, loc, stateFiles };
  }
  const flipByte = async (file: string, at: number) => {
    const b = await readFile(file);
    b[at] = b[at]! ^ 0xff;
    await writeFile(file, b);
  };

  it('refuses a path that does not exist and a directory without _metadata', async (t) => {
    const { root, loc } = await fresh(t);
    await assert.rejects(loadCheckpoint(path.join(root, 'nope')), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_MISSING'));
    await rm(path.join(loc.dir, '_metadata'));
    await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_MISSING'));
  });

  it('refuses a _metadata file with a flipped byte, a truncation, or foreign content', async (t) => {
    const { loc } = await fresh(t);
    const meta = path.join(loc.dir, '_metadata');
    const original = await readFile(meta);
    for (const at of [0, 5, 20, original.length - 1]) {
      await writeFile(meta, original);
      await flipByte(meta, at);
      await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT'), `byte ${at}`);
    }
    await writeFile(meta, original.subarray(0, original.length - 3));
    await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && /truncated/.test(e.message));
    await writeFile(meta, '{"not":"metadata"}');
    await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT'));
  });

  it('refuses a snapshot whose state file is missing or has another size', async (t) => {
    const { loc, stateFiles } = await fresh(t);
    const st = await stat(stateFiles[0]!);
    await truncate(stateFiles[0]!, st.size - 1);
    await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && /bytes/.test(e.message));
    await rm(stateFiles[0]!);
    await assert.rejects(loadCheckpoint(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && /partial/.test(e.message));
  });

  it('finds a damaged state chunk with full verification, and a restore never returns its bytes', async (t) => {
    const { loc, stateFiles } = await fresh(t);
    for (const f of stateFiles) await flipByte(f, 2);
    await loadCheckpoint(loc.dir, { verify: 'sizes' });
    await assert.rejects(loadCheckpoint(loc.dir, { verify: 'full' }), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && /checksum/.test(e.message));
    await assert.rejects(restoredCounts(loc.dir), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT'));
  });

  it('refuses a checkpoint directory whose name does not match the checkpoint id inside', async (t) => {
    const { root, loc } = await fresh(t);
    const other = path.join(root, JOB_ID, 'chk-9');
    await rename(loc.dir, other);
    await assert.rejects(loadCheckpoint(other), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT') && /mismatched/.test(e.message));
  });
});
