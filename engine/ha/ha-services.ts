/**
 * JobManager high availability, shaped after Flink's HA services: what a restarted JobManager
 * needs to recover every job lives outside its process.
 *
 * - Job graphs: the submitted job's module (bytes, sha-256, file name), its submission (entry
 *   module path, program arguments, parallelism and overrides) and its configuration. The
 *   blob goes to `high-availability.storageDir` (`<storageDir>/<cluster-id>/submittedJobGraph-…`);
 *   the store keeps a pointer to it, as Flink keeps a state handle.
 * - Per job: the latest completed checkpoint's pointer and the checkpoint id counter. A
 *   checkpoint is added to the store BEFORE its completion is notified to the subtasks (where
 *   two-phase-commit sinks commit), so a recovered job never restores from a checkpoint older
 *   than one whose output is already committed.
 * - The leader record: who leads and where its RPC/REST endpoints are.
 *
 * Two stores implement it: a directory (`high-availability.type: filesystem`, everything under
 * the storage dir, written atomically) and Kubernetes ConfigMaps (`high-availability.type:
 * kubernetes`, kubernetes-store.ts): the cluster ConfigMap `<cluster-id>-cluster-config-map`
 * with the leader annotation and `jobGraph-<job-id>` keys, and one
 * `<cluster-id>-<job-id>-config-map` per job with `checkpointID-<19 digits>` and `counter`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { JobSubmission } from '../contracts/job-graph.ts';

/** What a recovered JobManager resubmits, without the module bytes (they are a blob beside it). */
export interface JobGraphRecord {
  jobId: string;
  submission: JobSubmission;
  /** The job's own configuration given at submission (flinkConfiguration). */
  configuration: Record<string, string>;
  module: { sha256: string; fileName: string };
  submittedAt: number;
}

export interface StoredJobGraph {
  record: JobGraphRecord;
  moduleBytes: Uint8Array;
}

/** The latest completed checkpoint of a job, as the HA store points to it. */
export interface CheckpointPointer {
  checkpointId: number;
  /** The checkpoint's directory (holds `_metadata`). */
  path: string;
  isSavepoint: boolean;
}

export interface LeaderInfo {
  /** RPC address TaskManagers connect to, `host:port`. */
  address: string;
  restAddress: string;
  sessionId: string;
}

/** Flink's HA services as a flowpilot JobManager needs them. */
export interface HaServices {
  readonly type: 'filesystem' | 'kubernetes';
  /** Becomes the leader: records who leads (and where). */
  grantLeadership(leader: LeaderInfo): Promise<void>;
  putJobGraph(record: JobGraphRecord, moduleBytes: Uint8Array): Promise<void>;
  jobGraphs(): Promise<StoredJobGraph[]>;
  /** The job reached a globally terminal state: its graph, checkpoint pointers and counter go. */
  removeJob(jobId: string): Promise<void>;
  /** Records a completed checkpoint as the job's latest (older pointers are dropped) and the counter. */
  addCheckpoint(jobId: string, pointer: CheckpointPointer, counter: number): Promise<void>;
  latestCheckpoint(jobId: string): Promise<CheckpointPointer | null>;
  /** The next checkpoint id to use (0 when the job never checkpointed). */
  checkpointCounter(jobId: string): Promise<number>;
  close(): Promise<void>;
}

export type HaType = 'none' | 'filesystem' | 'kubernetes';

/** Flink's spellings: NONE / ZOOKEEPER / KUBERNETES (any case), and a factory class name ending in KubernetesHaServicesFactory. */
export function parseHaType(text: string | undefined): HaType {
  const v = (text ?? 'none').trim();
  if (/KubernetesHaServicesFactory$/.test(v)) return 'kubernetes';
  const lower = v.toLowerCase();
  if (lower === 'none' || lower === '') return 'none';
  if (lower === 'filesystem' || lower === 'kubernetes') return lower;
  throw new Error(`high-availability.type "${v}" is not supported (none, filesystem, kubernetes)`);
}

/** Writes `bytes` to `path` atomically: a temporary file, fsync, rename. */
export async function writeFileAtomically(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const JOB_ID = /^[0-9a-f]{32}$/;

/**
 * Job graph blobs under `<storageDir>/<cluster-id>/`: `submittedJobGraph-<job-id>.json` (the
 * record) and `submittedJobGraph-<job-id>.module` (the module bytes). Both stores use it.
 */
export class JobGraphBlobs {
  readonly dir: string;

  constructor(storageDir: string, clusterId: string) {
    this.dir = join(resolve(stripScheme(storageDir)), clusterId);
  }

  recordPath(jobId: string): string {
    return join(this.dir, `submittedJobGraph-${jobId}.json`);
  }

  modulePath(jobId: string): string {
    return join(this.dir, `submittedJobGraph-${jobId}.module`);
  }

  async put(record: JobGraphRecord, moduleBytes: Uint8Array): Promise<string> {
    if (!JOB_ID.test(record.jobId)) throw new Error(`bad job id ${record.jobId}`);
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomically(this.modulePath(record.jobId), moduleBytes);
    await writeFileAtomically(this.recordPath(record.jobId), JSON.stringify(record));
    return this.recordPath(record.jobId);
  }

  /** The job graph a pointer names; null when the blob is gone or does not match its module. */
  async get(recordPath: string): Promise<StoredJobGraph | null> {
    let record: JobGraphRecord;
    try {
      record = JSON.parse(await readFile(recordPath, 'utf8')) as JobGraphRecord;
    } catch {
      return null;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.modulePath(record.jobId));
    } catch {
      return null;
    }
    if (sha256Hex(bytes) !== record.module.sha256) return null;
    return { record, moduleBytes: bytes };
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.recordPath(jobId), { force: true });
    await rm(this.modulePath(jobId), { force: true });
  }
}

export function stripScheme(p: string): string {
  return p.startsWith('file://') ? p.slice('file://'.length) : p.startsWith('file:') ? p.slice('file:'.length) : p;
}

interface FsCheckpointFile {
  latest: CheckpointPointer | null;
  counter: number;
}

/**
 * `high-availability.type: filesystem`: everything under `<storageDir>/<cluster-id>/`:
 * job graph blobs, `checkpoints-<job-id>.json` (latest pointer and counter) and `leader.json`.
 * Every file is replaced atomically, so a JobManager killed mid-write leaves the previous one.
 */
export class FileSystemHaServices implements HaServices {
  readonly type = 'filesystem' as const;
  readonly blobs: JobGraphBlobs;

  constructor(storageDir: string, clusterId: string) {
    this.blobs = new JobGraphBlobs(storageDir, clusterId);
  }

  private checkpointsPath(jobId: string): string {
    return join(this.blobs.dir, `checkpoints-${jobId}.json`);
  }

  async grantLeadership(leader: LeaderInfo): Promise<void> {
    await mkdir(this.blobs.dir, { recursive: true });
    await writeFileAtomically(join(this.blobs.dir, 'leader.json'), JSON.stringify({ ...leader, since: new Date().toISOString() }));
  }

  async putJobGraph(record: JobGraphRecord, moduleBytes: Uint8Array): Promise<void> {
    await this.blobs.put(record, moduleBytes);
  }

  async jobGraphs(): Promise<StoredJobGraph[]> {
    let names: string[];
    try {
      names = await readdir(this.blobs.dir);
    } catch {
      return [];
    }
    const out: StoredJobGraph[] = [];
    for (const n of names.sort()) {
      const m = /^submittedJobGraph-([0-9a-f]{32})\.json$/.exec(n);
      if (!m) continue;
      const g = await this.blobs.get(join(this.blobs.dir, n));
      if (g) out.push(g);
    }
    return out;
  }

  async removeJob(jobId: string): Promise<void> {
    await this.blobs.remove(jobId);
    await rm(this.checkpointsPath(jobId), { force: true });
  }

  private async readCheckpoints(jobId: string): Promise<FsCheckpointFile> {
    try {
      return JSON.parse(await readFile(this.checkpointsPath(jobId), 'utf8')) as FsCheckpointFile;
    } catch {
      return { latest: null, counter: 0 };
    }
  }

  async addCheckpoint(jobId: string, pointer: CheckpointPointer, counter: number): Promise<void> {
    await mkdir(this.blobs.dir, { recursive: true });
    const prev = await this.readCheckpoints(jobId);
    const next: FsCheckpointFile = { latest: pointer, counter: Math.max(prev.counter, counter) };
    await writeFileAtomically(this.checkpointsPath(jobId), JSON.stringify(next));
  }

  async latestCheckpoint(jobId: string): Promise<CheckpointPointer | null> {
    return (await this.readCheckpoints(jobId)).latest;
  }

  async checkpointCounter(jobId: string): Promise<number> {
    return (await this.readCheckpoints(jobId)).counter;
  }

  async close(): Promise<void> {}
}
