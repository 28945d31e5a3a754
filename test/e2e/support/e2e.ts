/**
 * Shared harness of the autoscaler end-to-end tests: a real engine cluster (JobManager and
 * TaskManagers as child processes, from test/actuate/support), a job module uploaded and run
 * through the REST API, and the real `flowpilot agent` as a child process whose JSON log lines
 * (stderr) are parsed so a test can see each scaling decision and each action's outcome. Also
 * small REST probes (job state, per-vertex parallelism, live copies of a job) and the policy
 * file tuned for test speed. Every process is killed by pid and every temp dir removed by the
 * returned `stop()` functions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { IntentJournal, type IntentRecord } from '../../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../../agent/actuate/journal/file-store.ts';
import { checkCountingOutput, type CountingCheckResult } from '../../../engine/jobs/counting-checker.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, intervalMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    await delay(intervalMs);
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------- REST probes

export interface JobView {
  jid: string;
  name: string;
  state: string;
  vertices: Array<{ id: string; name: string; parallelism: number }>;
}

async function getJson<T>(url: string): Promise<T | null> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return await res.json() as T;
}

export async function jobView(restUrl: string, jobId: string): Promise<JobView | null> {
  return getJson<JobView>(`${restUrl}/jobs/${jobId}`);
}

export async function jobsOverview(restUrl: string): Promise<Array<{ jid: string; name: string; state: string; 'start-time': number }>> {
  return (await getJson<{ jobs: Array<{ jid: string; name: string; state: string; 'start-time': number }> }>(`${restUrl}/jobs/overview`))?.jobs ?? [];
}

const TERMINAL = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);

export async function liveJobs(restUrl: string, name: string): Promise<string[]> {
  return (await jobsOverview(restUrl)).filter((j) => j.name === name && !TERMINAL.has(j.state)).map((j) => j.jid);
}

export async function runJar(restUrl: string, jarId: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${restUrl}/jars/${jarId}/run`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  const out = await res.json() as { jobid?: string; errors?: string[] };
  if (!res.ok || !out.jobid) throw new Error(`run failed: HTTP ${res.status} ${JSON.stringify(out)}`);
  return out.jobid;
}

/** The parallelism of the vertex whose name matches, or null when the job is not found. */
export async function vertexParallelism(restUrl: string, jobId: string, name: RegExp): Promise<number | null> {
  const j = await jobView(restUrl, jobId);
  const v = j?.vertices.find((x) => name.test(x.name));
  return v ? v.parallelism : null;
}

// ---------------------------------------------------------------- the agent

export interface AgentLine {
  time: number;
  msg: string;
  [k: string]: unknown;
}

export interface AgentChild {
  proc: ChildProcess;
  url: string;
  /** Every JSON log line so far, across restarts of this handle. */
  lines(): AgentLine[];
  output(): string;
  /** The scaling decisions that asked for a rescale, in order. */
  rescales(): AgentLine[];
  /** 'rescale action finished' lines, in order. */
  actions(): AgentLine[];
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `flowpilot agent` with `args` (plus --port 0); resolves once it prints where it listens. */
export async function startAgent(args: string[], opts: { cwd: string; lines?: AgentLine[] }): Promise<AgentChild> {
  const proc = spawn(process.execPath, [join(ROOT, 'cli/main.ts'), 'agent', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'info' },
  });
  const lines = opts.lines ?? [];
  let tail = '';
  let partial = '';
  const onErr = (b: Buffer): void => {
    const text = partial + b.toString();
    tail = (tail + b.toString()).slice(-30_000);
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(p) as AgentLine);
      } catch { /* not a log line */ }
    }
  };
  proc.stderr!.on('data', onErr);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    // A bound for an agent that never starts: on a loaded host, Node and the agent's modules load slowly.
    const timer = setTimeout(() => reject(new Error(`agent did not start within 90 s:\n${tail}`)), 90_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before it listened:\n${tail}`));
    });
  });
  return {
    proc, url, exited,
    lines: () => lines,
    output: () => tail,
    rescales: () => lines.filter((l) => l.msg === 'rescale decided'),
    actions: () => lines.filter((l) => l.msg === 'rescale action finished'),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------- policy

/**
 * A scaling policy for test speed: 1 s metric intervals (the agent's scrape interval), an 8 s
 * metric window, scale-up after 2 intervals above the band, a 10 s cool-down and a 12 s
 * scale-down delay, restart cost assumed 5 s until measured, no forecast.
 */
export function writeTestPolicy(path: string, overrides: Record<string, unknown> = {}): string {
  const policy = {
    metricsWindow: '8s',
    upConfirmIntervals: 2,
    catchUp: '30s',
    backlog: { lagThreshold: '30s' },
    cooldown: '10s',
    scaleDown: { delay: '12s', peakLookback: '10s' },
    restart: { prior: '5s', absorbShortOverloads: false },
    effectiveness: { enabled: false },
    forecast: { enabled: false },
    ...overrides,
  };
  writeFileSync(path, stringify(policy));
  return path;
}

// ---------------------------------------------------------------- the counting job and watching it

export interface CountingJob {
  name: string;
  jarId: string;
  jobId: string;
  out: string;
  programArgs: string[];
  /** How many records the job generates in all. */
  limit: number;
}

/**
 * Uploads engine/jobs/counting.ts and runs it; resolves once it is RUNNING.
 *
 * With `limit`, the job generates that many records at `rate` and then FINISHES: its end is tied
 * to the clock (a loaded machine can reach it before the test is done with the job). With
 * `records` instead, it generates that many at `rate` (a rate profile that drops to 0 once they
 * are due) and then stays RUNNING, idle, until the test cancels it: its input is the same
 * whatever the timing, and `committedOutput` waits for all of it to be committed.
 */
export async function startCountingJob(restUrl: string, dir: string, o: { name: string; rate: number; parallelism: number; checkpointIntervalMs: number } & ({ limit: number } | { records: number })): Promise<CountingJob> {
  const { uploadJobModule } = await import('../../actuate/support/engine-cluster.ts');
  const jarId = await uploadJobModule(restUrl, join(ROOT, 'engine/jobs/counting.ts'));
  const out = join(dir, `out-${o.name}`);
  mkdirSync(out, { recursive: true });
  const input = 'limit' in o
    ? ['--rate', String(o.rate), '--limit', String(o.limit)]
    : ['--profile', `steps:${o.rate}@0s,0@${o.records / o.rate}s`];
  const programArgs = ['--output', out, ...input, '--name', o.name, '--checkpoint-interval', String(o.checkpointIntervalMs)];
  const jobId = await runJar(restUrl, jarId, { programArgsList: programArgs, parallelism: o.parallelism });
  await waitUntil(`job ${o.name} to run`, 30_000, async () => (await jobView(restUrl, jobId))?.state === 'RUNNING');
  return { name: o.name, jarId, jobId, out, programArgs, limit: 'limit' in o ? o.limit : o.records };
}

/**
 * Waits until the committed output of a counting job holds all its records (or more: a
 * duplicate), then returns the exactly-once check. Checkpoints commit the sink's files, so
 * the job must still run (or have finished).
 */
export async function committedOutput(job: CountingJob, timeoutMs: number): Promise<CountingCheckResult> {
  const params = { dir: job.out, partitions: 4, keys: 100, records: job.limit };
  return await waitUntil(`${job.limit} committed records of ${job.name}`, timeoutMs, () => {
    const check = checkCountingOutput(params);
    return check.recordsSeen >= job.limit ? check : null;
  }, 500).catch((err: Error) => {
    const check = checkCountingOutput(params);
    throw new Error(`${err.message}: ${JSON.stringify({ ...check, problems: check.problems.slice(0, 3) })}`);
  });
}

/**
 * Polls the live copies of a job name every 200 ms: the most copies seen at once, and the longest
 * stretch with no RUNNING copy (after the first was seen), until `stop()` (call it before a
 * bounded job reaches its end: that is not an outage).
 */
export function watchJob(restUrl: string, name: string): { stop(): Promise<{ maxCopies: number; longestGapMs: number; gaps: number }> } {
  let maxCopies = 0;
  let longestGapMs = 0;
  let gaps = 0;
  let gapStart: number | null = null;
  let seen = false;
  let running = true;
  const until = Date.now() + 150_000; // never outlives a test that forgot to stop it
  const loop = (async () => {
    while (running && Date.now() < until) {
      try {
        const jobs = (await jobsOverview(restUrl)).filter((j) => j.name === name);
        const live = jobs.filter((j) => !TERMINAL.has(j.state));
        maxCopies = Math.max(maxCopies, live.length);
        const up = jobs.some((j) => j.state === 'RUNNING');
        const now = Date.now();
        if (up) {
          seen = true;
          if (gapStart !== null) longestGapMs = Math.max(longestGapMs, now - gapStart);
          gapStart = null;
        } else if (seen && gapStart === null) {
          gapStart = now;
          gaps++;
        }
      } catch { /* JobManager busy: try again */ }
      await delay(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (gapStart !== null) longestGapMs = Math.max(longestGapMs, Date.now() - gapStart);
      return { maxCopies, longestGapMs, gaps };
    },
  };
}

/** Writes an agent config file (docs/reference/agent.md schema) and returns its path. */
export function writeAgentConfig(path: string, cfg: Record<string, unknown>): string {
  writeFileSync(path, stringify(cfg));
  return path;
}

/** The journal record of a job's current or last action, read through the agent's own file journal. */
export async function journalRecord(journalDir: string, jobKey: string): Promise<IntentRecord | null> {
  return (await new IntentJournal(new FileJournalStore(journalDir)).get(jobKey))?.record ?? null;
}
