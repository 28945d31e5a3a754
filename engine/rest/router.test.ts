import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from './router.ts';

describe('router', () => {
  const r = new Router<string>()
    .add('GET', '/jobs/:jobid', 'job')
    .add('GET', '/jobs/overview', 'overview')
    .add('PATCH', '/jobs/:jobid', 'cancel')
    .add('GET', '/taskmanagers/:taskmanagerid/metrics', 'tm');

  it('matches with and without the /v1 prefix and ignores trailing slashes', () => {
    assert.equal(r.match('GET', '/jobs/abc')?.route.handler, 'job');
    assert.equal(r.match('GET', '/v1/jobs/abc/')?.route.handler, 'job');
    assert.deepEqual(r.match('GET', '/v1/jobs/abc')?.params, { jobid: 'abc' });
  });

  it('prefers a literal segment over a parameter', () => {
    assert.equal(r.match('GET', '/jobs/overview')?.route.handler, 'overview');
  });

  it('matches on method and returns null for a known path with another method', () => {
    assert.equal(r.match('PATCH', '/jobs/abc')?.route.handler, 'cancel');
    assert.equal(r.match('DELETE', '/jobs/abc'), null);
    assert.equal(r.match('GET', '/jobs'), null);
  });

  it('decodes percent-encoded parameters such as TaskManager ids', () => {
    assert.deepEqual(r.match('GET', '/taskmanagers/127.0.0.1%3A4012-ab12cd/metrics')?.params, { taskmanagerid: '127.0.0.1:4012-ab12cd' });
  });
});
