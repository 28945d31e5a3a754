/**
 * The live status view's data model: `StatusSnapshot`, a plain value built by pure functions
 * from the raw JSON answers of the Flink REST API (jobs overview, job details, aggregated
 * subtask metrics) and of the agent's API (/api/v1/alerts, /api/v1/scaling/decisions). Nothing
 * here does I/O, so a snapshot can be built from hand-written answers in tests. Answers are read
 * defensively: an unexpected shape yields "unknown" fields (null), never an exception.
 */

export type BackpressureLevel = 'ok' | 'low' | 'high';

export interface VertexStatus {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number | null;
  status: string;
  isSource: boolean;
  isSink: boolean;
  /** records/s entering the vertex (for a source: records its source operator reads) */
  inRate: number | null;
  /** records/s the vertex emits downstream */
  outRate: number | null;
  /** largest subtask backPressuredTimeMsPerSecond / 1000 */
  backpressureRatio: number | null;
  backpressure: BackpressureLevel | null;
  /** largest subtask busyTimeMsPerSecond / 1000 */
  busyRatio: number | null;
  /** sum of the source operator's pendingRecords over subtasks (sources only) */
  pendingRecords: number | null;
}

export interface JobStatus {
  id: string;
  name: string;
  state: string;
  durationMs: number | null;
  /** empty when the job's details were not fetched (terminal jobs) */
  vertices: VertexStatus[];
  /** records/s read by the sources */
  inRate: number | null;
  /** records/s reaching the sinks (the last vertices) */
  outRate: number | null;
  /** source lag: pendingRecords summed over the sources */
  lag: number | null;
  backpressure: BackpressureLevel | null;
}

export interface AlertStatus {
  name: string;
  severity: string | null;
  summary: string | null;
  labels: Record<string, string>;
  activeAt: string | null;
}

export interface DecisionStatus {
  time: number;
  jobId: string;
  action: string;
  direction: string | null;
  blockedBy: string | null;
  reasons: string[];
  /** vertex id -> [parallelism before, parallelism decided]; `name` from the engine's job details when known */
  changes: Array<{ vertexId: string; name?: string; from: number; to: number }>;
}

export type EngineSection =
  | { reachable: true; jobs: JobStatus[]; taskManagers: number | null; slotsTotal: number | null; slotsAvailable: number | null }
  | { reachable: false; error: string };

export type ScalingSection = { available: false; reason: string } | { available: true; last: DecisionStatus | null; lastRescale: DecisionStatus | null };

export type AgentSection = { reachable: true; alerts: AlertStatus[]; scaling: ScalingSection } | { reachable: false; error: string };

export interface StatusSnapshot {
  time: number;
  restUrl: string;
  engine: EngineSection;
  agentUrl: string | null;
  /** null when no agent URL was given */
  agent: AgentSection | null;
}

/** The answers for one job, as fetched. */
export interface RawJob {
  /** GET /jobs/:id (null when not fetched) */
  detail: unknown;
  /** vertex id -> GET .../subtasks/metrics?get=<task ids>&agg=sum,max */
  taskMetrics: Record<string, unknown>;
  /** vertex id -> GET .../subtasks/metrics?get=<source ids>&agg=sum (sources only) */
  sourceMetrics: Record<string, unknown>;
}

export type Fetched<T> = { ok: true; value: T } | { ok: false; error: string; status?: number };

export interface RawStatus {
  time: number;
  restUrl: string;
  /** GET /overview */
  clusterOverview: Fetched<unknown>;
  /** GET /jobs/overview */
  jobsOverview: Fetched<unknown>;
  /** job id -> its answers */
  jobs: Record<string, RawJob>;
  agentUrl: string | null;
  alerts: Fetched<unknown> | null;
  decisions: Fetched<unknown> | null;
}

/** The task-scope ids the view asks every vertex for. */
export const TASK_METRIC_IDS = ['numRecordsInPerSecond', 'numRecordsOutPerSecond', 'backPressuredTimeMsPerSecond', 'busyTimeMsPerSecond'] as const;

export const TERMINAL_STATES = new Set(['FINISHED', 'CANCELED', 'FAILED', 'SUSPENDED']);

const obj = (x: unknown): Record<string, unknown> | null => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : null);
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
const num = (x: unknown): number | null => {
  const n = typeof x === 'string' ? Number(x) : x;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};

/** Flink's thresholds on backPressuredTimeMsPerSecond / 1000: ok ≤ 0.10 < low ≤ 0.5 < high. */
export function backpressureLevel(ratio: number | null): BackpressureLevel | null {
  if (ratio === null) return null;
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

const LEVEL_ORDER: Record<BackpressureLevel, number> = { ok: 0, low: 1, high: 2 };

/** An aggregated metric answer (`[{id, sum, max, ...}]`) as id -> aggregate -> value. */
export function aggregates(answer: unknown): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const item of arr(answer)) {
    const o = obj(item);
    const id = str(o?.id);
    if (!o || id === null) continue;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(o)) {
      const n = num(v);
      if (k !== 'id' && n !== null) values[k] = n;
    }
    out.set(id, values);
  }
  return out;
}

/** The metric ids of a source operator: `<Operator>.pendingRecords` and its `numRecordsOutPerSecond`. */
export function sourceMetricIds(listing: unknown): { pending: string | null; readRate: string | null } {
  const ids = arr(listing).map((i) => str(obj(i)?.id)).filter((i): i is string => i !== null);
  const pending = ids.find((i) => i.endsWith('.pendingRecords')) ?? ids.find((i) => i === 'pendingRecords') ?? null;
  const prefix = pending !== null && pending.includes('.') ? pending.slice(0, pending.lastIndexOf('.') + 1) : null;
  const readRate = prefix !== null ? (ids.find((i) => i === `${prefix}numRecordsOutPerSecond`) ?? null) : (ids.find((i) => /^Source__.*\.numRecordsOutPerSecond$/.test(i)) ?? null);
  return { pending, readRate };
}

const sumOf = (xs: Array<number | null>): number | null => (xs.some((x) => x !== null) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null);

function buildVertex(v: Record<string, unknown>, inputs: Map<string, string[]>, raw: RawJob): VertexStatus {
  const id = str(v.id) ?? '?';
  const consumed = new Set([...inputs.values()].flat());
  const isSource = (inputs.get(id) ?? []).length === 0;
  const task = aggregates(raw.taskMetrics[id]);
  const src = aggregates(raw.sourceMetrics[id]);
  const bp = task.get('backPressuredTimeMsPerSecond')?.max;
  const busy = task.get('busyTimeMsPerSecond')?.max;
  let pending: number | null = null;
  let read: number | null = null;
  for (const [mid, agg] of src) {
    if (mid.endsWith('pendingRecords')) pending = agg.sum ?? null;
    else if (mid.endsWith('numRecordsOutPerSecond')) read = agg.sum ?? null;
  }
  const bpRatio = bp === undefined ? null : bp / 1000;
  return {
    id,
    name: str(v.name) ?? id,
    parallelism: num(v.parallelism) ?? 0,
    maxParallelism: num(v.maxParallelism),
    status: str(v.status) ?? 'UNKNOWN',
    isSource,
    isSink: !consumed.has(id),
    inRate: isSource ? (read ?? task.get('numRecordsOutPerSecond')?.sum ?? null) : (task.get('numRecordsInPerSecond')?.sum ?? null),
    outRate: task.get('numRecordsOutPerSecond')?.sum ?? null,
    backpressureRatio: bpRatio,
    backpressure: backpressureLevel(bpRatio),
    busyRatio: busy === undefined ? null : busy / 1000,
    pendingRecords: isSource ? pending : null,
  };
}

/** One job from its overview entry and (for live jobs) its details and vertex metrics. */
export function buildJob(overview: Record<string, unknown>, raw: RawJob | undefined): JobStatus {
  const detail = obj(raw?.detail);
  const id = str(overview.jid) ?? '?';
  const state = str(detail?.state) ?? str(overview.state) ?? 'UNKNOWN';
  const inputs = new Map<string, string[]>();
  for (const node of arr(obj(detail?.plan)?.nodes)) {
    const n = obj(node);
    const nid = str(n?.id);
    if (n && nid !== null) inputs.set(nid, arr(n.inputs).map((i) => str(obj(i)?.id)).filter((i): i is string => i !== null));
  }
  const vertices = raw ? arr(detail?.vertices).map((v) => obj(v)).filter((v): v is Record<string, unknown> => v !== null).map((v) => buildVertex(v, inputs, raw)) : [];
  const levels = vertices.map((v) => v.backpressure).filter((l): l is BackpressureLevel => l !== null);
  return {
    id,
    name: str(detail?.name) ?? str(overview.name) ?? id,
    state,
    durationMs: num(detail?.duration) ?? num(overview.duration),
    vertices,
    inRate: sumOf(vertices.filter((v) => v.isSource).map((v) => v.inRate)),
    outRate: sumOf(vertices.filter((v) => v.isSink).map((v) => v.inRate)),
    lag: sumOf(vertices.filter((v) => v.isSource).map((v) => v.pendingRecords)),
    backpressure: levels.length === 0 ? null : levels.reduce((a, l) => (LEVEL_ORDER[l] > LEVEL_ORDER[a] ? l : a)),
  };
}

/** Live jobs first, then the newest; at most `limit`. */
export function jobsToShow(jobsOverview: unknown, limit = 5): Array<Record<string, unknown>> {
  const jobs = arr(obj(jobsOverview)?.jobs).map((j) => obj(j)).filter((j): j is Record<string, unknown> => j !== null);
  const live = (j: Record<string, unknown>) => !TERMINAL_STATES.has(str(j.state) ?? '');
  return jobs.sort((a, b) => Number(live(b)) - Number(live(a)) || (num(b['start-time']) ?? 0) - (num(a['start-time']) ?? 0)).slice(0, limit);
}

export function buildAlerts(answer: unknown): AlertStatus[] {
  return arr(obj(obj(answer)?.data)?.alerts)
    .map((a) => obj(a))
    .filter((a): a is Record<string, unknown> => a !== null && a.state === 'firing')
    .map((a) => {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj(a.labels) ?? {})) if (typeof v === 'string') labels[k] = v;
      const ann = obj(a.annotations) ?? {};
      return { name: labels.alertname ?? '(unnamed)', severity: labels.severity ?? null, summary: str(ann.summary), labels, activeAt: str(a.activeAt) };
    })
    .sort((x, y) => x.name.localeCompare(y.name));
}

export function buildDecision(d: unknown): DecisionStatus | null {
  const o = obj(d);
  if (!o) return null;
  const decided = obj(o.parallelism) ?? {};
  const perVertex = obj(o.perVertex) ?? {};
  const changes: DecisionStatus['changes'] = [];
  for (const [vertexId, to] of Object.entries(decided)) {
    const from = num(obj(perVertex[vertexId])?.parallelism);
    const t = num(to);
    if (from !== null && t !== null && from !== t) changes.push({ vertexId, from, to: t });
  }
  return {
    time: num(o.time) ?? 0,
    jobId: str(o.jobId) ?? '',
    action: str(o.action) ?? 'unknown',
    direction: str(o.direction),
    blockedBy: str(o.blockedBy),
    reasons: arr(o.reasons).filter((r): r is string => typeof r === 'string'),
    changes,
  };
}

export function buildScaling(answer: Fetched<unknown>): ScalingSection {
  if (!answer.ok) return { available: false, reason: answer.status === 404 ? 'the agent has no scaling API' : answer.error };
  const decisions = arr(obj(answer.value)?.decisions).map(buildDecision).filter((d): d is DecisionStatus => d !== null);
  const rescales = decisions.filter((d) => d.action === 'rescale');
  return { available: true, last: decisions.at(-1) ?? null, lastRescale: rescales.at(-1) ?? null };
}

/** How a vertex is named for people: its name and a short id, e.g. "Enrich (3f2a1c)"; the short id alone when the name is unknown. */
export function vertexLabel(id: string, name?: string | null): string {
  const short = id.slice(0, 6);
  return name ? `${name} (${short})` : short;
}

/**
 * Decisions name vertices by id (the agent's record); the engine's job details know their names.
 * Puts the names on the changes and writes "vertex <id>" in the reasons as the vertex's label.
 */
export function nameDecision(d: DecisionStatus | null, names: ReadonlyMap<string, string>): DecisionStatus | null {
  if (d === null || names.size === 0) return d;
  return {
    ...d,
    changes: d.changes.map((c) => {
      const name = names.get(c.vertexId);
      return name === undefined ? c : { ...c, name };
    }),
    reasons: d.reasons.map((r) => r.replace(/\bvertex ([0-9a-f]{16,})\b/g, (m, id: string) => (names.has(id) ? vertexLabel(id, names.get(id)) : m))),
  };
}

export function buildSnapshot(raw: RawStatus): StatusSnapshot {
  let engine: EngineSection;
  if (!raw.jobsOverview.ok) engine = { reachable: false, error: raw.jobsOverview.error };
  else {
    const ov = raw.clusterOverview.ok ? obj(raw.clusterOverview.value) : null;
    const total = num(ov?.['slots-total']);
    engine = {
      reachable: true,
      jobs: jobsToShow(raw.jobsOverview.value).map((j) => buildJob(j, raw.jobs[str(j.jid) ?? ''])),
      taskManagers: num(ov?.taskmanagers),
      slotsTotal: total,
      slotsAvailable: num(ov?.['slots-available']),
    };
  }
  let agent: AgentSection | null = null;
  if (raw.agentUrl !== null && raw.alerts !== null) {
    const names = new Map<string, string>();
    if (engine.reachable) for (const j of engine.jobs) for (const v of j.vertices) names.set(v.id, v.name);
    let scaling = buildScaling(raw.decisions ?? { ok: false, error: 'not asked' });
    if (scaling.available) {
      const last = nameDecision(scaling.last, names);
      scaling = { available: true, last, lastRescale: scaling.lastRescale === scaling.last ? last : nameDecision(scaling.lastRescale, names) };
    }
    agent = raw.alerts.ok ? { reachable: true, alerts: buildAlerts(raw.alerts.value), scaling } : { reachable: false, error: raw.alerts.error };
  }
  return { time: raw.time, restUrl: raw.restUrl, engine, agentUrl: raw.agentUrl, agent };
}
