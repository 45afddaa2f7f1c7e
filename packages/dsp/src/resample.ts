import { DspError } from "./errors.js";
import { instantiateKernel, kernelFlavour, type WasmMemory } from "./kernel.js";
import {
  cachedBank,
  checkPrecision,
  checkRate,
  DEFAULT_ATTENUATION_DB,
  designResampleFilter,
  type ResampleFilter,
  type ResampleOptions,
} from "./resample-design.js";
import { FftDecimator, isIntegerDecimation } from "./resample-fft.js";

export {
  designResampleFilter,
  filterTap,
  type ResampleFilter,
  type ResampleOptions,
} from "./resample-design.js";

/** How a resampler applies its filter (see ResampleOptions.method). */
type Route = "polyphase" | "fft" | "two-stage";

/** The factor k of a two-stage path (first to k x toRate, then down by k), or 0 when there is none. */
function twoStageFactor(fromRate: number, toRate: number): number {
  const k = Math.floor(fromRate / toRate);
  return k >= 2 && k * toRate < fromRate ? k : 0;
}

function resampleRoute(f: ResampleFilter, fromRate: number, toRate: number, opts: ResampleOptions): Route {
  const method = opts.method ?? "auto";
  if (method !== "auto" && method !== "polyphase" && method !== "fft")
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: method must be "auto", "polyphase" or "fft", got ${String(method)}`,
    );
  if (method === "polyphase") return "polyphase";
  const f32 = (opts.precision ?? "f32") === "f32";
  if (method === "fft" && !f32)
    throw new DspError(
      "BAD_ARGUMENT",
      'resample: the FFT method runs in f32; use precision "f32" or method "polyphase"',
    );
  if (f32 && isIntegerDecimation(f)) return "fft";
  // a first stage of its own is for the default stopband only (it sets the stopband itself)
  if (f32 && (opts.stopband ?? 1) === 1 && twoStageFactor(fromRate, toRate) > 0) return "two-stage";
  // method "fft" on a ratio it cannot run: FftDecimator refuses it with its message
  return method === "fft" ? "fft" : "polyphase";
}

/**
 * The first stage of the two-stage path, fromRate -> k x toRate: flat up to the new Nyquist
 * frequency (toRate / 2, a fraction 1 / k of this stage's lower Nyquist frequency), stopband from
 * (k - 1/2) x toRate, whose aliases fold onto frequencies above toRate / 2 that the second stage
 * removes; 20 dB more attenuation than asked, so that its ripple (about 3e-7 at 130 dB) stays
 * below the f32 rounding of the whole. About 24 taps for 48 -> 44.1 kHz.
 */
function firstStageOptions(opts: ResampleOptions, k: number): ResampleOptions {
  const att = Math.min(200, (opts.attenuationDb ?? DEFAULT_ATTENUATION_DB) + 20);
  return {
    rolloff: 1 / k,
    stopband: (2 * k - 1) / k,
    attenuationDb: att,
    flavour: opts.flavour,
    method: "polyphase",
  };
}

type PolyphaseFn = (
  x: number,
  out: number,
  nOut: number,
  base: number,
  ph: number,
  coef: number,
  taps: number,
  up: number,
  dq: number,
  dr: number,
  rows: number,
) => void;

/** The resampling exports of the dsp kernel builds (assembly/resample-simd.ts, resample-scalar.ts). */
interface ResampleExports {
  memory: WasmMemory;
  heapBase(): number;
  polyphase: PolyphaseFn; // ignores `rows`
  polyphaseInterp: PolyphaseFn;
  polyphase64: PolyphaseFn; // ignores `rows`
  polyphaseInterp64: PolyphaseFn;
}

const CHUNK = 1 << 16; // input samples appended per kernel round
const OUT_BATCH = 1 << 15; // outputs per kernel call
const PAGE = 65536;
const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;
const EMPTY = new Float32Array(0);

function concat(pieces: Float32Array[]): Float32Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Float32Array(pieces.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Band-limited resampling of a stream: push() chunks of any size, then end(). The concatenated
 * output is bit-identical to resample() on the whole signal, whatever the chunking (the signal is
 * zero before the first and after the last sample). Memory is bounded by the filter bank, one
 * chunk of 65536 samples and the filter's history.
 */
export class StreamResampler {
  readonly fromRate: number;
  readonly toRate: number;
  private readonly filter: ResampleFilter | null;
  private readonly ex: ResampleExports | null = null;
  private readonly bankPtr: number = 0;
  private readonly bufPtr: number = 0;
  private readonly outPtr: number = 0;
  private readonly run: PolyphaseFn | null = null;
  /** The FFT method, fed directly or, in the two-stage path, by `firstStage`. */
  private readonly fft: FftDecimator | null = null;
  /** The two-stage path's first stage, fromRate -> k x toRate (then `fft` down by k). */
  private readonly firstStage: StreamResampler | null = null;
  /** Buffered input in wasm memory at bufPtr; element 0 is input index bufStart (negative: zeros). */
  private bufLen = 0;
  private bufStart = 0;
  private received = 0;
  /** Position of the next output: input time base + ph / up. */
  private base = 0;
  private ph = 0;
  private ended = false;
  /** Output of the current call, reused from call to call. */
  private out = EMPTY;

  /**
   * `edge` (internal, for the first stage of the two-stage path): also emit the `edge` outputs
   * before time 0 and after the last one, so that the stage after this one filters the whole of
   * this stage's band-limited signal, not a copy cut off at both ends.
   */
  constructor(
    fromRate: number,
    toRate: number,
    opts: ResampleOptions = {},
    private readonly edge = 0,
  ) {
    this.fromRate = fromRate;
    this.toRate = toRate;
    if (fromRate === toRate) {
      checkRate("fromRate", fromRate);
      this.filter = null;
      return;
    }
    const filter = designResampleFilter(fromRate, toRate, opts);
    const precision = checkPrecision(opts);
    this.filter = filter;
    const route = resampleRoute(filter, fromRate, toRate, opts);
    if (route === "fft") {
      this.fft = new FftDecimator(filter, opts.flavour);
      return;
    }
    if (route === "two-stage") {
      const k = twoStageFactor(fromRate, toRate);
      const firstOpts = firstStageOptions(opts, k);
      const edge = designResampleFilter(fromRate, k * toRate, firstOpts).half + 1;
      this.firstStage = new StreamResampler(fromRate, k * toRate, firstOpts, edge);
      this.fft = new FftDecimator(designResampleFilter(k * toRate, toRate, opts), opts.flavour, edge);
      return;
    }
    const bank = cachedBank(filter, precision);
    const ex = instantiateKernel<ResampleExports>(opts.flavour ?? kernelFlavour());
    this.ex = ex;
    this.bankPtr = align16(ex.heapBase());
    this.bufPtr = align16(this.bankPtr + bank.byteLength);
    this.outPtr = align16(this.bufPtr + (CHUNK + 2 * filter.taps + 64) * 4);
    const need = this.outPtr + OUT_BATCH * 4 + 64;
    const have = ex.memory.buffer.byteLength;
    if (need > have) ex.memory.grow(Math.ceil((need - have) / PAGE));
    if (bank instanceof Float64Array) new Float64Array(ex.memory.buffer).set(bank, this.bankPtr / 8);
    else this.mem().set(bank, this.bankPtr / 4);
    const wide = bank instanceof Float64Array;
    this.run = filter.exact
      ? wide
        ? ex.polyphase64
        : ex.polyphase
      : wide
        ? ex.polyphaseInterp64
        : ex.polyphaseInterp;
    // the first output (index -edge) and zeros before the first sample, back to its first tap
    const first = -edge * filter.down;
    this.base = Math.floor(first / filter.up);
    this.ph = first - this.base * filter.up;
    this.bufStart = this.base - filter.firstTap;
    this.bufLen = -this.bufStart;
    this.mem().fill(0, this.bufPtr / 4, this.bufPtr / 4 + this.bufLen);
  }

  /** Feeds input samples; returns the output samples that became final. */
  push(x: Float32Array): Float32Array {
    return this.pushView(x).slice();
  }

  /**
   * push() without the copy: the output is a view of the resampler's own buffer (or of `x` when
   * the rates agree), valid until the next call.
   */
  pushView(x: Float32Array): Float32Array {
    if (this.ended) throw new DspError("STATE", "StreamResampler: push() after end(); make a new resampler");
    if (!this.filter) {
      this.received += x.length;
      return x;
    }
    if (this.fft) return this.fft.push(this.firstStage ? this.firstStage.pushView(x) : x);
    let n = 0;
    for (let off = 0; off < x.length; off += CHUNK) {
      this.append(x.subarray(off, off + CHUNK));
      this.received += Math.min(CHUNK, x.length - off);
      // final: every sample the kernel reads (base - firstTap ... + taps) has arrived
      n = this.emit(this.received - this.filter.taps + this.filter.firstTap, n);
    }
    return this.out.subarray(0, n);
  }

  /** Flushes the remaining outputs; there are ceil(n * toRate / fromRate) in all for n inputs. */
  end(): Float32Array {
    if (this.ended || !this.filter) {
      this.ended = true;
      return EMPTY;
    }
    this.ended = true;
    if (this.fft) {
      if (!this.firstStage) return this.fft.end();
      const head = this.fft.push(this.firstStage.end()).slice();
      const tail = this.fft.end();
      return tail.length ? concat([head, tail]) : head;
    }
    // outputs up to index ceil(n * up / down) - 1 + edge, over zeros after the last sample
    const f = this.filter;
    const last = Math.ceil((this.received * f.up) / f.down) - 1 + this.edge;
    const lastBase = Math.floor((last * f.down) / f.up);
    this.append(new Float32Array(Math.max(f.taps, lastBase + f.taps - f.firstTap - this.received + 1)));
    const n = this.emit(lastBase, 0);
    return this.out.slice(0, n);
  }

  private mem(): Float32Array {
    return new Float32Array(this.ex!.memory.buffer);
  }

  /** Appends samples after dropping the history no future output reads. */
  private append(x: Float32Array): void {
    const keepFrom = this.base - this.filter!.firstTap;
    const drop = keepFrom - this.bufStart;
    const m = this.mem();
    const b = this.bufPtr / 4;
    if (drop > 0) {
      m.copyWithin(b, b + drop, b + this.bufLen);
      this.bufLen -= drop;
      this.bufStart = keepFrom;
    }
    m.set(x, b + this.bufLen);
    this.bufLen += x.length;
  }

  /**
   * Computes every pending output whose input time has integer part (base) at most lastBase,
   * writing them to the output buffer from index `at`; returns the index after the last.
   */
  private emit(lastBase: number, at: number): number {
    const f = this.filter!;
    if (lastBase < this.base) return at;
    const count = Math.ceil(((lastBase - this.base + 1) * f.up - this.ph) / f.down);
    this.reserve(at + count);
    const dq = Math.floor(f.down / f.up);
    const dr = f.down % f.up;
    for (let done = 0; done < count; ) {
      const n = Math.min(OUT_BATCH, count - done);
      const x = this.bufPtr + (this.base - f.firstTap - this.bufStart) * 4;
      this.run!(x, this.outPtr, n, 0, this.ph, this.bankPtr, f.taps, f.up, dq, dr, f.rows);
      this.out.set(this.mem().subarray(this.outPtr / 4, this.outPtr / 4 + n), at + done);
      const t = this.ph + n * f.down;
      this.base += Math.floor(t / f.up);
      this.ph = t % f.up;
      done += n;
    }
    return at + count;
  }

  /** Grows the output buffer to hold `n` samples, keeping what it holds. */
  private reserve(n: number): void {
    if (n <= this.out.length) return;
    const grown = new Float32Array(Math.max(n, this.out.length * 2));
    grown.set(this.out);
    this.out = grown;
  }
}

/**
 * Band-limited resampling by a Kaiser-windowed sinc (default: passband to 98 % of the lower
 * Nyquist frequency when downsampling, 92 % when upsampling; 110 dB design attenuation from the
 * lower Nyquist frequency up), applied by FFT blocks, two stages or dot products (see
 * ResampleOptions.method). Output length is ceil(n * toRate / fromRate); the signal is taken as
 * zero outside [0, n).
 */
export function resample(
  x: Float32Array,
  fromRate: number,
  toRate: number,
  opts: ResampleOptions = {},
): Float32Array {
  const s = new StreamResampler(fromRate, toRate, opts);
  const head = s.push(x);
  const tail = s.end();
  return tail.length ? concat([head, tail]) : head;
}
