/**
 * State assignment for a restore, as Flink's StateAssignmentOperation: from a loaded
 * checkpoint or savepoint and the JobGraph about to run (at any parallelism), which bytes each
 * new subtask gets. Operators are matched by operator id, wherever they sit in the new chains;
 * the per-operator rule (key groups by range, list state kept or dealt round-robin, union state
 * to all) is engine/state/state-assignment.ts, shared with the in-memory test harness. The checks run before anything is read, so a mismatch never half-restores:
 * parallelism above the state's maxParallelism, a changed user-set maxParallelism (an
 * auto-configured one adopts the state's), and state of an operator the job no longer has
 * (allowed only with allowNonRestoredState). `assignRestoreState` is pure; the plans it returns
 * are plain data a TaskManager turns into bytes with `readSubtaskRestore`.
 */
import { FlowpilotError } from '../../common/errors.ts';
import type { JobGraph, JobVertexSpec } from '../contracts/job-graph.ts';
import type { KeyGroupRange, OperatorSnapshot, SubtaskRestore } from '../contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import { inlineStateOf, type OperatorStateMeta } from './metadata.ts';
import type { LoadedCheckpoint } from './storage.ts';
import { inlineChunk, readChunks, type ChunkRead } from './state-files.ts';
import { assignOperatorState, type StatePart } from '../state/state-assignment.ts';

export interface OperatorRestorePlan {
  operatorId: string;
  /** Ascending key groups, all inside the subtask's range. */
  keyGroups: Array<{ keyGroup: number; read: ChunkRead }>;
  operatorState: ChunkRead[];
  unionState: ChunkRead[];
}

/** What one new subtask restores: plain data, safe to ship in a TaskDeployment (inline state travels in its reads). */
export interface SubtaskRestorePlan {
  checkpointId: number;
  /** Absolute directory of the snapshot (state files are relative to it). */
  dir: string;
  vertexId: string;
  subtaskIndex: number;
  keyGroupRange: KeyGroupRange;
  /** Only operators that have state; an operator absent here starts empty. */
  operators: OperatorRestorePlan[];
}

export interface RestoreAssignment {
  checkpointId: number;
  externalPath: string;
  /** Per vertex id: the maxParallelism to run with (the state's when it was adopted). */
  maxParallelism: Record<string, number>;
  /** Per vertex id: one plan per new subtask index. */
  subtasks: Record<string, SubtaskRestorePlan[]>;
  /** State operator ids skipped under allowNonRestoredState. */
  nonRestored: string[];
}

export interface RestoreOptions {
  allowNonRestoredState: boolean;
}

function restoreError(code: `FP_${string}`, message: string, details: Record<string, unknown>): FlowpilotError {
  return new FlowpilotError(code, message, { details: { httpStatus: 400, ...details } });
}

function hasState(o: OperatorStateMeta): boolean {
  return o.subtasks.some((s) => s.keyGroups.length + s.operatorState.length + s.unionState.length > 0);
}

/** Checks the state against the vertex and picks the vertex's maxParallelism (Flink's checkParallelismPreconditions). */
function chooseMaxParallelism(v: JobVertexSpec, states: OperatorStateMeta[], where: string): number {
  let chosen = v.maxParallelism;
  let adoptedFrom: OperatorStateMeta | null = null;
  for (const s of states) {
    if (s.maxParallelism < v.parallelism) {
      throw restoreError(
        'FP_RESTORE_PARALLELISM',
        `The state for task ${v.name} (${v.id}) can not be restored from ${where}. The maximum parallelism (${s.maxParallelism}) of the restored state is lower than the configured parallelism (${v.parallelism}). Reduce the parallelism to at most ${s.maxParallelism}.`,
        { vertexId: v.id, operatorId: s.operatorId, stateMaxParallelism: s.maxParallelism, parallelism: v.parallelism },
      );
    }
    if (s.maxParallelism === chosen) continue;
    if (v.maxParallelismConfigured || adoptedFrom) {
      throw restoreError(
        'FP_RESTORE_MAX_PARALLELISM',
        `The maximum parallelism (${s.maxParallelism}) with which the state of operator ${s.operatorId} in ${where} was taken and the current maximum parallelism (${chosen}) of task ${v.name} (${v.id}) changed. This is currently not supported: keep maxParallelism at ${s.maxParallelism}.`,
        { vertexId: v.id, operatorId: s.operatorId, stateMaxParallelism: s.maxParallelism, maxParallelism: chosen },
      );
    }
    chosen = s.maxParallelism;
    adoptedFrom = s;
  }
  return chosen;
}

/** A chunk's read: from its state file, or (inline state) its own bytes out of `_metadata`. */
function chunkRead(file: string, offset: number, length: number, crc: number, inline: Map<string, Uint8Array>): ChunkRead {
  const bytes = inline.get(file);
  return bytes === undefined ? { file, offset, length, crc } : { file, offset, length, crc, inline: inlineChunk(bytes, offset, length) };
}

function planOperator(state: OperatorStateMeta, parallelism: number, maxParallelism: number, i: number, inline: Map<string, Uint8Array>): OperatorRestorePlan | null {
  const reads = (file: string | null, refs: Array<[number, number, number]>): ChunkRead[] =>
    file === null ? [] : refs.map(([offset, length, crc]) => chunkRead(file, offset, length, crc, inline));
  const parts: StatePart<ChunkRead>[] = state.subtasks.map((s) => ({
    keyGroups: s.file === null ? [] : s.keyGroups.map(([kg, offset, length, crc]): [number, ChunkRead] => [kg, chunkRead(s.file!, offset, length, crc, inline)]),
    operatorState: reads(s.file, s.operatorState),
    unionState: reads(s.file, s.unionState),
  }));
  const own = assignOperatorState(parts, parallelism, maxParallelism, i);
  if (own.keyGroups.length + own.operatorState.length + own.unionState.length === 0) return null;
  return { operatorId: state.operatorId, keyGroups: own.keyGroups.map(([keyGroup, read]) => ({ keyGroup, read })), operatorState: own.operatorState, unionState: own.unionState };
}

/**
 * Computes every new subtask's restore plan. Throws FP_RESTORE_PARALLELISM,
 * FP_RESTORE_MAX_PARALLELISM or FP_RESTORE_NON_RESTORED (all HTTP 400) before any I/O.
 */
export function assignRestoreState(loaded: LoadedCheckpoint, graph: JobGraph, opts: RestoreOptions): RestoreAssignment {
  const meta = loaded.metadata;
  const where = loaded.externalPath;
  const stateById = new Map(meta.operators.map((o) => [o.operatorId, o]));
  const inline = inlineStateOf(meta);
  const vertexOf = new Map<string, JobVertexSpec>();
  for (const v of graph.vertices) for (const op of v.operators) vertexOf.set(op.id, v);

  // As Flink: state of a vanished operator that holds no bytes is skipped silently.
  const nonRestored = meta.operators.filter((o) => !vertexOf.has(o.operatorId) && hasState(o)).map((o) => o.operatorId);
  if (nonRestored.length > 0 && !opts.allowNonRestoredState) {
    throw restoreError(
      'FP_RESTORE_NON_RESTORED',
      `Failed to rollback to checkpoint/savepoint ${where}. Cannot map checkpoint/savepoint state for operator ${nonRestored[0]} to the new program, because the operator is not available in the new program${nonRestored.length > 1 ? ` (nor are ${nonRestored.length - 1} more)` : ''}. If you want to allow to skip this, set allowNonRestoredState (--allowNonRestoredState on the CLI).`,
      { operatorIds: nonRestored },
    );
  }

  const maxParallelism: Record<string, number> = {};
  const subtasks: Record<string, SubtaskRestorePlan[]> = {};
  for (const v of graph.vertices) {
    const states = v.operators.map((op) => stateById.get(op.id)).filter((s): s is OperatorStateMeta => s !== undefined && hasState(s));
    const maxP = chooseMaxParallelism(v, states, where);
    maxParallelism[v.id] = maxP;
    subtasks[v.id] = Array.from({ length: v.parallelism }, (_, i) => ({
      checkpointId: meta.checkpointId,
      dir: loaded.dir,
      vertexId: v.id,
      subtaskIndex: i,
      keyGroupRange: computeKeyGroupRangeForOperatorIndex(maxP, v.parallelism, i),
      operators: states.map((s) => planOperator(s, v.parallelism, maxP, i, inline)).filter((p): p is OperatorRestorePlan => p !== null),
    }));
  }
  return { checkpointId: meta.checkpointId, externalPath: loaded.externalPath, maxParallelism, subtasks, nonRestored };
}

/** Reads a plan's bytes (checking every CRC) into the SubtaskRestore a task is created with. */
export async function readSubtaskRestore(plan: SubtaskRestorePlan): Promise<SubtaskRestore> {
  const reads: ChunkRead[] = [];
  for (const op of plan.operators) {
    for (const kg of op.keyGroups) reads.push(kg.read);
    reads.push(...op.operatorState, ...op.unionState);
  }
  const bytes = await readChunks(plan.dir, reads);
  let k = 0;
  const operators = new Map<string, OperatorSnapshot>();
  for (const op of plan.operators) {
    const keyGroups = new Map<number, Uint8Array>();
    for (const kg of op.keyGroups) keyGroups.set(kg.keyGroup, bytes[k++]!);
    const operatorState = op.operatorState.map(() => bytes[k++]!);
    const unionState = op.unionState.map(() => bytes[k++]!);
    operators.set(op.operatorId, { operatorId: op.operatorId, keyGroups, operatorState, unionState });
  }
  return { checkpointId: plan.checkpointId, operators };
}

/** The graph with the maxParallelism a restore adopted from its state, per vertex id. */
export function withMaxParallelism(graph: JobGraph, maxParallelism: Record<string, number>): JobGraph {
  return { ...graph, vertices: graph.vertices.map((v) => (maxParallelism[v.id] !== undefined && maxParallelism[v.id] !== v.maxParallelism ? { ...v, maxParallelism: maxParallelism[v.id]! } : v)) };
}
