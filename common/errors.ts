/**
 * Errors with stable codes. Callers branch on `code`, never on message text.
 * Neutral module: both engine/ and agent/ may import it; it imports neither.
 */
export type ErrorCode = `FP_${string}`;

export class FlowpilotError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowpilotError';
    this.code = code;
    this.details = options?.details;
  }
}

/** A position in a source file, 1-based, as editors and promtool print it. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

export function isFlowpilotError(err: unknown, code?: ErrorCode): err is FlowpilotError {
  return err instanceof FlowpilotError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
