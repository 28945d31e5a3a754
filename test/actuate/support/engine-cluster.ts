/**
 * Starts a real engine cluster for actuation tests: one JobManager and N TaskManagers as child
 * processes (`node cli/main.ts engine jobmanager|taskmanager`) on free 127.0.0.1 ports, each
 * reporting readiness over IPC. Children exit when the IPC channel closes, and `stop()` kills
 * any that remain, by pid, and removes the temp directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, basename } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const NODE = process.execPath;

interface Ready {
  type: 'ready';
  role: string;
  restPort?: number;
  rpcPort?: number;
}

export interface EngineCluster {
  dir: string;
  restUrl: string;
  rpcPort: number;
  addTaskManager(slots: number): Promise<ChildProcess>;
  taskManagers: ChildProcess[];
  jobManager: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function waitReady(child: ChildProcess, what: string, timeoutMs: number): Promise<Ready> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', (m: Ready) => {
      if (m && m.type === 'ready') {
        clearTimeout(timer);
        resolvePromise(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready`));
    });
  });
}

function launch(args: string[], logFile: string[], cwd: string): ChildProcess {
  // cwd is the cluster's temp dir, so a relative path an engine process writes to stays inside it.
  const child = spawn(NODE, [join(ROOT, 'cli/main.ts'), ...args], {
    cwd, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: 'info' },
  });
  child.stdout?.on('data', (b: Buffer) => logFile.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => logFile.push(b.toString()));
  return child;
}

export async function startEngineCluster(opts: { taskManagers: number; slots: number; define?: string[] }): Promise<EngineCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-engine-'));
  const logs: string[] = [];
  const defines = (opts.define ?? []).flatMap((d) => ['-D', d]);
  // The cluster's temp dir is where tests put savepoints: name it as the allowed root (there is no implicit one).
  const roots = ['-D', `flowpilot.savepoint.allowed-roots=${dir}`];
  const jobManager = launch(['engine', 'jobmanager', '--rest-port', '0', '--rpc-port', '0', '--metrics-port', '0', '--state-dir', join(dir, 'jm'), ...roots, ...defines], logs, dir);
  const children: ChildProcess[] = [jobManager];
  const stop = async (): Promise<void> => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    }
    await Promise.all(children.map((c) => c.exitCode !== null || c.signalCode !== null ? undefined
      : new Promise<void>((r) => {
        const t = setTimeout(() => { c.kill('SIGKILL'); r(); }, 3000);
        c.once('exit', () => { clearTimeout(t); r(); });
      })));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = await waitReady(jobManager, 'JobManager', 30_000);
    const taskManagers: ChildProcess[] = [];
    let n = 0;
    const addTaskManager = async (slots: number): Promise<ChildProcess> => {
      const tm = launch(['engine', 'taskmanager', '--jobmanager', `127.0.0.1:${ready.rpcPort}`, '--slots', String(slots), '--state-dir', join(dir, `tm${n++}`), ...defines], logs, dir);
      children.push(tm);
      taskManagers.push(tm);
      await waitReady(tm, 'TaskManager', 30_000);
      return tm;
    };
    for (let i = 0; i < opts.taskManagers; i++) await addTaskManager(opts.slots);
    return {
      dir, restUrl: `http://127.0.0.1:${ready.restPort}`, rpcPort: ready.rpcPort!, jobManager, taskManagers, addTaskManager,
      logs: () => logs.join(''), stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Uploads a job module through POST /jars/upload (multipart, field `jarfile`); returns the jar id. */
export async function uploadJobModule(restUrl: string, file: string): Promise<string> {
  const form = new FormData();
  form.append('jarfile', new Blob([readFileSync(file)]), basename(file));
  const res = await fetch(`${restUrl}/jars/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
  const body = await res.json() as { filename?: string; errors?: string[] };
  if (!res.ok || !body.filename) throw new Error(`upload failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  return basename(body.filename);
}

/** Whether the JobManager serves Flink's REST API (not only the ops routes). */
export async function servesFlinkRest(restUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${restUrl}/overview`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return false;
    const body = await res.json() as Record<string, unknown>;
    return typeof body['flink-version'] === 'string';
  } catch {
    return false;
  }
}
