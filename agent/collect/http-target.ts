/**
 * An HTTP exposition endpoint as a scrape source: GET with undici under the scrape timeout,
 * gzip accepted, text format 0.0.4 parsed by prometheus-text.ts chunk by chunk (a body is
 * never held as one string: megabyte strings sit in V8's large-object space until a full GC). A non-2xx status is a failed
 * scrape with Prometheus's wording ("server returned HTTP status 500 Internal Server Error").
 */
import { gunzipSync } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import { STATUS_CODES } from 'node:http';
import { request } from 'undici';
import { FlowpilotError } from '../../common/errors.ts';
import { isStaleConnection } from '../http/stale-connection.ts';
import { ExpositionParser, type KnownSeriesTest } from './prometheus-text.ts';
import type { SourceResult, TargetSource } from './target.ts';

/**
 * A scrape result whose body is parsed later, in one synchronous pass the scrape loop drives batch
 * by batch: each chunk's samples are consumed before the next chunk is parsed, so what parsing
 * allocates dies young. (Parsing as chunks arrive would keep it alive across network waits.)
 */
export function chunkedSource(chunks: readonly Buffer[], isKnownSeries?: KnownSeriesTest): SourceResult {
  return {
    samples: [],
    parseErrors: 0,
    parse(onBatch) {
      const parser = new ExpositionParser(isKnownSeries ? { isKnownSeries } : {});
      const decoder = new StringDecoder('utf8');
      for (const chunk of chunks) {
        parser.push(decoder.write(chunk));
        const batch = parser.takeSamples();
        if (batch.length > 0) onBatch(batch);
      }
      parser.push(decoder.end());
      const parsed = parser.end();
      if (parsed.samples.length > 0) onBatch(parsed.samples);
      const first = parsed.errors[0];
      return {
        samples: parser.sampleCount,
        parseErrors: parsed.errors.length,
        metadata: parsed.metadata,
        ...(first ? { firstParseError: `line ${first.line}: ${first.message}` } : {}),
      };
    },
  };
}

const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';
/** Piece size for feeding a decompressed body to the parser. */
const PIECE = 64 * 1024;

export class HttpExpositionSource implements TargetSource {
  readonly url: string;
  private readonly timeoutSeconds: string;

  constructor(url: string, timeoutMs: number) {
    this.url = url;
    this.timeoutSeconds = (timeoutMs / 1000).toString();
  }

  async fetch(signal: AbortSignal, isKnownSeries?: KnownSeriesTest): Promise<SourceResult> {
    let res;
    try {
      res = await this.get(signal);
    } catch (err) {
      // A kept-alive connection the server closed meanwhile fails at once; retry once on a fresh
      // one, as Go's HTTP client (and so Prometheus) does for idempotent requests.
      if (signal.aborted || !isStaleConnection(err)) throw err;
      res = await this.get(signal);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new FlowpilotError('FP_SCRAPE_HTTP_STATUS', `server returned HTTP status ${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}`.trim());
    }
    const chunks: Buffer[] = [];
    if (String(res.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
      const buf = gunzipSync(Buffer.from(await res.body.arrayBuffer()));
      for (let off = 0; off < buf.length; off += PIECE) chunks.push(buf.subarray(off, off + PIECE));
    } else {
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
    }
    return chunkedSource(chunks, isKnownSeries);
  }

  private get(signal: AbortSignal) {
    return request(this.url, {
      method: 'GET',
      signal,
      headers: {
        accept: ACCEPT,
        'accept-encoding': 'gzip',
        'user-agent': 'flowpilot-agent/0.1',
        'x-prometheus-scrape-timeout-seconds': this.timeoutSeconds,
      },
    });
  }
}
