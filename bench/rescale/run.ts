/**
 * Rescale downtime benchmark. For each state size it starts a JobManager and 2 TaskManagers
 * (2 slots each), runs bench/rescale/jobs/state-job.ts until that many bytes of keyed state
 * exist, and measures downtime — the largest gap between sink batch timestamps around the
 * action (last record out before → first record out after) — for
 *   (1) stop-with-savepoint, then resubmit from the savepoint at parallelism 3 (from 2), and
 *   (2) an in-place rescale 3 → 4 through PUT /jobs/:id/resource-requirements,
 * each printed beside plain fs write+read of the same bytes in the same run
 * (io-baseline.ts). Target: downtime ≤ 2 × raw I/O + 1 s.
 * Usage: node bench/rescale/run.ts [--sizes 10MB,100MB,1GB] [--value-bytes 4096] [-D key=value ...]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measureIoBaseline, parseBytes } from './io-baseline.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/main.ts');
const JOB = join(ROOT, 'bench/rescale/jobs/state-job.ts');
const argv = process.argv.slice(2);
const arg = (n: string) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : undefined);
const SIZES = (arg('--sizes') ?? '10MB,100MB,1GB').split(',').map(parseBytes);
const VALUE_BYTES = Number(arg('--value-bytes') ?? 4096);
/** `-D key=value` options are passed to every engine process. */
const DEFINES = argv.flatMap((a, i) => (a === '-D' && argv[i + 1] ? ['-D', argv[i + 1]!] : []));

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

function start(args: string[], cwd: string): Promise<Proc> {
  const child = fork(CLI, args, { cwd, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=6000'], env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: 'error' } });
  return new Promise((res, rej) => {
    child.on('message', (m: Record<string, unknown>) => m.type === 'ready' && res({ child, ready: m }));
    child.once('exit', (c) => rej(new Error(`${args[1]} exited with ${c}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  console.log(`rescale downtime: 2 TaskManagers x 2 slots, ${VALUE_BYTES}-byte values per key; downtime = largest gap in sink output around the action`);
  console.log('| state | raw fs write+read | stop-with-savepoint + restore 2→3 | in-place rescale 3→4 | target (2 × raw + 1 s) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const bytes of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'fp-rescale-bench-'));
    const procs: Proc[] = [];
    try {
      const raw = await measureIoBaseline(bytes, { dir });
      const jm = await start(['engine', 'jobmanager', '--rest-port', '0', '--rpc-port', '0', '--metrics-port', '0', '--state-dir', join(dir, 'jm'), '-D', `jobmanager.job-dirs=${join(ROOT, 'bench/rescale/jobs')}`, ...DEFINES], dir);
      procs.push(jm);
      for (let i = 0; i < 2; i++) procs.push(await start(['engine', 'taskmanager', '--jobmanager', `127.0.0.1:${jm.ready.rpcPort}`, '--slots', '2', '--state-dir', join(dir, `tm${i}`), ...DEFINES], dir));
      const url = `http://127.0.0.1:${jm.ready.restPort}`;
      const rest = async <T>(path: string, init?: RequestInit): Promise<T> => {
        const r = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(120_000) });
        const text = await r.text();
        if (!r.ok) throw new Error(`${path} → ${r.status}: ${text}`);
        return JSON.parse(text) as T;
      };
      const post = <T>(path: string, body: unknown) => rest<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const tsDir = join(dir, 'ts');
      mkdirSync(tsDir);
      const keys = Math.ceil(bytes / VALUE_BYTES);
      const buildRate = 150_000;
      const buildSeconds = Math.max(2, Math.ceil((keys * 1.3) / buildRate));
      const programArgs = ['--keys', String(keys), '--value-bytes', String(VALUE_BYTES), '--build-rate', String(buildRate), '--build-seconds', String(buildSeconds), '--tick-rate', '2000', '--ts-dir', tsDir];
      const form = new FormData();
      form.append('jarfile', new Blob([readFileSync(JOB)]), 'state-job.ts');
      const jar = (await rest<{ filename: string }>('/jars/upload', { method: 'POST', body: form })).filename.split('/').pop()!;
      const submit = async (parallelism: number, savepointPath?: string) =>
        (await post<{ jobid: string }>(`/jars/${jar}/run`, { programArgsList: programArgs, parallelism, ...(savepointPath ? { savepointPath } : {}) })).jobid;
      const running = async (id: string, p: number) => {
        const j = await rest<{ state: string; vertices: Array<{ parallelism: number; status: string }> }>(`/jobs/${id}`);
        if (j.state === 'FAILED') throw new Error(`job ${id} failed: ${JSON.stringify(await rest(`/jobs/${id}/exceptions`)).slice(0, 800)}`);
        return j.state === 'RUNNING' && j.vertices.every((v) => v.parallelism === p && v.status === 'RUNNING');
      };
      const waitFor = async (cond: () => Promise<boolean>, ms: number, what: string) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (await cond()) return;
          await sleep(25);
        }
        throw new Error(`timed out waiting for ${what}`);
      };
      const stamps = () => readdirSync(tsDir).flatMap((f) => readFileSync(join(tsDir, f), 'utf8').split('\n').filter(Boolean).map(Number)).sort((a, b) => a - b);
      /** The largest gap between consecutive sink timestamps from 2 s before the action on; logged with its position. */
      const gapAround = (from: number, what: string) => {
        const s = stamps().filter((t) => t >= from - 2000);
        let gap = 0;
        let at = 0;
        for (let i = 1; i < s.length; i++) {
          if (s[i]! - s[i - 1]! > gap) {
            gap = s[i]! - s[i - 1]!;
            at = s[i - 1]!;
          }
        }
        console.error(`  ${what}: ${s.length} stamps, largest gap ${gap} ms starting ${at - from} ms after the action`);
        return gap;
      };

      let id = await submit(2);
      await waitFor(() => running(id, 2), 60_000, 'parallelism 2');
      await sleep((buildSeconds + 2) * 1000);

      // (1) stop-with-savepoint + restore at 3.
      const t1 = Date.now();
      const { 'request-id': trigger } = await post<{ 'request-id': string }>(`/jobs/${id}/stop`, { targetDirectory: join(dir, 'sp') });
      let location = '';
      await waitFor(async () => {
        const st = await rest<{ status: { id: string }; operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string } } }>(`/jobs/${id}/savepoints/${trigger}`);
        if (st.status.id !== 'COMPLETED') return false;
        if (!st.operation?.location) throw new Error(`savepoint failed: ${JSON.stringify(st).slice(0, 300)}\n${JSON.stringify(await rest(`/jobs/${id}/exceptions`)).slice(0, 1500)}`);
        location = st.operation.location;
        return true;
      }, 600_000, 'the savepoint');
      await waitFor(async () => (await rest<{ state: string }>(`/jobs/${id}`)).state === 'FINISHED', 120_000, 'the stop');
      id = await submit(3, location);
      await waitFor(() => running(id, 3), 600_000, 'parallelism 3');
      const cps = await rest<{ latest?: { restored?: { external_path?: string } } }>(`/jobs/${id}/checkpoints`);
      await sleep(3000);
      const stopDowntime = gapAround(t1, 'stop-with-savepoint + restore');
      void cps;

      // (2) in-place rescale 3 → 4.
      const t2 = Date.now();
      const reqs = await rest<Record<string, unknown>>(`/jobs/${id}/resource-requirements`);
      await rest(`/jobs/${id}/resource-requirements`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.fromEntries(Object.keys(reqs).map((v) => [v, { parallelism: { lowerBound: 1, upperBound: 4 } }]))) });
      await waitFor(() => running(id, 4), 600_000, 'parallelism 4');
      await sleep(3000);
      const inPlaceDowntime = gapAround(t2, 'in-place rescale');

      const rawMs = raw.writeMs + raw.readMs;
      const target = 2 * rawMs + 1000;
      const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      const mark = (ms: number) => (ms <= target ? '' : ' (misses)');
      console.log(`| ${Math.round(bytes / 1048576)} MB | ${f(rawMs)} (write ${f(raw.writeMs)}, read ${f(raw.readMs)}) | ${f(stopDowntime)}${mark(stopDowntime)} | ${f(inPlaceDowntime)}${mark(inPlaceDowntime)} | ${f(target)} |`);
    } finally {
      for (const p of procs.reverse()) p.child.kill('SIGTERM');
      await sleep(500);
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
