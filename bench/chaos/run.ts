/**
 * Chaos benchmark: the exactly-once counting job on the supervised local stack `flowpilot up`
 * runs (engine/local/launcher.ts: JobManager with filesystem HA, TaskManagers restarted with
 * backoff), while a CPU hog spins on every core, goes through N rounds of faults chosen at
 * random (seeded):
 *   tm-kill            SIGKILL a TaskManager
 *   jm-kill            SIGKILL the JobManager
 *   kill-in-checkpoint SIGKILL a TaskManager or the JobManager while a checkpoint is in progress
 *   kill-in-savepoint  trigger a savepoint, SIGKILL a TaskManager right after
 *   rescale            PUT resource-requirements to another parallelism (1..slots)
 * After each fault it waits until the job (same id) is RUNNING with every subtask RUNNING and a
 * checkpoint newer than the fault completed, then checks the committed output
 * (prefix-check.ts): records duplicated and records lost so far, per round. At the end the
 * whole output is checked once more.
 *
 * Usage: node bench/chaos/run.ts [--rounds 50] [--seed 1] [--hogs <cores>] [--rate 500]
 *        [--taskmanagers 2] [--slots 2] [--json out.json] [--logs children.log]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../common/log.ts';
import { up, type LocalCluster, type SupervisionEvent } from '../../engine/local/launcher.ts';
import { checkCommittedPrefix, type PrefixCheck } from './prefix-check.ts';

const argv = process.argv.slice(2);
const arg = (n: string, d: string) => (argv.includes(n) ? argv[argv.indexOf(n) + 1]! : d);
const ROUNDS = Number(arg('--rounds', '50'));
const SEED = Number(arg('--seed', '1'));
const HOGS = Number(arg('--hogs', String(os.availableParallelism())));
const RATE = Number(arg('--rate', '500'));
const TMS = Number(arg('--taskmanagers', '2'));
const SLOTS = Number(arg('--slots', '2'));
const JSON_OUT = argv.includes('--json') ? arg('--json', '') : null;
const LOGS = argv.includes('--logs') ? arg('--logs', '') : null;
const PARTITIONS = 4;
const KEYS = 50;
const ALL_FAULTS = ['tm-kill', 'jm-kill', 'kill-in-checkpoint', 'kill-in-savepoint', 'rescale'] as const;
type Fault = (typeof ALL_FAULTS)[number];
const FAULTS = arg('--faults', ALL_FAULTS.join(',')).split(',').filter((f): f is Fault => (ALL_FAULTS as readonly string[]).includes(f));

/** mulberry32: a small seeded PRNG, so a run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | false | undefined>, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await delay(everyMs);
  }
}

interface RoundResult {
  round: number;
  fault: Fault;
  detail: string;
  recoveryMs: number;
  records: number;
  duplicated: number;
  lost: number;
  wrongCounts: number;
  unexpected: number;
  problems: string[];
}

async function main(): Promise<void> {
  const random = rng(SEED);
  const dir = mkdtempSync(join(os.tmpdir(), 'fp-chaos-'));
  const out = join(dir, 'out');
  const log = createLogger({ name: 'chaos' });
  const hogs: ChildProcess[] = [];
  for (let i = 0; i < HOGS; i++) hogs.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  let cluster: LocalCluster | null = null;
  const results: RoundResult[] = [];
  const events: SupervisionEvent[] = [];
  try {
    cluster = await up({
      taskManagers: TMS,
      slots: SLOTS,
      restPort: 0,
      metricsPort: 0,
      stateDir: dir,
      job: 'counting',
      jobArgs: ['--rate', String(RATE), '--partitions', String(PARTITIONS), '--keys', String(KEYS), '--checkpoint-interval', '500', '--output', out],
      parallelism: 2,
      agent: false,
      define: ['heartbeat.interval=500', 'heartbeat.timeout=5000', 'restart-strategy.type=fixed-delay', 'restart-strategy.fixed-delay.delay=200'],
      log: silentLogger(),
      childOutput: LOGS ? createWriteStream(LOGS) : new Writable({ write: (_c, _e, cb) => cb() }),
    });
    cluster.onSupervision((e) => events.push(e));
    const c = cluster;
    const jobId = c.jobId!;
    /** REST with retries while the JobManager is away (connection refused, reset, timeout). */
    const rest = async <T>(path: string, init?: RequestInit): Promise<T> => {
      let r: Response | undefined;
      for (const end = Date.now() + 120_000; r === undefined; ) {
        try {
          r = await fetch(`${c.restUrl}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
        } catch (err) {
          if (Date.now() > end) throw err;
          await delay(200);
        }
      }
      const text = await r.text();
      if (!r.ok) throw new Error(`${path} → ${r.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    };
    const latestCompleted = async () => (await rest<{ latest?: { completed?: { id?: number } | null } }>(`/jobs/${jobId}/checkpoints`)).latest?.completed?.id ?? 0;
    const inProgress = async () => ((await rest<{ counts?: { in_progress?: number } }>(`/jobs/${jobId}/checkpoints`)).counts?.in_progress ?? 0) > 0;
    const allRunning = async () => {
      const j = await rest<{ state: string; vertices: Array<{ status: string; parallelism: number }> }>(`/jobs/${jobId}`);
      return j.state === 'RUNNING' && j.vertices.every((v) => v.status === 'RUNNING') ? j.vertices[0]!.parallelism : 0;
    };
    await waitFor('the first checkpoints', 60_000, async () => (await latestCompleted()) >= 2);
    console.log(`chaos: ${ROUNDS} rounds, seed ${SEED}, ${HOGS} CPU hogs, ${TMS} TaskManagers x ${SLOTS} slots, counting job at ${RATE} records/s, checkpoints every 500 ms, job ${jobId}`);
    console.log('| round | fault | detail | recovery s | committed | duplicated | lost |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    const killed: string[] = [];
    const tmKill = () => {
      const i = Math.floor(random() * c.taskManagers.length);
      c.taskManagers[i]!.child.kill('SIGKILL');
      killed.push(`taskmanager-${i + 1}`);
      return `taskmanager-${i + 1}`;
    };
    const unplanned: SupervisionEvent[] = [];
    cluster.onSupervision((e) => {
      if (e.kind === 'exited' && !killed.includes(e.role)) {
        unplanned.push(e);
        console.log(`unplanned exit: ${JSON.stringify(e)}`);
      }
    });
    const jmKill = () => {
      c.jobManager.child.kill('SIGKILL');
      killed.push('jobmanager');
      return 'jobmanager';
    };
    const fullCluster = async () => (await rest<{ taskmanagers: number; 'slots-total': number }>('/overview'))['slots-total'] === TMS * SLOTS;
    for (let round = 1; round <= ROUNDS; round++) {
      const fault = FAULTS[Math.floor(random() * FAULTS.length)]!;
      const before = await waitFor('the REST API', 60_000, () => latestCompleted().then((id) => ({ id })));
      killed.length = 0;
      const eventsBefore = events.length;
      const start = Date.now();
      let detail = '';
      if (fault === 'tm-kill') detail = tmKill();
      else if (fault === 'jm-kill') detail = jmKill();
      else if (fault === 'kill-in-checkpoint') {
        const caught = await waitFor('a checkpoint in progress', 10_000, inProgress, 5).catch(() => false);
        detail = random() < 0.5 ? tmKill() : jmKill();
        if (!caught) detail += ' (no checkpoint caught in progress)';
      } else if (fault === 'kill-in-savepoint') {
        const t = await rest<{ 'request-id': string }>(`/jobs/${jobId}/savepoints`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ 'target-directory': join(dir, 'jobmanager', 'savepoints'), 'cancel-job': false }),
        });
        detail = tmKill();
        const st = await waitFor('the savepoint to end', 60_000, async () => {
          const s = await rest<{ status: { id: string }; operation?: { location?: string } }>(`/jobs/${jobId}/savepoints/${t['request-id']}`);
          return s.status.id === 'COMPLETED' ? s : null;
        });
        detail += st.operation?.location ? ', savepoint completed' : ', savepoint failed cleanly';
      } else {
        // Resource requirements run at what the slots allow: rescale on the full cluster.
        await waitFor('every TaskManager registered', 60_000, fullCluster);
        const current = await allRunning().catch(() => 0);
        const choices = [1, 2, 3, 4].filter((p) => p <= TMS * SLOTS && p !== current);
        const target = choices[Math.floor(random() * choices.length)]!;
        const reqs = await rest<Record<string, unknown>>(`/jobs/${jobId}/resource-requirements`);
        const body = Object.fromEntries(Object.keys(reqs).map((v) => [v, { parallelism: { lowerBound: 1, upperBound: target } }]));
        await rest(`/jobs/${jobId}/resource-requirements`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        detail = `${current} → ${target}`;
        await waitFor(`the rescale to ${target}`, 60_000, async () => (await allRunning()) === target).catch(async (err: unknown) => {
          throw new Error(`${(err as Error).message}; job: ${JSON.stringify((await rest<{ vertices: unknown[] }>(`/jobs/${jobId}`)).vertices).slice(0, 600)}; overview: ${JSON.stringify(await rest('/overview'))}`);
        });
      }
      // Recovered: every killed process restarted, every TaskManager registered, the same job
      // RUNNING everywhere, and then a checkpoint completed.
      await waitFor('the killed processes to be restarted', 120_000, async () =>
        killed.every((role) => events.slice(eventsBefore).some((e) => e.role === role && e.kind === 'restarted')));
      const settled = await waitFor('the job to recover', 180_000, async () => ((await fullCluster()) && (await allRunning()) > 0 ? { id: await latestCompleted() } : null), 100);
      await waitFor('a checkpoint after the recovery', 120_000, async () => (await latestCompleted()) > Math.max(settled.id, before.id), 100);
      const recoveryMs = Date.now() - start;
      let check: PrefixCheck = checkCommittedPrefix(out, PARTITIONS, KEYS);
      if (check.lost > 0 || check.wrongCounts > 0) {
        // Sinks commit one after another: confirm below this check's top after one more checkpoint.
        const top = check.maxOffset;
        const id = await latestCompleted();
        await waitFor('one more checkpoint', 60_000, async () => (await latestCompleted()) > id);
        check = checkCommittedPrefix(out, PARTITIONS, KEYS, top);
      }
      const r: RoundResult = { round, fault, detail, recoveryMs, records: check.records, duplicated: check.duplicated, lost: check.lost, wrongCounts: check.wrongCounts, unexpected: check.unexpected, problems: check.problems.slice(0, 3) };
      results.push(r);
      console.log(`| ${round} | ${fault} | ${detail} | ${(recoveryMs / 1000).toFixed(1)} | ${check.records} | ${check.duplicated} | ${check.lost} |${check.problems.length ? ` ${check.problems.slice(0, 2).join('; ')}` : ''}`);
    }
    const last = await latestCompleted();
    await waitFor('a final checkpoint', 60_000, async () => (await latestCompleted()) > last);
    const final = checkCommittedPrefix(out, PARTITIONS, KEYS);
    const jmRecoveries = results.filter((r) => r.detail.startsWith('jobmanager')).map((r) => r.recoveryMs);
    const summary = {
      rounds: results.length,
      faults: Object.fromEntries(FAULTS.map((f) => [f, results.filter((r) => r.fault === f).length])),
      duplicatedTotal: final.duplicated,
      lostTotal: final.lost,
      wrongCounts: final.wrongCounts,
      committedRecords: final.records,
      roundsWithDuplicates: results.filter((r) => r.duplicated > 0).length,
      roundsWithLoss: results.filter((r) => r.lost > 0).length,
      recoveryMs: stats(results.map((r) => r.recoveryMs)),
      jobManagerRecoveryMs: stats(jmRecoveries),
      unplannedExits: unplanned.length,
      restarts: Object.fromEntries([...new Set(events.filter((e) => e.kind === 'restarted').map((e) => e.role))].map((role) => [role, events.filter((e) => e.kind === 'restarted' && e.role === role).length])),
    };
    console.log(`summary: ${JSON.stringify(summary)}`);
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ summary, results }, null, 2));
    if (final.duplicated > 0 || final.lost > 0 || final.wrongCounts > 0) process.exitCode = 1;
  } catch (err) {
    log.error({ err: (err as Error).message, rounds: results.length }, 'chaos run aborted');
    process.exitCode = 2;
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function stats(xs: number[]): { n: number; min: number; median: number; p90: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { n: s.length, min: s[0]!, median: q(0.5), p90: q(0.9), max: s[s.length - 1]! };
}

await main();
