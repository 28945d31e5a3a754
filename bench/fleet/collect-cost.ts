/**
 * The cost of one Flink REST collection in isolation: N replayed jobs (replay-server.ts, run in a
 * child process so its CPU is not counted), one FlinkRestCollector per job as a fleet replica
 * builds them, R rounds of one collection per job. Reports, per job per collection: Flink REST
 * requests (counted at the replay server), the collecting process's CPU (user + system), and the
 * samples produced; and the load average around the run. It uses the agent's own client and
 * collector, so it measures the code as it is.
 *
 * Usage: node bench/fleet/collect-cost.ts [--jobs 20] [--rounds 20] [--no-subtasks]
 */
import './svc-dns.ts';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { FlinkRestCollector } from '../../agent/collect/flink-rest.ts';
import { FlinkReplayServer } from './replay-server.ts';

const argv = process.argv.slice(2);
const arg = (f: string, def: number): number => (argv.includes(f) ? Number(argv[argv.indexOf(f) + 1]) : def);
const JOBS = arg('--jobs', 20);
const ROUNDS = arg('--rounds', 20);
const host = (i: number): string => `cost-${i}-rest.bench.svc`;

async function serve(): Promise<void> {
  const replay = new FlinkReplayServer();
  const port = await replay.listen();
  const scenarios = FlinkReplayServer.scenarios();
  for (let i = 0; i < JOBS; i++) replay.addJob(host(i), scenarios[i % scenarios.length]!, `cost-${i}`);
  // A second server answers the parent's count of the requests served so far.
  const counter = http.createServer((_req, res) => res.end(String(replay.allJobs().reduce((a, j) => a + j.requests, 0))));
  await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r));
  process.stdout.write(`${port} ${(counter.address() as { port: number }).port}\n`);
}

async function measure(): Promise<void> {
  const child = spawn(process.execPath, [import.meta.filename, '--serve', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const [port, counterPort] = line.split(' ').map(Number) as [number, number];
  const served = async (): Promise<number> => Number(await (await fetch(`http://127.0.0.1:${counterPort}/`)).text());
  const clients = Array.from({ length: JOBS }, (_, i) => new FlinkRestClient({ baseUrl: `http://${host(i)}:${port}`, timeoutMs: 10_000 }));
  const collectors = clients.map((client) => new FlinkRestCollector({ client, perSubtaskMetrics: !argv.includes('--no-subtasks') }));
  const load0 = loadavg()[0]!;
  // One warm-up round: the first collection lists every metric endpoint.
  await Promise.all(collectors.map((c) => c.collect(AbortSignal.timeout(30_000))));
  const r0 = await served();
  const cpu0 = process.cpuUsage();
  let samples = 0;
  let observations = 0;
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of collectors) {
      const res = await c.collect(AbortSignal.timeout(30_000));
      samples += res.samples.length;
      observations += res.observations.length;
      errors += res.errors.length;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const r1 = await served();
  const n = JOBS * ROUNDS;
  const report = {
    jobs: JOBS, rounds: ROUNDS,
    requestsPerCollection: Number(((r1 - r0) / n).toFixed(2)),
    cpuMsPerCollection: Number(((cpu.user + cpu.system) / 1000 / n).toFixed(3)),
    samplesPerCollection: Number((samples / n).toFixed(1)),
    observationsPerCollection: Number((observations / n).toFixed(2)),
    errorsPerCollection: Number((errors / n).toFixed(2)),
    loadAverage: [Number(load0.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  for (const c of clients) await c.close();
  child.kill('SIGTERM');
}

if (argv.includes('--serve')) await serve();
else await measure();
