/**
 * A kept-alive connection that the server closed while it sat idle fails the next request at
 * once ("other side closed", ECONNRESET). Go's HTTP client, and so Prometheus, retries an
 * idempotent request once on a fresh connection in that case; the agent's clients do the same.
 */
const STALE_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function isStaleConnection(err: unknown): boolean {
  return STALE_CODES.has((err as { code?: string } | null)?.code ?? '');
}

/** Methods HTTP defines as idempotent: safe to send again when the connection was stale. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
