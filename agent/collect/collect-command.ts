/**
 * The body of `flowpilot collect` (cli/commands/collect.ts): one FlinkRestCollector over the
 * shared Flink REST client, its observations validated and printed as JSON lines.
 */
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { parsePromDuration } from '../../common/duration.ts';
import { FlinkRestClient } from '../flink/rest-client.ts';
import { FlinkRestCollector } from './flink-rest.ts';
import { parseObservation } from './observation.ts';

export interface CollectCommandOptions {
  flinkUrl: string;
  once: boolean;
  interval: string;
  timeout: string;
  concurrency: string;
}

interface Streams {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

function duration(value: string, flag: string): number {
  try {
    return parsePromDuration(value);
  } catch (err) {
    throw new FlowpilotError('FP_CLI_USAGE', `${flag}: ${errorMessage(err)}`);
  }
}

/** Returns the exit code: 0 when every collection read /jobs/overview, 1 otherwise. */
export async function runCollect(opts: CollectCommandOptions, io: Streams, signal?: AbortSignal): Promise<number> {
  const timeoutMs = duration(opts.timeout, '--timeout');
  const intervalMs = duration(opts.interval, '--interval');
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new FlowpilotError('FP_CLI_USAGE', `--concurrency must be a positive integer, got ${opts.concurrency}`);
  const client = new FlinkRestClient({ baseUrl: opts.flinkUrl, timeoutMs, concurrency });
  // Per-subtask samples are for the Prometheus side; the observation needs only the aggregates.
  const collector = new FlinkRestCollector({ client, perSubtaskMetrics: false, taskManagerSamples: false });
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  const done = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let code = 0;
  try {
    const version = await client.config(AbortSignal.timeout(timeoutMs)).then((c) => c['flink-version'], () => undefined);
    io.err.write(`collecting from ${client.baseUrl}${version ? ` (Flink ${version})` : ''}\n`);
    for (;;) {
      try {
        const result = await collector.collect(AbortSignal.any([done, AbortSignal.timeout(Math.max(timeoutMs * 3, 30_000))]));
        for (const e of result.errors) io.err.write(`warning: ${e}\n`);
        for (const o of result.observations) io.out.write(JSON.stringify(parseObservation(o, `job ${o.jobId}`)) + '\n');
        const running = result.jobs.filter((j) => j.state === 'RUNNING').length;
        if (result.observations.length < running) io.err.write(`warning: ${running - result.observations.length} running job(s) without an observation (see the warnings above)\n`);
      } catch (err) {
        if (done.aborted) break;
        io.err.write(`error: ${errorMessage(err)}${err instanceof FlowpilotError ? ` [${err.code}]` : ''}\n`);
        code = 1;
      }
      if (opts.once || done.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        done.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
      if (done.aborted) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await client.close();
  }
  return code;
}
