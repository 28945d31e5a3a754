/**
 * The fuzz harness: seeded, bounded runs of generated input through the PromQL parser and
 * engine, the rule-file parser and the exposition-text parser. Each target runs in a worker
 * thread with a memory cap; a case that runs past the kill limit is a hang (the worker is
 * killed and replaced), a worker that dies is a crash, an error that is not typed is a bug.
 * A case whose thread CPU time passes the hang threshold (2 s) counts as a hang too.
 *
 *   node test/fuzz/run.ts --cases 5000                 # the long manual run, every target
 *   node test/fuzz/run.ts --cases 200 --target rules --seed 7
 *   node test/fuzz/run.ts --cases 1 --target promql --seed 3 --from 1234 --print   # replay one case
 *
 * Exit status 1 when any target had a crash, a hang or an untyped error. CI runs a short
 * run through test/fuzz/fuzz.test.ts.
 */
import { Worker } from 'node:worker_threads';
import { GENERATORS, Rng, type FuzzTarget } from './generators.ts';
import type { CaseReply, Outcome } from './worker.ts';

export interface FuzzOptions {
  cases: number;
  seed: number;
  targets: readonly FuzzTarget[];
  /** A case using more thread CPU than this is a hang. */
  hangMs?: number;
  /** A case not answered within this wall time is killed and counted as a hang. */
  killMs?: number;
  /** Skip the first `from` inputs of the sequence (to replay one case). */
  from?: number;
  /** Heap cap of the worker, in MB. */
  maxHeapMb?: number;
  onCase?: (target: FuzzTarget, index: number, input: string, reply: CaseReply | null) => void;
}

export interface Finding {
  index: number;
  kind: 'crash' | 'hang' | 'untyped';
  detail: string;
  input: string;
}

export interface TargetReport {
  target: FuzzTarget | 'selftest';
  seed: number;
  cases: number;
  ok: number;
  typed: number;
  untyped: number;
  crashes: number;
  hangs: number;
  /** PromQL: cases that parsed and were evaluated. */
  evaluated: number;
  /** Typed errors whose cause was a raw error (a bug the engine caught and typed). */
  wrapped: number;
  codes: Record<string, number>;
  wrappedSamples: string[];
  maxWallMs: number;
  maxCpuMs: number;
  p99CpuMs: number;
  totalSeconds: number;
  findings: Finding[];
}

const SALT: Record<FuzzTarget, number> = { promql: 0x5eed01, rules: 0x5eed02, exposition: 0x5eed03 };

/** The input of case `index` of a target's sequence for `seed`. */
export function inputsOf(target: FuzzTarget, seed: number, count: number, from = 0): string[] {
  const rng = new Rng((seed * 0x9e3779b1) ^ SALT[target]);
  const out: string[] = [];
  for (let i = 0; i < from + count; i++) {
    const input = GENERATORS[target](rng);
    if (i >= from) out.push(input);
  }
  return out;
}

class CaseRunner {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly target: FuzzTarget | 'selftest';
  private readonly maxHeapMb: number;

  constructor(target: FuzzTarget | 'selftest', maxHeapMb: number) {
    this.target = target;
    this.maxHeapMb = maxHeapMb;
  }

  private spawn(): Promise<void> {
    const w = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: { target: this.target },
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
      stdout: true,
      stderr: true,
    });
    this.worker = w;
    this.ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: unknown): void => {
        if ((m as { ready?: boolean }).ready) {
          w.off('message', onMsg);
          w.off('error', reject);
          resolve();
        }
      };
      w.on('message', onMsg);
      w.once('error', reject);
    });
    return this.ready;
  }

  /** Runs one case: the reply, or why there is none. */
  async run(id: number, input: string, killMs: number): Promise<CaseReply | { failed: 'crash' | 'hang'; detail: string }> {
    if (!this.worker) await this.spawn();
    else await this.ready;
    const w = this.worker!;
    return new Promise((resolve) => {
      const done = (r: CaseReply | { failed: 'crash' | 'hang'; detail: string }): void => {
        clearTimeout(timer);
        w.off('message', onMsg);
        w.off('error', onErr);
        w.off('exit', onExit);
        resolve(r);
      };
      const onMsg = (m: CaseReply): void => {
        if (m.id === id) done(m);
      };
      const onErr = (err: Error): void => {
        this.worker = null;
        done({ failed: 'crash', detail: `${err.name}: ${err.message}`.slice(0, 300) });
      };
      const onExit = (code: number): void => {
        this.worker = null;
        done({ failed: 'crash', detail: `worker exited with code ${code}` });
      };
      const timer = setTimeout(() => {
        this.worker = null;
        void w.terminate();
        done({ failed: 'hang', detail: `no answer within ${killMs} ms; worker killed` });
      }, killMs);
      w.on('message', onMsg);
      w.once('error', onErr);
      w.once('exit', onExit);
      w.postMessage({ id, input });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

function describe(o: Outcome): string {
  return o.kind === 'untyped' ? `${o.name}: ${o.message}` : o.kind === 'typed' ? o.code : 'ok';
}

async function runTarget(target: FuzzTarget, opts: FuzzOptions): Promise<TargetReport> {
  return runInputs(target, inputsOf(target, opts.seed, opts.cases, opts.from ?? 0), opts);
}

/** Runs given inputs through one target ('selftest' checks the harness itself). */
export async function runInputs(target: FuzzTarget | 'selftest', inputs: readonly string[], opts: Omit<FuzzOptions, 'cases' | 'targets'>): Promise<TargetReport> {
  const hangMs = opts.hangMs ?? 2_000;
  const killMs = opts.killMs ?? 20_000;
  const runner = new CaseRunner(target, opts.maxHeapMb ?? 512);
  const report: TargetReport = {
    target, seed: opts.seed, cases: 0, ok: 0, typed: 0, untyped: 0, crashes: 0, hangs: 0, evaluated: 0, wrapped: 0,
    codes: {}, wrappedSamples: [], maxWallMs: 0, maxCpuMs: 0, p99CpuMs: 0, totalSeconds: 0, findings: [],
  };
  const cpu: number[] = [];
  const started = performance.now();
  try {
    for (const [i, input] of inputs.entries()) {
      const index = (opts.from ?? 0) + i;
      const r = await runner.run(index, input, killMs);
      report.cases++;
      if ('failed' in r) {
        if (r.failed === 'crash') report.crashes++;
        else report.hangs++;
        report.findings.push({ index, kind: r.failed, detail: r.detail, input });
        if (target !== 'selftest') opts.onCase?.(target, index, input, null);
        continue;
      }
      if (target !== 'selftest') opts.onCase?.(target, index, input, r);
      cpu.push(r.cpuMs);
      report.maxWallMs = Math.max(report.maxWallMs, r.wallMs);
      report.maxCpuMs = Math.max(report.maxCpuMs, r.cpuMs);
      if (r.evaluated) report.evaluated++;
      if (r.cpuMs > hangMs) {
        report.hangs++;
        report.findings.push({ index, kind: 'hang', detail: `${r.cpuMs.toFixed(0)} ms of CPU (${r.wallMs.toFixed(0)} ms wall), ended ${describe(r.outcome)}`, input });
      }
      const o = r.outcome;
      if (o.kind === 'ok') report.ok++;
      else if (o.kind === 'typed') {
        report.typed++;
        report.codes[o.code] = (report.codes[o.code] ?? 0) + 1;
        if (o.wrapped) {
          report.wrapped++;
          if (report.wrappedSamples.length < 5) report.wrappedSamples.push(`#${index} ${o.wrapped} <- ${input.slice(0, 120)}`);
        }
      } else {
        report.untyped++;
        report.findings.push({ index, kind: 'untyped', detail: describe(o), input });
      }
    }
  } finally {
    await runner.close();
  }
  cpu.sort((a, b) => a - b);
  report.p99CpuMs = cpu.length > 0 ? cpu[Math.min(cpu.length - 1, Math.floor(cpu.length * 0.99))]! : 0;
  report.totalSeconds = (performance.now() - started) / 1000;
  return report;
}

/** Runs every target in turn (one worker at a time) and returns one report per target. */
export async function runFuzz(opts: FuzzOptions): Promise<TargetReport[]> {
  const out: TargetReport[] = [];
  for (const t of opts.targets) out.push(await runTarget(t, opts));
  return out;
}

export function formatReports(reports: readonly TargetReport[]): string {
  const rows = [
    '| target | seed | cases | ok | typed errors | untyped | crashes | hangs > 2 s | evaluated | wrapped raw | max CPU ms | p99 CPU ms | max wall ms | run s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of reports) {
    rows.push(`| ${r.target} | ${r.seed} | ${r.cases} | ${r.ok} | ${r.typed} | ${r.untyped} | ${r.crashes} | ${r.hangs} | ${r.target === 'promql' ? r.evaluated : '-'} | ${r.wrapped} | ${r.maxCpuMs.toFixed(0)} | ${r.p99CpuMs.toFixed(1)} | ${r.maxWallMs.toFixed(0)} | ${r.totalSeconds.toFixed(1)} |`);
  }
  const lines = [rows.join('\n')];
  for (const r of reports) {
    const codes = Object.entries(r.codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    lines.push(`${r.target} error codes: ${codes || '(none)'}`);
    for (const w of r.wrappedSamples) lines.push(`  wrapped: ${w}`);
    for (const f of r.findings.slice(0, 20)) lines.push(`  ${f.kind} #${f.index}: ${f.detail}\n    input: ${JSON.stringify(f.input.length > 400 ? `${f.input.slice(0, 400)}…(${f.input.length} chars)` : f.input)}`);
  }
  return lines.join('\n');
}

function parseArgs(argv: string[]): FuzzOptions & { print: boolean; json: string | null } {
  const opts: FuzzOptions & { print: boolean; json: string | null } = { cases: 500, seed: 1, targets: ['promql', 'rules', 'exposition'], print: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--cases') opts.cases = Number(v());
    else if (a === '--seed') opts.seed = Number(v());
    else if (a === '--from') opts.from = Number(v());
    else if (a === '--target') opts.targets = v().split(',') as FuzzTarget[];
    else if (a === '--hang-ms') opts.hangMs = Number(v());
    else if (a === '--kill-ms') opts.killMs = Number(v());
    else if (a === '--max-heap-mb') opts.maxHeapMb = Number(v());
    else if (a === '--print') opts.print = true;
    else if (a === '--json') opts.json = v();
    else throw new Error(`unknown argument ${a} (see the header of test/fuzz/run.ts)`);
  }
  for (const t of opts.targets) if (!(t in GENERATORS)) throw new Error(`unknown target ${t}; one of ${Object.keys(GENERATORS).join(', ')}`);
  return opts;
}

if (import.meta.main) {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.print) {
    opts.onCase = (target, index, input, reply) => {
      process.stdout.write(`${target} #${index} ${JSON.stringify(input)}\n  -> ${reply ? `${describe(reply.outcome)} (${reply.cpuMs.toFixed(1)} ms CPU)` : 'no reply'}\n`);
    };
  }
  const reports = await runFuzz(opts);
  process.stdout.write(`${formatReports(reports)}\n`);
  if (opts.json) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(opts.json, JSON.stringify(reports, null, 2));
  }
  process.exitCode = reports.some((r) => r.crashes + r.hangs + r.untyped > 0) ? 1 : 0;
}
