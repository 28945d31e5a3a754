/**
 * Checkpoint and savepoint configuration under Flink's keys, read from a job's config map
 * (JobGraph.config merged over the cluster config by the caller). Durations are Flink's
 * (common/duration.ts: "10 min", "30 s", "500 ms", or a bare number of milliseconds). Old keys
 * (state.checkpoints.dir, state.savepoints.dir, state.checkpoints.num-retained) are honoured
 * when the new key is absent. The zod schema is the one place that holds defaults and
 * descriptions; `describeCheckpointOptions` feeds docs/design/checkpoints.md.
 */
import path from 'node:path';
import { z } from 'zod';
import { FlowpilotError } from '../../common/errors.ts';
import { parseMemorySize } from '../../common/memory-size.ts';
import { flinkDurationMs } from '../config/options.ts';
import type { CheckpointConfigView } from '../contracts/checkpoints.ts';

/** Flink's default and largest `state.storage.fs.memory-threshold` (20 kb, 1 mb). */
export const DEFAULT_MEMORY_THRESHOLD = 20 * 1024;
export const MAX_MEMORY_THRESHOLD = 1024 * 1024;
export { parseMemorySize };
const memorySize = (def: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parseMemorySize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }).pipe(z.number().int().min(0).max(max)).default(def);

const durationBase = (min: number) => flinkDurationMs().pipe(z.number().int().min(min));
const duration = (def: number, min = 0) => durationBase(min).default(def);
const optionalDuration = (min = 0) => durationBase(min).optional();

export const RETENTION_MODES = ['NO_EXTERNALIZED_CHECKPOINTS', 'DELETE_ON_CANCELLATION', 'RETAIN_ON_CANCELLATION'] as const;
export type ExternalizedCheckpointRetention = (typeof RETENTION_MODES)[number];

export const checkpointConfigSchema = z.object({
  'execution.checkpointing.interval': optionalDuration(10).describe('Time between periodic checkpoints; checkpointing is off when absent.'),
  'execution.checkpointing.timeout': duration(600_000, 1).describe('A checkpoint not complete after this long is expired and counted as failed.'),
  'execution.checkpointing.min-pause': duration(0).describe('Least time between the end of one checkpoint and the trigger of the next.'),
  'execution.checkpointing.max-concurrent-checkpoints': z.coerce.number().int().min(1).default(1).describe('Periodic checkpoints in flight at once.'),
  'execution.checkpointing.num-retained': z.coerce.number().int().min(1).default(1).describe('Completed checkpoints kept on disk (old key state.checkpoints.num-retained).'),
  'execution.checkpointing.externalized-checkpoint-retention': z.enum(RETENTION_MODES).default('DELETE_ON_CANCELLATION')
    .describe('What happens to retained checkpoints when the job is cancelled: deleted, or kept for a later restore.'),
  'execution.checkpointing.dir': z.string().min(1).optional().describe('Checkpoint directory; chk-<n>/ go under <dir>/<job-id>/ (old key state.checkpoints.dir).'),
  'execution.checkpointing.savepoint-dir': z.string().min(1).optional().describe('Default savepoint target when a request names none (old key state.savepoints.dir).'),
  'execution.checkpointing.tolerable-failed-checkpoints': z.coerce.number().int().min(0).optional()
    .describe('Consecutive failed checkpoints tolerated before the job fails; absent: unlimited (the job goes on).'),
  'execution.checkpointing.mode': z.enum(['EXACTLY_ONCE', 'AT_LEAST_ONCE']).default('EXACTLY_ONCE').describe('Barrier alignment: exactly-once aligns, at-least-once does not block channels.'),
  'state.storage.fs.memory-threshold': memorySize(DEFAULT_MEMORY_THRESHOLD, MAX_MEMORY_THRESHOLD)
    .describe('A subtask\'s checkpoint state smaller than this is sent inline with its acknowledgement and stored in _metadata instead of a file of its own (old key state.backend.fs.memory-threshold; at most 1 mb; 0: always files).'),
  'flowpilot.savepoint.allowed-roots': z.string().optional()
    .describe('Comma-separated directories savepoint targets and restore paths must lie under; default: the savepoint and checkpoint dirs.'),
});

export interface CheckpointConfig {
  /** Periodic interval in ms; null when periodic checkpointing is off. */
  intervalMs: number | null;
  timeoutMs: number;
  minPauseMs: number;
  maxConcurrent: number;
  numRetained: number;
  retention: ExternalizedCheckpointRetention;
  checkpointDir: string | null;
  savepointDir: string | null;
  /** null = unlimited. */
  tolerableFailed: number | null;
  mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  /** Absolute directories under which savepoint targets and restore paths must lie (never empty when a dir is set). */
  allowedRoots: string[];
  /** Bytes below which a subtask's state is stored inline in `_metadata` (state.storage.fs.memory-threshold). */
  inlineThreshold: number;
}

const OLD_KEYS: Record<string, string> = {
  'state.checkpoints.dir': 'execution.checkpointing.dir',
  'state.savepoints.dir': 'execution.checkpointing.savepoint-dir',
  'state.checkpoints.num-retained': 'execution.checkpointing.num-retained',
  'state.backend.fs.memory-threshold': 'state.storage.fs.memory-threshold',
};

/** Strips a `file:` / `file://` scheme: our storage is the local (or mounted) file system. */
export function stripFileScheme(p: string): string {
  if (p.startsWith('file://')) return p.slice('file://'.length);
  if (p.startsWith('file:')) return p.slice('file:'.length);
  return p;
}

type ConfigMap = Record<string, string | number | undefined>;

function parseRaw(config: ConfigMap) {
  const input: Record<string, unknown> = {};
  for (const [oldKey, newKey] of Object.entries(OLD_KEYS)) {
    if (config[oldKey] !== undefined && config[newKey] === undefined) input[newKey] = config[oldKey];
  }
  for (const key of Object.keys(checkpointConfigSchema.shape)) if (config[key] !== undefined) input[key] = config[key];
  const parsed = checkpointConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FlowpilotError('FP_CHECKPOINT_CONFIG', `invalid checkpoint configuration: ${issues}`, {
      details: { issues: parsed.error.issues, httpStatus: 400 },
    });
  }
  return parsed.data;
}

function dirOf(v: string | undefined): string | null {
  return v ? stripFileScheme(v) : null;
}

function rootsOf(c: ReturnType<typeof parseRaw>): string[] {
  const explicit = c['flowpilot.savepoint.allowed-roots'];
  if (explicit) return explicit.split(',').map((s) => stripFileScheme(s.trim())).filter((s) => s.length > 0);
  return [dirOf(c['execution.checkpointing.savepoint-dir']), dirOf(c['execution.checkpointing.dir'])].filter((s): s is string => s !== null);
}

/**
 * Reads the checkpoint configuration. `config` is what the job runs with (cluster config
 * overlaid by the job's own keys). Pass the cluster's own config as `clusterConfig`: the allowed
 * roots then come from it alone, so a job (whose config a REST client can set) cannot widen
 * them, and a job-level checkpoint dir must lie under them. Without `clusterConfig` (tests,
 * tools) the roots come from `config`. Throws FP_CHECKPOINT_CONFIG (HTTP 400) on bad values.
 */
export function parseCheckpointConfig(config: ConfigMap, opts: { clusterConfig?: ConfigMap } = {}): CheckpointConfig {
  const c = parseRaw(config);
  const roots = rootsOf(opts.clusterConfig ? parseRaw(opts.clusterConfig) : c);
  const checkpointDir = dirOf(c['execution.checkpointing.dir']);
  if (opts.clusterConfig && checkpointDir !== null) {
    const abs = path.resolve(checkpointDir);
    const inside = roots.some((r) => {
      const rel = path.relative(path.resolve(r), abs);
      return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
    });
    if (!inside) {
      throw new FlowpilotError('FP_CHECKPOINT_CONFIG', `execution.checkpointing.dir ${checkpointDir} is outside the cluster's allowed roots (${roots.join(', ') || 'none configured'})`, {
        details: { httpStatus: 400 },
      });
    }
  }
  return {
    intervalMs: c['execution.checkpointing.interval'] ?? null,
    timeoutMs: c['execution.checkpointing.timeout'],
    minPauseMs: c['execution.checkpointing.min-pause'],
    maxConcurrent: c['execution.checkpointing.max-concurrent-checkpoints'],
    numRetained: c['execution.checkpointing.num-retained'],
    retention: c['execution.checkpointing.externalized-checkpoint-retention'],
    checkpointDir,
    savepointDir: dirOf(c['execution.checkpointing.savepoint-dir']),
    tolerableFailed: c['execution.checkpointing.tolerable-failed-checkpoints'] ?? null,
    mode: c['execution.checkpointing.mode'],
    allowedRoots: roots,
    inlineThreshold: c['state.storage.fs.memory-threshold'],
  };
}

/**
 * The inline threshold alone from a job's config (the coordinator reads its keys one by one):
 * the default when the key (and its old name) is absent, and also when it does not parse, which
 * `parseCheckpointConfig` rejects when the job is submitted.
 */
export function inlineThresholdOf(config: ConfigMap): number {
  const raw = config['state.storage.fs.memory-threshold'] ?? config['state.backend.fs.memory-threshold'];
  if (raw === undefined) return DEFAULT_MEMORY_THRESHOLD;
  try {
    const v = parseMemorySize(raw);
    return v <= MAX_MEMORY_THRESHOLD ? v : DEFAULT_MEMORY_THRESHOLD;
  } catch {
    return DEFAULT_MEMORY_THRESHOLD;
  }
}

/** The REST layer's /jobs/:id/checkpoints/config view of a configuration. */
export function checkpointConfigView(c: CheckpointConfig): CheckpointConfigView {
  return {
    mode: c.mode,
    interval: c.intervalMs ?? Number.MAX_SAFE_INTEGER,
    timeout: c.timeoutMs,
    minPause: c.minPauseMs,
    maxConcurrent: c.maxConcurrent,
    externalization: {
      enabled: c.retention !== 'NO_EXTERNALIZED_CHECKPOINTS',
      deleteOnCancellation: c.retention !== 'RETAIN_ON_CANCELLATION',
    },
    stateBackend: 'HashMapStateBackend',
    checkpointStorage: 'FileSystemCheckpointStorage',
    unalignedCheckpoints: false,
    tolerableFailedCheckpoints: c.tolerableFailed ?? 2147483647,
    alignedCheckpointTimeout: 0,
    checkpointsAfterTasksFinish: true,
    stateChangelogEnabled: false,
    changelogStorage: 'memory',
    changelogPeriodicMaterializationInterval: 600000,
  };
}

/** Every option with its default and description, for docs. */
export function describeCheckpointOptions(): Array<{ key: string; default: unknown; description: string }> {
  const parsed = checkpointConfigSchema.safeParse({});
  const defaults = (parsed.success ? parsed.data : {}) as Record<string, unknown>;
  return Object.entries(checkpointConfigSchema.shape).map(([key, field]) => ({
    key,
    default: defaults[key],
    description: (field as z.ZodType).description ?? '',
  }));
}
