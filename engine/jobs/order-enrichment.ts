/**
 * Order enrichment: a generator of deterministic orders (event time = when each order became
 * due) -> async enrichment (an I/O-bound lookup with per-record latency) -> keyBy customer ->
 * tumbling event-time window aggregation (orders and revenue per customer and window) -> file
 * sink (or discard). Args: --rate N or --profile SPEC, --partitions N (default 4), --customers N
 * (default 500), --latency MS (default 20), --capacity N (default 100), --window MS (default
 * 10000), --lateness MS (default 0), --out-of-orderness MS (default 1000), --limit N,
 * --output DIR, --checkpoint-interval MS, --parallelism N, --enrich-parallelism N.
 */
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import { WatermarkStrategy } from '../api/watermarks.ts';
import { TumblingEventTimeWindows } from '../api/windows.ts';
import { generatorSource } from '../connectors/generator.ts';
import { enrichment, type Enriched } from '../connectors/enrichment.ts';
import { fileSink } from '../connectors/file-sink.ts';
import { discardSink } from '../connectors/simple-sinks.ts';
import { JobArgs } from './args.ts';

export interface Order {
  id: number;
  customer: string;
  amountCents: number;
  time: number;
}

export interface CustomerWindow {
  customer: string;
  windowStart: number;
  windowEnd: number;
  orders: number;
  revenueCents: number;
  segment: string;
}

export function order(partition: number, offset: number, partitions: number, customers: number, time: number): Order {
  const id = offset * partitions + partition;
  return { id, customer: `c${(id * 31) % customers}`, amountCents: 100 + ((id * 7727) % 9900), time };
}

interface Acc {
  orders: number;
  revenueCents: number;
  segment: string;
}

export default function orderEnrichment(env: StreamExecutionEnvironment, argv: string[]): void {
  const args = new JobArgs(argv);
  const partitions = args.int('partitions', 4);
  const customers = args.int('customers', 500);
  const profile = args.optional('profile') ?? `constant:${args.number('rate', 1000)}`;
  const limit = args.optional('limit');
  const output = args.optional('output');
  env.setJobName(args.string('name', 'order-enrichment'));
  const p = args.optional('parallelism');
  if (p !== undefined) env.setParallelism(Number(p));
  const interval = args.optional('checkpoint-interval');
  if (interval !== undefined) env.enableCheckpointing(Number(interval));

  const orders = env
    .fromSource(
      generatorSource<Order>({
        partitions,
        profile,
        limit: limit === undefined ? undefined : Number(limit),
        record: (part, off, due) => order(part, off, partitions, customers, due),
        name: 'orders',
      }),
      WatermarkStrategy.forBoundedOutOfOrderness<Order>(args.number('out-of-orderness', 1000))
        .withTimestampAssigner((o) => o.time)
        .withIdleness(5000),
    )
    .uid('orders');

  const enriched = orders
    .rebalance()
    .asyncMap(enrichment<Order>({ latencyMs: args.number('latency', 20), key: (o) => o.customer }), {
      capacity: args.int('capacity', 100),
    })
    .uid('enrich')
    .name('Enrich');
  const ep = args.optional('enrich-parallelism');
  if (ep !== undefined) enriched.setParallelism(Number(ep));

  const windows = enriched
    .keyBy((e: Enriched<Order>) => e.record.customer)
    .window(TumblingEventTimeWindows.of(args.number('window', 10_000)))
    .allowedLateness(args.number('lateness', 0))
    .aggregate<Acc, Acc, CustomerWindow>(
      {
        createAccumulator: () => ({ orders: 0, revenueCents: 0, segment: '' }),
        add: (e, acc) => ({ orders: acc.orders + 1, revenueCents: acc.revenueCents + e.record.amountCents, segment: e.segment }),
        getResult: (acc) => acc,
      },
      (customer, window, acc) => ({ customer, windowStart: window.start, windowEnd: window.end, ...acc }),
    )
    .uid('customer-windows');

  if (output !== undefined) windows.sinkTo(fileSink<CustomerWindow>({ path: output, name: 'customer-windows' })).uid('sink');
  else windows.sinkTo(discardSink<CustomerWindow>()).uid('sink');
}
