/**
 * Integer-ratio decimation (44.1 -> 22.05 kHz and the like) by FFT overlap-save: the same
 * filter taps as the polyphase kernel, applied as a correlation in blocks. The blocks sit on a
 * fixed grid of input indices, two per kernel call (one complex FFT carries both), so the output
 * does not depend on how the input is chunked.
 *
 * Block b holds input samples bV - F ... bV - F + H - 1 (F = the filter's firstTap, H the FFT
 * length, V = the block's valid outputs at the input rate, a multiple of the ratio D). Its
 * circular correlation with the taps is exact at offsets 0 ... H - taps, which are the filter's
 * outputs at input times bV ... bV + V - 1; every D-th is an output sample.
 */
import { DspError } from "./errors.js";
import { type KernelFlavour, KernelPlan } from "./kernel.js";
import { fftComplex64 } from "./reference.js";
import { phaseZeroTaps, type ResampleFilter } from "./resample-design.js";

/** Input samples taken per round (a large push() is worked through in pieces of this size). */
const CHUNK = 1 << 16;
const MIN_FFT = 1024;
const MAX_FFT = 32768;
const EMPTY = new Float32Array(0);

/** Whether the filter is a plain decimation by an integer (one phase) that the FFT path can run. */
export function isIntegerDecimation(f: ResampleFilter): boolean {
  return f.exact && f.up === 1 && f.down >= 2 && 4 * f.taps <= MAX_FFT;
}

/** FFT length for `taps` taps: at least 4 times the taps, so most of each block is valid (longer FFTs cost more per sample here). */
function fftLength(taps: number): number {
  let h = MIN_FFT;
  while (h < 4 * taps && h < MAX_FFT) h *= 2;
  return h;
}

const spectra = new Map<string, Float32Array>();

/** The filter's spectrum for FFT length h, computed once per design (each file's resampler reuses it). */
function cachedSpectrum(filter: ResampleFilter, h: number): Float32Array {
  const key = `${filter.up}/${filter.down}/${filter.cutoff}/${filter.half}/${filter.beta}/${h}`;
  let spec = spectra.get(key);
  if (!spec) {
    spec = filterSpectrum(phaseZeroTaps(filter), h);
    if (spectra.size >= 8) spectra.clear();
    spectra.set(key, spec);
  }
  return spec;
}

/** conj(DFT(taps)) / h, split (re[h] then im[h]), computed in float64. */
function filterSpectrum(taps: ArrayLike<number>, h: number): Float32Array {
  const re = new Float64Array(h);
  const im = new Float64Array(h);
  for (let k = 0; k < taps.length; k++) re[k] = taps[k]!;
  fftComplex64(re, im);
  const spec = new Float32Array(2 * h);
  for (let k = 0; k < h; k++) {
    spec[k] = re[k]! / h;
    spec[h + k] = -im[k]! / h;
  }
  return spec;
}

export class FftDecimator {
  private readonly plan: KernelPlan;
  private readonly ratio: number;
  private readonly h: number;
  private readonly valid: number;
  private readonly firstTap: number;
  private readonly rawPtr: number;
  private readonly srcPtr: number;
  private readonly specPtr: number;
  private readonly outPtr: number;
  /** Input not yet consumed: pending[0] is input index pendStart (negative indices are zeros). */
  private pending = new Float32Array(CHUNK);
  private pendStart: number;
  private pendLen: number;
  private received = 0;
  /** Next pair of blocks (2 pair, 2 pair + 1). */
  private pair = 0;
  private out = EMPTY;

  /**
   * `lead`: the input starts `lead` samples before time 0 and runs `lead` samples past its end
   * (the first stage's edges in the two-stage path); outputs still start at time 0.
   */
  constructor(
    filter: ResampleFilter,
    flavour?: KernelFlavour,
    private readonly lead = 0,
  ) {
    if (!isIntegerDecimation(filter))
      throw new DspError(
        "BAD_ARGUMENT",
        `resample: the FFT method needs an integer decimation ratio (e.g. 44100 -> 22050) of at most ${MAX_FFT / 4} taps, not ${filter.down}/${filter.up} with ${filter.taps}; use method "polyphase" or "auto"`,
      );
    this.ratio = filter.down;
    this.h = fftLength(filter.taps);
    this.valid = Math.floor((this.h - filter.taps + 1) / this.ratio) * this.ratio;
    this.firstTap = filter.firstTap - lead;
    this.plan = new KernelPlan(2 * this.h, null, null, flavour);
    const f = 4;
    const rawLen = this.valid + this.h;
    const outLen = (2 * this.valid) / this.ratio;
    const base = this.plan.reserve(f * (rawLen + 2 * this.h + 2 * this.h + outLen) + 4 * 64);
    this.rawPtr = base;
    this.srcPtr = align16(this.rawPtr + f * rawLen);
    this.specPtr = align16(this.srcPtr + f * 2 * this.h);
    this.outPtr = align16(this.specPtr + f * 2 * this.h);
    this.plan.f32().set(cachedSpectrum(filter, this.h), this.specPtr / 4);
    // zeros before the first sample, back to the first block's start
    this.pendStart = -this.firstTap;
    this.pendLen = this.firstTap;
  }

  /** Outputs at the input rate (every ratio-th is an output sample) per pair of blocks. */
  private get outputsPerPair(): number {
    return (2 * this.valid) / this.ratio;
  }

  /** Input index one past the last sample the current pair reads. */
  private pairEnd(): number {
    return 2 * this.pair * this.valid - this.firstTap + this.valid + this.h;
  }

  /** Feeds samples; the outputs that became final, as a view valid until the next call. */
  push(x: Float32Array): Float32Array {
    let n = 0;
    for (let off = 0; off < x.length; off += CHUNK) {
      const piece = x.subarray(off, off + CHUNK);
      this.append(piece);
      this.received += piece.length;
      while (this.pendStart + this.pendLen >= this.pairEnd()) n = this.runPair(n);
      this.drop(2 * this.pair * this.valid - this.firstTap);
    }
    return this.out.subarray(0, n);
  }

  /** The remaining outputs: ceil(n / ratio) in all for n inputs (not counting 2 x lead). */
  end(): Float32Array {
    const total = Math.ceil(Math.max(0, this.received - 2 * this.lead) / this.ratio);
    let done = this.pair * this.outputsPerPair;
    let n = 0;
    while (done < total) {
      const missing = this.pairEnd() - (this.pendStart + this.pendLen);
      if (missing > 0) this.append(new Float32Array(missing));
      n = this.runPair(n);
      this.drop(2 * this.pair * this.valid - this.firstTap);
      done += this.outputsPerPair;
    }
    const produced = this.pair * this.outputsPerPair;
    return this.out.slice(0, n - Math.max(0, produced - total));
  }

  /** Filters the current pair of blocks, writing its outputs from `at`; returns the index after them. */
  private runPair(at: number): number {
    const start = 2 * this.pair * this.valid - this.firstTap;
    const span = this.valid + this.h;
    const from = start - this.pendStart;
    const mem = this.plan.f32();
    mem.set(this.pending.subarray(from, from + span), this.rawPtr / 4);
    const count = this.valid / this.ratio;
    this.plan.ex.correlatePair(
      this.rawPtr,
      this.valid,
      this.srcPtr,
      this.specPtr,
      this.outPtr,
      count,
      this.ratio,
    );
    this.reserve(at + 2 * count);
    this.out.set(mem.subarray(this.outPtr / 4, this.outPtr / 4 + 2 * count), at);
    this.pair++;
    return at + 2 * count;
  }

  /** Forgets the input before index `keepFrom`. */
  private drop(keepFrom: number): void {
    const n = keepFrom - this.pendStart;
    if (n <= 0) return;
    this.pending.copyWithin(0, n, this.pendLen);
    this.pendLen -= n;
    this.pendStart = keepFrom;
  }

  private append(x: Float32Array): void {
    const need = this.pendLen + x.length;
    if (need > this.pending.length) {
      const grown = new Float32Array(Math.max(need, 2 * this.pending.length));
      grown.set(this.pending.subarray(0, this.pendLen));
      this.pending = grown;
    }
    this.pending.set(x, this.pendLen);
    this.pendLen = need;
  }

  private reserve(n: number): void {
    if (n <= this.out.length) return;
    const grown = new Float32Array(Math.max(n, 2 * this.out.length));
    grown.set(this.out);
    this.out = grown;
  }
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;
