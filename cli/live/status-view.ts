/**
 * The live status view of `flowpilot up`: polls the engine's Flink REST API and the agent's API
 * every `intervalMs`, builds a `StatusSnapshot` and writes it out. On a terminal it redraws one
 * full-screen frame per poll (alternate screen, cursor hidden, restored on stop or exit); on
 * anything else it writes one plain summary line whenever the summary changes, plus one every
 * `heartbeatMs` so logs keep showing the rates. A failed poll is shown, never thrown.
 */
import { buildSnapshot, type StatusSnapshot } from './status-model.ts';
import { StatusPoller } from './status-poll.ts';
import { renderFrame, renderSummaryLine, summaryKey } from './status-render.ts';

export interface StatusViewOptions {
  /** the JobManager's REST URL, e.g. http://127.0.0.1:8081 */
  restUrl: string;
  /** the agent's API URL, e.g. http://127.0.0.1:9269; no agent section without it */
  agentUrl?: string;
  /** default: process.stdout */
  out?: NodeJS.WritableStream;
  /** default 1000 */
  intervalMs?: number;
  /** default: whether `out` is a TTY */
  isTTY?: boolean;
  /** colours on a TTY (default true unless NO_COLOR was read by the caller) */
  color?: boolean;
  /** lines drawn above the status on a TTY, e.g. the URLs `flowpilot up` printed */
  header?: string[];
  /** plain mode: also write an unchanged summary after this long, so a log shows the rates now and then (default 300000: 5 min; 0 = never) */
  heartbeatMs?: number;
  /** per request (default: min(2000, intervalMs × 2)) */
  requestTimeoutMs?: number;
  /** called with every snapshot (after it was written) */
  onSnapshot?: (s: StatusSnapshot) => void;
}

export interface StatusView {
  stop(): Promise<void>;
}

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export function startStatusView(opts: StatusViewOptions): StatusView {
  const out = opts.out ?? process.stdout;
  const tty = out as unknown as TtyLike;
  const isTTY = opts.isTTY ?? tty.isTTY === true;
  const intervalMs = Math.max(100, opts.intervalMs ?? 1000);
  const heartbeatMs = opts.heartbeatMs ?? 300_000;
  const poller = new StatusPoller({ restUrl: opts.restUrl, ...(opts.agentUrl ? { agentUrl: opts.agentUrl } : {}), timeoutMs: opts.requestTimeoutMs ?? Math.min(2000, intervalMs * 2) });
  const abort = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let lastKey: string | null = null;
  let lastLineAt = 0;

  const write = (s: string): void => {
    if (!stopped || s === LEAVE) out.write(s);
  };
  const restoreOnExit = (): void => {
    if (isTTY) out.write(LEAVE);
  };
  if (isTTY) {
    write(ENTER);
    process.once('exit', restoreOnExit);
  }

  const show = (s: StatusSnapshot): void => {
    if (isTTY) {
      const frame = renderFrame(s, { width: tty.columns ?? 100, ...(tty.rows ? { height: tty.rows } : {}), color: opts.color ?? true, ...(opts.header ? { header: opts.header } : {}) });
      // Home, then each line cleared to its end, then everything below the frame cleared.
      write(`\x1b[H${frame.split('\n').join('\x1b[K\n')}\x1b[K\x1b[J`);
      return;
    }
    const key = summaryKey(s);
    if (key !== lastKey || (heartbeatMs > 0 && s.time - lastLineAt >= heartbeatMs)) {
      write(`${renderSummaryLine(s)}\n`);
      lastKey = key;
      lastLineAt = s.time;
    }
  };

  const tick = async (): Promise<void> => {
    const started = Date.now();
    try {
      const raw = await poller.poll(abort.signal);
      if (stopped) return;
      const snap = buildSnapshot(raw);
      show(snap);
      opts.onSnapshot?.(snap);
    } catch (err) {
      // buildSnapshot and rendering do not throw on bad answers; this is a last resort.
      if (!stopped) write(isTTY ? `\x1b[H\x1b[2Jstatus view error: ${(err as Error).message}` : `status view error: ${(err as Error).message}\n`);
    }
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = tick();
    }, Math.max(0, intervalMs - (Date.now() - started)));
    timer.unref();
  };
  inFlight = tick();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      await inFlight.catch(() => undefined);
      await poller.close();
      if (isTTY) {
        process.off('exit', restoreOnExit);
        out.write(LEAVE);
      }
    },
  };
}
