/**
 * A Node preload for the fleet bench's agent processes (`--import ./bench/fleet/cpu-prof.ts`), used
 * with `run.ts --cpu-prof DIR`: SIGUSR2 starts the V8 CPU profiler inside the replica, the next
 * SIGUSR2 stops it and writes DIR/<POD_NAME>.cpuprofile (then DIR/<POD_NAME>.done). Only the
 * window between the two signals is profiled (the steady phase), not the start-up, and the
 * replicas need no graceful exit (the bench SIGKILLs them). Without FLOWPILOT_BENCH_CPU_PROF it
 * does nothing. profile-summary.ts reads the files. The profile covers the main thread only, so
 * each thread's CPU over the same window (from /proc/self/task, Linux) is written beside it, as
 * DIR/<POD_NAME>.threads.json: {thread name: CPU ms}, the worker threads and V8's GC helpers included.
 * FLOWPILOT_BENCH_CPU_PROF_US sets the sampling interval (default 500 µs; a longer one disturbs the
 * replica less: each sample interrupts its main thread).
 */
import { Session } from 'node:inspector/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU ms per thread name (utime + stime of /proc/self/task/<tid>/stat; clock ticks of 10 ms). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try { tids = readdirSync('/proc/self/task'); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = `${tid === String(process.pid) ? 'main thread' : name} ${tid}`;
      out.set(key, (Number(f[11]) + Number(f[12])) * 10);
    } catch { /* the thread ended */ }
  }
  return out;
}

const dir = process.env.FLOWPILOT_BENCH_CPU_PROF;
if (dir) {
  let threads0 = new Map<string, number>();
  const session = new Session();
  session.connect();
  let running = false;
  let busy: Promise<void> = Promise.resolve();
  const name = process.env.POD_NAME ?? String(process.pid);
  process.on('SIGUSR2', () => {
    busy = busy.then(async () => {
      if (!running) {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.FLOWPILOT_BENCH_CPU_PROF_US ?? 500) });
        await session.post('Profiler.start');
        running = true;
        threads0 = threadCpu();
        return;
      }
      const threads1 = threadCpu();
      const { profile } = await session.post('Profiler.stop');
      const byName: Record<string, number> = {};
      for (const [k, v] of threads1) {
        const name = k.replace(/ \d+$/, '');
        byName[name] = (byName[name] ?? 0) + v - (threads0.get(k) ?? 0);
      }
      writeFileSync(join(dir, `${name}.threads.json`), JSON.stringify(byName));
      running = false;
      writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
      writeFileSync(join(dir, `${name}.done`), '');
    }).catch((err: unknown) => void process.stderr.write(`cpu-prof: ${String(err)}\n`));
  });
}
