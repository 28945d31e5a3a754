/**
 * The storage part of one checkpoint of small state, as the end of a bounded job pays it:
 * every subtask's snapshot written (`writeSubtaskState`, on the TaskManagers, concurrently),
 * then `_metadata` (temp file, fsync, rename, directory fsync) on the JobManager. Run with the
 * state in files (threshold 0, the behaviour before inline state) and inline (Flink's default
 * 20 kb `state.storage.fs.memory-threshold`), alternating, in the same process and directory.
 *
 *   node bench/checkpoint-inline/run.ts [--subtasks 4] [--bytes 1000] [--reps 30]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { JobGraph } from '../../engine/contracts/job-graph.ts';
import type { SubtaskSnapshot } from '../../engine/contracts/task.ts';
import type { SubtaskStateHandle } from '../../engine/checkpoint/metadata.ts';
import { buildMetadata } from '../../engine/checkpoint/pending.ts';
import { writeSubtaskState } from '../../engine/checkpoint/state-files.ts';
import { writeMetadataAtomically } from '../../engine/checkpoint/storage.ts';

const { values } = parseArgs({ options: { subtasks: { type: 'string', default: '4' }, bytes: { type: 'string', default: '1000' }, reps: { type: 'string', default: '30' } } });
const subtasks = Number(values.subtasks);
const bytes = Number(values.bytes);
const reps = Number(values.reps);
const VID = 'f'.repeat(32);
const OP = 'a'.repeat(32);
const graph: JobGraph = {
  jobName: 'bench',
  config: {},
  vertices: [{ id: VID, name: 'v', parallelism: subtasks, maxParallelism: 128, maxParallelismConfigured: false, operators: [{ id: OP, uid: OP, name: 'op', kind: 'map' }], inputs: [], isSource: false, isSink: false }],
};
const snapshot = (id: number): SubtaskSnapshot => ({ checkpointId: id, operators: [{ operatorId: OP, keyGroups: new Map(), operatorState: [new Uint8Array(bytes).fill(7)], unionState: [] }] });

async function once(root: string, id: number, threshold: number): Promise<number> {
  const dir = path.join(root, `chk-${id}`);
  await mkdir(dir);
  const t0 = performance.now();
  const handles: SubtaskStateHandle[] = await Promise.all(Array.from({ length: subtasks }, (_, i) => writeSubtaskState(dir, VID, i, snapshot(id), threshold)));
  const acks = new Map(handles.map((h) => [`${VID}#${h.subtaskIndex}`, h]));
  await writeMetadataAtomically(dir, buildMetadata(graph, { checkpointId: id, kind: 'CHECKPOINT', formatType: 'CANONICAL', triggerTimestamp: 0, acks }, 'bench', 'ab'.repeat(16), 0));
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const root = await mkdtemp(path.join(tmpdir(), 'fp-inline-bench-'));
try {
  const files: number[] = [];
  const inline: number[] = [];
  let id = 1;
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? [0, 20_480] : [20_480, 0];
    for (const t of order) (t === 0 ? files : inline).push(await once(root, id++, t));
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(2)} ms, min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}`;
  console.log(`checkpoint storage, ${subtasks} subtasks x ${bytes} B of state, ${reps} reps each, alternating`);
  console.log(`  state files (threshold 0):   ${fmt(files)}`);
  console.log(`  inline (threshold 20 kb):    ${fmt(inline)}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
