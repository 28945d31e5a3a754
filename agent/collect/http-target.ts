/**
 * An HTTP exposition endpoint as a scrape source: GET with undici under the scrape timeout,
 * gzip accepted, text format 0.0.4 parsed by prometheus-text.ts chunk by chunk as the body
 * streams in (a body is never held as one string: megabyte strings sit in V8's large-object space until a full GC). A non-2xx status is a failed
 * scrape with Prometheus's wording ("server returned HTTP status 500 Internal Server Error").
 */
import { gunzipSync } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import { STATUS_CODES } from 'node:http';
import { request } from 'undici';
import { FlowpilotError } from '../../common/errors.ts';
import { isStaleConnection } from '../http/stale-connection.ts';
import { ExpositionParser, type KnownSeriesTest, type ParsedSample } from './prometheus-text.ts';
import type { ParseSummary, SourceResult, TargetSource } from './target.ts';

/**
 * Feeds body pieces to the exposition parser and hands each piece's samples to `onBatch` at
 * once, so what parsing allocates dies young and no piece is kept after it is parsed.
 */
export class BodyParser {
  private readonly parser: ExpositionParser;
  private readonly decoder = new StringDecoder('utf8');
  private readonly onBatch: (batch: ParsedSample[]) => void;

  constructor(onBatch: (batch: ParsedSample[]) => void, isKnownSeries?: KnownSeriesTest) {
    this.parser = new ExpositionParser(isKnownSeries ? { isKnownSeries } : {});
    this.onBatch = onBatch;
  }

  push(chunk: Buffer): void {
    this.parser.push(this.decoder.write(chunk));
    const batch = this.parser.takeSamples();
    if (batch.length > 0) this.onBatch(batch);
  }

  finish(): ParseSummary {
    this.parser.push(this.decoder.end());
    const parsed = this.parser.end();
    if (parsed.samples.length > 0) this.onBatch(parsed.samples);
    const first = parsed.errors[0];
    return {
      samples: this.parser.sampleCount,
      parseErrors: parsed.errors.length,
      metadata: parsed.metadata,
      ...(first ? { firstParseError: `line ${first.line}: ${first.message}` } : {}),
    };
  }
}

/**
 * A scrape result whose body is already in hand, parsed when the scrape loop asks, in one
 * synchronous pass batch by batch (each chunk's samples are consumed before the next is parsed).
 */
export function chunkedSource(chunks: readonly Buffer[], isKnownSeries?: KnownSeriesTest): SourceResult {
  return {
    samples: [],
    parseErrors: 0,
    parse(onBatch) {
      const body = new BodyParser(onBatch, isKnownSeries);
      for (const chunk of chunks) body.push(chunk);
      return body.finish();
    },
  };
}

/** The result of a body already streamed through `onBatch`. */
function streamedResult(summary: ParseSummary): SourceResult {
  return { samples: [], parseErrors: summary.parseErrors, ...(summary.firstParseError !== undefined ? { firstParseError: summary.firstParseError } : {}), streamed: summary };
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

  /**
   * With `onBatch`, the body is parsed piece by piece as it arrives (each piece's samples handed
   * over at once, the piece then dropped), so parsing overlaps the transfer and a large body is
   * never held whole; the result then carries only the counts (`streamed`).
   */
  async fetch(signal: AbortSignal, isKnownSeries?: KnownSeriesTest, onBatch?: (batch: ParsedSample[]) => void): Promise<SourceResult> {
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
    } else if (onBatch !== undefined) {
      const body = new BodyParser(onBatch, isKnownSeries);
      for await (const chunk of res.body) body.push(chunk as Buffer);
      return streamedResult(body.finish());
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
