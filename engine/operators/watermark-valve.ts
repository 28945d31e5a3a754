/**
 * Flink's StatusWatermarkValve: combines the watermarks of all input channels into one, the
 * minimum over channels that are not idle. A channel becomes idle when it sends WATERMARK_IDLE
 * and active again with its next real watermark. The output never goes backwards; when every
 * channel is idle the valve reports idle once.
 */
import { WATERMARK_IDLE } from './operator.ts';

export class WatermarkValve {
  private readonly watermarks: number[];
  private readonly idle: boolean[];
  private lastOutput = Number.NEGATIVE_INFINITY;
  private outputIdle = false;

  constructor(numChannels: number) {
    this.watermarks = new Array<number>(numChannels).fill(Number.NEGATIVE_INFINITY);
    this.idle = new Array<boolean>(numChannels).fill(false);
  }

  get numChannels(): number {
    return this.watermarks.length;
  }

  get current(): number {
    return this.lastOutput;
  }

  /** True while every channel is idle. */
  get isIdle(): boolean {
    return this.outputIdle;
  }

  /** Returns the new combined watermark, WATERMARK_IDLE when all channels just went idle, or undefined when nothing changed. */
  input(channel: number, timestamp: number): number | undefined {
    if (channel >= this.watermarks.length) this.grow(channel + 1);
    if (timestamp === WATERMARK_IDLE) {
      this.idle[channel] = true;
    } else {
      this.idle[channel] = false;
      if (timestamp > this.watermarks[channel]!) this.watermarks[channel] = timestamp;
    }
    let min = Number.POSITIVE_INFINITY;
    let anyActive = false;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.idle[i]) continue;
      anyActive = true;
      if (this.watermarks[i]! < min) min = this.watermarks[i]!;
    }
    if (!anyActive) {
      if (this.outputIdle) return undefined;
      this.outputIdle = true;
      return WATERMARK_IDLE;
    }
    const wasIdle = this.outputIdle;
    this.outputIdle = false;
    if (min > this.lastOutput) {
      this.lastOutput = min;
      return min;
    }
    // Coming back from idle re-announces the current watermark so downstream marks us active.
    if (wasIdle && this.lastOutput !== Number.NEGATIVE_INFINITY) return this.lastOutput;
    return undefined;
  }

  private grow(n: number): void {
    while (this.watermarks.length < n) {
      this.watermarks.push(Number.NEGATIVE_INFINITY);
      this.idle.push(false);
    }
  }
}
