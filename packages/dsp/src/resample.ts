import { DspError } from "./errors.js";

/** Quality knobs of the band-limited resampler. */
export interface ResampleOptions {
  /** Passband edge as a fraction of the lower Nyquist frequency (default 0.94). */
  rolloff?: number;
  /** Stopband attenuation of the Kaiser-windowed sinc in dB (default 96). */
  attenuationDb?: number;
}

const TABLE_RES = 2048; // table points per lower-rate sample period

interface Kernel {
  half: number; // half length in lower-rate sample periods
  table: Float64Array; // G(u) for u = 0, 1/TABLE_RES, ... half (+2 guard points)
  beta: number;
  cutoff: number; // cycles per lower-rate sample
}

/** G(u), u in lower-rate sample periods: the windowed sinc evaluated exactly. */
function evalKernel(k: Kernel, u: number): number {
  const r = Math.abs(u) / k.half;
  if (r >= 1) return 0;
  const w = besselI0(k.beta * Math.sqrt(1 - r * r)) / besselI0(k.beta);
  const x = 2 * k.cutoff * u;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  return 2 * k.cutoff * sinc * w;
}

interface Bank {
  first: Int32Array; // per phase: offset of the first tap relative to the base input index
  taps: number; // taps per phase (padded with zeros)
  coef: Float64Array; // [phase][tap], already scaled
}
const banks = new Map<string, Bank>();
const MAX_BANK = 1 << 22;

/** Exact polyphase coefficients when the reduced ratio has few phases; null when too large. */
function polyphaseBank(k: Kernel, up: number, scale: number, key: string): Bank | null {
  const cached = banks.get(key);
  if (cached) return cached;
  const reach = k.half / scale;
  const taps = Math.floor(2 * reach) + 2;
  if (up * taps > MAX_BANK) return null;
  const first = new Int32Array(up);
  const coef = new Float64Array(up * taps);
  for (let ph = 0; ph < up; ph++) {
    const frac = ph / up;
    const lo = Math.ceil(frac - reach);
    first[ph] = lo;
    for (let j = 0; j < taps; j++) coef[ph * taps + j] = evalKernel(k, (frac - (lo + j)) * scale) * scale;
  }
  const b = { first, taps, coef };
  if (banks.size > 8) banks.clear();
  banks.set(key, b);
  return b;
}
const kernels = new Map<string, Kernel>();

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function kernel(rolloff: number, att: number): Kernel {
  const key = `${rolloff}/${att}`;
  let k = kernels.get(key);
  if (k) return k;
  const beta =
    att > 50 ? 0.1102 * (att - 8.7) : att >= 21 ? 0.5842 * (att - 21) ** 0.4 + 0.07886 * (att - 21) : 0;
  // Kaiser's length formula with the transition band [rolloff, 1] * Nyquist of the lower rate
  const transition = 0.5 * (1 - rolloff); // cycles per lower-rate sample
  const half = Math.ceil((att - 7.95) / (14.36 * transition) / 2);
  const cutoff = 0.25 * (1 + rolloff); // cycles per lower-rate sample, centre of the transition band
  const n = half * TABLE_RES + 2;
  const table = new Float64Array(n);
  const i0b = besselI0(beta);
  for (let i = 0; i < n; i++) {
    const u = i / TABLE_RES;
    const r = u / half;
    const w = r >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0b;
    const x = 2 * cutoff * u;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    table[i] = 2 * cutoff * sinc * w;
  }
  k = { half, table, beta, cutoff };
  kernels.set(key, k);
  return k;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Band-limited resampling by a Kaiser-windowed sinc (default: passband to 94 % of the lower Nyquist
 * frequency, 96 dB stopband from the lower Nyquist frequency up, so aliases and images stay below
 * -80 dB). Output length is ceil(n * toRate / fromRate); the signal is taken as zero outside [0, n).
 */
export function resample(
  x: Float32Array,
  fromRate: number,
  toRate: number,
  opts: ResampleOptions = {},
): Float32Array {
  for (const [name, v] of [
    ["fromRate", fromRate],
    ["toRate", toRate],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 10_000_000)
      throw new DspError(
        "BAD_ARGUMENT",
        `resample: ${name} must be a positive integer number of Hz, got ${v}`,
      );
  if (fromRate === toRate) return x.slice();
  const rolloff = opts.rolloff ?? 0.94;
  const att = opts.attenuationDb ?? 96;
  if (!(rolloff > 0.5 && rolloff < 1))
    throw new DspError("BAD_ARGUMENT", "resample: rolloff must be in (0.5, 1)");
  if (!(att >= 20 && att <= 200))
    throw new DspError("BAD_ARGUMENT", "resample: attenuationDb must be in [20, 200]");
  const { half, table } = kernel(rolloff, att);
  const g = gcd(fromRate, toRate);
  const up = toRate / g; // output step is down/up input samples
  const down = fromRate / g;
  const scale = Math.min(1, toRate / fromRate); // input samples -> lower-rate periods
  const reach = half / scale; // filter half length in input samples
  const n = x.length;
  const nOut = Math.ceil((n * up) / down - 1e-9);
  const out = new Float32Array(nOut);
  const bank = polyphaseBank(kernel(rolloff, att), up, scale, `${rolloff}/${att}/${up}/${down}`);
  if (bank) {
    const { first, taps, coef } = bank;
    for (let j = 0; j < nOut; j++) {
      const num = j * down;
      const base = Math.floor(num / up);
      const ph = num - base * up;
      const start = base + first[ph]!;
      const c0 = ph * taps - start; // coef index = c0 + input index
      const lo = Math.max(start, 0);
      const hi = Math.min(start + taps, n);
      let acc = 0;
      for (let i = lo; i < hi; i++) acc += x[i]! * coef[c0 + i]!;
      out[j] = acc;
    }
    return out;
  }
  const du = scale * TABLE_RES; // table steps per input sample
  for (let j = 0; j < nOut; j++) {
    const num = j * down;
    const base = Math.floor(num / up);
    const frac = (num - base * up) / up; // output time = base + frac input samples
    const t = base + frac;
    let lo = Math.ceil(t - reach);
    let hi = Math.floor(t + reach);
    if (lo < 0) lo = 0;
    if (hi > n - 1) hi = n - 1;
    let acc = 0;
    // left side: d = t - i >= 0
    let i = lo;
    for (; i <= hi && i <= base; i++) {
      const pos = (t - i) * du;
      const k = pos | 0;
      const f = pos - k;
      acc += x[i]! * (table[k]! + f * (table[k + 1]! - table[k]!));
    }
    for (; i <= hi; i++) {
      const pos = (i - t) * du;
      const k = pos | 0;
      const f = pos - k;
      acc += x[i]! * (table[k]! + f * (table[k + 1]! - table[k]!));
    }
    out[j] = acc * scale;
  }
  return out;
}
