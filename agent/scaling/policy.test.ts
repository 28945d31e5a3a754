import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultPolicy, parsePolicy, policyForJob } from './policy.ts';
import { POLICY_EXAMPLE, policyDocs, policyDocsPath } from './policy-docs.ts';
import { isFlowpilotError } from '../../common/errors.ts';

function error(text: string): string {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    assert.ok(isFlowpilotError(err, 'FP_POLICY_INVALID'), String(err));
    return err.message;
  }
  assert.fail('expected a validation error');
}

describe('scaling policy', () => {
  it('gives every key a default', () => {
    const p = defaultPolicy();
    assert.equal(p.utilization.target, 0.8);
    assert.equal(p.cooldown, '10m');
    assert.deepEqual(parsePolicy('', 'empty.yaml'), p);
  });

  it('reports a wrong type at the line and column of the value', () => {
    const msg = error('cooldown: 10m\nutilization:\n  target: high\n');
    assert.match(msg, /^p\.yaml:3:11: utilization\.target: /);
  });

  it('reports an unknown key where it is written', () => {
    const msg = error('scaleDown:\n  delay: 5m\n  dealy: 6m\n');
    assert.match(msg, /^p\.yaml:3:3: scaleDown\.dealy: unknown key "dealy"/);
  });

  it('reports YAML syntax errors with their position', () => {
    assert.match(error('cooldown: [1m\nx: 1\n'), /^p\.yaml:\d+:\d+: YAML syntax/);
  });

  it('rejects a bad cron expression and an inverted band', () => {
    assert.match(error('schedules:\n  - name: a\n    cron: "99 * * * *"\n    duration: 1h\n'), /^p\.yaml:3:11: schedules\.0\.cron/);
    assert.match(error('utilization: { target: 0.3, min: 0.5 }\n'), /need min <= target <= max/);
  });

  it('validates per-job overrides at load time and applies them per job', () => {
    assert.match(error('jobs:\n  orders:\n    cooldown: soon\n'), /^p\.yaml:3:15: jobs\.orders\.cooldown: /);
    const p = parsePolicy('cooldown: 5m\njobs:\n  orders:\n    cooldown: 20m\n    utilization: { target: 0.6 }\n', 'p.yaml');
    const orders = policyForJob(p, 'abc', 'orders');
    assert.equal(orders.cooldown, '20m');
    assert.equal(orders.utilization.target, 0.6);
    assert.equal(orders.utilization.max, 0.95);
    assert.equal(policyForJob(p, 'other').cooldown, '5m');
  });

  it('accepts the example printed in the reference', () => {
    const p = parsePolicy(POLICY_EXAMPLE, 'example.yaml');
    assert.equal(p.schedules.length, 2);
    assert.equal(policyForJob(p, 'x', 'orders-enrichment').scaleDown.delay, '1h');
  });

  it('keeps docs/reference/scaling-policy.md in step with the schema (run node agent/scaling/policy-docs.ts)', () => {
    assert.equal(readFileSync(policyDocsPath, 'utf8'), policyDocs());
  });
});
