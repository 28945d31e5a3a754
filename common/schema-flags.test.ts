import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { DURATION_FORMAT, aliasFlag, applyFlags, attributeOf, closestFlag, flagOf, helpText, schemaFlags, unknownFlagError, valueName } from './schema-flags.ts';

const schema = z
  .object({
    server: z
      .object({
        port: z.number().int().min(0).max(65535).default(80).describe('port'),
        bindAddress: z.string().default('127.0.0.1').describe('address'),
        baseUrl: z.url().optional().describe('external URL'),
      })
      .prefault({}),
    poll: z
      .object({
        interval: z.string().meta({ format: DURATION_FORMAT }).default('15s').describe('how often (duration, default 15s)').transform((s) => s.length),
        ratio: z.number().min(0).max(1).default(0.5).describe('share'),
        enabled: z.boolean().default(true).describe('poll at all'),
        mode: z.enum(['fast', 'slow']).default('slow').describe('speed'),
        urls: z.array(z.url()).default([]).describe('endpoints'),
        ports: z.array(z.number().int()).default([]).describe('ports'),
        labels: z.record(z.string(), z.string()).default({}).describe('labels'),
        groups: z.array(z.object({ name: z.string() })).default([]).describe('groups'),
        backoff: z.union([z.number().min(0), z.string()]).default('10s').describe('seconds or a duration'),
      })
      .prefault({}),
    dryRun: z.boolean().default(false).describe('do nothing'),
  })
  .strict();

const flags = schemaFlags(schema);
const byFlag = new Map(flags.map((f) => [f.flag, f]));
const apply = (values: Record<string, unknown>, raw: Record<string, unknown> = {}) => applyFlags(raw, flags, values);

describe('flags generated from a zod schema', () => {
  it('gives every leaf key a dotted kebab-case flag with its kind, default and help', () => {
    assert.deepEqual(flags.map((f) => f.flag), [
      '--server.port', '--server.bind-address', '--server.base-url', '--poll.interval', '--poll.ratio', '--poll.enabled', '--poll.mode', '--poll.urls',
      '--poll.ports', '--poll.labels', '--poll.groups', '--poll.backoff', '--dry-run',
    ]);
    assert.deepEqual(flags.map((f) => f.kind), ['integer', 'string', 'string', 'duration', 'number', 'boolean', 'enum', 'list', 'list', 'map', 'yaml', 'seconds-or-duration', 'boolean']);
    assert.deepEqual(byFlag.get('--poll.mode')!.choices, ['fast', 'slow']);
    assert.equal(valueName(byFlag.get('--poll.urls')!), '<url...>');
    assert.equal(valueName(byFlag.get('--server.base-url')!), '<url>');
    assert.equal(valueName(byFlag.get('--poll.interval')!), '<duration>');
    assert.equal(helpText(byFlag.get('--server.port')!), 'port (default 80)');
    assert.equal(helpText(byFlag.get('--poll.interval')!), 'how often (duration, default 15s)', 'a description that states its default is not repeated');
    assert.equal(helpText(byFlag.get('--poll.enabled')!), 'poll at all (default true); --no-poll.enabled sets it false');
    assert.equal(flagOf(['actuation', 'leaderElection', 'leaseDuration']), '--actuation.leader-election.lease-duration');
  });

  it('names values the way commander stores them', () => {
    assert.equal(attributeOf('--server.bind-address'), 'server.bindAddress');
    assert.equal(attributeOf('--no-dry-run'), 'dryRun');
    assert.equal(attributeOf('--flink-url'), 'flinkUrl');
    assert.equal(attributeOf('--web.config.file'), 'web.config.file');
  });

  it('coerces each value by the key\'s type and leaves unset keys to the file', () => {
    const raw = apply(
      { 'server.port': '8080', 'poll.ratio': '0.25', 'poll.enabled': false, 'poll.mode': 'fast', 'poll.urls': ['http://a:1', 'http://b:2,http://c:3'], 'poll.ports': ['1', '2'], 'poll.labels': ['a=1', 'b=x=y'], 'poll.groups': '[{name: g}]', 'poll.backoff': '30', dryRun: true },
      { server: { bindAddress: '0.0.0.0' } },
    );
    assert.deepEqual(raw, {
      server: { bindAddress: '0.0.0.0', port: 8080 },
      poll: { ratio: 0.25, enabled: false, mode: 'fast', urls: ['http://a:1', 'http://b:2', 'http://c:3'], ports: [1, 2], labels: { a: '1', b: 'x=y' }, groups: [{ name: 'g' }], backoff: 30 },
      dryRun: true,
    });
    assert.equal((apply({ 'poll.backoff': '1h30m' }).poll as { backoff: unknown }).backoff, '1h30m');
    const parsed = schema.parse(apply({ 'poll.interval': '2m' }));
    assert.equal(parsed.poll.interval, 2, 'the schema still transforms the value');
  });

  it('reports a bad value against its flag, with the schema\'s reason', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ 'server.port': 'eighty' }, /^--server\.port: "eighty" is not an integer$/],
      [{ 'server.port': '1.5' }, /^--server\.port: "1\.5" is not an integer$/],
      [{ 'server.port': '70000' }, /^--server\.port: Too big: expected number to be <=65535$/],
      [{ 'poll.ratio': '' }, /^--poll\.ratio: "" is not a number$/],
      [{ 'poll.mode': 'medium' }, /^--poll\.mode: Invalid option: expected one of "fast"\|"slow"$/],
      [{ 'poll.urls': ['not a url'] }, /^--poll\.urls: Invalid URL \(0\)$/],
      [{ 'poll.labels': ['novalue'] }, /^--poll\.labels: "novalue" is not key=value$/],
      [{ 'poll.groups': '[{name: ' }, /^--poll\.groups: not valid YAML/],
      [{ 'poll.groups': '[{nom: g}]' }, /^--poll\.groups: Invalid input: expected string, received undefined \(0\.name\)$/],
    ];
    for (const [values, re] of cases) assert.throws(() => apply(values), (e: Error & { code?: string }) => e.code === 'FP_CLI_USAGE' && re.test(e.message), JSON.stringify(values));
  });

  it('takes shortcuts for a key, and refuses a shortcut and the key\'s own flag together', () => {
    const withAlias = [...flags, aliasFlag(schema, '--port', ['server', 'port'], 'the port'), aliasFlag(schema, '--group', ['poll', 'groups'], 'a group by name', { map: (v) => (Array.isArray(v) ? v : [String(v)]).map((name) => ({ name })), valueHint: '<name...>' })];
    assert.deepEqual(applyFlags({}, withAlias, { port: '1', group: ['a', 'b'] }), { server: { port: 1 }, poll: { groups: [{ name: 'a' }, { name: 'b' }] } });
    assert.throws(() => applyFlags({}, withAlias, { port: 'x' }), /--port: "x" is not an integer$/);
    assert.throws(() => applyFlags({}, withAlias, { port: '1', 'server.port': '2' }), /--server\.port and --port both set server\.port; give one of them/);
    assert.equal(helpText(withAlias.at(-2)!), 'the port (config key server.port) (default 80)');
    assert.throws(() => aliasFlag(schema, '--nope', ['server', 'nope'], 'x'), /no config key server\.nope/);
  });

  it('suggests the closest flag and key for an unknown one, and nothing for gibberish', () => {
    assert.equal(closestFlag('--server-port', flags)?.flag, '--server.port', 'kebab instead of a dot');
    assert.equal(closestFlag('--server.bindAddress', flags)?.flag, '--server.bind-address', 'the YAML key spelled as a flag');
    assert.equal(closestFlag('--poll.intervall', flags)?.flag, '--poll.interval');
    assert.equal(closestFlag('--no-poll.enabeld', flags)?.flag, '--poll.enabled');
    assert.equal(closestFlag('--zzzzzzzz', flags), undefined);
    assert.equal(unknownFlagError('--poll.intervall=5s', flags, 'tool run').message, "unknown option '--poll.intervall' for tool run; did you mean --poll.interval (config key poll.interval)?");
    assert.equal(unknownFlagError('--zzzzzzzz', flags, 'tool run').message, "unknown option '--zzzzzzzz' for tool run; see tool run --help");
  });
});
