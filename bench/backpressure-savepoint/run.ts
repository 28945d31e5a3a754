/**
 * Stop-with-savepoint of a backpressured job, with buffer debloating off (the baseline: every
 * receiving buffer holds a full 512-record batch) and on (the engine's default), in the same
 * run. The job is order-enrichment with an I/O-bound enrichment (each subtask holds at most
 * `--capacity` lookups of `--latency` ms), run at parallelism 2 above what it can take, so the
 * source is backpressured. After `--load` seconds the bench stops the job with a savepoint and
 * reports: the savepoint's own end-to-end time (trigger → last acknowledgement), the time from
 * the stop request until the job is FINISHED, and the enrichment's debloated batch size just
 * before. The baseline has the other fixes (a source that stops its batch when out of credit, a
 * savepoint that overtakes a periodic checkpoint), so the ratio is debloating's alone. Repeated `--reps` times per setting; medians and their ratio printed.
 * Usage: node bench/backpressure-savepoint/run.ts [--reps 3] [--load 12] [--rate 1000]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from 'simple-statistics';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/main.ts');
const JOB = join(ROOT, 'engine/jobs/order-enrichment.ts');
const argv = process.argv.slice(2);
const arg = (n: string, d: string) => (argv.includes(n) ? argv[argv.indexOf(n) + 1]! : d);
const REPS = Number(arg('--reps', '3'));
const LOAD_S = Number(arg('--load', '12'));
const RATE = Number(arg('--rate', '1000'));

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

function start(args: string[], cwd: string): Promise<Proc> {
  const child = fork(CLI, args, { cwd, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: 'error' } });
  return new Promise((res, rej) => {
    child.on('message', (m: Record<string, unknown>) => m.type === 'ready' && res({ child, ready: m }));
    child.once('exit', (c) => rej(new Error(`${args[1]} exited with ${c}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rest<T>(base: string, path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${base}${path}`, init);
  if (!r.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function until(what: string, timeoutMs: number, cond: () => Promise<boolean>, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

interface Result {
  savepointS: number;
  stopS: number;
  batch: number;
}

async function once(debloat: boolean): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bp-savepoint-'));
  const procs: Proc[] = [];
  try {
    const defines = ['-D', `taskmanager.network.memory.buffer-debloat.enabled=${debloat}`];
    const jm = await start(['engine', 'jobmanager', '--rest-port', '0', '--rpc-port', '0', '--metrics-port', '0', '--state-dir', join(dir, 'jm'), ...defines], dir);
    procs.push(jm);
    const base = `http://127.0.0.1:${jm.ready.restPort}`;
    procs.push(await start(['engine', 'taskmanager', '--jobmanager', `127.0.0.1:${jm.ready.rpcPort}`, '--slots', '8', '--state-dir', join(dir, 'tm'), ...defines], dir));
    const form = new FormData();
    form.append('jarfile', new Blob([readFileSync(JOB)]), 'order-enrichment.ts');
    const jar = await rest<{ filename: string }>(base, '/jars/upload', { method: 'POST', body: form });
    const jarId = jar.filename.split('/').pop()!;
    const out = join(dir, 'out');
    mkdirSync(out);
    const programArgsList = ['--partitions', '8', '--latency', '50', '--capacity', '10', '--checkpoint-interval', '1000', '--window', '2000', '--profile', `constant:${RATE}`, '--output', out, '--name', 'bp-savepoint'];
    const { jobid } = await rest<{ jobid: string }>(base, `/jars/${jarId}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ programArgsList, parallelism: 2 }) });
    await until('the job to run', 30_000, async () => (await rest<{ state: string }>(base, `/jobs/${jobid}`)).state === 'RUNNING');
    await sleep(LOAD_S * 1000);
    const vertices = (await rest<{ vertices: Array<{ id: string; name: string }> }>(base, `/jobs/${jobid}`)).vertices;
    const enrich = vertices.find((v) => /Enrich/.test(v.name))!;
    const m = await rest<Array<{ id: string; max: number }>>(base, `/jobs/${jobid}/vertices/${enrich.id}/subtasks/metrics?get=debloatedBufferSize&agg=max`);
    const metric = (id: string) => m.find((x) => x.id === id)?.max ?? Number.NaN;
    const t0 = Date.now();
    const { 'request-id': trigger } = await rest<{ 'request-id': string }>(base, `/jobs/${jobid}/stop`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetDirectory: join(dir, 'sp'), drain: false }),
    });
    await until('the savepoint', 120_000, async () => (await rest<{ status: { id: string } }>(base, `/jobs/${jobid}/savepoints/${trigger}`)).status.id === 'COMPLETED');
    await until('the job to finish', 60_000, async () => (await rest<{ state: string }>(base, `/jobs/${jobid}`)).state === 'FINISHED', 20);
    const stopS = (Date.now() - t0) / 1000;
    const cps = await rest<{ latest: { savepoint?: { end_to_end_duration: number } } }>(base, `/jobs/${jobid}/checkpoints`);
    return { savepointS: (cps.latest.savepoint?.end_to_end_duration ?? Number.NaN) / 1000, stopS, batch: metric('debloatedBufferSize') };
  } finally {
    for (const p of procs.reverse()) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`stop-with-savepoint of a backpressured job: order-enrichment at ${RATE} records/s, parallelism 2 (about 400/s of enrichment capacity), ${LOAD_S} s of load, ${REPS} runs per setting`);
  const results: Record<'off' | 'on', Result[]> = { off: [], on: [] };
  for (let i = 0; i < REPS; i++) {
    for (const setting of ['off', 'on'] as const) {
      const r = await once(setting === 'on');
      results[setting].push(r);
      console.log(`run ${i + 1}, debloating ${setting}: savepoint ${r.savepointS.toFixed(2)} s, stop to FINISHED ${r.stopS.toFixed(2)} s, enrichment input batches of ${r.batch} records`);
    }
  }
  const med = (s: 'off' | 'on', k: 'savepointS' | 'stopS') => median(results[s].map((r) => r[k]));
  console.log('| setting | savepoint end-to-end (median) | stop → FINISHED (median) |');
  console.log('| --- | --- | --- |');
  for (const s of ['off', 'on'] as const) console.log(`| debloating ${s}${s === 'off' ? ' (baseline)' : ''} | ${med(s, 'savepointS').toFixed(2)} s | ${med(s, 'stopS').toFixed(2)} s |`);
  console.log(`ratio on/off: savepoint ${(med('on', 'savepointS') / med('off', 'savepointS')).toFixed(2)}x, stop ${(med('on', 'stopS') / med('off', 'stopS')).toFixed(2)}x`);
}

await main();
