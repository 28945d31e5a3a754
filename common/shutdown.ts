/**
 * Graceful shutdown on SIGTERM and SIGINT, which is what Kubernetes and Ctrl-C send.
 * Handlers run once, in reverse order of registration, each bounded by a timeout.
 */
type Closer = () => Promise<void> | void;

const closers: Closer[] = [];
let installed = false;
let closing: Promise<void> | null = null;

export function onShutdown(closer: Closer): void {
  closers.push(closer);
  if (!installed) {
    installed = true;
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => {
        void shutdown(0);
      });
    }
  }
}

export function shutdown(exitCode: number, timeoutMs = 10_000): Promise<void> {
  if (closing) return closing;
  closing = (async () => {
    const timer = setTimeout(() => process.exit(exitCode === 0 ? 1 : exitCode), timeoutMs);
    timer.unref();
    for (const closer of closers.slice().reverse()) {
      try {
        await closer();
      } catch {
        // keep closing the rest; the process is going away
      }
    }
    process.exit(exitCode);
  })();
  return closing;
}
