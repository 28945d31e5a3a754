/**
 * What a route handler gets (backend, parsed path and query, body access, clock) and returns
 * (status and JSON body), plus the parameter checks Flink applies before a handler runs:
 * 32-hex job/vertex/trigger ids, numeric checkpoint ids and subtask indices. A malformed
 * parameter is a 400 "Bad request received." naming the parameter and value.
 */
import type http from 'node:http';
import type { Logger } from '../../common/log.ts';
import type { JobView, RestBackend, VertexView } from './backend.ts';
import { badParameter, jobNotFound, vertexNotFound } from './errors.ts';
import type { JarStore } from './jars.ts';
import type { ClusterIdentity } from './views-cluster.ts';

export interface RequestContext {
  backend: RestBackend;
  params: Record<string, string>;
  query: URLSearchParams;
  req: http.IncomingMessage;
  /** The request URI as received (path and query). */
  uri: string;
  now: number;
  /** The raw body, size-limited (413 past the limit). */
  body(): Promise<Buffer>;
  jars: JarStore;
  identity: ClusterIdentity;
  /** "http://host:port" the server answers on (for /jars `address`). */
  address: string;
  logger: Logger;
  /** Cuts the server's own directories out of a text meant for the client (stack traces, messages). */
  scrub(text: string): string;
}

export interface Reply {
  status: number;
  body: unknown;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export const ok = (body: unknown): Reply => ({ status: 200, body });
export const accepted = (body: unknown): Reply => ({ status: 202, body });

const HEX32 = /^[0-9a-fA-F]{32}$/;

export function hexParam(ctx: RequestContext, name: string): string {
  const value = ctx.params[name] ?? '';
  if (!HEX32.test(value)) throw badParameter('path', name, value, 'Expected a 32-character hexadecimal string.');
  return value.toLowerCase();
}

export function intParam(ctx: RequestContext, name: string): number {
  const value = ctx.params[name] ?? '';
  if (!/^\d{1,15}$/.test(value)) throw badParameter('path', name, value, 'Expected a non-negative integer.');
  return Number(value);
}

/** All values of a query parameter (repeated or comma-joined are both accepted by callers). */
export function queryAll(ctx: RequestContext, name: string): string[] {
  return ctx.query.getAll(name);
}

export function queryInt(ctx: RequestContext, name: string): number | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d{1,10}$/.test(v)) throw badParameter('query', name, v, 'Expected an integer.');
  return Number(v);
}

export function queryBool(ctx: RequestContext, name: string): boolean | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  const lower = v.toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw badParameter('query', name, v, 'Expected true or false.');
  return lower === 'true';
}

export function requireJob(ctx: RequestContext): JobView {
  const jobId = hexParam(ctx, 'jobid');
  const job = ctx.backend.getJob(jobId);
  if (!job) throw jobNotFound(jobId);
  return job;
}

export function requireVertex(ctx: RequestContext): { job: JobView; vertex: VertexView } {
  const job = requireJob(ctx);
  const vertexId = hexParam(ctx, 'vertexid');
  const vertex = job.vertices.find((v) => v.id === vertexId);
  if (!vertex) throw vertexNotFound(vertexId);
  return { job, vertex };
}
