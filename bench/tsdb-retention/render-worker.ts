/**
 * Renders the synthetic job's expositions for scrape-compare.ts's exporter off its main thread:
 * message { target, step } -> { target, step, body } (the body's ArrayBuffer transferred), the
 * job's values for tick step + 1, every sample stamped with the step's virtual time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { syntheticJob } from '../agent-eval/synthetic-job.ts';
import { timestamped } from './scrape-support.ts';

export interface RenderWorkerData { vertices: number; subtasks: number; intervalMs: number; virtualStart: number }

const d = workerData as RenderWorkerData;
const job = syntheticJob({ vertices: d.vertices, subtasks: d.subtasks, seed: 1, intervalMs: d.intervalMs });
parentPort!.on('message', (m: { target: number; step: number }) => {
  const text = timestamped(job.targets[m.target]!.render(m.step + 1), d.virtualStart + m.step * d.intervalMs);
  const bytes = new TextEncoder().encode(text);
  parentPort!.postMessage({ target: m.target, step: m.step, body: bytes }, [bytes.buffer]);
});
