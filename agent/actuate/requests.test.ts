import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatVertexOverrides, parseVertexOverrides, jobKeyOf } from './types.ts';
import { newRequirements } from './in-place.ts';
import { replicasFor } from './kubernetes.ts';
import { samePath, expectedParallelism } from './savepoint.ts';
import { localPathUnder } from './periodic-savepoints.ts';
import { backoffFor } from './disaster-recovery.ts';
import { isFlowpilotError } from '../../common/errors.ts';

describe('actuation request shaping', () => {
  it('writes and reads the parallelism overrides string in the operator format', () => {
    const s = formatVertexOverrides({ b: 4, a: 2 });
    assert.equal(s, 'a:2,b:4');
    assert.deepEqual(parseVertexOverrides(s), { a: 2, b: 4 });
    assert.deepEqual(parseVertexOverrides(undefined), {});
  });

  it('keys a job by name so it survives resubmission under a new id', () => {
    assert.equal(jobKeyOf({ jobId: 'x', jobName: 'orders' }), 'orders');
    assert.equal(jobKeyOf({ jobId: 'x' }), 'x');
  });

  it('raises upper bounds to the target, never raises lower bounds, and keeps untouched vertices', () => {
    const cur = { a: { parallelism: { lowerBound: 1, upperBound: 2 } }, b: { parallelism: { lowerBound: 3, upperBound: 3 } }, c: { parallelism: { lowerBound: -1, upperBound: 5 } } };
    assert.deepEqual(newRequirements(cur, { a: 4, b: 2 }), {
      a: { parallelism: { lowerBound: 1, upperBound: 4 } },
      b: { parallelism: { lowerBound: 2, upperBound: 2 } },
      c: { parallelism: { lowerBound: -1, upperBound: 5 } },
    });
    assert.throws(() => newRequirements(cur, { zz: 2 }), (e: unknown) => isFlowpilotError(e, 'FP_ACTUATE_UNKNOWN_VERTEX'));
  });

  it('derives TaskManager replicas from the largest vertex and the slots per TaskManager', () => {
    const base = { jobId: 'j', current: {}, reasons: [], mode: 'kubernetes-deployment' as const };
    assert.equal(replicasFor({ ...base, target: { a: 5, b: 2 } }, 2), 3);
    assert.equal(replicasFor({ ...base, target: { a: 5 }, taskManagers: 7 }, 2), 7);
  });

  it('treats file:/x, file:///x and /x as the same savepoint path', () => {
    assert.ok(samePath('file:/sp/savepoint-1', '/sp/savepoint-1/'));
    assert.ok(samePath('file:///sp/savepoint-1', 'file:/sp/savepoint-1'));
    assert.ok(!samePath('file:/sp/savepoint-1', 'file:/sp/savepoint-2'));
  });

  it('expects the job-wide parallelism everywhere when per-vertex overrides are not sent', () => {
    assert.deepEqual(expectedParallelism({ jarId: 'j', savepointDirectory: '/s', perVertexOverrides: false }, { a: 2, b: 4 }), { a: 4, b: 4 });
    assert.deepEqual(expectedParallelism({ jarId: 'j', savepointDirectory: '/s' }, { a: 2, b: 4 }), { a: 2, b: 4 });
  });

  it('deletes only local savepoints inside the configured directory', () => {
    assert.equal(localPathUnder('file:/data/sp/savepoint-1', '/data/sp'), '/data/sp/savepoint-1');
    assert.equal(localPathUnder('file:///data/sp/savepoint-1', 'file:/data/sp'), '/data/sp/savepoint-1');
    assert.equal(localPathUnder('s3://bucket/sp/savepoint-1', '/data/sp'), null);
    assert.equal(localPathUnder('file:/data/other/savepoint-1', '/data/sp'), null);
    assert.equal(localPathUnder('file:/data/sp/../../etc', '/data/sp'), null);
    assert.equal(localPathUnder('file:/data/sp', '/data/sp'), null);
  });

  it('backs off exponentially between recovery attempts up to a cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffFor(a, 10_000, 60_000)), [10_000, 20_000, 40_000, 60_000, 60_000]);
  });
});

describe('journal keys', () => {
  it('are safe for files and ConfigMaps, never collide, and are stable when applied twice', async () => {
    const { safeKey } = await import('./journal/store.ts');
    const a = safeKey('action.orders enrichment');
    const b = safeKey('action.orders_enrichment');
    assert.notEqual(a, b);
    for (const k of [a, b, safeKey('x'.repeat(500)), safeKey('ä'.repeat(100)), safeKey('y' + 'ä'.repeat(100)), safeKey('action.zähler/1')]) {
      assert.match(k, /^[A-Za-z0-9._-]{1,253}$/);
      assert.equal(safeKey(k), k);
    }
    assert.equal(safeKey('action.orders-1'), 'action.orders-1');
  });
});
