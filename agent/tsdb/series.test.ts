import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelsFromRecord } from './labels.ts';
import { MemSeries } from './series.ts';

describe('MemSeries', () => {
  it('answers windows, newest samples and truncation like a plain list across ring and compressed chunks', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let run = 0; run < 20; run++) {
      const s = new MemSeries(1, labelsFromRecord({ __name__: 'x' }));
      const model: { t: number; v: number; stale: boolean }[] = [];
      let t = Math.floor(rnd() * 1e6);
      const n = Math.floor(rnd() * 900);
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rnd() * 20_000);
        const stale = rnd() < 0.03;
        const v = rnd() < 0.3 ? Math.floor(rnd() * 10) : rnd() * 1e6;
        assert.equal(s.append(t, v, stale), 'ok');
        model.push({ t, v: stale ? NaN : v, stale });
      }
      let cut = -Infinity;
      for (let q = 0; q < 30; q++) {
        if (q === 15 && model.length > 0) {
          cut = model[Math.floor(rnd() * model.length)]!.t;
          const dropped = s.truncateBefore(cut);
          assert.ok(dropped <= model.filter((m) => m.t < cut).length);
          assert.equal(s.length, model.length - dropped);
        }
        const a = model.length === 0 ? 0 : model[Math.floor(rnd() * model.length)]!.t - Math.floor(rnd() * 5000);
        const b = a + Math.floor(rnd() * 2_000_000);
        const w = s.window(a, b);
        const want = model.filter((m) => m.t >= Math.max(a, cut) && m.t <= b);
        const got = w.t.map((x, i) => ({ t: x, v: w.v[i]!, stale: w.stale?.[i] === 1 })).filter((m) => m.t >= cut);
        assert.deepEqual(got.map((m) => m.t), want.map((m) => m.t), `run ${run} window ${a}..${b}`);
        got.forEach((m, i) => {
          assert.ok(Object.is(m.v, want[i]!.v) || (Number.isNaN(m.v) && Number.isNaN(want[i]!.v)));
          assert.equal(m.stale, want[i]!.stale);
        });
        const l = s.latest(a, b);
        const last = want[want.length - 1];
        if (last === undefined) assert.ok(l.t.length === 0 || l.t[0]! < cut);
        else {
          assert.deepEqual(l.t, [last.t], `run ${run} latest ${a}..${b}`);
          assert.equal(l.stale?.[0] === 1, last.stale);
        }
      }
    }
  });
});
