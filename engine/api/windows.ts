/**
 * Event-time window assigners: tumbling and sliding, with Flink's window-start formula
 * start = ts - (ts - offset + size) % size. A window [start, end) fires when the watermark
 * passes end - 1 (its max timestamp).
 */

export interface WindowAssigner {
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  /** e.g. "TumblingEventTimeWindows(10000)". */
  readonly name: string;
  /** Appends the start of every window containing `timestamp` to `starts`. */
  assignWindowStarts(timestamp: number, starts: number[]): void;
}

export function windowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
  const rem = (timestamp - offset + windowSize) % windowSize;
  return timestamp - (rem < 0 ? rem + windowSize : rem);
}

function check(name: string, v: number, min: number): void {
  if (!Number.isFinite(v) || v < min) throw new RangeError(`${name} must be a finite number >= ${min}, got ${v}`);
}

export class TumblingEventTimeWindows implements WindowAssigner {
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  readonly name: string;

  private constructor(size: number, offset: number) {
    this.sizeMs = size;
    this.slideMs = size;
    this.offsetMs = offset;
    this.name = `TumblingEventTimeWindows(${size})`;
  }

  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    check('window size', sizeMs, 1);
    return new TumblingEventTimeWindows(sizeMs, offsetMs);
  }

  assignWindowStarts(timestamp: number, starts: number[]): void {
    starts.push(windowStartWithOffset(timestamp, this.offsetMs, this.sizeMs));
  }
}

export class SlidingEventTimeWindows implements WindowAssigner {
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  readonly name: string;

  private constructor(size: number, slide: number, offset: number) {
    this.sizeMs = size;
    this.slideMs = slide;
    this.offsetMs = offset;
    this.name = `SlidingEventTimeWindows(${size}, ${slide})`;
  }

  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    check('window size', sizeMs, 1);
    check('window slide', slideMs, 1);
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindowStarts(timestamp: number, starts: number[]): void {
    const last = windowStartWithOffset(timestamp, this.offsetMs, this.slideMs);
    for (let s = last; s > timestamp - this.sizeMs; s -= this.slideMs) starts.push(s);
  }
}
