/**
 * TaskManager memory advice: from observed heap use, GC time and state size, recommend a
 * TaskManager memory layout (total process, task heap, managed) with the reasons. A pure
 * function of its inputs. It follows the operator's memory tuning where that applies (heap =
 * peak used × (1 + overhead), managed 0 when the state backend does not use it, the total
 * rebuilt from the parts; heap scaled up by TMs-before/TMs-after on scale-down) and adds GC
 * pressure: sustained GC time above a threshold asks for more heap even if the peak looks
 * fine. The advice is report-only unless the policy allows applying it at the next rescale.
 */

const MiB = 1024 * 1024;

export interface MemoryObservation {
  /** Peak heap used over the window, max over TaskManagers (Status.JVM.Memory.Heap.Used). */
  heapUsedPeakBytes: number;
  /** Current max heap (Status.JVM.Memory.Heap.Max). */
  heapMaxBytes: number;
  /** GC time per second of wall time, ms/s, averaged over the window (from Status.JVM.GarbageCollector.*.Time). */
  gcTimeMsPerSecond: number;
  /** Checkpointed state size per TaskManager, bytes (from checkpoint statistics). */
  stateSizeBytesPerTaskManager: number;
  /** Managed memory in use (Status.Flink.Memory.Managed.Used); 0 with heap/hashmap state backends. */
  managedUsedBytes: number;
  /** The configured layout now. */
  current: { processBytes: number; heapBytes: number; managedBytes: number };
  taskManagersBefore: number;
  taskManagersAfter: number;
}

export interface MemoryPolicy {
  /** Head room over the peak (operator default 0.2). */
  overhead: number;
  /** GC ms/s above which heap is considered too small. */
  gcPressureMsPerSecond: number;
  /** Do not recommend a change smaller than this fraction of the process size. */
  minChangeFraction: number;
  /** Apply at the next rescale instead of only reporting. */
  apply: boolean;
}

export const DEFAULT_MEMORY_POLICY: MemoryPolicy = { overhead: 0.2, gcPressureMsPerSecond: 100, minChangeFraction: 0.1, apply: false };

export interface MemoryAdvice {
  processBytes: number;
  heapBytes: number;
  managedBytes: number;
  /** Flink configuration keys to set if applied. */
  configuration: Record<string, string>;
  reasons: string[];
  /** False when the change is too small to be worth a restart. */
  worthApplying: boolean;
  apply: boolean;
}

function roundMiB(b: number): number {
  return Math.ceil(b / MiB) * MiB;
}

function mib(b: number): string {
  return `${Math.round(b / MiB)} MiB`;
}

export function adviseMemory(obs: MemoryObservation, policy: MemoryPolicy = DEFAULT_MEMORY_POLICY): MemoryAdvice {
  const reasons: string[] = [];
  const cur = obs.current;
  const fixed = Math.max(0, cur.processBytes - cur.heapBytes - cur.managedBytes);
  let heap = obs.heapUsedPeakBytes * (1 + policy.overhead);
  reasons.push(`heap peak ${mib(obs.heapUsedPeakBytes)} of ${mib(obs.heapMaxBytes)} + ${Math.round(policy.overhead * 100)}% head room → ${mib(heap)}`);
  if (obs.gcTimeMsPerSecond > policy.gcPressureMsPerSecond) {
    const grown = Math.max(heap, cur.heapBytes * 1.5);
    reasons.push(`GC takes ${obs.gcTimeMsPerSecond.toFixed(0)} ms/s (> ${policy.gcPressureMsPerSecond}): heap at least 1.5× current → ${mib(grown)}`);
    heap = grown;
  }
  if (obs.taskManagersAfter < obs.taskManagersBefore && obs.taskManagersAfter > 0) {
    const f = obs.taskManagersBefore / obs.taskManagersAfter;
    heap *= f;
    reasons.push(`scaling down ${obs.taskManagersBefore} → ${obs.taskManagersAfter} TaskManagers puts ~${f.toFixed(2)}× the keyed state on each: heap × ${f.toFixed(2)}`);
  }
  let managed: number;
  if (obs.managedUsedBytes <= 0) {
    managed = 0;
    reasons.push('managed memory unused (heap state backend): managed → 0');
  } else {
    managed = Math.max(obs.managedUsedBytes, obs.stateSizeBytesPerTaskManager) * (1 + policy.overhead);
    reasons.push(`managed in use ${mib(obs.managedUsedBytes)}, state ${mib(obs.stateSizeBytesPerTaskManager)} per TaskManager → ${mib(managed)}`);
  }
  heap = roundMiB(heap);
  managed = roundMiB(managed);
  const processBytes = roundMiB(heap + managed + fixed);
  reasons.push(`process = heap ${mib(heap)} + managed ${mib(managed)} + fixed (network, metaspace, overhead) ${mib(fixed)} = ${mib(processBytes)}`);
  const change = Math.abs(processBytes - cur.processBytes) / Math.max(1, cur.processBytes);
  const worthApplying = change >= policy.minChangeFraction || (obs.gcTimeMsPerSecond > policy.gcPressureMsPerSecond);
  if (!worthApplying) reasons.push(`change ${(change * 100).toFixed(0)}% is below ${(policy.minChangeFraction * 100).toFixed(0)}%: not worth a restart`);
  return {
    processBytes, heapBytes: heap, managedBytes: managed,
    configuration: {
      'taskmanager.memory.process.size': `${Math.round(processBytes / MiB)}m`,
      'taskmanager.memory.task.heap.size': `${Math.round(heap / MiB)}m`,
      'taskmanager.memory.managed.size': `${Math.round(managed / MiB)}m`,
    },
    reasons, worthApplying, apply: policy.apply && worthApplying,
  };
}
