import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { applyFlags, attributeOf, type ConfigFlag } from '../../common/schema-flags.ts';
import { agentConfigSchema, configReference, parseAgentConfig } from './config.ts';
import { agentFlags } from './flags.ts';
import { resolveConfig } from './main.ts';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
}

/** The schema's leaf keys as zod's own JSON Schema lists them: a walk independent of the flag generator. */
function jsonSchemaLeaves(): string[][] {
  const out: string[][] = [];
  const walk = (s: JsonSchema, path: string[]): void => {
    if (s.type === 'object' && s.properties) for (const [k, v] of Object.entries(s.properties)) walk(v, [...path, k]);
    else out.push(path);
  };
  walk(z.toJSONSchema(agentConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, []);
  return out;
}

const generated = (): ConfigFlag[] => agentFlags().filter((f) => !f.alias);
const at = (obj: unknown, path: readonly string[]): unknown => path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);

/** A valid command-line value for a flag, and what the parsed config should then hold. */
function sample(f: ConfigFlag): { value: string | string[] | boolean; expect?: unknown } {
  const def = f.defaultValue;
  switch (f.kind) {
    case 'duration':
      return { value: '7s', expect: 7000 };
    case 'seconds-or-duration':
      return { value: '1m30s', expect: '1m30s' };
    case 'integer': {
      const n = typeof def === 'number' ? def + 1 : 3;
      return { value: String(n), expect: n };
    }
    case 'number': {
      const n = typeof def === 'number' && def > 0 ? def / 2 : 0.5;
      return { value: String(n), expect: n };
    }
    case 'boolean':
      return { value: def !== true, expect: def !== true };
    case 'enum':
      return { value: f.choices!.at(-1)!, expect: f.choices!.at(-1) };
    case 'list':
      if (f.element === 'integer' || f.element === 'number') return { value: ['1', '2'], expect: [1, 2] };
      if (f.url) return { value: ['http://a.test:1/x', 'http://b.test:2/y'], expect: ['http://a.test:1/x', 'http://b.test:2/y'] };
      return { value: ['a', 'b'], expect: ['a', 'b'] };
    case 'map':
      return { value: ['k=v', 'team=x=y'], expect: { k: 'v', team: 'x=y' } };
    case 'yaml':
      return { value: Array.isArray(def) || def === undefined ? (f.path.at(-1)!.toLowerCase().includes('http') ? '{}' : '[]') : '{}' };
    default:
      return { value: f.url ? 'http://c.test:3/' : 'some-value', expect: f.url ? 'http://c.test:3/' : 'some-value' };
  }
}

describe('agent flags generated from the config schema', () => {
  it('has a flag for every leaf key of the schema, and every flag sets a key of the schema', () => {
    const flags = generated();
    const byKey = new Map(flags.map((f) => [f.path.join('.'), f]));
    const leaves = jsonSchemaLeaves();
    assert.ok(leaves.length > 100, `only ${leaves.length} leaves found`);
    for (const leaf of leaves) {
      // A leaf inside a value taken as YAML (an http_config block) is set through that value's flag.
      const covering = leaf.map((_, i) => byKey.get(leaf.slice(0, i + 1).join('.'))).find((f) => f !== undefined);
      assert.ok(covering && (covering.path.length === leaf.length || covering.kind === 'yaml'), `no flag sets ${leaf.join('.')}`);
    }
    const keys = new Set(leaves.map((l) => l.join('.')));
    const prefixes = new Set(leaves.flatMap((l) => l.map((_, i) => l.slice(0, i + 1).join('.'))));
    for (const f of flags) assert.ok(keys.has(f.path.join('.')) || (f.kind === 'yaml' && prefixes.has(f.path.join('.'))), `${f.flag} maps to no key`);
    for (const f of agentFlags().filter((x) => x.alias)) assert.ok(byKey.has(f.path.join('.')), `shortcut ${f.flag} maps to no key`);
    assert.equal(new Set(agentFlags().map((f) => attributeOf(f.flag))).size, agentFlags().length, 'two flags share a name');
  });

  it('sets every key from its flag, coerced by the schema', () => {
    const flags = generated();
    const values: Record<string, unknown> = {};
    for (const f of flags) values[attributeOf(f.flag)] = sample(f).value;
    const config = parseAgentConfig(applyFlags({}, flags, values), 'every flag');
    for (const f of flags) {
      const { expect } = sample(f);
      if (expect !== undefined) assert.deepEqual(at(config, f.path), expect, f.flag);
    }
  });

  it('lists every flag beside its key in the config reference', () => {
    const ref = configReference();
    for (const f of generated()) assert.ok(ref.includes(`| \`${f.path.join('.')}${f.kind === 'yaml' && ref.includes(`\`${f.path.join('.')}[]\``) ? '[]' : ''}\` | \`${f.flag}\` |`), `${f.flag} missing from the reference`);
  });

  it('takes defaults, then the file, then flags, the shortcuts included', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'agent.yml');
    writeFileSync(file, 'scrape: {interval: 30s, timeout: 5s}\nquery: {maxSamples: 1000}\nweb: {enableLifecycle: true}\n');
    const c = resolveConfig({ config: file, 'scrape.timeout': '2s', 'query.maxConcurrency': '3', 'web.enableLifecycle': false, port: '0', 'web.config.file': '/w.yml', scrape: ['job1=http://h:1/metrics'] });
    assert.equal(c.scrape.interval, 30_000, 'the file over the default');
    assert.equal(c.scrape.timeout, 2000, 'the flag over the file');
    assert.equal(c.query.maxSamples, 1000);
    assert.equal(c.query.maxConcurrency, 3);
    assert.equal(c.query.lookbackDelta, 300_000, 'the default');
    assert.equal(c.web.enableLifecycle, false, '--no-web.enable-lifecycle over the file');
    assert.equal(c.web.configFile, '/w.yml');
    assert.equal(c.listen.port, 0);
    assert.deepEqual(c.scrape.static.map((s) => [s.job, s.targets]), [['job1', ['http://h:1/metrics']]]);
  });

  it('names the flag of a bad value, and the file of a bad key', (t) => {
    assert.throws(() => resolveConfig({ 'scrape.interval': 'fast' }), /--scrape\.interval: "fast" is not a duration: not a valid duration string: "fast": "f" at character 1 where a number is expected/);
    assert.throws(() => resolveConfig({ scrapeInterval: '1h1h' }), /--scrape-interval: "1h1h" is not a duration: .*unit "h" at character 4 repeats/);
    assert.throws(() => resolveConfig({ actuation: 'sideways' }), /--actuation: Invalid option: expected one of "in-place"\|/);
    assert.throws(() => resolveConfig({ port: '1', 'listen.port': '2' }), /--port and --listen\.port both set listen\.port/);
    const dir = mkdtempSync(join(tmpdir(), 'fp-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'a.yml'), 'storage:\n  retention: 1.5h\n');
    assert.throws(() => resolveConfig({ config: join(dir, 'a.yml') }), /a\.yml:2:\d+: storage\.retention: "1\.5h" is not a duration: unknown unit "\." in duration "1\.5h" at character 2/);
  });
});
