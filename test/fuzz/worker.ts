/**
 * The fuzz worker: runs one input at a time through one parser (and, for PromQL, the engine on
 * a small store) and reports how it ended and how long it took, in wall and thread CPU time.
 * It runs on its own thread so the runner can kill it when a case hangs or runs out of memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';
import { ERROR_TYPE_OF_CODE } from '../../agent/promql/errors.ts';
import { PromQLEngine, exprType, parseExpr } from '../../agent/promql/index.ts';
import { parseRuleFile } from '../../agent/rules/rulefile.ts';
import { MemoryStorage } from '../../agent/tsdb/index.ts';
import type { FuzzTarget } from './generators.ts';

export interface CaseRequest {
  id: number;
  input: string;
}

export type Outcome =
  | { kind: 'ok' }
  /** A typed error: a FlowpilotError with a known code, or a parser's structured problem list. */
  | { kind: 'typed'; code: string; wrapped?: string }
  /** Anything else that was thrown or reported: a bug. */
  | { kind: 'untyped'; name: string; message: string };

export interface CaseReply {
  id: number;
  outcome: Outcome;
  /** For PromQL: whether the expression parsed and was evaluated. */
  evaluated: boolean;
  wallMs: number;
  cpuMs: number;
}

const T0 = 1_700_000_000_000;
/** Per-query engine timeout, under the harness's 2 s hang threshold. */
const QUERY_TIMEOUT_MS = 1_000;

function smallStore(): MemoryStorage {
  const db = new MemoryStorage();
  for (let i = 0; i <= 240; i++) {
    const t = T0 - 3_600_000 + i * 15_000;
    for (const inst of ['a:1', 'b:2', 'c:3']) db.append({ __name__: 'up', job: 'flink', instance: inst }, t, i % 17 === 0 ? 0 : 1);
    for (const code of ['200', '500']) {
      for (const method of ['GET', 'POST', 'PUT']) db.append({ __name__: 'http_requests_total', job: 'api', code, method }, t, i * (code === '200' ? 10 : 1) + (i > 120 ? -50 : 0));
    }
    let cum = 0;
    for (const le of ['0.1', '0.5', '1', '5', '+Inf']) {
      cum += i % 7;
      db.append({ __name__: 'req_duration_seconds_bucket', job: 'api', le }, t, cum * i);
    }
    db.append({ __name__: 'gauge_weird', job: 'x' }, t, [NaN, Infinity, -Infinity, 0, -0, 1e308, -1e-308][i % 7]!);
    db.append({ __name__: 'flink_taskmanager_job_task_busyTimeMsPerSecond', task_name: `t${i % 3}`, subtask_index: String(i % 4) }, t, (i * 37) % 1000);
  }
  return db;
}

function classifyThrown(err: unknown): Outcome {
  if (err instanceof FlowpilotError && ERROR_TYPE_OF_CODE[err.code] !== undefined) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const stackOverflow = cause instanceof RangeError && /call stack/i.test(cause.message);
    if (cause !== undefined && !(cause instanceof FlowpilotError) && !stackOverflow) {
      const c = cause as Error;
      return { kind: 'typed', code: err.code, wrapped: `${c?.name ?? 'Error'}: ${errorMessage(c).slice(0, 160)}` };
    }
    return { kind: 'typed', code: err.code };
  }
  const e = err as Error;
  return { kind: 'untyped', name: e?.name ?? typeof err, message: errorMessage(err).slice(0, 300) };
}

function runPromql(engine: PromQLEngine, input: string): { outcome: Outcome; evaluated: boolean } {
  let expr;
  try {
    expr = parseExpr(input);
  } catch (err) {
    return { outcome: classifyThrown(err), evaluated: false };
  }
  try {
    engine.instantQuerySync(expr, T0, { timeoutMs: QUERY_TIMEOUT_MS });
    const t = exprType(expr);
    if (t === 'vector' || t === 'scalar') engine.rangeQuerySync(expr, T0 - 1_800_000, T0, [15_000, 60_000, 1_000][input.length % 3]!, { timeoutMs: QUERY_TIMEOUT_MS });
    return { outcome: { kind: 'ok' }, evaluated: true };
  } catch (err) {
    return { outcome: classifyThrown(err), evaluated: true };
  }
}

function runRules(input: string): Outcome {
  let res;
  try {
    res = parseRuleFile(input, 'fuzz.yml');
  } catch (err) {
    const e = err as Error;
    return { kind: 'untyped', name: e?.name ?? typeof err, message: `parseRuleFile threw: ${errorMessage(err).slice(0, 300)}` };
  }
  if (res.problems.length === 0) return { kind: 'ok' };
  for (const p of res.problems) {
    if (!/^FP_RULE_[A-Z_]+$/.test(p.code) || !(p.line >= 1) || !(p.column >= 1) || typeof p.message !== 'string' || p.message === '') {
      return { kind: 'untyped', name: 'BadProblem', message: JSON.stringify(p).slice(0, 300) };
    }
  }
  return { kind: 'typed', code: res.problems[0]!.code };
}

function runExposition(input: string): Outcome {
  let res;
  try {
    res = parsePrometheusText(input);
  } catch (err) {
    const e = err as Error;
    return { kind: 'untyped', name: e?.name ?? typeof err, message: `parsePrometheusText threw: ${errorMessage(err).slice(0, 300)}` };
  }
  for (const s of res.samples) {
    if (typeof s.value !== 'number' || typeof s.name !== 'string') return { kind: 'untyped', name: 'BadSample', message: JSON.stringify(s).slice(0, 300) };
  }
  if (res.errors.length === 0) return { kind: 'ok' };
  for (const e of res.errors) {
    if (!(e.line >= 1) || typeof e.message !== 'string' || e.message === '') return { kind: 'untyped', name: 'BadParseError', message: JSON.stringify(e).slice(0, 300) };
  }
  return { kind: 'typed', code: 'ParseError' };
}

/** Known behaviours, so the harness's own detection of hangs, crashes and untyped errors is tested. */
function runSelfTest(input: string): Outcome {
  switch (input) {
    case 'typed':
      throw new FlowpilotError('FP_PROMQL_EXEC', 'a typed failure');
    case 'untyped':
      return classifyThrown(new TypeError('an untyped failure'));
    case 'spin':
      for (;;) {
        // never answers: the runner must kill the worker
      }
    case 'die':
      process.exit(3);
      break;
    default:
      break;
  }
  return { kind: 'ok' };
}

const target = (workerData as { target: FuzzTarget | 'selftest' }).target;
const engine = target === 'promql' ? new PromQLEngine(smallStore()) : null;

parentPort!.on('message', (req: CaseRequest) => {
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  let outcome: Outcome;
  let evaluated = false;
  if (target === 'promql') ({ outcome, evaluated } = runPromql(engine!, req.input));
  else if (target === 'rules') outcome = runRules(req.input);
  else if (target === 'exposition') outcome = runExposition(req.input);
  else {
    try {
      outcome = runSelfTest(req.input);
    } catch (err) {
      outcome = classifyThrown(err);
    }
  }
  const cpu = process.threadCpuUsage(cpu0);
  const reply: CaseReply = { id: req.id, outcome, evaluated, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
  parentPort!.postMessage(reply);
});
parentPort!.postMessage({ ready: true });
