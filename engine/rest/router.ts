/**
 * A small method-and-path router with Flink's rules: every route answers both at `/<path>`
 * and at `/v1/<path>`; path parameters are written `:name`; a request whose method and path
 * match no route gets 404 `Not found: <uri>` (Flink has no 405: a known path with the wrong
 * method is "not found" too). Trailing slashes are ignored, as Flink's router does.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route<H> {
  method: Method;
  pattern: string;
  handler: H;
}

export interface RouteMatch<H> {
  route: Route<H>;
  params: Record<string, string>;
}

interface Compiled<H> {
  route: Route<H>;
  segments: string[];
}

export class Router<H> {
  private readonly compiled: Compiled<H>[] = [];

  add(method: Method, pattern: string, handler: H): this {
    this.compiled.push({ route: { method, pattern, handler }, segments: split(pattern) });
    return this;
  }

  get routes(): Route<H>[] {
    return this.compiled.map((c) => c.route);
  }

  /** Matches a path (no query string). Literal segments win over parameters at the same position. */
  match(method: string, path: string): RouteMatch<H> | null {
    let segments = split(path);
    if (segments[0] === 'v1') segments = segments.slice(1);
    let best: { c: Compiled<H>; params: Record<string, string>; literals: number } | null = null;
    for (const c of this.compiled) {
      if (c.route.method !== method || c.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        const want = c.segments[i]!;
        const got = segments[i]!;
        if (want.startsWith(':')) {
          params[want.slice(1)] = safeDecode(got);
        } else if (want === got) {
          literals++;
        } else {
          ok = false;
          break;
        }
      }
      if (ok && (best === null || literals > best.literals)) best = { c, params, literals };
    }
    return best ? { route: best.c.route, params: best.params } : null;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
