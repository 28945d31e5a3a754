/**
 * The process's own health under Flink's `Status.JVM.*` names, taken from V8 and libuv:
 * heap used/committed/max (process.memoryUsage, v8.getHeapStatistics), non-heap and direct
 * (external and ArrayBuffer memory), metaspace (V8 code space), CPU load and time, and GC
 * count/time per collector and in total from perf_hooks 'gc' entries. Values are keyed by
 * Flink's REST metric ids, e.g. `Status.JVM.Memory.Heap.Used`.
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { RateView, type ViewUpdater } from '../runtime/time-accounting.ts';

const COLLECTORS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'Scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'MarkSweepCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'IncrementalMarking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'ProcessWeakCallbacks',
};

export class ProcessMetrics {
  private readonly gc = new Map<string, { count: number; time: number; rate: RateView }>();
  private readonly observer: PerformanceObserver;
  private readonly updater: ViewUpdater;
  private readonly slots: number;
  private lastCpu = process.cpuUsage();
  private lastWall = performance.now();
  private cpuLoad = 0;

  constructor(updater: ViewUpdater, slots: number) {
    this.updater = updater;
    this.slots = slots;
    this.ensure('All');
    for (const name of Object.values(COLLECTORS)) this.ensure(name);
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = ((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0;
        const name = COLLECTORS[kind] ?? 'Other';
        for (const n of [name, 'All']) {
          const g = this.ensure(n);
          g.count++;
          g.time += entry.duration;
        }
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private ensure(name: string) {
    let g = this.gc.get(name);
    if (!g) {
      const rec = { count: 0, time: 0, rate: undefined as unknown as RateView };
      rec.rate = this.updater.add(new RateView(() => rec.time, this.slots));
      this.gc.set(name, rec);
      g = rec;
    }
    return g;
  }

  values(): Record<string, number> {
    const mem = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    const code = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'code_space');
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const dWall = wall - this.lastWall;
    if (dWall >= 1000) {
      const dCpu = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
      this.cpuLoad = Math.max(0, dCpu / dWall);
      this.lastCpu = cpu;
      this.lastWall = wall;
    }
    const out: Record<string, number> = {
      'Status.JVM.Memory.Heap.Used': mem.heapUsed,
      'Status.JVM.Memory.Heap.Committed': mem.heapTotal,
      'Status.JVM.Memory.Heap.Max': heap.heap_size_limit,
      'Status.JVM.Memory.NonHeap.Used': mem.external,
      'Status.JVM.Memory.NonHeap.Committed': Math.max(mem.external, mem.rss - mem.heapTotal),
      'Status.JVM.Memory.NonHeap.Max': -1,
      'Status.JVM.Memory.Metaspace.Used': code?.space_used_size ?? 0,
      'Status.JVM.Memory.Metaspace.Committed': code?.physical_space_size ?? 0,
      'Status.JVM.Memory.Metaspace.Max': -1,
      'Status.JVM.Memory.Direct.Count': 0,
      'Status.JVM.Memory.Direct.MemoryUsed': mem.arrayBuffers,
      'Status.JVM.Memory.Direct.TotalCapacity': mem.arrayBuffers,
      'Status.JVM.Memory.RSS': mem.rss,
      'Status.JVM.CPU.Load': this.cpuLoad,
      'Status.JVM.CPU.Time': (cpu.user + cpu.system) * 1000,
      'Status.JVM.Threads.Count': 1,
      'Status.Flink.Memory.Managed.Used': 0,
      'Status.Flink.Memory.Managed.Total': 0,
    };
    for (const [name, g] of this.gc) {
      out[`Status.JVM.GarbageCollector.${name}.Count`] = g.count;
      out[`Status.JVM.GarbageCollector.${name}.Time`] = Math.round(g.time);
      out[`Status.JVM.GarbageCollector.${name}.TimeMsPerSecond`] = g.rate.rate();
    }
    return out;
  }

  stop(): void {
    this.observer.disconnect();
    for (const g of this.gc.values()) this.updater.remove(g.rate);
  }
}
