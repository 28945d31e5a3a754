/**
 * A FAKE Kubernetes API server, for tests only. It serves HTTPS on 127.0.0.1 with a
 * self-signed certificate, so the real @kubernetes/client-node talks to it over the wire
 * exactly as it would to a cluster (URL paths, bearer token, CA loading, content types,
 * JSON bodies). It enforces: bearer-token authentication (401), optimistic concurrency on
 * metadata.resourceVersion (409 Conflict), AlreadyExists (409), patch content types
 * (merge, JSON Patch, strategic merge on built-ins only, otherwise 415), MicroTime fields
 * with exactly 6 fractional digits and a few other field rules (422 Invalid), and an
 * optional RBAC rule list (403 Forbidden). It serves list and watch across all namespaces and
 * watch with resourceVersion semantics: ADDED/MODIFIED/DELETED after the given version,
 * BOOKMARK events on `allowWatchBookmarks=true`, an ERROR event with a 410 Expired Status for a
 * compacted version, `timeoutSeconds`. It records every (verb, group, resource,
 * subresource) it served. It does NOT implement: admission, defaulting, full OpenAPI
 * validation, server-side apply, field managers, finalizers, garbage collection, real
 * controllers (only Deployment/StatefulSet status.replicas follows spec), cluster-scoped
 * resources, discovery, or set-based label selectors. See docs/design/fake-kube-apiserver.md.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseResourcePath, RESOURCE_TYPES, type ParsedPath, type ResourceType } from './resources.ts';
import { ObjectStore, type KubeObject, type WatchEvent } from './store.ts';
import { mergePatch, jsonPatch, PatchError, type Json } from './patch.ts';
import { rbacAllows, forbiddenMessage, type RbacRule, type RequestAttributes } from './rbac.ts';
import { validateObject, validateScale } from './validate.ts';
import { KubeStatusError, notFound, alreadyExists, conflict, invalid, unsupportedMediaType, labelsMatch } from './status.ts';
import { selfSignedCertFor127 } from './tls.ts';

export interface ServedRequest extends RequestAttributes {
  method: string;
  path: string;
  contentType: string;
  code: number;
}

interface Interleave {
  match: (a: RequestAttributes) => boolean;
  run: (store: ObjectStore) => void;
}

export const MERGE = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC = 'application/strategic-merge-patch+json';

interface OpenWatch {
  res: ServerResponse;
  bookmarks: boolean;
  t: ResourceType;
  end(): void;
}

export interface FakeKubeServerOptions {
  token: string;
  user: string;
}

export class FakeKubeApiServer {
  readonly store = new ObjectStore();
  readonly served: ServedRequest[] = [];
  readonly caPem: string;
  private rbac: RbacRule[] | null = null;
  private readonly interleaves: Interleave[] = [];
  private readonly watches = new Set<OpenWatch>();
  /** How often an open watch with allowWatchBookmarks=true gets a BOOKMARK (the real server: about a minute). */
  bookmarkIntervalMs = 60_000;
  private readonly server: https.Server;
  private readonly opts: FakeKubeServerOptions;
  /** TLS connections accepted so far (a client that reuses its connections opens few). */
  tlsConnections = 0;

  constructor(opts: FakeKubeServerOptions) {
    this.opts = opts;
    const { certPem, keyPem } = selfSignedCertFor127();
    this.caPem = certPem;
    this.server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('secureConnection', () => {
      this.tlsConnections++;
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The type for 'configmaps', 'deployments.apps', 'leases.coordination.k8s.io', 'flinkdeployments.flink.apache.org'... */
  typeOf(qualifiedResource: string): ResourceType {
    const t = RESOURCE_TYPES.find((r) => (r.group === '' ? r.resource : `${r.resource}.${r.group}`) === qualifiedResource);
    if (!t) throw new Error(`fake-kube does not serve ${qualifiedResource}`);
    return t;
  }

  /** Reads an object straight from the store (test assertions), or undefined. */
  getObject(qualifiedResource: string, namespace: string, name: string): KubeObject | undefined {
    return this.store.get(this.typeOf(qualifiedResource), namespace, name);
  }

  /** Creates or replaces an object straight in the store (test setup, concurrent writers); bumps resourceVersion. */
  putObject(qualifiedResource: string, namespace: string, obj: Record<string, unknown>): KubeObject {
    const t = this.typeOf(qualifiedResource);
    const o = structuredClone(obj) as KubeObject;
    const name = String(o.metadata.name);
    return this.store.get(t, namespace, name) ? this.store.replace(t, namespace, o) : this.store.create(t, namespace, o);
  }

  /** How many watch streams are open now (optionally of one resource, e.g. 'flinkdeployments'). */
  openWatchCount(resource?: string): number {
    return [...this.watches].filter((w) => resource === undefined || w.t.resource === resource).length;
  }

  /** Ends every open watch stream, as an API server restart or a watch timeout does; clients re-watch. */
  endWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  /** Sends a BOOKMARK at the current resourceVersion to every open watch that asked for bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) if (w.bookmarks) writeEvent(w.res, bookmarkOf(w.t, this.store.currentResourceVersion()));
  }

  /** Drops the watch history: a watch from any version before now gets 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** Turns RBAC enforcement on with these rules, or off with null. */
  setRbac(rules: RbacRule[] | null): void {
    this.rbac = rules;
  }

  /**
   * Runs `run` once, just before the next write matching `match` is applied: a concurrent
   * writer sneaking in between the client's read and its write, as happens in a real cluster.
   */
  interleaveBeforeWrite(match: (a: RequestAttributes) => boolean, run: (store: ObjectStore) => void): void {
    this.interleaves.push({ match, run });
  }

  /** The distinct (verb, group, resource[/subresource]) triples served with a non-403 answer. */
  usedPermissions(): string[] {
    const set = new Set(this.served.filter((s) => s.code !== 403 && s.code !== 401)
      .map((s) => `${s.verb} ${s.group || 'core'} ${s.subresource ? `${s.resource}/${s.subresource}` : s.resource}`));
    return [...set].sort();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const method = req.method ?? 'GET';
    let attrs: RequestAttributes = { verb: method.toLowerCase(), group: '', resource: '', namespace: '' };
    let code = 200;
    let body: unknown;
    try {
      const raw = await readBody(req);
      if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
        throw new KubeStatusError(401, 'Unauthorized', 'Unauthorized');
      }
      const parsed = parseResourcePath(url.pathname);
      if ('unknown' in parsed) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
      attrs = attributesOf(method, parsed, url);
      if (this.rbac && !rbacAllows(this.rbac, attrs)) {
        throw new KubeStatusError(403, 'Forbidden', forbiddenMessage(attrs, this.opts.user),
          { name: attrs.name ?? '', group: attrs.group, kind: attrs.resource });
      }
      if (attrs.verb === 'watch') {
        this.served.push({ ...attrs, method, path: url.pathname, contentType, code: 200 });
        this.serveWatch(parsed, url, res);
        return;
      }
      [code, body] = this.dispatch(parsed, attrs, method, contentType, raw, url);
    } catch (err) {
      if (err instanceof KubeStatusError) [code, body] = [err.code, err.body];
      else [code, body] = [500, new KubeStatusError(500, 'InternalError', String(err)).body];
    }
    this.served.push({ ...attrs, method, path: url.pathname, contentType, code });
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private dispatch(p: ParsedPath, a: RequestAttributes, method: string, contentType: string, raw: string, url: URL): [number, unknown] {
    const t = p.type;
    if (p.subresource !== undefined && (p.subresource !== 'scale' || !t.scaleReplicasPath)) {
      throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (p.namespace === '' && !(method === 'GET' && p.name === undefined)) {
      throw new KubeStatusError(405, 'MethodNotAllowed', `${method} is not allowed on a collection across namespaces here`);
    }
    if (method === 'GET' && p.name === undefined) {
      const sel = url.searchParams.get('labelSelector');
      const items = this.store.list(t, p.namespace).filter((o) => labelsMatch(sel, o.metadata.labels as Record<string, unknown>));
      return [200, { kind: `${t.kind}List`, apiVersion: t.group === '' ? t.version : `${t.group}/${t.version}`, metadata: { resourceVersion: this.store.currentResourceVersion() }, items }];
    }
    if (method === 'POST' && p.name === undefined) return this.create(t, p.namespace, a, contentType, raw);
    if (p.name === undefined) throw new KubeStatusError(405, 'MethodNotAllowed', `${method} is not allowed on a collection here`);
    const name = p.name;
    if (method === 'DELETE') {
      const gone = this.store.delete(t, p.namespace, name);
      if (!gone) throw notFound(t, name);
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: t.group, kind: t.resource, uid: gone.metadata.uid } }];
    }
    const current = this.store.get(t, p.namespace, name);
    if (!current) throw notFound(t, name);
    if (method === 'GET') return [200, p.subresource ? scaleOf(t, current) : current];
    if (method !== 'PUT' && method !== 'PATCH') throw new KubeStatusError(405, 'MethodNotAllowed', `${method} is not supported`);
    return this.write(p, a, name, method, contentType, raw);
  }

  /**
   * A watch stream (one JSON event per line, chunked) as the real server writes it. Without a
   * resourceVersion (or with "0") it starts with a synthetic ADDED per existing object; with one,
   * it replays the events after it from the history, or sends an ERROR event carrying a 410
   * Expired Status and ends when that version was compacted. Then it streams live events.
   */
  private serveWatch(p: ParsedPath, url: URL, res: ServerResponse): void {
    const t = p.type;
    const sel = url.searchParams.get('labelSelector');
    const from = url.searchParams.get('resourceVersion') ?? '';
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const wanted = (et: ResourceType, ns: string, ev: WatchEvent): boolean => et === t && (p.namespace === '' || ns === p.namespace)
      && labelsMatch(sel, ev.object.metadata.labels as Record<string, unknown>);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The real server answers a watch at once; without this, headers wait for the first event and a
    // client that awaits the response (client-node's Watch, so an informer's start()) hangs until then.
    res.flushHeaders();
    let initial: WatchEvent[];
    if (from === '' || from === '0') {
      initial = this.store.list(t, p.namespace).filter((o) => labelsMatch(sel, o.metadata.labels as Record<string, unknown>))
        .map((object) => ({ type: 'ADDED', object }));
    } else {
      const n = Number(from);
      const past = Number.isInteger(n) ? this.store.eventsAfter(n) : 'gone';
      if (past === 'gone') {
        const oldest = this.store.oldestWatchableResourceVersion() + 1;
        writeEvent(res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
          message: `too old resource version: ${from} (${oldest})`, reason: 'Expired', code: 410 } });
        res.end();
        return;
      }
      initial = past.filter((h) => wanted(h.t, h.ns, h.ev)).map((h) => h.ev);
    }
    for (const ev of initial) writeEvent(res, ev);
    const unsubscribe = this.store.onChange((et, ns, ev) => {
      if (wanted(et, ns, ev)) writeEvent(res, ev);
    });
    const timers: NodeJS.Timeout[] = [];
    const w: OpenWatch = {
      res, bookmarks, t,
      end: () => {
        if (!this.watches.delete(w)) return;
        unsubscribe();
        for (const x of timers) clearTimeout(x);
        res.end();
      },
    };
    this.watches.add(w);
    if (bookmarks) timers.push(setInterval(() => writeEvent(res, bookmarkOf(t, this.store.currentResourceVersion())), this.bookmarkIntervalMs));
    if (timeoutSeconds > 0) timers.push(setTimeout(() => w.end(), timeoutSeconds * 1000));
    res.on('close', () => w.end());
  }

  /** PUT or PATCH of an existing object or its scale subresource. */
  private write(p: ParsedPath, a: RequestAttributes, name: string, method: string, contentType: string, raw: string): [number, unknown] {
    const t = p.type;
    const incoming = parseJson(raw);
    for (let i = 0; i < this.interleaves.length; i++) {
      if (this.interleaves[i]!.match(a)) {
        this.interleaves.splice(i, 1)[0]!.run(this.store);
        break;
      }
    }
    const fresh = this.store.get(t, p.namespace, name);
    if (!fresh) throw notFound(t, name);
    const base: KubeObject = p.subresource ? scaleOf(t, fresh) : fresh;
    let next: KubeObject;
    if (method === 'PUT') {
      if (contentType !== 'application/json') throw unsupportedMediaType(contentType, ['application/json']);
      next = incoming as KubeObject;
      const rv = next?.metadata?.resourceVersion;
      if (rv !== undefined && rv !== null && rv !== '' && rv !== fresh.metadata.resourceVersion) throw conflict(t, name);
      if (next?.metadata?.name !== name) {
        throw new KubeStatusError(400, 'BadRequest', `the name of the object (${String(next?.metadata?.name)}) does not match the name on the URL (${name})`);
      }
    } else {
      next = applyPatch(t, base, incoming, contentType);
      if (next.metadata?.resourceVersion !== base.metadata.resourceVersion) throw conflict(t, name);
      next.metadata.name = name;
    }
    if (p.subresource) {
      const causes = validateScale(next);
      if (causes.length) throw invalid(t, name, causes);
      const parent = setPath(fresh, t.scaleReplicasPath!, ((next.spec ?? {}) as Record<string, Json>).replicas ?? 0);
      const causes2 = validateObject(t, parent);
      if (causes2.length) throw invalid(t, name, causes2);
      return [200, scaleOf(t, this.store.replace(t, p.namespace, parent))];
    }
    const causes = validateObject(t, next);
    if (causes.length) throw invalid(t, name, causes);
    return [200, this.store.replace(t, p.namespace, next)];
  }

  private create(t: ResourceType, ns: string, a: RequestAttributes, contentType: string, raw: string): [number, unknown] {
    if (contentType !== 'application/json') throw unsupportedMediaType(contentType, ['application/json']);
    const obj = parseJson(raw) as KubeObject;
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object' || obj.metadata === null) {
      throw new KubeStatusError(400, 'BadRequest', 'the request body must be an object with metadata');
    }
    const md = obj.metadata;
    if (!md.name && typeof md.generateName === 'string') md.name = md.generateName + Math.random().toString(36).slice(2, 7);
    delete md.resourceVersion;
    const name = String(md.name ?? '');
    const causes = validateObject(t, obj);
    if (causes.length) throw invalid(t, name, causes);
    if (this.store.get(t, ns, name)) throw alreadyExists(t, name);
    void a;
    return [201, this.store.create(t, ns, obj)];
  }
}

function attributesOf(method: string, p: ParsedPath, url: URL): RequestAttributes {
  const verb = method === 'GET'
    ? (p.name === undefined ? (url.searchParams.get('watch') === 'true' ? 'watch' : 'list') : 'get')
    : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch'
      : method === 'DELETE' ? (p.name === undefined ? 'deletecollection' : 'delete') : method.toLowerCase();
  const a: RequestAttributes = { verb, group: p.type.group, resource: p.type.resource, namespace: p.namespace };
  if (p.name !== undefined) a.name = p.name;
  if (p.subresource !== undefined) a.subresource = p.subresource;
  return a;
}

function writeEvent(res: ServerResponse, ev: { type: string; object: unknown }): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(ev)}\n`);
}

/** A BOOKMARK carries only the kind and a resourceVersion, as the real server's does. */
function bookmarkOf(t: ResourceType, rv: string): { type: string; object: unknown } {
  return { type: 'BOOKMARK', object: { kind: t.kind, apiVersion: t.group === '' ? t.version : `${t.group}/${t.version}`, metadata: { resourceVersion: rv } } };
}

function applyPatch(t: ResourceType, base: KubeObject, patch: unknown, contentType: string): KubeObject {
  try {
    if (contentType === MERGE) return mergePatch(base, patch as Json) as KubeObject;
    if (contentType === JSON_PATCH) return jsonPatch(base, patch) as KubeObject;
    if (contentType === STRATEGIC && t.builtin) return mergePatch(base, patch as Json) as KubeObject;
  } catch (err) {
    if (err instanceof PatchError) throw new KubeStatusError(422, 'Invalid', err.message);
    throw err;
  }
  const accepted = t.builtin ? [JSON_PATCH, MERGE, STRATEGIC] : [JSON_PATCH, MERGE];
  throw unsupportedMediaType(contentType, accepted);
}

/** The autoscaling/v1 Scale view of an object with a scale subresource. */
function scaleOf(t: ResourceType, obj: KubeObject): KubeObject {
  const specReplicas = getPath(obj, t.scaleReplicasPath!);
  const isFlink = t.group === 'flink.apache.org';
  const statusReplicas = isFlink ? getPath(obj, ['status', 'taskManager', 'replicas']) : getPath(obj, ['status', 'replicas']);
  const selector = isFlink ? getPath(obj, ['status', 'taskManager', 'labelSelector']) : undefined;
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name ?? null, namespace: obj.metadata.namespace ?? null, uid: obj.metadata.uid ?? null,
      resourceVersion: obj.metadata.resourceVersion ?? null, creationTimestamp: obj.metadata.creationTimestamp ?? null,
    },
    spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
    status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' ? { selector } : {}) },
  };
}

function getPath(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

function setPath(obj: KubeObject, path: string[], value: Json): KubeObject {
  const out = structuredClone(obj) as Record<string, Json>;
  let cur = out;
  for (const p of path.slice(0, -1)) {
    const nextVal = cur[p];
    if (typeof nextVal !== 'object' || nextVal === null || Array.isArray(nextVal)) cur[p] = {};
    cur = cur[p] as Record<string, Json>;
  }
  cur[path[path.length - 1]!] = value;
  return out as KubeObject;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw === '' ? 'null' : raw);
  } catch {
    throw new KubeStatusError(400, 'BadRequest', 'the request body is not valid JSON');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
