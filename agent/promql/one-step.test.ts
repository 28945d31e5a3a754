/**
 * The allocation-light paths an instant query takes over MemoryStorage (selections read from
 * shared columns, aggregations fed labels and values without series objects) must give exactly
 * what the general path gives: the same queries are run against the store itself and against a
 * view of it that offers only select/selectLatest (no selectColumns), which takes the general path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStorage, type Queryable } from '../tsdb/storage.ts';
import { PromQLEngine } from './engine.ts';

const QUERIES = [
  'sum by (a) (x)',
  'avg(x)',
  'max without (b) (x)',
  'min by (a, b) (x)',
  'count by (b, a) (x offset 20s)',
  'stddev by (a) (x)',
  'stdvar(x @ 100)',
  'group by (a) (x)',
  'sum by (__name__, a) ({__name__=~"x|c"})',
  'x',
  'rate(c[1m])',
  'sum by (a) (rate(c[1m]))',
  'max by (b) (increase(c[2m]))',
  'sum(rate(c[1m] offset 30s))',
  'avg by (a) (irate(c[1m]))',
  'sum(delta(x[1m]))',
  'max by (a) (last_over_time(x[1m]))',
  'count(count_over_time(c[30s]))',
  'sum by (a) (rate(x[1m]))',
  'sum((rate(c[1m])))',
  'sum(quantile_over_time(0.5, x[1m]))',
  'sum by (a) (rate(c[1m])) / sum by (a) (rate(c[2m]))',
];

/** The same store, seen through the plain Queryable interface only. */
function plain(st: MemoryStorage): Queryable {
  return { select: (m, a, b) => st.select(m, a, b), selectLatest: (m, a, b) => st.selectLatest(m, a, b) };
}

describe('one-step evaluation over shared columns', () => {
  it('gives the general path\'s values, labels, order and annotations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({
          a: fc.constantFrom('p', 'q', ''),
          b: fc.constantFrom('1', '2', '3'),
          kind: fc.constantFrom('x', 'c'),
          // Per 10 s tick: a value change (counters: an increment, sometimes a reset), a gap, or a stale marker.
          ticks: fc.array(fc.oneof(fc.double({ min: -5, max: 50, noNaN: true }), fc.constant('gap' as const), fc.constant('stale' as const)), { minLength: 1, maxLength: 14 }),
        }), { minLength: 1, maxLength: 12 }),
        // Evaluation times on sample times and between them (window bounds that hit a sample exactly).
        fc.integer({ min: 0, max: 28 }),
        (series, at) => {
          const st = new MemoryStorage();
          series.forEach((s, i) => {
            const labels: Record<string, string> = { __name__: s.kind, b: s.b, i: String(i) };
            if (s.a !== '') labels['a'] = s.a;
            let v = 0;
            s.ticks.forEach((d, k) => {
              if (d === 'gap') return;
              if (d === 'stale') { st.appendStaleMarker(labels, k * 10_000); return; }
              v = s.kind === 'c' ? (d < 0 ? 0 : v + d) : d;
              st.append(labels, k * 10_000, v);
            });
          });
          const fast = new PromQLEngine(st);
          const general = new PromQLEngine(plain(st));
          for (const q of QUERIES) {
            const t = at * 5_000;
            const want = general.instantQuerySync(q, t);
            const got = fast.instantQuerySync(q, t);
            assert.deepStrictEqual(got, want, q);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reports the counter hint of rate() once per metric name, as the general path does', () => {
    const st = new MemoryStorage();
    for (let i = 0; i < 5; i++) for (let k = 0; k < 6; k++) st.append({ __name__: 'busy', i: String(i) }, k * 10_000, k * i);
    const got = new PromQLEngine(st).instantQuerySync('sum(rate(busy[1m]))', 55_000);
    const want = new PromQLEngine(plain(st)).instantQuerySync('sum(rate(busy[1m]))', 55_000);
    assert.deepStrictEqual(got, want);
    assert.equal(got.infos.length, 1);
    assert.match(got.infos[0]!, /metric might not be a counter/);
  });
});
