import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExpositionParser, KNOWN_SERIES, familyOf, parseExpositionFloat, parsePrometheusText } from './prometheus-text.ts';

describe('Prometheus text exposition parser', () => {
  it('reads HELP and TYPE metadata and samples with labels', () => {
    const r = parsePrometheusText(
      [
        '# HELP http_requests_total The total number of HTTP requests.\\nSecond line with \\\\ backslash',
        '# TYPE http_requests_total counter',
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400"}    3 1395066363000',
        '',
        '# A plain comment is ignored',
        'metric_without_timestamp_and_labels 12.47',
      ].join('\n'),
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.samples.length, 3);
    const { seriesHash, seriesCheck, ...first } = r.samples[0]!;
    assert.ok(Number.isSafeInteger(seriesHash) && Number.isSafeInteger(seriesCheck));
    assert.deepEqual(first, {
      name: 'http_requests_total',
      labels: { __name__: 'http_requests_total', method: 'post', code: '200' },
      value: 1027,
      timestampMs: 1395066363000,
      series: 'http_requests_total{method="post",code="200"}',
    });
    assert.equal(r.samples[2]!.timestampMs, undefined);
    assert.equal(r.samples[2]!.value, 12.47);
    const meta = r.metadata.get('http_requests_total');
    assert.equal(meta?.type, 'counter');
    assert.equal(meta?.help, 'The total number of HTTP requests.\nSecond line with \\ backslash');
  });

  it('unescapes backslash, quote and newline in label values', () => {
    const r = parsePrometheusText('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9\n');
    assert.deepEqual(r.errors, []);
    assert.equal(r.samples[0]!.labels.path, 'C:\\DIR\\FILE.TXT');
    assert.equal(r.samples[0]!.labels.error, 'Cannot find file:\n"FILE.TXT"');
    assert.equal(r.samples[0]!.value, 1458255915);
  });

  it('accepts NaN, +Inf and -Inf values and negative timestamps', () => {
    const r = parsePrometheusText('a NaN\nb +Inf\nc -Inf -1\nd 1e-3\n');
    assert.deepEqual(r.errors, []);
    assert.ok(Number.isNaN(r.samples[0]!.value));
    assert.equal(r.samples[1]!.value, Infinity);
    assert.equal(r.samples[2]!.value, -Infinity);
    assert.equal(r.samples[2]!.timestampMs, -1);
    assert.equal(r.samples[3]!.value, 0.001);
  });

  it("reads Flink reporter lines with a trailing comma and Java's double format", () => {
    const r = parsePrometheusText(
      'flink_taskmanager_Status_JVM_Memory_Heap_Used{host="172_18_0_4",tm_id="172_18_0_4:37813_5a1c3e",} 2.15482368E8\n',
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.samples[0]!.value, 215482368);
    assert.equal(r.samples[0]!.labels.tm_id, '172_18_0_4:37813_5a1c3e');
  });

  it('keeps histogram and summary series and maps them to their family', () => {
    const text = [
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
    ].join('\n');
    const r = parsePrometheusText(text);
    assert.deepEqual(r.errors, []);
    assert.equal(r.samples.length, 7);
    assert.equal(r.samples[4]!.labels.le, '+Inf');
    assert.equal(familyOf('http_request_duration_seconds_bucket', r.metadata), 'http_request_duration_seconds');
    assert.equal(r.metadata.get('http_request_duration_seconds')?.type, 'histogram');
    assert.equal(familyOf('rpc_duration_seconds_count', r.metadata), 'rpc_duration_seconds');
  });

  it('skips and reports each malformed line without losing the good ones', () => {
    const lines = [
      'good_one 1',
      'bad-name 1',
      'no_value',
      'bad_value abc',
      'unterminated{a="b 1',
      'bad_escape{a="\\x"} 1',
      'dup{a="1",a="2"} 1',
      'bad_ts 1 12.5',
      'too_many 1 2 3',
      '# TYPE t notatype',
      'missing_eq{a"b"} 1',
      'good_two{a="b"} 2',
    ];
    const r = parsePrometheusText(lines.join('\r\n'));
    assert.deepEqual(
      r.samples.map((s) => s.name),
      ['good_one', 'good_two'],
    );
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    for (const e of r.errors) assert.ok(e.message.length > 0);
  });

  it('skips rebuilding labels of series the caller already knows, but still checks value and timestamp', () => {
    const known = new Set(['a{x="1"}', 'b']);
    const r = parsePrometheusText('a{x="1"} 5 1000\na{x="2"} 6\nb 7\nb oops\n', { isKnownSeries: (s) => known.has(s) });
    assert.equal(r.samples.length, 3);
    assert.equal(r.samples[0]!.labels, KNOWN_SERIES);
    assert.equal(r.samples[0]!.series, 'a{x="1"}');
    assert.equal(r.samples[0]!.value, 5);
    assert.equal(r.samples[0]!.timestampMs, 1000);
    assert.deepEqual(r.samples[1]!.labels, { __name__: 'a', x: '2' });
    assert.equal(r.samples[2]!.labels, KNOWN_SERIES);
    assert.deepEqual(r.errors.map((e) => e.line), [4]);
  });

  it('hashes series texts so that the same series shares hash and check bits and others do not', () => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`flink_taskmanager_job_task_busyTimeMsPerSecond{job_id="7e92",task_name="Map",subtask_index="${i}",tm_id="tm-${i % 16}",host="10_0_1_${i % 7}"} ${i}`);
    const a = parsePrometheusText(lines.join('\n')).samples;
    const b = parsePrometheusText(`${lines.slice(0, 10).reverse().join('\n')}\nflink_taskmanager_job_task_busyTimeMsPerSecond {job_id="7e92",task_name="Map",subtask_index="0",tm_id="tm-0",host="10_0_1_0"}  9`).samples;
    const ids = new Set(a.map((s) => `${s.seriesHash}/${s.seriesCheck}`));
    assert.equal(ids.size, 2000);
    for (const s of a) assert.ok(s.seriesHash! >= 0 && s.seriesHash! < 2 ** 53 && s.seriesCheck! >= 0 && s.seriesCheck! < 2 ** 32);
    for (let i = 0; i < 10; i++) {
      assert.equal(b[i]!.seriesHash, a[9 - i]!.seriesHash);
      assert.equal(b[i]!.seriesCheck, a[9 - i]!.seriesCheck);
    }
    // A blank between the name and the label set does not change the series.
    assert.equal(b[10]!.seriesHash, a[0]!.seriesHash);
    assert.equal(b[10]!.seriesCheck, a[0]!.seriesCheck);
  });

  it('gives the same samples, metadata and error lines when the body arrives in pieces of any size', () => {
    const body = [
      '# HELP a A gauge.',
      '# TYPE a gauge',
      'a{x="1",y="é\\"q\\""} 1',
      '',
      'bad line here',
      '',
      '',
      'a{x="2"} 2 1000',
      'b 3',
      'c{unterminated="x 4',
      'd 5',
    ].join('\n');
    const whole = parsePrometheusText(body);
    assert.equal(whole.samples.length, 4);
    assert.deepEqual(whole.errors.map((e) => e.line), [5, 10]);
    for (const size of [1, 2, 3, 7, 16, body.length]) {
      for (const trailing of ['', '\n']) {
        const p = new ExpositionParser();
        const text = body + trailing;
        for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
        const r = p.end();
        assert.deepEqual(r.samples, whole.samples, `pieces of ${size}`);
        assert.deepEqual(r.errors, whole.errors, `pieces of ${size}`);
        assert.deepEqual([...r.metadata], [...whole.metadata]);
      }
    }
  });

  it('hands out samples in batches whose positions continue across batches', () => {
    const seen: number[] = [];
    const p = new ExpositionParser({ isKnownSeries: (_s, ordinal) => (seen.push(ordinal), false) });
    p.push('a 1\nb 2\nc');
    const first = p.takeSamples();
    p.push(' 3\nd 4\n');
    const second = p.takeSamples();
    const rest = p.end();
    assert.deepEqual(first.map((x) => x.name), ['a', 'b']);
    assert.deepEqual(second.map((x) => x.name), ['c', 'd']);
    assert.equal(rest.samples.length, 0);
    assert.equal(p.sampleCount, 4);
    assert.deepEqual(seen, [0, 1, 2, 3]);
  });

  it('parses floats like Go, rejecting what JavaScript alone would accept', () => {
    assert.equal(parseExpositionFloat('0x10'), null);
    assert.equal(parseExpositionFloat(''), null);
    assert.equal(parseExpositionFloat('Inf'), Infinity);
    assert.equal(parseExpositionFloat('-9223372036854775808'), -9223372036854775808);
  });
});
