/**
 * A seeded, bounded fuzz of the engine's REST API against a real JobManager (in this process,
 * with one real TaskManager and a running counting job): random methods, paths (every route
 * the router knows, with valid, random and hostile parameters, and random paths), query
 * parameters, bodies (random JSON, request-shaped JSON with hostile fields, raw bytes,
 * multipart uploads with hostile file names) and content types. The bar: no 500, every 4xx has
 * a Flink error body with a message, no answer names a server path, and the cluster still
 * answers and keeps its TaskManager afterwards.
 *
 * The suite runs a short fuzz (engine-rest.test.ts). A longer manual run:
 *   node test/fuzz/engine-rest-fuzz.ts [runs=2000] [seed=<random>]
 * prints the status histogram and any failure, and exits 1 on a failure.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '../../common/log.ts';
import { parseJobManagerConfig, parseTaskManagerConfig } from '../../engine/config/options.ts';
import { JobManager } from '../../engine/jobmanager/job-manager.ts';
import { startRestEndpoint, type RestEndpoint } from '../../engine/jobmanager/rest-endpoint.ts';
import { createRestRouter } from '../../engine/rest/server.ts';
import { TaskManager } from '../../engine/taskmanager/task-manager.ts';

const CODE_ROOT = resolve(import.meta.dirname, '../..');
const COUNTING = resolve(CODE_ROOT, 'engine/jobs/counting.ts');

/** A generated request; `$JOB`, `$VERTEX`, `$TRIGGER`, `$JAR`, `$TM` and `$ROOT` are filled in when it is sent. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; bytes: Uint8Array } | { kind: 'multipart'; filename: string; content: string; field: string; boundary: 'ok' | 'missing' | 'wrong' };
}

export interface FuzzFailure {
  request: string;
  status: number;
  problem: string;
  body: string;
}

export interface FuzzResult {
  runs: number;
  seed: number;
  histogram: Record<string, number>;
  failures: FuzzFailure[];
  /** Accepted commands: uploads, jobs started through /jars/:id/run, savepoint/stop triggers, resource-requirement changes, cancels. */
  accepted: { uploads: number; runs: number; savepointTriggers: number; requirementChanges: number; cancels: number };
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Generators

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
const junkText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '.', '..', '../..', '%', '%zz', '%00', '%2F', '%2e%2e', '\u0000', 'null', 'undefined', '-1', '1e400', 'NaN', '__proto__', 'constructor', '💥', 'a/b', 'ÿ'),
  fc.integer({ min: 200, max: 6000 }).map((n) => 'x'.repeat(n)),
);
/** A path segment as sent: percent-encoded text, or raw printable ASCII (what a client may put on the request line). */
const rawSegment = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 })
  .map((s) => s.replaceAll('?', '%3F').replaceAll('#', '%23'));
const junkSegment = fc.oneof(junkText.map((s) => encodeURIComponent(s)), rawSegment);

const PARAM_VALUES: Record<string, fc.Arbitrary<string>> = {
  jobid: fc.oneof({ weight: 5, arbitrary: fc.constant('$JOB') }, { weight: 2, arbitrary: hex32 }, { weight: 2, arbitrary: junkSegment }),
  vertexid: fc.oneof({ weight: 5, arbitrary: fc.constant('$VERTEX') }, { weight: 2, arbitrary: hex32 }, { weight: 2, arbitrary: junkSegment }),
  triggerid: fc.oneof({ weight: 4, arbitrary: fc.constant('$TRIGGER') }, { weight: 2, arbitrary: hex32 }, { weight: 2, arbitrary: junkSegment }),
  jarid: fc.oneof({ weight: 4, arbitrary: fc.constant('$JAR') }, { weight: 2, arbitrary: fc.uuid().map((u) => `${u}_job.ts`) }, { weight: 3, arbitrary: junkSegment }),
  taskmanagerid: fc.oneof({ weight: 3, arbitrary: fc.constant('$TM') }, { weight: 3, arbitrary: junkSegment }),
  checkpointid: fc.oneof(fc.nat({ max: 50 }).map(String), fc.constantFrom('-1', '99999999999999999999', '1.5', '0x10'), junkSegment),
  subtaskindex: fc.oneof(fc.nat({ max: 10 }).map(String), fc.constantFrom('-1', '4294967296', '99999999999999999999'), junkSegment),
};

const QUERY_KEYS = [
  'get', 'agg', 'subtasks', 'parallelism', 'mode', 'programArg', 'program-args', 'maxExceptions', 'failureLabelFilter', 'jobs',
  'taskmanagers', 'savepointPath', 'allowNonRestoredState', 'entry-class', 'x',
];
const queryValue = fc.oneof(
  fc.constantFrom('uptime', 'numRestarts,busyTimeMsPerSecond', 'min,max,avg,sum,skew', 'median', '0-2', '1-x', '3,1', 'cancel', 'stop', 'true', 'false', 'yes', '-1', '0', '7', '99999999999', 'a:b'),
  junkText,
);
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 4 }).map((pairs) => {
  if (pairs.length === 0) return '';
  return `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
});

/** Every route pattern the server knows (all switches on), so new routes are fuzzed without edits here. */
function routePatterns(): Array<{ method: string; pattern: string }> {
  return createRestRouter().routes.map((r) => ({ method: r.method, pattern: r.pattern }));
}

function pathFor(pattern: string): fc.Arbitrary<string> {
  const parts = pattern.split('/').filter((p) => p !== '');
  return fc.tuple(...parts.map((p) => (p.startsWith(':') ? (PARAM_VALUES[p.slice(1)] ?? junkSegment) : fc.constant(p))), fc.boolean(), fc.boolean())
    .map((xs) => {
      const segs = xs.slice(0, parts.length) as string[];
      const v1 = xs[parts.length] as boolean;
      const slash = xs[parts.length + 1] as boolean;
      return `${v1 ? '/v1' : ''}/${segs.join('/')}${slash ? '/' : ''}`;
    });
}

const savepointTarget = fc.oneof(
  fc.constant('$ROOT/sp'),
  fc.integer({ min: 256, max: 5000 }).map((n) => `$ROOT/${'s'.repeat(n)}`),
  fc.integer({ min: 1, max: 40 }).map((n) => `$ROOT/${Array.from({ length: n }, () => 'd'.repeat(200)).join('/')}`),
  fc.constantFrom('relative/dir', '/', '/etc', '/proc/self', '$ROOT/../escape', 'file:$ROOT/sp2', 's3://bucket/sp', '$ROOT/a\u0000b', '', ' '),
  junkText,
);

const configValue = fc.oneof(fc.constantFrom('10s', '100', '-1', 'abc', 'true', '0', '1ms', '99999999999999999999', 'fixed-delay', 'none', 'exponential-delay'), junkText);
const flinkConfiguration = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'execution.checkpointing.interval', 'execution.checkpointing.timeout', 'restart-strategy.type', 'restart-strategy.fixed-delay.attempts',
      'pipeline.jobvertex-parallelism-overrides', 'state.savepoints.dir', 'execution.checkpointing.dir', 'execution.checkpointing.savepoint-dir',
      'pipeline.max-parallelism', 'parallelism.default', 'execution.checkpointing.tolerable-failed-checkpoints',
    ),
    junkText,
  ),
  configValue,
  { maxKeys: 3 },
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(fc.oneof(a, junkText as fc.Arbitrary<unknown>), { nil: undefined });
const int = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constantFrom(2 ** 31, 2 ** 53, -(2 ** 31), 1.5, 1e300));

const jsonBodies: Record<string, fc.Arbitrary<unknown>> = {
  validRun: fc.record({
    programArgsList: fc.constant(['--rate', '20', '--limit', '200', '--output', '$ROOT/out-run', '--checkpoint-interval', '500']),
    parallelism: fc.integer({ min: 1, max: 3 }),
    savepointPath: fc.option(fc.constantFrom('$ROOT/sp', '$ROOT/nope'), { nil: undefined }),
  }, { requiredKeys: ['programArgsList', 'parallelism'] }),
  run: fc.record({
    entryClass: maybe(fc.string()), programArgs: maybe(fc.string({ maxLength: 60 })),
    programArgsList: maybe(fc.array(fc.oneof(fc.constantFrom('--rate', '10', '--limit', '5', '--output', '$ROOT/out', '--partitions', '0', '--keys', '-3', '--checkpoint-interval'), fc.string()), { maxLength: 8 })),
    parallelism: maybe(int), jobId: maybe(hex32), allowNonRestoredState: maybe(fc.boolean()), savepointPath: maybe(savepointTarget),
    claimMode: maybe(fc.constantFrom('CLAIM', 'NO_CLAIM', 'LEGACY')), flinkConfiguration: maybe(flinkConfiguration),
  }, { requiredKeys: [] }),
  savepoint: fc.record({
    'target-directory': maybe(savepointTarget), 'cancel-job': maybe(fc.boolean()), formatType: maybe(fc.constantFrom('CANONICAL', 'NATIVE')),
    triggerId: maybe(fc.oneof(hex32, fc.constant('$TRIGGER'))),
  }, { requiredKeys: [] }),
  stop: fc.record({
    targetDirectory: maybe(savepointTarget), drain: maybe(fc.boolean()), formatType: maybe(fc.constantFrom('CANONICAL', 'NATIVE')), triggerId: maybe(hex32),
  }, { requiredKeys: [] }),
  requirements: fc.oneof(
    fc.record({ lower: fc.integer({ min: 1, max: 2 }), upper: fc.integer({ min: 1, max: 128 }), extra: fc.constant(false), drop: fc.constant(false) }).map((r) => ({ $REQUIREMENTS: r })),
    fc.record({ lower: int, upper: int, extra: fc.boolean(), drop: fc.boolean() }).map((r) => ({ $REQUIREMENTS: r })),
    fc.dictionary(fc.oneof(hex32, fc.constant('$VERTEX'), junkText), fc.record({ parallelism: fc.record({ lowerBound: fc.oneof(int, junkText), upperBound: fc.oneof(int, junkText) }) }), { maxKeys: 3 }),
  ),
};

const moduleContent = fc.oneof(
  fc.constant('$COUNTING'),
  fc.constantFrom('throw new Error("boom at import");', 'export default 42;', 'export default () => { throw new Error("boom at build"); };', 'export const x = 1;', '', 'this is not javascript {'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const filename = fc.oneof(
  fc.constantFrom('job.ts', 'job.js', 'job.mjs', 'job.jar', '.ts', '../../../../tmp/evil.ts', 'a\u0000b.ts', 'dir/sub/job.ts', 'C:\\win\\job.ts', 'job.ts\u0000.jar', 'my job.ts', 'ünïcødé.ts', 'new\nline.ts'),
  fc.integer({ min: 100, max: 400 }).map((n) => `${'n'.repeat(n)}.ts`),
  fc.string({ maxLength: 30 }).map((s) => `${s}.ts`),
);

const body: fc.Arbitrary<FuzzRequest['body']> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 6, arbitrary: fc.oneof(...Object.values(jsonBodies)).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'raw' as const, bytes })) },
  { weight: 1, arbitrary: fc.constantFrom('{', '[1,2', '{"a":}', 'null', '"x"', '1e999', '{"__proto__":{"x":1}}', '\u0000').map((t) => ({ kind: 'raw' as const, bytes: new TextEncoder().encode(t) })) },
  {
    weight: 1,
    arbitrary: fc.record({ filename, content: moduleContent, field: fc.constantFrom('jarfile', 'file', ''), boundary: fc.constantFrom('ok', 'missing', 'wrong') })
      .map((m) => ({ kind: 'multipart' as const, ...m })),
  },
);

const contentType = fc.option(fc.constantFrom('application/json', 'text/plain', 'multipart/form-data', 'application/octet-stream', 'application/json; charset=latin1', 'x/y; boundary=', ''), { nil: undefined });

const multipart: fc.Arbitrary<FuzzRequest['body']> = fc.record({
  filename, content: moduleContent, field: fc.constantFrom('jarfile', 'jarfile', 'file', ''), boundary: fc.constantFrom('ok', 'ok', 'ok', 'missing', 'wrong'),
}).map((m) => ({ kind: 'multipart' as const, ...m }));
const json = (a: fc.Arbitrary<unknown>): fc.Arbitrary<FuzzRequest['body']> => a.map((value) => ({ kind: 'json' as const, value }));

/** The body a route expects, mostly, so commands get past their first checks; any body now and then. */
function bodyFor(pattern: string): fc.Arbitrary<FuzzRequest['body']> {
  const specific = pattern.endsWith('/jars/upload') ? multipart
    : pattern.endsWith('/run') ? fc.oneof(json(jsonBodies.validRun!), json(jsonBodies.run!))
      : pattern.endsWith('/savepoints') ? json(jsonBodies.savepoint!)
        : pattern.endsWith('/stop') ? json(jsonBodies.stop!)
          : pattern.endsWith('/resource-requirements') ? json(jsonBodies.requirements!)
            : null;
  return specific ? fc.oneof({ weight: 4, arbitrary: specific }, { weight: 1, arbitrary: body }) : body;
}

export function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
  const routes = routePatterns();
  const methods = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'TRACE', 'CONNECTX') });
  const toRequest = (r: { method: string; pattern: string }) => fc.tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constant(r.method) }, { weight: 1, arbitrary: methods }), pathFor(r.pattern), bodyFor(r.pattern),
  );
  // Commands (everything but GET) are where bodies matter: half of the known-route requests go to them.
  const commands = routes.filter((r) => r.method !== 'GET');
  const reads = routes.filter((r) => r.method === 'GET');
  const known = fc.oneof(fc.constantFrom(...commands).chain(toRequest), fc.constantFrom(...reads).chain(toRequest));
  const random = fc.tuple(methods, fc.array(junkSegment, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`), body);
  return fc.record({
    target: fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: random }),
    query,
    contentType,
  }).map(({ target, query: q, contentType: ct }) => {
    const [method, path, b] = target;
    const headers: Record<string, string> = {};
    if (ct !== undefined && Math.abs(hashOf(path)) % 4 === 0) headers['content-type'] = ct;
    else if (b.kind === 'json') headers['content-type'] = 'application/json';
    return { method, path: `${path}${q}`, headers, body: b };
  });
}

/** A stable small hash (the content type is overridden for about a quarter of the requests). */
function hashOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// The cluster under fuzz

export interface FuzzCluster {
  base: string;
  jm: JobManager;
  tm: TaskManager;
  rest: RestEndpoint;
  dir: string;
  uploadDir: string;
  stop(): Promise<void>;
}

export async function startFuzzCluster(): Promise<FuzzCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-rest-fuzz-'));
  const config = parseJobManagerConfig({
    'rest.port': 0, 'jobmanager.rpc.port': 0, 'metrics.reporter.prom.port': 0, 'state.dir': join(dir, 'jm'),
    'flowpilot.savepoint.allowed-roots': dir, 'slot.request.timeout': 600_000,
  });
  const jm = new JobManager({ config, log: silentLogger() });
  await jm.start();
  const rest = await startRestEndpoint(jm);
  const tm = new TaskManager({
    config: parseTaskManagerConfig({
      'jobmanager.address': `127.0.0.1:${jm.rpcPort}`, 'taskmanager.numberOfTaskSlots': 2, 'metrics.reporter.prom.port': 0,
      'taskmanager.state.dir': join(dir, 'tm'),
    }),
    log: silentLogger(),
  });
  await tm.start();
  const deadline = Date.now() + 15_000;
  while (jm.resources.taskManagers.size < 1) {
    if (Date.now() > deadline) throw new Error('the TaskManager did not register');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base: `http://127.0.0.1:${rest.port}`, jm, tm, rest, dir, uploadDir: join(dir, 'jm', 'uploads'),
    async stop() {
      await rest.close();
      await tm.stop();
      await jm.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Live {
  job: string;
  vertices: string[];
  trigger: string;
  jar: string;
  tm: string;
}

/** Keeps one counting job alive (the fuzz may cancel or stop it) and returns the current ids. */
async function live(c: FuzzCluster, state: Live): Promise<Live> {
  const job = c.jm.jobs.get(state.job);
  if (!job || job.isTerminal) {
    const next = await c.jm.submit({
      modulePath: COUNTING, programArgs: ['--rate', '50', '--output', join(c.dir, 'out', randomBytes(4).toString('hex')), '--checkpoint-interval', '500'], parallelism: 1,
    });
    state.job = next.jobId;
  }
  state.vertices = c.jm.jobs.get(state.job)!.graph.vertices.map((v) => v.id);
  state.tm = [...c.jm.resources.taskManagers.keys()][0] ?? 'none';
  return state;
}

function fill(text: string, s: Live, root: string): string {
  return text.replaceAll('$JOB', s.job).replaceAll('$VERTEX', s.vertices[0] ?? '').replaceAll('$TRIGGER', s.trigger)
    .replaceAll('$JAR', encodeURIComponent(s.jar)).replaceAll('$TM', encodeURIComponent(s.tm)).replaceAll('$ROOT', root);
}

function fillValue(v: unknown, s: Live, root: string): unknown {
  if (typeof v === 'string') return fill(v, s, root).replace('$COUNTING', '');
  if (Array.isArray(v)) return v.map((x) => fillValue(x, s, root));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('$REQUIREMENTS' in o) {
      const r = o.$REQUIREMENTS as { lower: number; upper: number; extra: boolean; drop: boolean };
      const ids = r.drop ? s.vertices.slice(1) : s.vertices;
      const out: Record<string, unknown> = Object.fromEntries(ids.map((id) => [id, { parallelism: { lowerBound: r.lower, upperBound: r.upper } }]));
      if (r.extra) out['f'.repeat(32)] = { parallelism: { lowerBound: 1, upperBound: 1 } };
      return out;
    }
    return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined).map(([k, x]) => [k, fillValue(x, s, root)]));
  }
  return v;
}

function encodeBody(req: FuzzRequest, s: Live, root: string): { bytes: Buffer | null; headers: Record<string, string> } {
  const headers = { ...req.headers };
  const b = req.body;
  if (b.kind === 'none') return { bytes: null, headers };
  if (b.kind === 'raw') return { bytes: Buffer.from(b.bytes), headers };
  if (b.kind === 'json') return { bytes: Buffer.from(JSON.stringify(fillValue(b.value, s, root)) ?? 'null'), headers };
  const boundary = `----fuzz${randomBytes(6).toString('hex')}`;
  const content = b.content === '$COUNTING' ? readFileSync(COUNTING) : Buffer.from(b.content, 'latin1');
  const name = b.filename.replaceAll('"', '%22');
  const bytes = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${b.field}"; filename="${name}"\r\ncontent-type: application/octet-stream\r\n\r\n`, 'utf8'),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  headers['content-type'] = b.boundary === 'ok' ? `multipart/form-data; boundary=${boundary}` : b.boundary === 'missing' ? 'multipart/form-data' : 'multipart/form-data; boundary=nope';
  return { bytes, headers };
}

function send(base: string, method: string, path: string, headers: Record<string, string>, bytes: Buffer | null): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const url = new URL(base);
    const h: Record<string, string | number> = { ...headers };
    if (bytes) h['content-length'] = bytes.length;
    let req: http.ClientRequest;
    try {
      req = http.request({ host: url.hostname, port: url.port, method, path, headers: h, agent: false, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch (err) {
      reject(err);
      return;
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within 60 s: ${method} ${path.slice(0, 200)}`)));
    req.on('error', reject);
    req.end(bytes ?? undefined);
  });
}

/** Runs `runs` generated requests one after another and checks every answer. */
export async function fuzzEngineRest(opts: { runs: number; seed: number; log?: (line: string) => void }): Promise<FuzzResult> {
  const started = Date.now();
  const c = await startFuzzCluster();
  const histogram: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  const accepted = { uploads: 0, runs: 0, savepointTriggers: 0, requirementChanges: 0, cancels: 0 };
  const state: Live = { job: '', vertices: [], trigger: '0'.repeat(32), jar: 'none', tm: 'none' };
  const hidden = [c.uploadDir, CODE_ROOT];
  try {
    // A good module stays stored (re-uploaded when the fuzz deletes it) so `$JAR` runs get past the jar lookup.
    const storeJar = async () => {
      const seedJar = encodeBody({ method: 'POST', path: '/jars/upload', headers: {}, body: { kind: 'multipart', filename: 'counting.ts', content: '$COUNTING', field: 'jarfile', boundary: 'ok' } }, state, c.dir);
      const stored = await send(c.base, 'POST', '/jars/upload', seedJar.headers, seedJar.bytes);
      state.jar = (JSON.parse(stored.body) as { filename: string }).filename;
    };
    const cases = fc.sample(requestArbitrary(), { seed: opts.seed, numRuns: opts.runs });
    for (const [i, req] of cases.entries()) {
      await live(c, state);
      if (!existsSync(join(c.uploadDir, state.jar))) await storeJar();
      const path = fill(req.path, state, c.dir);
      const { bytes, headers } = encodeBody(req, state, c.dir);
      const label = `#${i} ${req.method} ${path.length > 160 ? `${path.slice(0, 160)}…` : path} [${req.body.kind}]`;
      let answer: { status: number; body: string };
      try {
        answer = await send(c.base, req.method, path, headers, bytes);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // The client itself refused to send it (e.g. an invalid method token): not a server answer.
        if (code === 'ERR_INVALID_HTTP_TOKEN' || code === 'ERR_UNESCAPED_CHARACTERS' || code === 'ERR_INVALID_CHAR') {
          histogram['not sent'] = (histogram['not sent'] ?? 0) + 1;
          continue;
        }
        failures.push({ request: label, status: 0, problem: `no answer: ${(err as Error).message}`, body: '' });
        continue;
      }
      histogram[answer.status] = (histogram[answer.status] ?? 0) + 1;
      const fail = (problem: string) => failures.push({ request: label, status: answer.status, problem, body: answer.body.slice(0, 600) });
      if (answer.status >= 500 && answer.status !== 503) fail('5xx');
      if (answer.status >= 400 && req.method !== 'HEAD') {
        let errors: unknown;
        try {
          errors = (JSON.parse(answer.body) as { errors?: unknown }).errors;
        } catch {
          errors = undefined;
        }
        if (!Array.isArray(errors) || errors.length === 0 || typeof errors[0] !== 'string' || errors[0].length === 0) fail('error answer without a message');
      }
      for (const h of hidden) if (answer.body.includes(h)) fail(`answer names the server path ${h}`);
      const route = (path.split('?')[0] ?? '').replace(/\/+$/, '');
      if (process.env.FLOWPILOT_FUZZ_TRACE && new RegExp(process.env.FLOWPILOT_FUZZ_TRACE).test(`${req.method} ${route}`)) {
        opts.log?.(`${label} → ${answer.status} ${answer.body.slice(0, 300)}`);
      }
      if (answer.status === 200 && req.method === 'POST' && route.endsWith('/jars/upload')) {
        accepted.uploads++;
        // Later runs use the last uploaded module that can build a job.
        if (req.body.kind === 'multipart' && req.body.content === '$COUNTING') state.jar = (JSON.parse(answer.body) as { filename: string }).filename;
      }
      if (answer.status === 200 && req.method === 'POST' && route.endsWith('/run')) accepted.runs++;
      if (answer.status === 200 && req.method === 'PUT' && route.endsWith('/resource-requirements')) accepted.requirementChanges++;
      if (answer.status === 202 && req.method === 'PATCH') accepted.cancels++;
      if (answer.status === 202 && req.method === 'POST') {
        accepted.savepointTriggers++;
        const id = (JSON.parse(answer.body) as { 'request-id'?: string })['request-id'];
        if (id) state.trigger = id;
      }
      if (opts.log && i % 100 === 99) opts.log(`${i + 1} requests, ${failures.length} failures`);
    }
    // Afterwards the cluster still answers and keeps its TaskManager.
    const overview = await send(c.base, 'GET', '/overview', {}, null);
    if (overview.status !== 200) failures.push({ request: 'GET /overview after the fuzz', status: overview.status, problem: 'cluster not answering', body: overview.body });
    else if ((JSON.parse(overview.body) as { taskmanagers: number }).taskmanagers !== 1) {
      failures.push({ request: 'GET /overview after the fuzz', status: 200, problem: 'the TaskManager was lost', body: overview.body });
    }
  } finally {
    await c.stop();
  }
  return { runs: opts.runs, seed: opts.seed, histogram, failures, accepted, durationMs: Date.now() - started };
}

if (import.meta.main) {
  const runs = Number(process.argv[2] ?? 2000);
  const seed = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 31));
  const result = await fuzzEngineRest({ runs, seed, log: (l) => console.error(l) });
  console.log(JSON.stringify({ ...result, failures: result.failures.slice(0, 20), failureCount: result.failures.length }, null, 2));
  process.exit(result.failures.length === 0 ? 0 : 1);
}
