/**
 * Replay: reads JSON-lines observations (a file or stdin) and writes one decision per input
 * line as soon as the line is decided, so an outside simulator can drive the engine in closed
 * loop over stdin/stdout (write an observation, read the decision, apply it, repeat). Lines
 * may carry `alerts` (firing alerts with labels) next to the observation fields. A bad line
 * (a blank one included) is answered with {"error": ...} on its own line and does not stop the
 * stream. `epochMs` / a line's `epoch` say what wall-clock time the observations' time 0 is, and
 * `timeZone` / a line's `timezone` the zone of the daily cycle, so the seasonal forecast's phase
 * is fixed rather than guessed.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseObservation } from '../scaling/observation.ts';
import { replayLine } from '../scaling/decision.ts';
import { ScalingController } from '../scaling/controller.ts';
import { policySchema, type ScalingPolicy } from '../scaling/policy-schema.ts';
import type { FiringAlert } from '../scaling/decide.ts';
import { errorMessage } from '../../common/errors.ts';

export interface ReplayOptions {
  input: Readable;
  output: Writable;
  policy: ScalingPolicy;
  name?: string;
  /** write the full decision instead of the compact line */
  full?: boolean;
  /**
   * the wall-clock time (ms since 1970) of the observations' time 0: their times (time,
   * runningSince, checkpoints.lastRestoreTime) are read as ms since it, and decisions' times are
   * written back in the same frame. A line may carry its own `epoch` (ms or ISO 8601).
   */
  epochMs?: number;
  /** IANA time zone of the daily cycle (the forecast's phase); a line may carry `timezone` */
  timeZone?: string;
}

/** Reads an epoch given as ms since 1970 or an ISO 8601 time; throws on anything else. */
export function parseEpoch(x: unknown): number {
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  if (typeof x === 'string' && x.trim() !== '') {
    const n = Number(x);
    if (Number.isFinite(n)) return n;
    const t = Date.parse(x);
    if (Number.isFinite(t)) return t;
  }
  throw new Error(`epoch ${JSON.stringify(x)} is neither ms since 1970 nor an ISO 8601 time`);
}

function shiftTimes(raw: Record<string, unknown>, by: number): void {
  if (typeof raw.time === 'number') raw.time += by;
  if (typeof raw.runningSince === 'number') raw.runningSince += by;
  const ck = raw.checkpoints as Record<string, unknown> | undefined;
  if (ck && typeof ck === 'object' && typeof ck.lastRestoreTime === 'number') ck.lastRestoreTime += by;
}

export async function replay(o: ReplayOptions): Promise<{ lines: number; errors: number }> {
  const base = o.timeZone ? policySchema.parse({ ...o.policy, forecast: { ...o.policy.forecast, timeZone: o.timeZone } }) : o.policy;
  let controller: ScalingController | undefined;
  let zone = base.forecast.timeZone;
  const rl = createInterface({ input: o.input, crlfDelay: Number.POSITIVE_INFINITY });
  let lines = 0;
  let errors = 0;
  for await (const line of rl) {
    lines++;
    let out: string;
    try {
      // Every line gets an answer, a blank one too: a closed-loop driver waits for one per line.
      if (line.trim() === '') throw new Error('blank line; each line must be one observation object (docs/reference/replay.md)');
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`not JSON (${errorMessage(err)}); each line must be one observation object (docs/reference/replay.md)`);
      }
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object; each line must be one observation object (docs/reference/replay.md)');
      const alerts = Array.isArray(raw.alerts) ? (raw.alerts as FiringAlert[]) : [];
      delete raw.alerts;
      const epoch = raw.epoch !== undefined ? parseEpoch(raw.epoch) : (o.epochMs ?? 0);
      delete raw.epoch;
      if (raw.timezone !== undefined) {
        const tz = String(raw.timezone);
        delete raw.timezone;
        if (tz !== zone) {
          if (controller) throw new Error(`timezone ${tz} differs from ${zone} set before: the daily cycle's phase is fixed for a run`);
          zone = tz;
        }
      }
      controller ??= new ScalingController(zone === base.forecast.timeZone ? base : policySchema.parse({ ...base, forecast: { ...base.forecast, timeZone: zone } }));
      shiftTimes(raw, epoch);
      const obs = parseObservation(raw, `${o.name ?? 'stdin'}:${lines}`);
      const d = controller.step(obs, alerts);
      if (epoch !== 0) d.time -= epoch;
      out = o.full ? JSON.stringify(d) : replayLine(d);
    } catch (err) {
      errors++;
      out = JSON.stringify({ error: `${o.name ?? 'stdin'}:${lines}: ${errorMessage(err)}` });
    }
    // One write per decision: on a pipe this reaches the reader before the next line is read.
    o.output.write(`${out}\n`);
  }
  return { lines, errors };
}
