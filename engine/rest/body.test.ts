import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { fieldPath, parseJsonBody, parseMultipart } from './body.ts';
import { RestError } from './errors.ts';

describe('request bodies', () => {
  const schema = z.looseObject({ n: z.number().int().nullish(), list: z.array(z.string()).nullish() });

  it('parses an empty body as {} and ignores unknown fields', () => {
    assert.deepEqual(parseJsonBody(Buffer.from(''), schema, 'X'), {});
    assert.deepEqual(parseJsonBody(Buffer.from('{"n":2,"extra":true}'), schema, 'X'), { n: 2, extra: true });
  });

  it('names the request class and field path of a type mismatch', () => {
    assert.throws(() => parseJsonBody(Buffer.from('{"list":["a",3]}'), schema, 'JarRunRequestBody'), (e: unknown) => {
      assert.ok(e instanceof RestError);
      assert.equal(e.status, 400);
      assert.match(e.errors[0]!, /expected format JarRunRequestBody\.[\s\S]*\(at list\[1\]\)/);
      return true;
    });
  });

  it('formats nested paths', () => {
    assert.equal(fieldPath(['a', 'b', 0, 'c']), 'a.b[0].c');
    assert.equal(fieldPath([]), '<root>');
  });

  it('extracts file parts from multipart/form-data and keeps binary content intact', () => {
    const bin = Buffer.from([0, 1, 2, 13, 10, 255]);
    const body = Buffer.concat([
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="jarfile"; filename="job.ts"\r\nContent-Type: application/octet-stream\r\n\r\n'),
      bin,
      Buffer.from('\r\n--XyZ--\r\n'),
    ]);
    const files = parseMultipart(body, 'multipart/form-data; boundary=XyZ');
    assert.equal(files.length, 1);
    assert.equal(files[0]!.field, 'jarfile');
    assert.equal(files[0]!.filename, 'job.ts');
    assert.deepEqual([...files[0]!.data], [...bin]);
  });
});
