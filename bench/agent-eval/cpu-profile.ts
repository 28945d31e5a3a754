/**
 * V8 CPU profiles for the benchmark: records one through the in-process inspector around a
 * piece of work (so a profile covers only the measured evaluation or scrape), and reduces a
 * profile to its top frames by self time and by inclusive time, with file:line relative to
 * the repository.
 */
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface TopFrame {
  frame: string;
  selfMs: number;
  totalMs: number;
}

/** Runs `work` under the CPU profiler (100 µs sampling) and returns its result and the profile. */
export async function profiled<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

function frameName(f: CallFrame, root: string): string {
  let where = f.url;
  if (where.startsWith('file://')) where = relative(root, fileURLToPath(where));
  const name = f.functionName || '(anonymous)';
  return where ? `${name} ${where}:${f.lineNumber + 1}` : name;
}

/** The top `n` frames by self time, each with its inclusive time (recursion counted once). */
export function topFrames(profile: CpuProfile, root: string, n = 15): TopFrame[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const c of node.children ?? []) parent.set(c, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute it to that sample's stack.
    const us = deltas[i + 1] ?? 0;
    let id: number | undefined = samples[i];
    const leaf = byId.get(id!);
    if (leaf === undefined) continue;
    const leafName = frameName(leaf.callFrame, root);
    self.set(leafName, (self.get(leafName) ?? 0) + us);
    const seen = new Set<string>();
    while (id !== undefined) {
      const node = byId.get(id)!;
      const name = frameName(node.callFrame, root);
      if (!seen.has(name)) {
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + us);
      }
      id = parent.get(id);
    }
  }
  return [...self.entries()]
    .filter(([name]) => name !== '(idle)' && !name.startsWith('post node:inspector'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, totalMs: (total.get(frame) ?? us) / 1000 }));
}
