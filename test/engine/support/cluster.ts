/**
 * Test harness: a real engine cluster of child processes (`flowpilot engine jobmanager` and
 * `taskmanager`) on 127.0.0.1 with free ports, each reporting its ports over IPC. Helpers read
 * REST and /metrics; `stop()` kills every child by pid and removes the temp dir.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../../cli/main.ts');
const READY_TIMEOUT_MS = 60_000;

export interface ProcInfo {
  child: ChildProcess;
  stderr: string[];
  ready: Record<string, unknown>;
}

export interface ClusterOptions {
  taskManagers: number;
  slots?: number;
  /** Extra -D options for every process. */
  define?: string[];
  jmDefine?: string[];
}

function start(args: string[], dir: string): Promise<ProcInfo> {
  const child = fork(CLI, args, {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: process.env.FLOWPILOT_LOG_LEVEL ?? 'warn' },
    cwd: dir,
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    stderr.push(d.toString());
    if (stderr.length > 200) stderr.shift();
  });
  return new Promise<ProcInfo>((resolvePromise, reject) => {
    // Start-up time grows with the machine's load (the child loads its TypeScript sources first): the
    // wait ends on the ready message or on the child's exit, and only a long deadline bounds it. A
    // child that is not ready by then is killed, so its IPC channel cannot keep the test process alive.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process ${args.join(' ')} not ready in ${READY_TIMEOUT_MS / 1000} s: ${stderr.join('')}`));
    }, READY_TIMEOUT_MS);
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolvePromise({ child, stderr, ready: m });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process ${args.join(' ')} exited with ${code}: ${stderr.join('')}`));
    });
  });
}

export class TestCluster {
  readonly dir: string;
  jm!: ProcInfo;
  readonly tms: ProcInfo[] = [];
  private readonly opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.dir = mkdtempSync(join(tmpdir(), 'fp-cluster-'));
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.jm.ready.restPort}`;
  }

  get rpcAddress(): string {
    return `127.0.0.1:${this.jm.ready.rpcPort}`;
  }

  async start(): Promise<this> {
    const d = (this.opts.define ?? []).flatMap((x) => ['-D', x]);
    const jd = (this.opts.jmDefine ?? []).flatMap((x) => ['-D', x]);
    // The cluster's temp dir is where tests put savepoints: name it as the allowed root (there is no implicit one).
    const roots = ['-D', `flowpilot.savepoint.allowed-roots=${this.dir}`];
    this.jm = await start(['engine', 'jobmanager', '--rest-port', '0', '--rpc-port', '0', '--metrics-port', '0', '--state-dir', join(this.dir, 'jm'), ...roots, ...d, ...jd], this.dir);
    try {
      const added = await Promise.allSettled(Array.from({ length: this.opts.taskManagers }, () => this.addTaskManager()));
      const failed = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.waitFor(async () => (await this.rest<unknown[]>('/taskmanagers').then((r) => (r as unknown as { taskmanagers: unknown[] }).taskmanagers.length)) === this.opts.taskManagers, 30_000, 'TaskManagers registered');
    } catch (err) {
      // The caller never gets a cluster to stop: stop what did start, or it outlives the test.
      await this.stop();
      throw err;
    }
    return this;
  }

  async addTaskManager(): Promise<ProcInfo> {
    const d = (this.opts.define ?? []).flatMap((x) => ['-D', x]);
    const i = this.tms.length;
    const tm = await start(
      ['engine', 'taskmanager', '--jobmanager', this.rpcAddress, '--slots', String(this.opts.slots ?? 1), '--state-dir', join(this.dir, `tm${i}-${Date.now()}`), ...d],
      this.dir,
    );
    this.tms.push(tm);
    return tm;
  }

  async rest<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await fetch(`${this.restUrl}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path} → ${res.status}: ${body}`);
    return JSON.parse(body) as T;
  }

  /** Submits a job module through /jars/upload and /jars/:id/run. */
  async submit(modulePath: string, programArgs: string[], parallelism?: number): Promise<string> {
    return this.submitWith(modulePath, programArgs, parallelism === undefined ? {} : { parallelism });
  }

  /** Like submit, with any /jars/:id/run body fields (parallelism, savepointPath, allowNonRestoredState). */
  async submitWith(modulePath: string, programArgs: string[], extra: Record<string, unknown>): Promise<string> {
    const form = new FormData();
    const { readFileSync } = await import('node:fs');
    const { basename } = await import('node:path');
    form.append('jarfile', new Blob([readFileSync(modulePath)]), basename(modulePath));
    const up = await this.rest<{ filename: string }>('/jars/upload', { method: 'POST', body: form });
    const jarId = basename(up.filename);
    const body: Record<string, unknown> = { programArgsList: programArgs, ...extra };
    const run = await this.rest<{ jobid: string }>(`/jars/${encodeURIComponent(jarId)}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return run.jobid;
  }

  async jobStatus(jobId: string): Promise<string> {
    return (await this.rest<{ state: string }>(`/jobs/${jobId}`)).state;
  }

  async metrics(port: unknown): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }

  async waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        if (await cond()) return;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\nJM log: ${this.jm.stderr.join('').slice(-3000)}`);
  }

  async stop(): Promise<void> {
    const all = [this.jm, ...this.tms].filter(Boolean);
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return r();
            const t = setTimeout(() => {
              p.child.kill('SIGKILL');
            }, 5000);
            p.child.once('exit', () => {
              clearTimeout(t);
              r();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The value of a Prometheus sample line `name{labels} value` whose labels contain every given pair. */
export function sampleValues(text: string, name: string, match: Record<string, string> = {}): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    out.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
