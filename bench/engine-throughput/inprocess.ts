/**
 * Job (b) (bench/engine-throughput/jobs/keyed.ts: generator -> keyBy -> count per key) on two
 * TaskManagers' data planes (two ShuffleServices talking TCP over loopback) inside ONE process,
 * with the real TaskExecutors, channels, codec and operators: one thread then does the work of
 * both TaskManagers, so its CPU time per record is what (b) costs the engine in total, sockets
 * included, with neither the wait of one process for the other nor the machine's load in the
 * figure (a thread's CPU time does not count the time it waits for a CPU). Prints, per rep, the
 * thread's CPU ns per record, then the minimum and the median.
 * Usage: node bench/engine-throughput/inprocess.ts [--records N] [--reps N] [-D key=value ...]
 *   keys: taskmanager.network.batch-size, taskmanager.memory.segment-size,
 *   taskmanager.network.memory.buffers-per-channel (defaults as the TaskManager's).
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../common/log.ts';
import { parseTaskManagerConfig } from '../../engine/config/options.ts';
import { buildJobProgram } from '../../engine/program/build.ts';
import { ShuffleService } from '../../engine/network/shuffle-service.ts';
import type { TaskDeployment } from '../../engine/runtime/deployment.ts';
import { TaskExecutor } from '../../engine/runtime/task-executor.ts';
import { ViewUpdater } from '../../engine/runtime/time-accounting.ts';

const argv = process.argv.slice(2);
const RECORDS = argv.includes('--records') ? Number(argv[argv.indexOf('--records') + 1]) : 3_000_000;
const REPS = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 5;
const defines = Object.fromEntries(argv.flatMap((a, i) => (a === '-D' && argv[i + 1] ? [argv[i + 1]!.split('=', 2)] : [])));
const config = parseTaskManagerConfig(defines);

async function once(): Promise<{ cpuNs: number; wallMs: number }> {
  const program = await buildJobProgram({ modulePath: resolve(import.meta.dirname, 'jobs/keyed.ts'), programArgs: ['--limit', String(RECORDS), '--partitions', '2'], parallelism: 2 });
  const log = silentLogger();
  const credit = config['taskmanager.network.memory.buffers-per-channel'];
  const services = [0, 1].map(() => new ShuffleService({ host: '127.0.0.1', port: 0, capacity: credit, log }));
  const consumers = await Promise.all(services.map(async (s, i) => ({ taskManagerId: `tm${i}`, dataAddress: `127.0.0.1:${await s.start()}` })));
  const [source, keyed] = program.graph.vertices;
  const updater = new ViewUpdater(1000);
  const tasks: TaskExecutor[] = [];
  for (let i = 0; i < 2; i++) {
    for (const v of [source!, keyed!]) {
      const task: TaskDeployment = {
        vertexId: v.id,
        taskName: v.name,
        subtaskIndex: i,
        parallelism: 2,
        maxParallelism: v.maxParallelism,
        attemptNumber: 0,
        attemptId: `e_${v.id}_${i}_0`,
        isSource: v.isSource,
        headOperator: { id: v.operators[0]!.id, name: v.name },
        inputs: v.inputs.map((e) => ({ inputIndex: e.inputIndex, sourceVertexId: e.sourceVertexId, ship: e.ship, producerParallelism: 2 })),
        outputs: v === source ? [{ targetVertexId: keyed!.id, inputIndex: 0, ship: 'HASH', consumerParallelism: 2, consumerMaxParallelism: keyed!.maxParallelism, consumers }] : [],
      };
      const options = {
        batchSize: config['taskmanager.network.batch-size'],
        segmentBytes: config['taskmanager.memory.segment-size'],
        bufferTimeoutMs: config['execution.buffer-timeout'],
        viewSlots: 10,
        creditPerChannel: credit,
        debloat: null,
      };
      const job = { jobId: 'bench', jobName: 'bench-keyed', executionId: 'e', config: {} };
      tasks.push(new TaskExecutor({ taskManagerId: `tm${i}`, shuffle: services[i]!, program, job, task, options, updater, log, onState: () => {} }));
    }
  }
  const c0 = process.threadCpuUsage();
  const t0 = performance.now();
  await Promise.all(tasks.map((t) => t.start()));
  const wallMs = performance.now() - t0;
  const c1 = process.threadCpuUsage();
  updater.stop();
  for (const t of tasks) t.dispose();
  await Promise.all(services.map((s) => s.close()));
  if (tasks.some((t) => t.state !== 'FINISHED')) throw new Error(`a subtask ended ${tasks.map((t) => t.state).join(', ')}`);
  return { cpuNs: ((c1.user + c1.system - c0.user - c0.system) * 1000) / RECORDS, wallMs };
}

const xs: number[] = [];
for (let rep = 1; rep <= REPS; rep++) {
  const x = await once();
  xs.push(x.cpuNs);
  console.log(`rep ${rep}: ${x.cpuNs.toFixed(0)} ns of thread CPU per record (both TaskManagers' work), wall ${x.wallMs.toFixed(0)} ms`);
}
const sorted = [...xs].sort((a, b) => a - b);
console.log(`(b) in one process, ${RECORDS.toLocaleString('en-US')} records: min ${sorted[0]!.toFixed(0)} ns/record, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ns/record`);
process.exit(0);
