import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '../../agent/process/config.ts';

describe('docs/reference/agent.md', () => {
  it('embeds the configuration reference generated from the zod schema', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'reference', 'agent.md'), 'utf8');
    const m = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(doc);
    assert.ok(m, 'docs/reference/agent.md lacks the config-reference markers');
    assert.equal(m[1], configReference(), 'the reference is stale: regenerate it with `node agent/process/config.ts`');
  });
});
