import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI_REFERENCE, cliReference } from '../../scripts/cli-reference.ts';

describe('the CLI reference', () => {
  it('is the help of every command as the command tree defines it', async () => {
    const expected = await cliReference();
    assert.ok(expected.includes('`flowpilot agent`') && expected.includes('`flowpilot scale explain`'));
    assert.equal(readFileSync(CLI_REFERENCE, 'utf8'), expected, 'docs/reference/cli.md is stale: regenerate it with `node scripts/cli-reference.ts`');
  });
});
