import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusParts } from './status-json.ts';

describe('each job\'s part of /api/v1/scaling/jobs', () => {
  it('is serialized again only when one of its inputs is another value or object, and forgotten with its job', () => {
    const parts = new StatusParts();
    let builds = 0;
    const decision = { time: 1, action: 'none' };
    const build = (d: object, n: number) => () => { builds++; return { decision: d, observations: n }; };
    const a = parts.json('a', [decision, 1], build(decision, 1));
    assert.equal(a, '{"decision":{"time":1,"action":"none"},"observations":1}');
    assert.equal(parts.json('a', [decision, 1], build(decision, 1)), a);
    assert.equal(builds, 1);
    // a new count, a new decision object (even one that looks the same)
    assert.equal(parts.json('a', [decision, 2], build(decision, 2)), '{"decision":{"time":1,"action":"none"},"observations":2}');
    const next = { time: 1, action: 'none' };
    parts.json('a', [next, 2], build(next, 2));
    assert.equal(builds, 3);
    parts.json('b', [decision, 1], build(decision, 1));
    assert.equal(parts.size, 2);
    parts.keepOnly(new Map([['b', null]]));
    assert.equal(parts.size, 1);
    parts.json('a', [next, 2], build(next, 2));
    assert.equal(builds, 5, 'a forgotten job is built again');
  });
});
