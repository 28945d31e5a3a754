/**
 * Replay: reads JSON-lines observations (a file or stdin) and writes one decision per input
 * line as soon as the line is decided, so an outside simulator can drive the engine in closed
 * loop over stdin/stdout (write an observation, read the decision, apply it, repeat). Lines
 * may carry `alerts` (firing alerts with labels) next to the observation fields. A bad line
 * is answered with {"error": ...} on its own line and does not stop the stream.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseObservation } from '../scaling/observation.ts';
import { replayLine } from '../scaling/decision.ts';
import { ScalingController } from '../scaling/controller.ts';
import type { ScalingPolicy } from '../scaling/policy-schema.ts';
import type { FiringAlert } from '../scaling/decide.ts';
import { errorMessage } from '../../common/errors.ts';

export interface ReplayOptions {
  input: Readable;
  output: Writable;
  policy: ScalingPolicy;
  name?: string;
  /** write the full decision instead of the compact line */
  full?: boolean;
}

export async function replay(o: ReplayOptions): Promise<{ lines: number; errors: number }> {
  const controller = new ScalingController(o.policy);
  const rl = createInterface({ input: o.input, crlfDelay: Number.POSITIVE_INFINITY });
  let lines = 0;
  let errors = 0;
  for await (const line of rl) {
    lines++;
    if (line.trim() === '') continue;
    let out: string;
    try {
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`not JSON (${errorMessage(err)}); each line must be one observation object (docs/replay.md)`);
      }
      const alerts = Array.isArray(raw.alerts) ? (raw.alerts as FiringAlert[]) : [];
      delete raw.alerts;
      const obs = parseObservation(raw, `${o.name ?? 'stdin'}:${lines}`);
      const d = controller.step(obs, alerts);
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
