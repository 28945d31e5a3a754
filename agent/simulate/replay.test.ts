import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { replay } from './replay.ts';
import { Plant, type PlantConfig } from './plant.ts';
import { referencePlant } from './scenario.ts';
import { SIM_START_MS } from './runner.ts';
import { FlowpilotAutoscaler } from './flowpilot.ts';
import { defaultPolicy } from '../scaling/policy.ts';
import { parseObservation } from '../scaling/observation.ts';

/** Records what a live closed loop saw, as `flowpilot agent --record` would. */
function recordRun(plantCfg: PlantConfig, minutes: number): { lines: string[]; live: string[] } {
  const plant = new Plant(plantCfg, 3, SIM_START_MS);
  const fp = new FlowpilotAutoscaler(defaultPolicy(), { keepDecisions: true });
  const lines: string[] = [];
  for (let s = 1; s <= minutes * 60; s++) {
    const now = SIM_START_MS + s * 1000;
    plant.tick(now, 1, s > 600 ? 16000 : 4000);
    if (s % 15 === 0) {
      const raw = plant.observe(now);
      lines.push(JSON.stringify(raw));
      const next = fp.step(parseObservation(raw, 'live'));
      if (next && plant.running(now)) plant.rescale(next, now);
    }
  }
  return { lines, live: fp.decisions.map((d) => JSON.stringify({ time: d.time, action: d.action, parallelism: d.parallelism })) };
}

async function replayAll(lines: string[]): Promise<Array<Record<string, unknown>>> {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (b: Buffer) => chunks.push(b.toString()));
  await replay({ input: Readable.from(lines.map((l) => `${l}\n`)), output: out, policy: defaultPolicy(), name: 'rec.jsonl' });
  return chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('replay', () => {
  it('reproduces, line for line, the decisions the live loop took on the same observations', async () => {
    const { lines, live } = recordRun(referencePlant(), 20);
    const replayed = await replayAll(lines);
    assert.equal(replayed.length, lines.length);
    assert.deepEqual(replayed.map((d) => JSON.stringify({ time: d.time, action: d.action, parallelism: d.parallelism })), live);
    assert.ok(replayed.some((d) => d.action === 'rescale'), 'the x4 step is answered');
    const again = await replayAll(lines);
    assert.deepEqual(again, replayed);
  });

  it('answers a bad line with an error line and goes on', async () => {
    const { lines } = recordRun(referencePlant(), 2);
    const replayed = await replayAll([lines[0]!, 'not json', lines[1]!]);
    assert.equal(replayed.length, 3);
    assert.match(String(replayed[1]!.error), /^rec\.jsonl:2: not JSON/);
    assert.equal(replayed[2]!.action, 'none');
  });
});

describe('replay: one answer per line, a fixed daily phase (issue 13)', () => {
  async function replayWith(lines: string[], opts: { epochMs?: number; timeZone?: string } = {}): Promise<Array<Record<string, unknown>>> {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (b: Buffer) => chunks.push(b.toString()));
    await replay({ input: Readable.from(lines.map((l) => `${l}\n`)), output: out, policy: defaultPolicy(), name: 'rec.jsonl', ...opts });
    return chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('answers a blank line with an error object, never with silence', async () => {
    const { lines } = recordRun(referencePlant(), 2);
    const replayed = await replayWith([lines[0]!, '', '   ', lines[1]!]);
    assert.equal(replayed.length, 4, 'one answer per input line');
    assert.match(String(replayed[1]!.error), /^rec\.jsonl:2: blank line/);
    assert.match(String(replayed[2]!.error), /^rec\.jsonl:3: blank line/);
    assert.equal(replayed[3]!.action, 'none');
  });

  it('reads observation times relative to --epoch and answers in the same frame', async () => {
    const { lines } = recordRun(referencePlant(), 20);
    const relative = lines.map((l) => {
      const o = JSON.parse(l) as Record<string, unknown> & { time: number; runningSince: number; checkpoints?: { lastRestoreTime?: number } };
      o.time -= SIM_START_MS;
      o.runningSince -= SIM_START_MS;
      if (o.checkpoints?.lastRestoreTime !== undefined) o.checkpoints.lastRestoreTime -= SIM_START_MS;
      return JSON.stringify(o);
    });
    const absolute = await replayWith(lines);
    const shifted = await replayWith(relative, { epochMs: SIM_START_MS });
    assert.deepEqual(shifted.map((d) => ({ ...d, time: (d.time as number) + SIM_START_MS })), absolute);
    // The same through a per-line field, as ISO 8601.
    const iso = new Date(SIM_START_MS).toISOString();
    const perLine = await replayWith(relative.map((l) => JSON.stringify({ ...(JSON.parse(l) as object), epoch: iso })));
    assert.deepEqual(perLine, shifted);
  });

  it('fixes the daily cycle\'s phase with a time zone, and refuses to change it mid-run', async () => {
    const { lines } = recordRun(referencePlant(), 2);
    const ok = await replayWith(lines.slice(0, 2), { timeZone: 'Asia/Tokyo' });
    assert.ok(ok.every((d) => d.error === undefined));
    const bad = await replayWith([JSON.stringify({ ...(JSON.parse(lines[0]!) as object), timezone: 'Europe/Berlin' }), JSON.stringify({ ...(JSON.parse(lines[1]!) as object), timezone: 'UTC' })]);
    assert.equal(bad[0]!.error, undefined);
    assert.match(String(bad[1]!.error), /timezone UTC differs from Europe\/Berlin/);
  });
});
