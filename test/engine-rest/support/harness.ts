/**
 * Test harness for the REST layer: starts the real server (127.0.0.1, port 0) over a
 * MemoryBackend with a fixed clock and a temporary upload directory, and offers `call` for
 * JSON requests and `upload` for multipart job-module uploads. `stop` closes the server and
 * removes the directory.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RestBackend } from '../../../engine/rest/backend.ts';
import { createRestServer, type RestServer, type RestServerOptions } from '../../../engine/rest/server.ts';
import { MemoryBackend, NOW } from './memory-backend.ts';

export interface Answer {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

export interface Harness<B extends RestBackend = MemoryBackend> {
  backend: B;
  server: RestServer;
  base: string;
  tmp: string;
  call(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  upload(filename: string, content: string, field?: string): Promise<Answer>;
  stop(): Promise<void>;
}

export async function startHarness<B extends RestBackend = MemoryBackend>(
  backend?: B,
  opts: Partial<RestServerOptions> = {},
): Promise<Harness<B>> {
  const be = (backend ?? new MemoryBackend()) as B;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fp-rest-test-'));
  const server = await createRestServer(be, { host: '127.0.0.1', port: 0, uploadDir: path.join(tmp, 'upload'), now: () => NOW, ...opts });
  const base = `http://127.0.0.1:${server.port}`;
  const answer = async (r: Response): Promise<Answer> => {
    const text = await r.text();
    let body: unknown = undefined;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: r.status, body, text, headers: r.headers };
  };
  return {
    backend: be,
    server,
    base,
    tmp,
    async call(method, p, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      return answer(await fetch(base + p, init));
    },
    async upload(filename, content, field = 'jarfile') {
      const form = new FormData();
      form.append(field, new Blob([content], { type: 'application/octet-stream' }), filename);
      return answer(await fetch(`${base}/jars/upload`, { method: 'POST', body: form }));
    },
    async stop() {
      await server.close();
      await fs.rm(tmp, { recursive: true, force: true });
    },
  };
}
