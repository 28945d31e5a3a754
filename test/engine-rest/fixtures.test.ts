/**
 * The committed Flink-format fixtures in test/fixtures/flink-rest/ are exactly what the server
 * answers today (regenerate with `node test/engine-rest/write-fixtures.ts` after a deliberate
 * wire change); error fixtures keep Flink's error shape. Spec validation of the same answers is
 * in conformance.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURE_DIR, collectFixtures, render, type FixtureEntry } from './write-fixtures.ts';

describe('Flink REST fixtures', () => {
  it('match what the server answers for the in-memory backend, file by file', async () => {
    const fresh = await collectFixtures();
    const index = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'index.json'), 'utf8')) as FixtureEntry[];
    assert.deepEqual(index, fresh.map((f) => f.entry), 'index.json is stale: run node test/engine-rest/write-fixtures.ts');
    for (const { entry, body } of fresh) {
      const committed = fs.readFileSync(path.join(FIXTURE_DIR, entry.file), 'utf8');
      assert.equal(committed, render(body), `${entry.file} is stale: run node test/engine-rest/write-fixtures.ts`);
    }
  });

  it('keep error answers in Flink\'s {"errors":[...]} shape', () => {
    const index = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'index.json'), 'utf8')) as FixtureEntry[];
    const failures = index.filter((e) => e.status >= 400);
    assert.ok(failures.length >= 5);
    for (const e of failures) {
      const body = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, e.file), 'utf8')) as { errors: unknown };
      assert.ok(Array.isArray(body.errors) && body.errors.every((x) => typeof x === 'string'), e.file);
    }
  });
});
