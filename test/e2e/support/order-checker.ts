/**
 * Checks the committed output of the order-enrichment job against the generator: every order
 * id 0..limit-1 is deterministic (customer and amount come from the id alone), so the orders
 * and revenue per customer summed over all committed windows must equal what those ids add up
 * to, and no (customer, window) appears twice. A lost record lowers a customer's totals, a
 * replayed one raises them, a re-committed window shows up as a duplicate row.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { order, type CustomerWindow } from '../../../engine/jobs/order-enrichment.ts';

export interface OrderCheck {
  ok: boolean;
  windows: number;
  ordersSeen: number;
  ordersExpected: number;
  duplicateWindows: number;
  /** customers whose order count is below / above what the generator produced */
  customersShort: number;
  customersOver: number;
  revenueMismatches: number;
  problems: string[];
}

export function checkOrderOutput(dir: string, opts: { limit: number; partitions?: number; customers?: number }): OrderCheck {
  const partitions = opts.partitions ?? 4;
  const customers = opts.customers ?? 500;
  const expected = new Map<string, { orders: number; revenue: number }>();
  for (let id = 0; id < opts.limit; id++) {
    const o = order(id % partitions, Math.floor(id / partitions), partitions, customers, 0);
    const e = expected.get(o.customer) ?? { orders: 0, revenue: 0 };
    e.orders++;
    e.revenue += o.amountCents;
    expected.set(o.customer, e);
  }
  const seen = new Map<string, { orders: number; revenue: number }>();
  const windowKeys = new Set<string>();
  const problems: string[] = [];
  let windows = 0;
  let duplicateWindows = 0;
  let ordersSeen = 0;
  for (const f of readdirSync(dir).filter((x) => x.startsWith('part-')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const w = JSON.parse(line) as CustomerWindow;
      windows++;
      const key = `${w.customer}@${w.windowStart}`;
      if (windowKeys.has(key)) {
        duplicateWindows++;
        if (problems.length < 10) problems.push(`window ${key} committed twice (${f})`);
      }
      windowKeys.add(key);
      ordersSeen += w.orders;
      const s = seen.get(w.customer) ?? { orders: 0, revenue: 0 };
      s.orders += w.orders;
      s.revenue += w.revenueCents;
      seen.set(w.customer, s);
    }
  }
  let customersShort = 0;
  let customersOver = 0;
  let revenueMismatches = 0;
  for (const c of new Set([...expected.keys(), ...seen.keys()])) {
    const e = expected.get(c) ?? { orders: 0, revenue: 0 };
    const s = seen.get(c) ?? { orders: 0, revenue: 0 };
    if (s.orders < e.orders) customersShort++;
    if (s.orders > e.orders) customersOver++;
    if (s.revenue !== e.revenue) revenueMismatches++;
    if (s.orders !== e.orders && problems.length < 10) problems.push(`customer ${c}: ${s.orders} orders committed, ${e.orders} generated`);
  }
  return {
    ok: duplicateWindows === 0 && customersShort === 0 && customersOver === 0 && revenueMismatches === 0,
    windows, ordersSeen, ordersExpected: opts.limit, duplicateWindows, customersShort, customersOver, revenueMismatches, problems,
  };
}
