import { DspError } from "./errors.js";
import { instantiateKernel, type KernelFlavour, kernelFlavour, type WasmMemory } from "./kernel.js";
import { FftDecimator, isIntegerDecimation } from "./resample-fft.js";

/** Quality knobs of the band-limited resampler. */
export interface ResampleOptions {
  /** Passband edge as a fraction of the lower Nyquist frequency (default 0.92). */
  rolloff?: number;
  /** Stopband attenuation the Kaiser window is designed for, in dB (default 110). */
  attenuationDb?: number;
  /**
   * Arithmetic of the filter: "f32" (default) keeps float32 coefficients and sums, which floors
   * aliasing near -140 dB; "f64" uses float64 coefficients, products and sums (about -150 dB with
   * attenuationDb 160) at a few times the cost. The output is float32 either way.
   */
  precision?: "f32" | "f64";
  /** Kernel build to run (default: the package's choice, SIMD where the engine has it). */
  flavour?: KernelFlavour;
  /**
   * How the filter is applied: "polyphase" (direct dot products), "fft" (overlap-save blocks;
   * integer decimation ratios such as 44100 -> 22050 only, f32) or "auto" (default: "fft" where
   * it applies, else "polyphase"). Both apply the same filter; they differ by float rounding.
   */
  method?: "auto" | "polyphase" | "fft";
}

const DEFAULT_ROLLOFF = 0.92;
const DEFAULT_ATTENUATION_DB = 110;
/** Largest exact bank (phases x taps, f32); ratios with more phases interpolate between rows. */
const MAX_EXACT_BANK = 1 << 21;
/** Rows of an interpolated bank, less one: the fraction between two input samples is split 1024 ways. */
const INTERP_STEPS = 1024;
const MAX_TAPS = 1 << 15;
const MAX_INTERP_BANK = 1 << 22;

/**
 * The Kaiser-windowed sinc for one rate pair. Output j sits at input time j * down / up; the
 * filter spans `reach` input samples either side of it, which `taps` bank columns (starting at
 * input index floor(t) - firstTap) cover.
 */
export interface ResampleFilter {
  readonly up: number;
  readonly down: number;
  /** min(1, toRate / fromRate): input sample periods per lower-rate period. */
  readonly scale: number;
  /** Half length in lower-rate sample periods. */
  readonly half: number;
  readonly beta: number;
  /** Cutoff in cycles per lower-rate sample (centre of the transition band). */
  readonly cutoff: number;
  /** Half length in input samples (half / scale). */
  readonly reach: number;
  /** Offset of the first bank column before floor(t). */
  readonly firstTap: number;
  /** Bank columns per row, a multiple of 8 (the kernel's step). */
  readonly taps: number;
  /** Bank rows: `up` exact phases, or INTERP_STEPS + 1 fractions to interpolate between. */
  readonly rows: number;
  readonly exact: boolean;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function checkRate(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 10_000_000)
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: ${name} must be a positive integer number of Hz up to 10000000, got ${v}`,
    );
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's beta for a stopband attenuation in dB. */
function kaiserBeta(att: number): number {
  if (att > 50) return 0.1102 * (att - 8.7);
  if (att >= 21) return 0.5842 * (att - 21) ** 0.4 + 0.07886 * (att - 21);
  return 0;
}

/** Designs (without building the bank) the filter resampling fromRate to toRate. */
export function designResampleFilter(
  fromRate: number,
  toRate: number,
  opts: ResampleOptions = {},
): ResampleFilter {
  checkRate("fromRate", fromRate);
  checkRate("toRate", toRate);
  const rolloff = opts.rolloff ?? DEFAULT_ROLLOFF;
  const att = opts.attenuationDb ?? DEFAULT_ATTENUATION_DB;
  if (!(rolloff > 0.5 && rolloff < 1))
    throw new DspError("BAD_ARGUMENT", `resample: rolloff must be in (0.5, 1), got ${rolloff}`);
  if (!(att >= 20 && att <= 200))
    throw new DspError("BAD_ARGUMENT", `resample: attenuationDb must be in [20, 200], got ${att}`);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const scale = Math.min(1, toRate / fromRate);
  // Kaiser's length formula, transition band [rolloff, 1] x the lower Nyquist frequency
  const transition = 0.5 * (1 - rolloff); // cycles per lower-rate sample
  const half = Math.ceil((att - 7.95) / (14.36 * transition) / 2);
  const reach = half / scale;
  const r = Math.ceil(reach);
  // taps at input indices floor(t) - r + 1 ... floor(t) + r cover |t - i| < reach for any fraction
  const taps = Math.ceil((2 * r) / 8) * 8;
  const exact = up * taps <= MAX_EXACT_BANK;
  const rows = exact ? up : INTERP_STEPS + 1;
  if (taps > MAX_TAPS || rows * taps > MAX_INTERP_BANK)
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: ${fromRate} -> ${toRate} Hz needs ${rows} filter phases of ${taps} taps, more than the resampler holds; resample through an intermediate rate`,
    );
  return {
    up,
    down,
    scale,
    half,
    beta: kaiserBeta(att),
    cutoff: 0.25 * (1 + rolloff),
    reach,
    firstTap: r - 1,
    taps,
    rows,
    exact,
  };
}

/** The filter's impulse response at d input samples from an output (float64, closed form). */
export function filterTap(f: ResampleFilter, d: number): number {
  const u = d * f.scale; // lower-rate periods
  const r = Math.abs(u) / f.half;
  if (r >= 1) return 0;
  const w = besselI0(f.beta * Math.sqrt(1 - r * r)) / besselI0(f.beta);
  const x = 2 * f.cutoff * u;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  return 2 * f.cutoff * sinc * w * f.scale;
}

/** Bank row `row` covers the fraction row / up (exact) or row / INTERP_STEPS (interpolated). */
function buildBank(f: ResampleFilter, precision: "f32" | "f64"): Float32Array | Float64Array {
  const bank = precision === "f64" ? new Float64Array(f.rows * f.taps) : new Float32Array(f.rows * f.taps);
  const steps = f.exact ? f.up : INTERP_STEPS;
  for (let row = 0; row < f.rows; row++) {
    const frac = row / steps;
    for (let k = 0; k < f.taps; k++) bank[row * f.taps + k] = filterTap(f, frac + f.firstTap - k);
  }
  return bank;
}

/** Whether a resampler with these options runs the FFT method. */
function usesFft(f: ResampleFilter, opts: ResampleOptions): boolean {
  const method = opts.method ?? "auto";
  if (method !== "auto" && method !== "polyphase" && method !== "fft")
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: method must be "auto", "polyphase" or "fft", got ${String(method)}`,
    );
  if (method === "polyphase") return false;
  const f32 = (opts.precision ?? "f32") === "f32";
  if (method === "fft" && !f32)
    throw new DspError(
      "BAD_ARGUMENT",
      'resample: the FFT method runs in f32; use precision "f32" or method "polyphase"',
    );
  return method === "fft" || (f32 && isIntegerDecimation(f));
}

/** The taps of a one-phase filter in float64 (bank row 0). */
function phaseZeroTaps(f: ResampleFilter): Float64Array {
  return Float64Array.from({ length: f.taps }, (_, k) => filterTap(f, f.firstTap - k));
}

const banks = new Map<string, { filter: ResampleFilter; bank: Float32Array | Float64Array }>();

function cachedFilter(fromRate: number, toRate: number, opts: ResampleOptions) {
  const filter = designResampleFilter(fromRate, toRate, opts);
  const precision = opts.precision ?? "f32";
  if (precision !== "f32" && precision !== "f64")
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: precision must be "f32" or "f64", got ${String(precision)}`,
    );
  const key = `${filter.up}/${filter.down}/${opts.rolloff ?? DEFAULT_ROLLOFF}/${opts.attenuationDb ?? DEFAULT_ATTENUATION_DB}/${precision}`;
  let hit = banks.get(key);
  if (!hit) {
    hit = { filter, bank: buildBank(filter, precision) };
    if (banks.size >= 8) banks.clear();
    banks.set(key, hit);
  }
  return hit;
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
  private readonly fft: FftDecimator | null = null;
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

  constructor(fromRate: number, toRate: number, opts: ResampleOptions = {}) {
    this.fromRate = fromRate;
    this.toRate = toRate;
    if (fromRate === toRate) {
      checkRate("fromRate", fromRate);
      this.filter = null;
      return;
    }
    const { filter, bank } = cachedFilter(fromRate, toRate, opts);
    this.filter = filter;
    if (usesFft(filter, opts)) {
      this.fft = new FftDecimator(filter, phaseZeroTaps(filter), opts.flavour);
      return;
    }
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
    // zeros before the first sample, as far back as the first output's first tap
    this.bufLen = filter.firstTap;
    this.bufStart = -filter.firstTap;
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
    if (this.fft) return this.fft.push(x);
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
    if (this.fft) return this.fft.end();
    this.append(new Float32Array(this.filter.taps));
    const n = this.emit(this.received - 1, 0);
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
 * Band-limited resampling by a polyphase Kaiser-windowed sinc (default: passband to 92 % of the
 * lower Nyquist frequency, 110 dB design attenuation from the lower Nyquist frequency up). Output
 * length is ceil(n * toRate / fromRate); the signal is taken as zero outside [0, n).
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
