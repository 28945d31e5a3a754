/**
 * Renders a `StatusSnapshot` for people, as pure functions: `renderFrame` draws the full-screen
 * view for a terminal (every line cut to the terminal's width, ANSI colours for states when
 * asked; when the terminal is too short, the least useful lines go first — blank lines, extra
 * reasons, the header, alert details, vertex rows — so the job line, the last decision and the
 * last rescale stay on screen), `renderSummaryLine` writes the one-line plain summary used when stdout is not a
 * terminal, and `summaryKey` says when that summary has changed in a way worth a new line
 * (states, parallelism, traffic starting or stopping, backpressure level, alerts, a decision
 * with another outcome, a new rescale; not the rates' jitter, nor a new decision that says the
 * same as the last one). Every time shown is one format: HH:MM:SS, UTC.
 */
import { vertexLabel, type AlertStatus, type BackpressureLevel, type DecisionStatus, type JobStatus, type StatusSnapshot } from './status-model.ts';

export interface FrameOptions {
  width: number;
  /** terminal rows; the frame is cut to this many lines */
  height?: number;
  color: boolean;
  /** lines drawn above the status (e.g. where the services are) */
  header?: string[];
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function visibleLength(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

/** Cuts a line to `width` visible characters, keeping ANSI codes and closing them. */
export function fitLine(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let seen = 0;
  const re = new RegExp(ANSI.source, 'y');
  for (let i = 0; i < line.length; ) {
    re.lastIndex = i;
    const m = re.exec(line);
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    if (seen === width - 1) {
      out += '…';
      break;
    }
    out += ch;
    seen++;
    i += ch.length;
  }
  return line.includes('\x1b[') ? `${out}\x1b[0m` : out;
}

export function fmtRate(x: number | null): string {
  if (x === null) return '-';
  const a = Math.abs(x);
  if (a < 10) return x.toFixed(1);
  if (a < 10_000) return Math.round(x).toString();
  if (a < 10_000_000) return `${(x / 1000).toFixed(1)}k`;
  return `${(x / 1_000_000).toFixed(1)}M`;
}

export function fmtCount(x: number | null): string {
  if (x === null) return '-';
  return x < 10_000 ? Math.round(x).toString() : fmtRate(x);
}

export function fmtDuration(ms: number | null): string {
  if (ms === null || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The one time format of the view: HH:MM:SS in UTC (the title says UTC once). */
export const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);

type Paint = (code: string, s: string) => string;
const painter = (color: boolean): Paint => (color ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_c, s) => s);

const STATE_COLOR: Record<string, string> = { RUNNING: '32', FINISHED: '36', CREATED: '33', INITIALIZING: '33', RESTARTING: '33', CANCELLING: '33', FAILING: '31', FAILED: '31', CANCELED: '90' };
const BP_COLOR: Record<BackpressureLevel, string> = { ok: '32', low: '33', high: '31' };

/** "2" when every vertex runs at the same parallelism, else "2/4/2" in vertex order. */
export function parallelismText(job: JobStatus): string {
  const ps = job.vertices.map((v) => v.parallelism);
  if (ps.length === 0) return '-';
  return ps.every((p) => p === ps[0]) ? String(ps[0]) : ps.join('/');
}

function decisionText(d: DecisionStatus): string {
  if (d.action === 'rescale') {
    const ch = d.changes.map((c) => `${vertexLabel(c.vertexId, c.name)} ${c.from}→${c.to}`).join(', ');
    return `rescale${d.direction ? ` ${d.direction}` : ''}${ch ? ` (${ch})` : ''}`;
  }
  return `no rescale${d.blockedBy ? ` (${d.blockedBy})` : ''}`;
}

function alertText(a: AlertStatus): string {
  const where = a.labels.job_name ?? a.labels.task_name ?? a.labels.instance ?? '';
  return `${a.name}${a.severity ? ` [${a.severity}]` : ''}${where ? ` ${where}` : ''}${a.summary ? ` — ${a.summary}` : ''}`;
}

/** A line of the frame and how much it is worth keeping when the terminal is short (higher stays longer). */
export interface Line {
  text: string;
  keep: number;
}

/** Dropped first to last: blank lines, extra reasons, the header, alert details, vertex rows; the rest always stays. */
const KEEP = { blank: 0, moreReasons: 1, header: 2, alertDetail: 3, firstReason: 4, vertexRow: 5, always: 9 } as const;

function jobLines(job: JobStatus, width: number, paint: Paint): Line[] {
  const lines: Line[] = [
    {
      text: `${paint('1', job.name)}  ${paint(STATE_COLOR[job.state] ?? '0', job.state)}  up ${fmtDuration(job.durationMs)}  p ${parallelismText(job)}  in ${fmtRate(job.inRate)}/s  out ${fmtRate(job.outRate)}/s  lag ${fmtCount(job.lag)}  bp ${job.backpressure ? paint(BP_COLOR[job.backpressure], job.backpressure) : '-'}`,
      keep: KEEP.always,
    },
  ];
  if (job.vertices.length === 0) return lines;
  const fixed = 4 + 6 + 2 * 9 + 8 + 6 + 6;
  const nameWidth = Math.max(8, Math.min(40, width - fixed));
  const row = (name: string, p: string, inR: string, outR: string, lag: string, bp: string, busy: string): string =>
    `  ${name.padEnd(nameWidth).slice(0, nameWidth)}  ${p.padStart(4)} ${inR.padStart(8)} ${outR.padStart(8)} ${lag.padStart(7)}  ${bp}${' '.repeat(Math.max(1, 5 - visibleLength(bp)))}${busy.padStart(5)}`;
  lines.push({ text: paint('2', row('vertex (id)', 'p', 'in/s', 'out/s', 'lag', 'bp', 'busy')), keep: KEEP.vertexRow });
  for (const v of job.vertices) {
    // The name and its short id, "Enrich (3f2a1c)"; the name is cut to make room for the id, but on a
    // narrow terminal the name wins and the id goes.
    const short = ` (${v.id.slice(0, 6)})`;
    const cutName = (room: number): string => (v.name.length > room ? `${v.name.slice(0, Math.max(1, room - 1))}…` : v.name);
    const name = v.name.length + short.length <= nameWidth || nameWidth - short.length >= 16 ? `${cutName(nameWidth - short.length)}${short}` : cutName(nameWidth);
    const bp = v.backpressure ? paint(BP_COLOR[v.backpressure], v.backpressure) : '-';
    lines.push({
      text: row(name, String(v.parallelism), fmtRate(v.inRate), v.isSink && v.outRate === 0 ? '-' : fmtRate(v.outRate), v.isSource ? fmtCount(v.pendingRecords) : '', bp, v.busyRatio === null ? '-' : `${Math.round(v.busyRatio * 100)}%`),
      keep: KEEP.vertexRow,
    });
  }
  return lines;
}

function decisionLines(label: string, d: DecisionStatus, paint: Paint, maxReasons: number): Line[] {
  const colour = d.action === 'rescale' ? '36' : '0';
  const lines: Line[] = [{ text: `  ${label} ${clock(d.time)}  ${paint(colour, decisionText(d))}`, keep: KEEP.always }];
  d.reasons.slice(0, maxReasons).forEach((r, i) => lines.push({ text: `    - ${r}`, keep: i === 0 ? KEEP.firstReason : KEEP.moreReasons }));
  if (d.reasons.length > maxReasons) lines.push({ text: `    … ${d.reasons.length - maxReasons} more`, keep: KEEP.moreReasons });
  return lines;
}

/** Drops the lines least worth keeping (the lowest `keep`, bottom first) until `height` remain. */
export function fitHeight(lines: Line[], height: number): Line[] {
  if (lines.length <= height) return lines;
  const order = lines.map((l, i) => ({ i, keep: l.keep })).sort((a, b) => a.keep - b.keep || b.i - a.i);
  const drop = new Set(order.slice(0, lines.length - height).map((o) => o.i));
  return lines.filter((_, i) => !drop.has(i));
}

export function renderFrame(s: StatusSnapshot, opts: FrameOptions): string {
  const paint = painter(opts.color);
  const width = Math.max(20, opts.width);
  const blank: Line = { text: '', keep: KEEP.blank };
  const lines: Line[] = [
    { text: `${paint('1', 'flowpilot')} · local stack${' '.repeat(4)}${clock(s.time)} UTC`, keep: KEEP.always },
    ...(opts.header ?? []).map((text) => ({ text, keep: KEEP.header })),
  ];
  lines.push(blank);
  const e = s.engine;
  if (!e.reachable) lines.push({ text: `engine  ${s.restUrl}  ${paint('31', `unreachable (${e.error})`)}`, keep: KEEP.always });
  else {
    const slots = e.slotsTotal === null ? '' : `  slots ${e.slotsTotal - (e.slotsAvailable ?? 0)}/${e.slotsTotal} used`;
    lines.push({ text: `engine  ${s.restUrl}  TaskManagers ${e.taskManagers ?? '-'}${slots}`, keep: KEEP.always });
    if (e.jobs.length === 0) lines.push({ text: '  no jobs', keep: KEEP.always });
    for (const job of e.jobs) lines.push(blank, ...jobLines(job, width, paint));
  }
  if (s.agent !== null) {
    lines.push(blank);
    const a = s.agent;
    if (!a.reachable) lines.push({ text: `agent   ${s.agentUrl}  ${paint('31', `unreachable (${a.error})`)}`, keep: KEEP.always });
    else {
      lines.push({ text: `alerts  ${a.alerts.length === 0 ? paint('32', 'none firing') : paint('31', `${a.alerts.length} firing`)}`, keep: KEEP.always });
      for (const al of a.alerts.slice(0, 6)) lines.push({ text: `  ${paint('31', '●')} ${alertText(al)}`, keep: KEEP.alertDetail });
      if (a.alerts.length > 6) lines.push({ text: `  … ${a.alerts.length - 6} more`, keep: KEEP.alertDetail });
      lines.push(blank);
      if (!a.scaling.available) lines.push({ text: `scaling ${paint('90', a.scaling.reason)}`, keep: KEEP.always });
      else if (a.scaling.last === null) lines.push({ text: 'scaling no decision yet', keep: KEEP.always });
      else {
        lines.push({ text: 'scaling', keep: KEEP.always });
        lines.push(...decisionLines('last decision', a.scaling.last, paint, 3));
        const r = a.scaling.lastRescale;
        if (r !== null && r !== a.scaling.last) lines.push(...decisionLines('last rescale ', r, paint, 2));
      }
    }
  }
  lines.push(blank, { text: paint('2', 'Ctrl-C stops everything.'), keep: KEEP.always });
  const fitted = opts.height !== undefined && opts.height > 0 ? fitHeight(lines, opts.height) : lines;
  // Lines that must stay but still do not fit (a tiny terminal): the top ones win.
  const cut = opts.height !== undefined && opts.height > 0 ? fitted.slice(0, opts.height) : fitted;
  return cut.map((l) => fitLine(l.text, width)).join('\n');
}

function jobSummary(j: JobStatus): string {
  if (j.vertices.length === 0) return `job ${j.name} ${j.state}`;
  return `job ${j.name} ${j.state} p=${parallelismText(j)} in=${fmtRate(j.inRate)} rec/s out=${fmtRate(j.outRate)} rec/s lag=${fmtCount(j.lag)} bp=${j.backpressure ?? '-'}`;
}

/** One plain line: time, jobs, alerts, the last decision. */
export function renderSummaryLine(s: StatusSnapshot): string {
  const parts: string[] = [];
  const e = s.engine;
  if (!e.reachable) parts.push(`engine unreachable (${e.error})`);
  else parts.push(e.jobs.length === 0 ? 'no jobs' : e.jobs.map(jobSummary).join('; '));
  const a = s.agent;
  if (a !== null) {
    if (!a.reachable) parts.push(`agent unreachable (${a.error})`);
    else {
      parts.push(`alerts: ${a.alerts.length === 0 ? 'none' : a.alerts.map((x) => x.name).join(', ')}`);
      if (!a.scaling.available) parts.push(`scaling: ${a.scaling.reason}`);
      else if (a.scaling.last === null) parts.push('scaling: no decision yet');
      else {
        const d = a.scaling.last;
        parts.push(`scaling: ${decisionText(d)}${d.reasons[0] ? ` — ${d.reasons[0]}` : ''}`);
        const r = a.scaling.lastRescale;
        if (r !== null && r !== d) parts.push(`last rescale ${clock(r.time)} ${decisionText(r)}`);
      }
    }
  }
  return `[${clock(s.time)}] ${parts.join(' | ')}`;
}

/** A backlog worth a new line: more than 5 s of arrivals and at least 1000 records. */
function lagging(j: JobStatus): boolean {
  return (j.lag ?? 0) > Math.max(1000, 5 * (j.inRate ?? 0));
}

/** What must change for the plain summary to print a new line. */
export function summaryKey(s: StatusSnapshot): string {
  const e = s.engine;
  const jobs = e.reachable
    ? e.jobs.map((j) => [j.id, j.state, parallelismText(j), (j.inRate ?? 0) > 0, (j.outRate ?? 0) > 0, lagging(j), j.backpressure].join(':')).join(',')
    : `down:${e.error}`;
  const a = s.agent;
  let agent = '';
  if (a !== null) {
    agent = !a.reachable
      ? `down:${a.error}`
      : [
          a.alerts.map((x) => `${x.name}/${JSON.stringify(x.labels)}`).join(','),
          // The outcome of the last decision, not its reasons' numbers: the agent decides every few
          // seconds, and a decision that says the same again is not news.
          a.scaling.available
            ? [a.scaling.last?.action, a.scaling.last?.direction, a.scaling.last?.blockedBy, a.scaling.last?.changes.map((c) => `${c.vertexId}>${c.to}`).join('+'), a.scaling.lastRescale?.time].join(':')
            : a.scaling.reason,
        ].join('|');
  }
  return `${jobs}#${agent}`;
}
