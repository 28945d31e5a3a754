/**
 * Runs an external binary (Prometheus, Alertmanager) for the local stack so that it cannot
 * outlive us: it runs under a small `sh` watchdog in its own process group, the watchdog stops it
 * when our pid disappears (even after a SIGKILL of `flowpilot up`), and `stop()` sends SIGTERM to
 * the whole group, then SIGKILL after a grace period. Output goes straight to a log file, whose
 * tail explains a failed start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';

// "$@" is the command. The watchdog polls our pid once a second; `sleep & wait` lets the TERM trap
// run at once. A child that is gone or a zombie ends the watchdog with it.
const WATCHDOG = `
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT HUP
while kill -0 "$FP_WATCH_PID" 2>/dev/null; do
  if [ -d /proc ]; then
    st=$(cut -d' ' -f3 "/proc/$child/stat" 2>/dev/null)
    if [ -z "$st" ] || [ "$st" = Z ]; then wait "$child"; exit $?; fi
  fi
  sleep 1 & wait $!
done
kill -TERM "$child" 2>/dev/null
wait "$child"
`;

export interface LocalProcess {
  /** the watchdog's pid, which is also the process group id */
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  isRunning(): boolean;
  /** the last `bytes` of the log */
  logTail(bytes?: number): string;
  stop(graceMs?: number): Promise<void>;
}

/** The absolute path of the first of `names` found on PATH, or null. */
export function findBinary(names: string[]): string | null {
  for (const name of names) {
    if (name.includes('/')) {
      try {
        if (statSync(name).isFile()) return name;
      } catch {
        // not there
      }
      continue;
    }
    const res = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' });
    const path = res.stdout.trim();
    if (res.status === 0 && path.startsWith('/')) return path;
  }
  return null;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startLocalProcess(bin: string, args: string[], logFile: string): LocalProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', WATCHDOG, 'flowpilot-watchdog', bin, ...args], {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: { ...process.env, FP_WATCH_PID: String(process.pid) },
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid ?? -1;
  let running = pid > 0;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running = false;
      resolve(code);
    });
    child.once('error', () => {
      running = false;
      resolve(null);
    });
  });
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    logFile,
    exited,
    isRunning: () => running,
    logTail(bytes = 2000) {
      try {
        const text = readFileSync(logFile, 'utf8');
        return text.slice(-bytes);
      } catch {
        return '';
      }
    },
    async stop(graceMs = 5000) {
      if (pid <= 0) return;
      if (running) {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The watchdog's `sleep` may still be in the group for up to a second.
      if (groupAlive(pid)) signalGroup('SIGKILL');
    },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `wanted` when it is free on 127.0.0.1, else the next free port after it; 0 = any free port. */
export async function choosePort(wanted: number, taken: ReadonlySet<number> = new Set()): Promise<number> {
  if (wanted === 0) {
    return new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
  }
  for (let p = wanted; p < 65535; p++) if (!taken.has(p) && (await portFree(p))) return p;
  return choosePort(0, taken);
}
