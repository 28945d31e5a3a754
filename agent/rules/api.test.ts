import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PromQLEngine } from '../promql/index.ts';
import { MemoryStorage } from '../tsdb/index.ts';
import { alertsApiData, goTimeJSON, rulesApiData } from './api.ts';
import { RuleGroup } from './group.ts';
import { parseRuleFile } from './rulefile.ts';
import { engineQueryFunc } from './types.ts';

const T0 = Date.UTC(2026, 10, 21, 6, 3, 35, 220);

const TEXT = `groups:
  - name: g
    interval: 1s
    rules:
      - alert: High
        expr: vector(10) > 5
        labels: {severity: warning}
        annotations: {summary: "v {{ $value }}"}
      - alert: Later
        expr: vector(10) > 5
        for: 1h
      - record: r
        expr: vector(1)
`;

describe('Prometheus API shapes', () => {
  it('prints times as Go does', () => {
    assert.equal(goTimeJSON(0), '0001-01-01T00:00:00Z');
    assert.equal(goTimeJSON(T0), '2026-11-21T06:03:35.22Z');
  });

  it('renders /api/v1/rules and /api/v1/alerts like Prometheus 2.42', async () => {
    const storage = new MemoryStorage();
    const g = new RuleGroup(parseRuleFile(TEXT, '/etc/rules.yml').groups[0], 60_000);
    await g.eval(T0, { query: engineQueryFunc(new PromQLEngine(storage)), appender: storage, externalLabels: {}, externalURL: '', resendDelayMs: 60_000 });
    const data = JSON.parse(JSON.stringify(rulesApiData([g]))) as { groups: Array<Record<string, unknown> & { rules: Array<Record<string, unknown>> }> };
    const [group] = data.groups;
    for (const r of group.rules) {
      assert.equal(typeof r.evaluationTime, 'number');
      delete r.evaluationTime;
    }
    delete group.evaluationTime;
    const activeAt = goTimeJSON(T0);
    assert.deepEqual(data, {
      groups: [{
        name: 'g',
        file: '/etc/rules.yml',
        rules: [
          {
            state: 'firing', name: 'High', query: 'vector(10) > 5', duration: 0, keepFiringFor: 0, labels: { severity: 'warning' },
            annotations: { summary: 'v {{ $value }}' },
            alerts: [{ labels: { alertname: 'High', severity: 'warning' }, annotations: { summary: 'v 10' }, state: 'firing', activeAt, value: '1e+01' }],
            health: 'ok', lastEvaluation: activeAt, type: 'alerting',
          },
          {
            state: 'pending', name: 'Later', query: 'vector(10) > 5', duration: 3600, keepFiringFor: 0, labels: {}, annotations: {},
            alerts: [{ labels: { alertname: 'Later' }, annotations: {}, state: 'pending', activeAt, value: '1e+01' }],
            health: 'ok', lastEvaluation: activeAt, type: 'alerting',
          },
          { name: 'r', query: 'vector(1)', health: 'ok', lastEvaluation: activeAt, type: 'recording' },
        ],
        interval: 1,
        limit: 0,
        lastEvaluation: activeAt,
      }],
    });
    assert.deepEqual(alertsApiData([g]).alerts.map((a) => [a.labels.alertname, a.state]), [['High', 'firing'], ['Later', 'pending']]);
    assert.deepEqual(rulesApiData([g], { type: 'record' }).groups.length, 1);
    assert.deepEqual((rulesApiData([g], { type: 'record' }).groups[0] as { rules: unknown[] }).rules.length, 1);
  });
});
