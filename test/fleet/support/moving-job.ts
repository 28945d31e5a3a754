/**
 * A Flink REST endpoint whose job moves: the recorded-shape fixtures of
 * test/fixtures/flink-rest-agent (served by test/agent/flink-fixture-server.ts) with the
 * counters advanced on a timer, so each collection sees new rates. The load is the hand-built
 * job's: a Kafka source backpressured by a saturated KeyedProcess (busy `busy` ms/s), records
 * arriving at `rate`/s and a backlog growing at `growth`/s, so the autoscaler wants the
 * KeyedProcess vertex larger. Nothing here decides; it only moves figures.
 */
import { loadFixtures, startFlinkFixtureServer, type FlinkFixtureServer } from '../../agent/flink-fixture-server.ts';

export const JOB_ID = '5e20cb6b0f357591171dfcca2eea09de';
const SOURCE = 'bc764cd8ddf7a0cff126f51c16239658';
const KEYED = '20ba6b65f97481d5570070de90e4e791';
const SINK = '0a448493b4782967b150582570326227';

export interface MovingJob {
  server: FlinkFixtureServer;
  url: string;
  close(): Promise<void>;
}

interface VertexDetails { id: string; parallelism: number; metrics: Record<string, number | boolean> }

export async function startMovingJob(o: { rate?: number; busy?: number; growth?: number; tickMs?: number } = {}): Promise<MovingJob> {
  const rate = o.rate ?? 2000;
  const busy = o.busy ?? 1000;
  const growth = o.growth ?? 500;
  const server = await startFlinkFixtureServer(loadFixtures());
  const t0 = Date.now();
  const details = server.rest[`/jobs/${JOB_ID}`] as { vertices: VertexDetails[] };
  const subtasks = server.store.subtasks[JOB_ID]!;
  const per: Record<string, { busy: number; bp: number }> = { [SOURCE]: { busy: 200, bp: 750 }, [KEYED]: { busy, bp: 0 }, [SINK]: { busy: 100, bp: 0 } };
  const advance = (): void => {
    const t = (Date.now() - t0) / 1000 + 60;
    const records = rate * t;
    for (const v of details.vertices) {
      const f = per[v.id]!;
      v.metrics['accumulated-busy-time'] = Math.round(f.busy * t * v.parallelism);
      v.metrics['accumulated-backpressured-time'] = Math.round(f.bp * t * v.parallelism);
      v.metrics['read-records'] = v.id === SOURCE ? 0 : Math.round(records);
      v.metrics['write-records'] = v.id === SINK ? 0 : Math.round(records);
      const subs = subtasks[v.id] ?? [];
      for (const s of subs) {
        const share = String(Math.round(records / subs.length));
        if (v.id === SOURCE) {
          s['Source__Kafka_Source.numRecordsIn'] = share;
          s['Source__Kafka_Source.numRecordsOut'] = share;
          s.numRecordsOut = share;
          s['Source__Kafka_Source.pendingRecords'] = String(Math.round((5000 + growth * t) / subs.length));
        } else {
          s.numRecordsIn = share;
          s.numRecordsOut = v.id === SINK ? '0' : share;
        }
        s.busyTimeMsPerSecond = String(f.busy);
        s.backPressuredTimeMsPerSecond = String(f.bp);
      }
    }
  };
  advance();
  const timer = setInterval(advance, o.tickMs ?? 500);
  timer.unref();
  return {
    server, url: server.url,
    async close() {
      clearInterval(timer);
      await server.close();
    },
  };
}
