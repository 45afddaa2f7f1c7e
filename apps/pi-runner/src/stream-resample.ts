import { resample } from "@edge-audio/dsp";

/**
 * Chunked band-limited resampling with the dsp `resample` kernel: the same output as resampling
 * the whole signal at once, computed block by block with bounded memory.
 *
 * With the rate ratio reduced to up/down, output sample j sits at input time j * down / up.
 * Blocks start at a multiple of `up` outputs (so at a whole input sample, a multiple of `down`),
 * and each block is resampled together with `context` input samples on both sides, more than
 * the filter's reach, so every tap the whole-signal filter would use is present. Before the
 * first sample and after the last one the signal is zero, as in `resample`.
 */
export class StreamResampler {
  private readonly up: number;
  private readonly down: number;
  private readonly context: number;
  /** Buffered input, starting at absolute input index `bufStart`. */
  private buf = new Float32Array(0);
  private bufLen = 0;
  private bufStart = 0;
  /** Outputs produced so far (always a multiple of `up` until end()). */
  private outDone = 0;
  private ended = false;

  constructor(
    private readonly fromRate: number,
    private readonly toRate: number,
  ) {
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    // the default filter reaches about 52 lower-rate periods; 256 of them leaves a wide margin
    const reach = 256 * Math.max(1, fromRate / toRate) + 2;
    this.context = Math.ceil(reach / this.down) * this.down;
  }

  /** Feeds input samples; returns the output samples that became final. */
  push(x: Float32Array): Float32Array {
    if (this.ended) throw new Error("StreamResampler: push after end");
    this.append(x);
    const total = this.bufStart + this.bufLen;
    const blocks = Math.floor((total - this.context) / this.down); // whole input blocks of `down`
    const jEnd = blocks * this.up;
    if (jEnd <= this.outDone) return new Float32Array(0);
    return this.emit(jEnd, (jEnd / this.up) * this.down + this.context);
  }

  /** The remaining output samples (the signal is zero after the last input sample). */
  end(): Float32Array {
    if (this.ended) return new Float32Array(0);
    this.ended = true;
    const total = this.bufStart + this.bufLen;
    const nOut = Math.ceil((total * this.up) / this.down - 1e-9);
    if (nOut <= this.outDone) return new Float32Array(0);
    return this.emit(nOut, total);
  }

  private emit(jEnd: number, inputEnd: number): Float32Array {
    const s = (this.outDone / this.up) * this.down;
    const a = Math.max(0, s - this.context);
    const seg = this.buf.subarray(a - this.bufStart, inputEnd - this.bufStart);
    const r = resample(seg, this.fromRate, this.toRate);
    const k0 = this.outDone - (a / this.down) * this.up;
    const out = r.slice(k0, k0 + (jEnd - this.outDone));
    this.outDone = jEnd;
    // keep only what the next block needs
    const keepFrom = Math.max(0, Math.floor(this.outDone / this.up) * this.down - this.context);
    this.drop(keepFrom);
    return out;
  }

  private append(x: Float32Array): void {
    if (this.bufLen + x.length > this.buf.length) {
      const nb = new Float32Array(Math.max(this.bufLen + x.length, this.buf.length * 2, 4096));
      nb.set(this.buf.subarray(0, this.bufLen));
      this.buf = nb;
    }
    this.buf.set(x, this.bufLen);
    this.bufLen += x.length;
  }

  private drop(absIndex: number): void {
    const n = absIndex - this.bufStart;
    if (n <= 0) return;
    this.buf.copyWithin(0, n, this.bufLen);
    this.bufLen -= n;
    this.bufStart = absIndex;
  }
}
