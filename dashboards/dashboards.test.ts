import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { jsonDir, staleDashboards } from './generate.ts';
import { expandVariables, panelQueries } from './queries.ts';

interface Dash {
  uid: string;
  templating: { list: Array<{ name: string }> };
  panels: Array<{ type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string } }>;
}
const dashboards = readdirSync(jsonDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(jsonDir, f), 'utf8')) as Dash);

it('keeps the checked-in dashboard JSON in step with its TypeScript sources', () => {
  assert.deepEqual(staleDashboards(), []);
});

it('gives every dashboard a unique uid and the datasource, namespace and job variables', () => {
  assert.equal(new Set(dashboards.map((d) => d.uid)).size, dashboards.length);
  assert.ok(dashboards.length >= 5);
  for (const d of dashboards) {
    assert.deepEqual(d.templating.list.map((v) => v.name), ['datasource', 'namespace', 'job_name'], d.uid);
  }
});

it('places panels inside the 24-column grid without overlaps and on the datasource variable', () => {
  for (const d of dashboards) {
    const cells = new Set<string>();
    for (const p of d.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${d.uid}: panel at x=${x} w=${w}`);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        const key = `${i},${j}`;
        assert.ok(!cells.has(key), `${d.uid}: overlap at ${key}`);
        cells.add(key);
      }
      if (p.type !== 'row') assert.equal(p.datasource?.uid, '${datasource}');
    }
  }
});

it('writes every panel query as valid PromQL once the variables are filled in', () => {
  const queries = panelQueries();
  assert.ok(queries.length >= 30, `only ${queries.length} queries`);
  for (const q of queries) {
    const tree = parser.parse(expandVariables(q.expr));
    let error: number | null = null;
    tree.iterate({ enter: (n) => { if (n.type.isError && error === null) error = n.from; } });
    assert.equal(error, null, `${q.dashboard} / ${q.panel}: parse error at ${error} in ${q.expr}`);
  }
});
