/**
 * A Flink REST replay for many jobs on one HTTP server, for the fleet bench. Each job is one of
 * the recorded scenarios of test/fixtures/flink-recorded/ (real Flink responses recorded in the
 * Flink Kubernetes Operator's tests, with the metric values those tests build in code), under its
 * own job id and name, and is chosen by the request's Host header: `<name>-rest.<ns>.svc`, the
 * Service the operator creates for a FlinkDeployment (svc-dns.ts makes those names reach this
 * server). What a recording cannot give, a live job's moving counters, is added here: every
 * `numRecordsIn`/`numRecordsOut` counter grows at the rate the recording implies (its value over
 * the recorded job's duration, times `rateFactor`), so rates and busy times make a steady job.
 * `PUT /jobs/:id/resource-requirements` (what an in-place rescale and the fake operator model's
 * NATIVE scale send) changes the vertices' parallelism; the subtasks are re-sized keeping the
 * job's total rate, and their busy time spread over the new parallelism.
 *
 * Not recorded in the operator's tests, so synthesized here to agree with the job: the cluster
 * (`/overview`) and its two TaskManagers (`/taskmanagers`, in the shape of
 * test/fixtures/flink-rest/taskmanagers.json, each with the TaskManager metric ids and values of
 * test/fixtures/flink-rest-agent/metric-store.json, served by `/taskmanagers/metrics` and
 * `/taskmanagers/:id/metrics`), and the job's checkpoint gauges (the counts of its recorded
 * `/checkpoints`, or none taken when checkpointing is off and `/checkpoints` answers 404, as Flink does).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { listOrGet, loadFixtures, loadRecordedScenario, recordedScenarioNames, type MetricMap, type MetricStore } from '../../test/agent/flink-fixture-server.ts';

const COUNTER = /numRecords(In|Out)$/;
const PER_SECOND_TIMES = /^(busyTimeMsPerSecond|backPressuredTimeMsPerSecond)$/;

interface Vertex { id: string; parallelism: number; tasks?: Record<string, number>; [k: string]: unknown }
interface Details { jid: string; name: string; state: string; now?: number; duration?: number; 'start-time': number; vertices: Vertex[]; [k: string]: unknown }

export interface ReplayJob {
  /** the Host (without port) this job answers on, e.g. orders-rest.team-a.svc */
  host: string;
  scenario: string;
  jobId: string;
  name: string;
  /** requests served for this job */
  requests: number;
  /** resource-requirements changes received */
  rescales: number;
}

interface TaskManagerInfo { id: string; path: string; dataPort: number; slotsNumber: number; freeSlots: number; [k: string]: unknown }

/** The TaskManager metrics every replayed TaskManager has (ids and values of the agent's fixture store). */
const TM_METRICS: MetricMap[] = Object.values(loadFixtures().store.taskmanagers);

interface CheckpointCounts { counts?: { total?: number; completed?: number; failed?: number; in_progress?: number; restored?: number }; latest?: { completed?: { end_to_end_duration?: number; checkpointed_size?: number; state_size?: number; id?: number } | null } }

interface LiveJob extends ReplayJob {
  rest: Record<string, unknown>;
  store: MetricStore;
  /** per vertex, per subtask: metric id -> records/s */
  rates: Record<string, Array<Record<string, number>>>;
  startedAt: number;
  recordedAt: number;
}

export interface ReplayServerOptions {
  clock?: () => number;
  /** multiplies every recorded rate (default 1) */
  rateFactor?: number;
}

function num(v: string | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

export class FlinkReplayServer {
  private readonly jobs = new Map<string, LiveJob>();
  private readonly server: http.Server;
  private readonly clock: () => number;
  private readonly rateFactor: number;
  /** requests whose Host matched no job */
  unknownHost = 0;

  constructor(o: ReplayServerOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.rateFactor = o.rateFactor ?? 1;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  static scenarios(): string[] {
    return recordedScenarioNames();
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /**
   * Adds a job answering on `host`, replaying `scenario` under a fresh job id and the given name.
   * `busyFactor` multiplies the recorded busy times (capped at 1000 ms/s): above 1 an overloaded job.
   */
  addJob(host: string, scenario: string, name: string, opts: { busyFactor?: number } = {}): ReplayJob {
    const { rest, store, scenario: sc } = loadRecordedScenario(scenario);
    const jobId = randomBytes(16).toString('hex');
    const swap = <T>(x: T): T => JSON.parse(JSON.stringify(x).replaceAll(sc.jobId, jobId)) as T;
    const r = swap(rest);
    const s = swap(store);
    const details = r[`/jobs/${jobId}`] as Details;
    details.name = name;
    details.state = 'RUNNING';
    (r['/jobs/overview'] as { jobs: Array<{ name: string; state: string }> }).jobs[0]!.name = name;
    (r['/jobs/overview'] as { jobs: Array<{ name: string; state: string }> }).jobs[0]!.state = 'RUNNING';
    if (opts.busyFactor !== undefined) {
      for (const subs of Object.values(s.subtasks[jobId] ?? {})) {
        for (const m of subs) {
          const busy = Number(m.busyTimeMsPerSecond);
          if (m.busyTimeMsPerSecond === undefined || !Number.isFinite(busy)) continue;
          m.busyTimeMsPerSecond = String(Math.min(1000, busy * opts.busyFactor));
          m.idleTimeMsPerSecond = String(Math.max(0, 1000 - Number(m.busyTimeMsPerSecond) - num(m.backPressuredTimeMsPerSecond)));
        }
      }
    }
    const seconds = Math.max(1, (details.duration ?? 60_000) / 1000);
    const rates: LiveJob['rates'] = {};
    for (const [vid, subs] of Object.entries(s.subtasks[jobId] ?? {})) {
      rates[vid] = subs.map((m) => Object.fromEntries(Object.entries(m).filter(([id]) => COUNTER.test(id)).map(([id, v]) => [id, num(v) / seconds * this.rateFactor])));
    }
    // Two TaskManagers sharing the job's slots, room for 16 more (what /overview says too).
    const used = Math.max(...details.vertices.map((v) => v.parallelism));
    const perTm = Math.ceil(used / 2) + 8;
    const tms: TaskManagerInfo[] = [0, 1].map((i) => {
      const addr = `10.0.${i}.${(jobId.charCodeAt(0) % 200) + 10}`;
      const id = `${addr}:6122-${jobId.slice(i * 6, i * 6 + 6)}`;
      return {
        id, path: `pekko.tcp://flink@${addr}:6122/user/rpc/taskmanager_0`, dataPort: 6121, jmxPort: -1,
        timeSinceLastHeartbeat: this.clock(), slotsNumber: perTm, freeSlots: perTm - (i === 0 ? Math.ceil(used / 2) : Math.floor(used / 2)),
      };
    });
    r['/taskmanagers'] = { taskmanagers: tms };
    s.taskmanagers = Object.fromEntries(tms.map((tm, i) => [tm.id, { ...TM_METRICS[i % TM_METRICS.length]! }]));
    // The job's checkpoint gauges, as Flink's CheckpointStatsTracker registers them.
    const cp = r[`/jobs/${jobId}/checkpoints`] as CheckpointCounts | undefined;
    const done = cp?.latest?.completed ?? null;
    s.jobs[jobId] = {
      ...(s.jobs[jobId] ?? {}),
      totalNumberOfCheckpoints: String(cp?.counts?.total ?? 0),
      numberOfCompletedCheckpoints: String(cp?.counts?.completed ?? 0),
      numberOfFailedCheckpoints: String(cp?.counts?.failed ?? 0),
      numberOfInProgressCheckpoints: String(cp?.counts?.in_progress ?? 0),
      lastCheckpointDuration: String(done?.end_to_end_duration ?? -1),
      lastCheckpointSize: String(done ? (done.checkpointed_size ?? done.state_size ?? -1) : -1),
      lastCompletedCheckpointId: String(done?.id ?? -1),
      lastCheckpointRestoreTimestamp: '-1',
    };
    const job: LiveJob = {
      host: host.toLowerCase(), scenario, jobId, name, requests: 0, rescales: 0,
      rest: r, store: s, rates, startedAt: this.clock(), recordedAt: this.clock(),
    };
    this.jobs.set(job.host, job);
    return job;
  }

  removeJob(host: string): void {
    this.jobs.delete(host.toLowerCase());
  }

  job(host: string): ReplayJob | undefined {
    return this.jobs.get(host.toLowerCase());
  }

  allJobs(): ReplayJob[] {
    return [...this.jobs.values()];
  }

  /** The job's subtask metrics now: counters advanced by their rates since the job was added. */
  private subtasksNow(j: LiveJob, vid: string): MetricMap[] {
    const elapsed = (this.clock() - j.recordedAt) / 1000;
    const subs = j.store.subtasks[j.jobId]?.[vid] ?? [];
    return subs.map((m, i) => {
      const out: MetricMap = { ...m };
      for (const [id, rate] of Object.entries(j.rates[vid]?.[i] ?? {})) out[id] = String(Math.floor(num(m[id]) + rate * elapsed));
      return out;
    });
  }

  private details(j: LiveJob): Details {
    const d = j.rest[`/jobs/${j.jobId}`] as Details;
    const now = this.clock();
    return { ...d, now, duration: now - d['start-time'] };
  }

  /** A vertex's subtasks, spread over the job's TaskManagers (synthesized: /jobs/:id/vertices/:vid is not recorded). */
  private vertexDetails(j: LiveJob, v: Vertex): Record<string, unknown> {
    const tms = (j.rest['/taskmanagers'] as { taskmanagers: TaskManagerInfo[] }).taskmanagers;
    const subtasks = Array.from({ length: v.parallelism }, (_, i) => {
      const tm = tms[i % tms.length]!;
      const host = tm.id.replace(/:\d+-[0-9a-f]+$/, '');
      return { subtask: i, status: 'RUNNING', attempt: 0, endpoint: `${host}:${tm.dataPort}`, 'taskmanager-id': tm.id };
    });
    return { id: v.id, name: v['name'], parallelism: v.parallelism, now: this.clock(), subtasks };
  }

  /** Re-sizes a vertex: the counters are frozen at their current values, the rates and busy times spread over `p` subtasks. */
  private resize(j: LiveJob, vid: string, p: number): void {
    const d = j.rest[`/jobs/${j.jobId}`] as Details;
    const v = d.vertices.find((x) => x.id === vid);
    if (!v || v.parallelism === p) return;
    const now = this.subtasksNow(j, vid);
    const old = now.length;
    const rates = j.rates[vid] ?? [];
    // Fold every subtask's counters into the new ones (totals keep growing at the job's rate).
    const totals: Record<string, number> = {};
    const rateTotals: Record<string, number> = {};
    for (let i = 0; i < old; i++) {
      for (const id of Object.keys(rates[i] ?? {})) {
        totals[id] = (totals[id] ?? 0) + num(now[i]![id]);
        rateTotals[id] = (rateTotals[id] ?? 0) + rates[i]![id]!;
      }
    }
    const subs: MetricMap[] = [];
    const newRates: Array<Record<string, number>> = [];
    for (let i = 0; i < p; i++) {
      const base: MetricMap = { ...(now[i % Math.max(1, old)] ?? {}) };
      for (const [id, v2] of Object.entries(base)) if (PER_SECOND_TIMES.test(id) && Number.isFinite(num(v2)) && v2 !== 'NaN') base[id] = String(Math.min(1000, num(v2) * old / p));
      if (base.busyTimeMsPerSecond !== undefined && base.busyTimeMsPerSecond !== 'NaN') {
        base.idleTimeMsPerSecond = String(Math.max(0, 1000 - num(base.busyTimeMsPerSecond) - num(base.backPressuredTimeMsPerSecond)));
      }
      for (const id of Object.keys(totals)) base[id] = String(Math.floor(totals[id]! / p));
      subs.push(base);
      newRates.push(Object.fromEntries(Object.keys(rateTotals).map((id) => [id, rateTotals[id]! / p])));
    }
    // Counters restart from "now": re-base every vertex so the other vertices keep their history.
    for (const other of Object.keys(j.store.subtasks[j.jobId] ?? {})) {
      if (other === vid) continue;
      j.store.subtasks[j.jobId]![other] = this.subtasksNow(j, other);
    }
    j.store.subtasks[j.jobId]![vid] = subs;
    j.rates[vid] = newRates;
    j.recordedAt = this.clock();
    v.parallelism = p;
    if (v.tasks) v.tasks = { ...v.tasks, RUNNING: p };
    j.rescales++;
  }

  private requirements(j: LiveJob): Record<string, { parallelism: { lowerBound: number; upperBound: number } }> {
    const d = j.rest[`/jobs/${j.jobId}`] as Details;
    return Object.fromEntries(d.vertices.map((v) => [v.id, { parallelism: { lowerBound: 1, upperBound: v.parallelism } }]));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const j = this.jobs.get(host);
    if (!j) {
      this.unknownHost++;
      req.resume();
      return send(404, { errors: [`no Flink cluster answers for ${host}`] });
    }
    j.requests++;
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname.replace(/^\/v1(?=\/)/, '');
    const q = u.searchParams;
    const jobPath = `/jobs/${j.jobId}`;
    if (path === `${jobPath}/resource-requirements`) {
      if (req.method === 'PUT') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, { parallelism: { upperBound: number } }>;
            for (const [vid, r] of Object.entries(body)) this.resize(j, vid, Math.max(1, Math.floor(r.parallelism.upperBound)));
            send(200, {});
          } catch (err) {
            send(400, { errors: [String(err)] });
          }
        });
        return;
      }
      return send(200, this.requirements(j));
    }
    req.resume();
    let m: RegExpExecArray | null;
    if (path === jobPath) return send(200, this.details(j));
    // The cluster overview agrees with the synthesized TaskManagers (module comment).
    if (path === '/overview') {
      const tms = (j.rest['/taskmanagers'] as { taskmanagers: TaskManagerInfo[] }).taskmanagers;
      const total = tms.reduce((a, t) => a + t.slotsNumber, 0);
      return send(200, { taskmanagers: tms.length, 'slots-total': total, 'slots-available': tms.reduce((a, t) => a + t.freeSlots, 0), 'jobs-running': 1, 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0 });
    }
    if ((m = /^\/taskmanagers\/([^/]+)\/metrics$/.exec(path)) && path !== '/taskmanagers/metrics') {
      const tm = j.store.taskmanagers[decodeURIComponent(m[1]!)];
      return tm ? send(200, listOrGet([tm], q, false)) : send(404, { errors: ['TaskManager not found'] });
    }
    if (path === '/jobmanager/metrics') return send(200, listOrGet([j.store.jobmanager], q, false));
    if (path === '/taskmanagers/metrics') return send(200, listOrGet(Object.values(j.store.taskmanagers), q, true));
    if (path === `${jobPath}/metrics`) return send(200, listOrGet([j.store.jobs[j.jobId] ?? {}], q, false));
    if ((m = /^\/jobs\/[0-9a-f]{32}\/vertices\/([0-9a-f]{32})\/subtasks\/metrics$/.exec(path)) && path.startsWith(jobPath)) {
      return send(200, listOrGet(this.subtasksNow(j, m[1]!), q, true));
    }
    if ((m = /^\/jobs\/[0-9a-f]{32}\/vertices\/([0-9a-f]{32})\/subtasks\/(\d+)\/metrics$/.exec(path)) && path.startsWith(jobPath)) {
      const sub = this.subtasksNow(j, m[1]!)[Number(m[2])];
      return sub ? send(200, listOrGet([sub], q, false)) : send(404, { errors: ['Subtask not found'] });
    }
    if ((m = /^\/jobs\/[0-9a-f]{32}\/vertices\/([0-9a-f]{32})\/metrics$/.exec(path)) && path.startsWith(jobPath)) {
      const prefixed: MetricMap = {};
      this.subtasksNow(j, m[1]!).forEach((sub, i) => {
        for (const [id, v] of Object.entries(sub)) prefixed[`${i}.${id}`] = v;
      });
      return send(200, listOrGet([prefixed], q, false));
    }
    if ((m = /^\/jobs\/[0-9a-f]{32}\/vertices\/([0-9a-f]{32})$/.exec(path)) && path.startsWith(jobPath)) {
      const v = (j.rest[jobPath] as Details).vertices.find((x) => x.id === m![1]);
      return v ? send(200, this.vertexDetails(j, v)) : send(404, { errors: ['Vertex not found'] });
    }
    const body = j.rest[path];
    if (body === undefined) return send(404, { errors: [`Not found: ${u.pathname}`] });
    return send(200, body);
  }
}
