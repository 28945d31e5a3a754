/**
 * Cluster-level views in Flink's wire format: the dashboard config (`/config`), the cluster
 * overview (`/overview`), TaskManagers (`/taskmanagers`, `/taskmanagers/:id`, memory profiles
 * in MiB, hardware and memory configuration in bytes) and the JobManager config as a
 * `[{key,value}]` list.
 */
import type { JobView, MetricValues, ResourceProfileView, TaskManagerView } from './backend.ts';
import { GLOBALLY_TERMINAL } from './views-jobs.ts';

export interface ClusterIdentity {
  flinkVersion: string;
  /** Shown as flink-commit in /overview and as "<commit> @ <date>" in /config. */
  flinkCommit: string;
  commitDate: string;
  refreshInterval: number;
  /** The dashboard's feature flags (web.submit.enable, web.cancel.enable, web.rescale.enable as served). */
  features: { submit: boolean; cancel: boolean; rescale: boolean };
}

function timezone(): { name: string; offset: number } {
  const now = new Date();
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'long' }).formatToParts(now).find((p) => p.type === 'timeZoneName');
  return { name: part?.value ?? 'Coordinated Universal Time', offset: -now.getTimezoneOffset() * 60_000 };
}

export function dashboardConfig(id: ClusterIdentity): Record<string, unknown> {
  const tz = timezone();
  return {
    'refresh-interval': id.refreshInterval,
    'timezone-name': tz.name,
    'timezone-offset': tz.offset,
    'flink-version': id.flinkVersion,
    'flink-revision': `${id.flinkCommit} @ ${id.commitDate}`,
    features: { 'web-submit': id.features.submit, 'web-cancel': id.features.cancel, 'web-rescale': id.features.rescale, 'web-history': false },
  };
}

export function clusterOverview(id: ClusterIdentity, jobs: JobView[], tms: TaskManagerView[]): Record<string, unknown> {
  const blocked = tms.filter((t) => t.blocked === true);
  const out: Record<string, unknown> = {
    taskmanagers: tms.length,
    'slots-total': tms.reduce((s, t) => s + t.slotsNumber, 0),
    'slots-available': tms.filter((t) => t.blocked !== true).reduce((s, t) => s + t.freeSlots, 0),
    'jobs-running': jobs.filter((j) => !GLOBALLY_TERMINAL.has(j.status)).length,
    'jobs-finished': jobs.filter((j) => j.status === 'FINISHED').length,
    'jobs-cancelled': jobs.filter((j) => j.status === 'CANCELED').length,
    'jobs-failed': jobs.filter((j) => j.status === 'FAILED').length,
    'flink-version': id.flinkVersion,
    'flink-commit': id.flinkCommit,
  };
  // NON_DEFAULT in Flink: written only when non-zero.
  if (blocked.length > 0) {
    out['taskmanagers-blocked'] = blocked.length;
    out['slots-free-and-blocked'] = blocked.reduce((s, t) => s + t.freeSlots, 0);
  }
  return out;
}

const MiB = 1024 * 1024;

function totalProfile(tm: TaskManagerView): ResourceProfileView {
  return tm.totalResource ?? {
    cpuCores: tm.slotsNumber,
    taskHeapMemoryMiB: Math.floor(tm.memory.taskHeap / MiB),
    taskOffHeapMemoryMiB: Math.floor(tm.memory.taskOffHeap / MiB),
    managedMemoryMiB: Math.floor(tm.memory.managedMemory / MiB),
    networkMemoryMiB: Math.floor(tm.memory.networkMemory / MiB),
  };
}

function scaled(p: ResourceProfileView, fraction: number): ResourceProfileView {
  return {
    cpuCores: p.cpuCores * fraction,
    taskHeapMemoryMiB: Math.floor(p.taskHeapMemoryMiB * fraction),
    taskOffHeapMemoryMiB: Math.floor(p.taskOffHeapMemoryMiB * fraction),
    managedMemoryMiB: Math.floor(p.managedMemoryMiB * fraction),
    networkMemoryMiB: Math.floor(p.networkMemoryMiB * fraction),
  };
}

function profileInfo(p: ResourceProfileView): Record<string, unknown> {
  return {
    cpuCores: p.cpuCores,
    taskHeapMemory: p.taskHeapMemoryMiB,
    taskOffHeapMemory: p.taskOffHeapMemoryMiB,
    managedMemory: p.managedMemoryMiB,
    networkMemory: p.networkMemoryMiB,
    extendedResources: {},
  };
}

/** One entry of `GET /taskmanagers` (TaskManagerInfo). */
export function taskManagerInfo(tm: TaskManagerView): Record<string, unknown> {
  const total = totalProfile(tm);
  const free = tm.freeResource ?? scaled(total, tm.slotsNumber > 0 ? tm.freeSlots / tm.slotsNumber : 0);
  return {
    id: tm.id,
    path: tm.path,
    dataPort: tm.dataPort,
    jmxPort: tm.jmxPort ?? -1,
    timeSinceLastHeartbeat: tm.lastHeartbeat,
    slotsNumber: tm.slotsNumber,
    freeSlots: tm.freeSlots,
    totalResource: profileInfo(total),
    freeResource: profileInfo(free),
    hardware: { ...tm.hardware },
    memoryConfiguration: { ...tm.memory },
    ...(tm.blocked === true ? { blocked: true } : {}),
  };
}

function long(m: MetricValues | undefined, id: string): number {
  const v = m?.[id];
  const n = typeof v === 'boolean' || v === undefined ? 0 : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

/** `GET /taskmanagers/:id` (TaskManagerDetailsInfo): the list entry plus slots and JVM metrics. */
export function taskManagerDetails(tm: TaskManagerView, m: MetricValues | undefined): Record<string, unknown> {
  const perSlot = scaled(totalProfile(tm), tm.slotsNumber > 0 ? 1 / tm.slotsNumber : 0);
  const gcNames = new Set<string>();
  for (const id of Object.keys(m ?? {})) {
    const g = /^Status\.JVM\.GarbageCollector\.(.+)\.(Count|Time)$/.exec(id);
    if (g && g[1] !== 'All') gcNames.add(g[1]!);
  }
  const p = 'Status.JVM.Memory.';
  const n = 'Status.Shuffle.Netty.';
  return {
    ...taskManagerInfo(tm),
    allocatedSlots: tm.allocatedSlots.map((s) => ({ jobId: s.jobId, resource: profileInfo(perSlot) })),
    metrics: {
      heapUsed: long(m, `${p}Heap.Used`), heapCommitted: long(m, `${p}Heap.Committed`), heapMax: long(m, `${p}Heap.Max`),
      nonHeapUsed: long(m, `${p}NonHeap.Used`), nonHeapCommitted: long(m, `${p}NonHeap.Committed`), nonHeapMax: long(m, `${p}NonHeap.Max`),
      directCount: long(m, `${p}Direct.Count`), directUsed: long(m, `${p}Direct.MemoryUsed`), directMax: long(m, `${p}Direct.TotalCapacity`),
      mappedCount: long(m, `${p}Mapped.Count`), mappedUsed: long(m, `${p}Mapped.MemoryUsed`), mappedMax: long(m, `${p}Mapped.TotalCapacity`),
      nettyShuffleMemorySegmentsAvailable: long(m, `${n}AvailableMemorySegments`),
      nettyShuffleMemorySegmentsUsed: long(m, `${n}UsedMemorySegments`),
      nettyShuffleMemorySegmentsTotal: long(m, `${n}TotalMemorySegments`),
      nettyShuffleMemoryAvailable: long(m, `${n}AvailableMemory`),
      nettyShuffleMemoryUsed: long(m, `${n}UsedMemory`),
      nettyShuffleMemoryTotal: long(m, `${n}TotalMemory`),
      garbageCollectors: [...gcNames].map((name) => ({
        name,
        count: long(m, `Status.JVM.GarbageCollector.${name}.Count`),
        time: long(m, `Status.JVM.GarbageCollector.${name}.Time`),
      })),
    },
  };
}

/** Flink's GlobalConfiguration.SENSITIVE_KEYS: a key containing one of these (any case) has its value hidden. */
const SENSITIVE_KEY_PARTS = [
  'password', 'secret', 'fs.azure.account.key', 'apikey', 'api-key', 'auth-params', 'service-key', 'token', 'basic-auth',
  'jaas.config', 'http-headers',
];
/** Flink's GlobalConfiguration.HIDDEN_CONTENT. */
export const HIDDEN_CONTENT = '******';

export function isSensitiveKey(key: string): boolean {
  const lower = key.toLowerCase();
  return SENSITIVE_KEY_PARTS.some((part) => lower.includes(part));
}

/** The configuration as Flink's `[{key,value}]` list, sensitive values hidden as Flink does. */
export function configEntries(config: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(config).map(([key, value]) => ({ key, value: isSensitiveKey(key) ? HIDDEN_CONTENT : value }));
}
