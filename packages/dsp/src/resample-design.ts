/**
 * The resampler's filter: its options, the Kaiser-windowed sinc design for a rate pair, its
 * closed-form taps and the cached coefficient banks of the polyphase kernel.
 */
import { DspError } from "./errors.js";
import type { KernelFlavour } from "./kernel.js";

/** Quality knobs of the band-limited resampler. */
export interface ResampleOptions {
  /**
   * Passband edge as a fraction of the lower Nyquist frequency: default 0.98 when downsampling
   * (the model's top Mel band reaches the new Nyquist frequency, and at 0.92 a native 44.1 or
   * 48 kHz recording lost 10-12 dB in it), 0.92 when upsampling (the band above the old Nyquist
   * frequency is empty anyway, and a narrower transition would cost 4x the taps).
   */
  rolloff?: number;
  /**
   * Stopband edge as a fraction of the lower Nyquist frequency (default 1: nothing aliases).
   * Above 1, tones between the lower Nyquist frequency and this edge alias onto frequencies above
   * (2 - stopband) x the lower Nyquist frequency. Only for a first stage whose output is
   * filtered again below that (the two-stage path sets it); in [1, 2).
   */
  stopband?: number;
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
   * integer decimation ratios such as 44100 -> 22050, f32; other ratios that downsample by 2 or
   * more, e.g. 48000 -> 22050, go first to the nearest lower multiple of the new rate through a
   * short polyphase stage, then through the FFT one) or "auto" (default: "fft" where it applies,
   * else "polyphase"). Both apply the same filter response below the new Nyquist frequency; they
   * differ by float rounding and by the first stage's ripple (below 3e-7).
   */
  method?: "auto" | "polyphase" | "fft";
}

const DEFAULT_ROLLOFF_DOWN = 0.98;
const DEFAULT_ROLLOFF_UP = 0.92;
export const DEFAULT_ATTENUATION_DB = 110;
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

export function checkRate(name: string, v: number): void {
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
  const rolloff = opts.rolloff ?? (toRate < fromRate ? DEFAULT_ROLLOFF_DOWN : DEFAULT_ROLLOFF_UP);
  const stopband = opts.stopband ?? 1;
  const att = opts.attenuationDb ?? DEFAULT_ATTENUATION_DB;
  if (!(stopband >= 1 && stopband < 2))
    throw new DspError("BAD_ARGUMENT", `resample: stopband must be in [1, 2), got ${stopband}`);
  const lowest = stopband > 1 ? 0 : 0.5;
  if (!(rolloff > lowest && rolloff < 1))
    throw new DspError("BAD_ARGUMENT", `resample: rolloff must be in (${lowest}, 1), got ${rolloff}`);
  if (!(att >= 20 && att <= 200))
    throw new DspError("BAD_ARGUMENT", `resample: attenuationDb must be in [20, 200], got ${att}`);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const scale = Math.min(1, toRate / fromRate);
  // Kaiser's length formula, transition band [rolloff, stopband] x the lower Nyquist frequency
  const transition = 0.5 * (stopband - rolloff); // cycles per lower-rate sample
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
    cutoff: 0.25 * (stopband + rolloff),
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

/** The taps of a one-phase filter in float64 (bank row 0). */
export function phaseZeroTaps(f: ResampleFilter): Float64Array {
  return Float64Array.from({ length: f.taps }, (_, k) => filterTap(f, f.firstTap - k));
}

const banks = new Map<string, Float32Array | Float64Array>();

export function checkPrecision(opts: ResampleOptions): "f32" | "f64" {
  const precision = opts.precision ?? "f32";
  if (precision !== "f32" && precision !== "f64")
    throw new DspError(
      "BAD_ARGUMENT",
      `resample: precision must be "f32" or "f64", got ${String(precision)}`,
    );
  return precision;
}

/** The filter's coefficient bank, built once per design and precision. */
export function cachedBank(filter: ResampleFilter, precision: "f32" | "f64"): Float32Array | Float64Array {
  const key = `${filter.up}/${filter.down}/${filter.cutoff}/${filter.half}/${filter.beta}/${precision}`;
  let bank = banks.get(key);
  if (!bank) {
    bank = buildBank(filter, precision);
    if (banks.size >= 8) banks.clear();
    banks.set(key, bank);
  }
  return bank;
}
