import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, expandAlertTemplate, formatFloat, sprintf, TemplateSyntaxError } from './index.ts';
import { GoInt } from './values.ts';

const ctx = {
  externalURL: 'http://prom.example:9090/prefix',
  now: 1_700_000_000,
  query: (expr: string) => {
    if (expr === 'up') {
      return [
        { labels: { __name__: 'up', instance: 'b:9249' }, value: 0 },
        { labels: { __name__: 'up', instance: 'a:9249' }, value: 1 },
      ];
    }
    return [];
  },
};

async function render(text: string, value = 1, labels: Record<string, string> = { job_name: 'orders', task_name: 'Map' }) {
  const t = compileTemplate('__alert_Test', text);
  return expandAlertTemplate(t, { labels, externalLabels: { cluster: 'eu1' }, externalURL: ctx.externalURL, value }, ctx);
}

describe('Go float formatting', () => {
  const cases: Array<[number, 'e' | 'f' | 'g', number, string]> = [
    [1e6, 'g', -1, '1e+06'],
    [1234567.5, 'g', -1, '1.2345675e+06'],
    [100000, 'g', -1, '100000'],
    [0.0001, 'g', -1, '0.0001'],
    [0.00001, 'g', -1, '1e-05'],
    [42, 'g', -1, '42'],
    [0.1 + 0.2, 'g', -1, '0.30000000000000004'],
    [1e21, 'g', -1, '1e+21'],
    [-2.5, 'g', -1, '-2.5'],
    [0, 'g', -1, '0'],
    [42, 'g', 4, '42'],
    [1.2345675, 'g', 4, '1.235'],
    [123456, 'g', 4, '1.235e+05'],
    [1200, 'g', 4, '1200'],
    [0.125, 'g', 2, '0.12'],
    [0.375, 'g', 2, '0.38'],
    [1000000, 'f', 2, '1000000.00'],
    [2.5, 'f', 0, '2'],
    [3.5, 'f', 0, '4'],
    [1234.5678, 'e', 3, '1.235e+03'],
    [NaN, 'g', -1, 'NaN'],
    [Infinity, 'g', -1, '+Inf'],
    [-Infinity, 'f', 2, '-Inf'],
  ];
  for (const [v, f, p, want] of cases) {
    it(`formats ${v} with %${p >= 0 ? '.' + p : ''}${f} as ${want}`, () => assert.equal(formatFloat(v, f, p), want));
  }
});

describe('sprintf', () => {
  it('formats floats, ints, strings and bad verbs like Go', () => {
    assert.equal(sprintf('%.2f|%5.1f|%-6s|%d|%v|%q|%x', [3.14159, 2.25, 'ab', new GoInt(42), 1e6, 'a"b', new GoInt(255)]),
      '3.14|  2.2|ab    |42|1e+06|"a\\"b"|ff');
    assert.equal(sprintf('%d', [1.5]), '%!d(float64=1.5)');
    assert.equal(sprintf('%s %s', ['a']), 'a %!s(MISSING)');
    assert.equal(sprintf('%05.1f %+d %%', [-2.25, new GoInt(3)]), '-02.2 +3 %');
  });
});

describe('Prometheus template expansion', () => {
  const table: Array<[string, number, string]> = [
    ['{{ $value }}', 1e6, '1e+06'],
    ['{{ $value | humanize }}', 1e6, '1M'],
    ['{{ $value | humanizePercentage }}', 1e6, '1e+08%'],
    ['{{ $value | humanizeDuration }}', 1e6, '11d 13h 46m 40s'],
    ['{{ printf "%.2f" $value }}', 1e6, '1000000.00'],
    ['{{ $value }}', 1234567.5, '1.2345675e+06'],
    ['{{ $value | humanize }}', 1234567.5, '1.235M'],
    ['{{ $value | humanizePercentage }}', 1234567.5, '1.235e+08%'],
    ['{{ $value | humanizeDuration }}', 1234567.5, '14d 6h 56m 7s'],
    ['{{ $value }}', 0.00001, '1e-05'],
    ['{{ $value | humanize }}', 0.00001, '10u'],
    ['{{ $value | humanizePercentage }}', 0.00001, '0.001%'],
    ['{{ $value | humanizeDuration }}', 0.00001, '10us'],
    ['{{ printf "%.2f" $value }}', 0.00001, '0.00'],
    ['{{ $value | humanize }}', 42, '42'],
    ['{{ $value | humanizeDuration }}', 42, '42s'],
    ['{{ $value | humanizeDuration }}', 0, '0s'],
    ['{{ $value | humanize1024 }}', 1048576, '1Mi'],
    ['{{ $value | humanize1024 }}', 1536, '1.5ki'],
    ['{{ $value | humanizeTimestamp }}', 1435065584.128, '2015-06-23 13:19:44.128 +0000 UTC'],
    ['{{ $value | humanize }}', NaN, 'NaN'],
    ['{{ $value | humanize }}', -Infinity, '-Inf'],
  ];
  for (const [text, value, want] of table) {
    it(`renders ${text} of ${value} as ${want}`, async () => assert.equal(await render(text, value), want));
  }

  it('reads labels through $labels and .Labels, missing labels as empty', async () => {
    assert.equal(await render('{{ $labels.task_name }} of {{ .Labels.job_name }} [{{ $labels.nope }}] {{ $externalLabels.cluster }}'),
      'Map of orders [] eu1');
  });

  it('supports if/else if/else, with, range, variables and comparisons', async () => {
    const t = '{{ if gt $value 100.0 }}high{{ else if gt $value 10.0 }}mid{{ else }}low{{ end }}';
    assert.equal(await render(t, 500), 'high');
    assert.equal(await render(t, 50), 'mid');
    assert.equal(await render(t, 5), 'low');
    assert.equal(await render('{{ with $labels.task_name }}task={{ . }}{{ end }}{{ with $labels.nope }}x{{ else }}none{{ end }}'), 'task=Mapnone');
    assert.equal(await render('{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}'), 'job_name=orders;task_name=Map;');
    assert.equal(await render('{{ $x := 1 }}{{ $x = 2 }}{{ $x }} {{ len $labels }} {{ index $labels "job_name" }}'), '2 2 orders');
    assert.equal(await render('{{- " a " -}}  {{ "b" }}'), ' a b');
    assert.equal(await render('{{/* a comment */}}x'), 'x');
  });

  it('refuses int-versus-float comparisons the way Go does', async () => {
    const out = await render('{{ if gt $value 100 }}high{{ end }}', 500);
    assert.match(out, /^<error expanding template: .*incompatible types for comparison>$/);
  });

  it('runs query, sortByLabel, first, label and value', async () => {
    assert.equal(await render('{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}'), 'a:9249=1 b:9249=0 ');
    assert.equal(await render('{{ with query "up" }}{{ . | first | label "instance" }} {{ . | first | value }}{{ end }}'), 'b:9249 0');
    assert.match(await render('{{ query "nothing" | first | value }}'), /first\(\) called on vector with no elements/);
  });

  it('implements the string helpers', async () => {
    assert.equal(await render('{{ reReplaceAll "(.*):([0-9]+)" "${1}" "host:9249" }}|{{ title "hello wide-world" }}|{{ toUpper "a" }}{{ toLower "B" }}'),
      'host|Hello Wide-World|Ab');
    assert.equal(await render('{{ match "^o" $labels.job_name }} {{ stripPort "host:80" }} {{ stripDomain "a.b.c:80" }}'), 'true host a:80');
    assert.equal(await render('{{ graphLink "up > 0" }} {{ pathPrefix }} {{ "x" | printf "%s-%s" "y" }}'),
      '/graph?g0.expr=up+%3E+0&g0.tab=0 /prefix y-x');
    assert.equal(await render('{{ 90 | humanizeDuration }} {{ "1.5e3" | humanize }} {{ parseDuration "1m30s" }}'), '1m 30s 1.5k 90');
  });

  it('rejects syntax errors and unknown functions at compile time with an offset', () => {
    const bad: Array<[string, RegExp, number]> = [
      ['{{ $value | nope }}', /function "nope" not defined/, 12],
      ['ab {{ if true }}x', /missing \{\{end\}\}/, 6],
      ['{{ $undefined }}', /undefined variable/, 3],
      ['{{ end }}', /unexpected \{\{end\}\}/, 3],
      ['x {{ $value ', /unclosed action/, 2],
      ['{{ "abc }}', /unterminated quoted string/, 3],
    ];
    for (const [text, re, pos] of bad) {
      assert.throws(() => compileTemplate('t', text), (err: unknown) => {
        assert.ok(err instanceof TemplateSyntaxError, text);
        assert.match(err.message, re);
        assert.equal(err.pos, pos, text);
        return true;
      });
    }
  });
});
