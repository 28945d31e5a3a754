import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { xxhash64 } from './xxhash.ts';
import { groupHash } from './group.ts';

describe('xxHash64', () => {
  it('matches the reference digests (short, 4/8-byte tails and 32-byte stripes)', () => {
    const table: Array<[string, string]> = [
      ['', 'ef46db3751d8e999'],
      ['a', 'd24ec4f1a98c6e5b'],
      ['abc', '44bc2cf5ad770999'],
      ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
    ];
    for (const [s, hex] of table) assert.equal(xxhash64(Buffer.from(s)).toString(16).padStart(16, '0'), hex, s);
  });

  it('hashes a group as Prometheus hashes labels {file, name}', () => {
    const sep = Buffer.from([0xff]);
    const bytes = Buffer.concat([Buffer.from('file'), sep, Buffer.from('/r.yml'), sep, Buffer.from('name'), sep, Buffer.from('g'), sep]);
    assert.equal(groupHash('/r.yml', 'g'), xxhash64(bytes));
    assert.notEqual(groupHash('/r.yml', 'g'), groupHash('/r.yml', 'h'));
  });
});
