/**
 * Flink's REST error bodies. Flink answers every error with `{"errors":[...]}`. Errors raised
 * by a handler (RestHandlerException and friends) carry the stringified Java exception: its
 * class, its message, then a stack trace and causes. We write the same first line
 * (`<class>: <message>`), then `Caused by:` lines where Flink would have a cause worth
 * reading (e.g. the field a bad JSON body failed at), and no Java stack frames. Router-level
 * answers ("Not found: <uri>") have no class prefix, as in Flink.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { REST_ERROR_STATUS } from './backend.ts';

export const REST_HANDLER_EXCEPTION = 'org.apache.flink.runtime.rest.handler.RestHandlerException';
export const NOT_FOUND_EXCEPTION = 'org.apache.flink.runtime.rest.NotFoundException';
export const HANDLER_REQUEST_EXCEPTION = 'org.apache.flink.runtime.rest.handler.HandlerRequestException';

/** An HTTP error with Flink's body; thrown inside handlers and written by the server. */
export class RestError extends Error {
  readonly status: number;
  readonly errors: string[];

  constructor(status: number, errors: string[]) {
    super(errors[0] ?? `HTTP ${status}`);
    this.name = 'RestError';
    this.status = status;
    this.errors = errors;
  }
}

/** A RestHandlerException-style error: `<class>: <message>` plus optional causes. */
export function handlerError(
  status: number,
  message: string,
  opts: { exceptionClass?: string; causes?: Array<{ exceptionClass: string; message: string }> } = {},
): RestError {
  let text = `${opts.exceptionClass ?? REST_HANDLER_EXCEPTION}: ${message}`;
  for (const cause of opts.causes ?? []) text += `\nCaused by: ${cause.exceptionClass}: ${cause.message}`;
  return new RestError(status, [text]);
}

export function routeNotFound(uri: string): RestError {
  return new RestError(404, [`Not found: ${uri}`]);
}

export function jobNotFound(jobId: string): RestError {
  return handlerError(404, `Job ${jobId} not found`, { exceptionClass: NOT_FOUND_EXCEPTION });
}

export function vertexNotFound(vertexId: string): RestError {
  return handlerError(404, `No vertex with ID '${vertexId}' exists.`);
}

/** A path or query parameter that does not parse ("Bad request received." in Flink). */
export function badParameter(kind: 'path' | 'query', name: string, value: string, reason?: string): RestError {
  const detail = `Cannot resolve ${kind} parameter (${name}) from value "${value}".${reason ? ` ${reason}` : ''}`;
  return handlerError(400, 'Bad request received.', {
    causes: [{ exceptionClass: HANDLER_REQUEST_EXCEPTION, message: detail }],
  });
}

/** A JSON body that is not JSON or does not match the request class; `where` names the field path. */
export function badBody(requestClass: string, problem: string, where: string): RestError {
  return handlerError(400, `Request did not match expected format ${requestClass}.`, {
    causes: [{ exceptionClass: 'com.fasterxml.jackson.databind.JsonMappingException', message: `${problem} (at ${where})` }],
  });
}

export function payloadTooLarge(maxBytes: number): RestError {
  return new RestError(413, [
    `HTTP content length exceeded ${maxBytes} bytes. Try to raise [rest.server.max-content-length]`,
  ]);
}

/** Maps whatever a backend threw to Flink's status and body. */
export function toRestError(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof FlowpilotError) {
    const override = err.details?.httpStatus;
    const status = typeof override === 'number' ? override : REST_ERROR_STATUS[err.code] ?? 500;
    if (status >= 500 && typeof override !== 'number' && !(err.code in REST_ERROR_STATUS)) return internalError(err);
    const cls = status === 404 ? NOT_FOUND_EXCEPTION : REST_HANDLER_EXCEPTION;
    return handlerError(status, err.message, { exceptionClass: cls });
  }
  return internalError(err);
}

function internalError(err: unknown): RestError {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new RestError(500, ['Internal server error.', `<Exception on server side:\n${text}\nEnd of exception on server side>`]);
}
