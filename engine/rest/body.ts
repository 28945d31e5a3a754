/**
 * Request bodies: reading with a size limit (413 past it, as Flink's
 * rest.server.max-content-length), JSON parsing with Flink's leniency (an empty body is `{}`,
 * unknown fields are ignored) and typed validation through zod, where a mismatch becomes a 400
 * naming the request class, what was wrong and the field path (e.g. `programArgsList[1]`).
 */
import type http from 'node:http';
import type { z } from 'zod';
import { badBody, handlerError, payloadTooLarge } from './errors.ts';

/** Reads the whole body, refusing more than `maxBytes` (by Content-Length up front, else while streaming). */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw payloadTooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw payloadTooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Formats a zod issue path as a field path: `a.b[0].c`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out.length === 0 ? '<root>' : out;
}

/** Parses a JSON body (empty → `{}`) and validates it; throws a 400 RestError naming the field. */
export function parseJsonBody<S extends z.ZodType>(raw: Buffer, schema: S, requestClass: string): z.infer<S> {
  const text = raw.toString('utf8').trim();
  let value: unknown = {};
  if (text.length > 0) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badBody(requestClass, `Malformed JSON: ${(err as Error).message}`, jsonErrorWhere(text, err as Error));
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw badBody(requestClass, issue.message, fieldPath(issue.path));
  }
  return result.data;
}

function jsonErrorWhere(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return 'body';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** Parses a multipart/form-data body into its file parts (parts without a filename are skipped). */
export function parseMultipart(body: Buffer, contentType: string): UploadedFile[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw handlerError(400, 'The multipart/form-data request has no boundary.');
  const boundary = Buffer.from(`--${(m[1] ?? m[2]!).trim()}`);
  const files: UploadedFile[] = [];
  let pos = body.indexOf(boundary);
  while (pos !== -1) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd === -1) break;
    const next = body.indexOf(boundary, headerEnd + 4);
    if (next === -1) break;
    const headers = body.subarray(start, headerEnd).toString('utf8');
    const data = body.subarray(headerEnd + 4, next - 2); // drop the CRLF before the boundary
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const field = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const type = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
    if (filename !== undefined) files.push({ field, filename, contentType: type, data: Buffer.from(data) });
    pos = next;
  }
  return files;
}
