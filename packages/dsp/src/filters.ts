import type { MelConfig } from "./config.js";
import { DspError } from "./errors.js";

/** Hz to Mel on the Slaney (Auditory Toolbox) or HTK scale, as librosa.hz_to_mel. */
export function hzToMel(hz: number, scale: "slaney" | "htk" = "slaney"): number {
  if (scale === "htk") return 2595 * Math.log10(1 + hz / 700);
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

/** Inverse of hzToMel. */
export function melToHz(mel: number, scale: "slaney" | "htk" = "slaney"): number {
  if (scale === "htk") return 700 * (10 ** (mel / 2595) - 1);
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/** n frequencies equally spaced on the Mel scale from fMin to fMax inclusive (librosa.mel_frequencies). */
export function melFrequencies(n: number, fMin: number, fMax: number, scale: "slaney" | "htk"): Float64Array {
  const lo = hzToMel(fMin, scale);
  const hi = hzToMel(fMax, scale);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = melToHz(n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1), scale);
  return out;
}

/** A Mel filterbank in sparse form: row m has weights[offset[m] .. offset[m] + length[m]) for FFT bins start[m]... */
export interface MelFilterbank {
  nMels: number;
  nBins: number;
  /** Dense weights, row-major [nMels][nBins], float64 (computed on first use). */
  readonly dense: Float64Array;
  start: Int32Array;
  length: Int32Array;
  offset: Int32Array;
  weights: Float64Array;
  /** Centre frequency of each band in Hz. */
  centerHz: Float64Array;
}

/**
 * librosa.filters.mel computed in float64 (librosa itself stores float32 weights). The sparse rows
 * are built directly; `dense` (1 MiB for 128 bands of a 2048-point FFT) is computed on first use.
 */
export function melFilterbank(config: MelConfig): MelFilterbank {
  const { sampleRate, nFft, nMels, fMin, fMax, melScale, norm } = config;
  const nBins = Math.floor(nFft / 2) + 1;
  const melF = melFrequencies(nMels + 2, fMin, fMax, melScale);
  const weightRow = (m: number, into: Float64Array): void => {
    const lower = melF[m]!;
    const center = melF[m + 1]!;
    const upper = melF[m + 2]!;
    const enorm = norm === "slaney" ? 2 / (upper - lower) : 1;
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      const rising = (f - lower) / (center - lower);
      const falling = (upper - f) / (upper - center);
      into[k] = Math.max(0, Math.min(rising, falling)) * enorm;
    }
  };
  const start = new Int32Array(nMels);
  const length = new Int32Array(nMels);
  const offset = new Int32Array(nMels);
  const rows: Float64Array[] = [];
  const row = new Float64Array(nBins);
  let total = 0;
  for (let m = 0; m < nMels; m++) {
    weightRow(m, row);
    let first = -1;
    let last = -1;
    for (let k = 0; k < nBins; k++)
      if (row[k]! > 0) {
        if (first < 0) first = k;
        last = k;
      }
    const kept = first >= 0 ? row.slice(first, last + 1) : new Float64Array(0);
    start[m] = Math.max(first, 0);
    length[m] = kept.length;
    offset[m] = total;
    total += kept.length;
    rows.push(kept);
  }
  const weights = new Float64Array(total);
  rows.forEach((r, m) => {
    weights.set(r, offset[m]!);
  });
  let dense: Float64Array | undefined;
  return {
    nMels,
    nBins,
    get dense(): Float64Array {
      if (!dense) {
        dense = new Float64Array(nMels * nBins);
        for (let m = 0; m < nMels; m++) weightRow(m, dense.subarray(m * nBins, (m + 1) * nBins));
      }
      return dense;
    },
    start,
    length,
    offset,
    weights,
    centerHz: melF.slice(1, nMels + 1),
  };
}

/** Periodic Hann window of winLength, centred and zero-padded to nFft (librosa's get_window + pad_center). */
export function hannWindow(nFft: number, winLength = nFft): Float64Array {
  const w = new Float64Array(nFft);
  const lpad = Math.floor((nFft - winLength) / 2);
  for (let i = 0; i < winLength; i++) w[lpad + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / winLength);
  return w;
}

/** Number of STFT frames for n samples (1 + floor(n / hop) when centred with an even nFft). */
export function frameCount(n: number, config: Pick<MelConfig, "nFft" | "hopLength" | "center">): number {
  const padded = config.center ? n + 2 * Math.floor(config.nFft / 2) : n;
  if (padded < config.nFft) return 0;
  return 1 + Math.floor((padded - config.nFft) / config.hopLength);
}

/** Index into the original signal for position i of the numpy-`reflect` extension (i may be < 0 or >= n). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j >= n ? period - j : j;
}

/**
 * Checks samples for the spectrogram functions: non-empty, finite, long enough.
 * Throws DspError with codes EMPTY_INPUT, NON_FINITE_INPUT or TOO_SHORT.
 */
export function checkSamples(samples: ArrayLike<number>, config: MelConfig, finite = true): void {
  if (samples.length === 0)
    throw new DspError("EMPTY_INPUT", "the audio has no samples; a spectrogram needs at least one sample");
  if (finite)
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i]!;
      if (!Number.isFinite(v)) throw nonFiniteError(i, v);
    }
  if (!config.center && samples.length < config.nFft)
    throw new DspError(
      "TOO_SHORT",
      `${samples.length} samples is shorter than one frame (nFft = ${config.nFft}) with center = false; pad the audio or use center = true`,
    );
}

export function nonFiniteError(index: number, value: number): DspError {
  return new DspError(
    "NON_FINITE_INPUT",
    `sample ${index} is ${value}; remove or replace NaN/Infinity samples before computing features`,
  );
}

/** The padded signal the frames are cut from: length n + 2*floor(nFft/2) when centred. */
export function padSignal(samples: ArrayLike<number>, config: MelConfig, out?: Float32Array): Float32Array {
  const n = samples.length;
  if (!config.center) {
    const r = out ?? new Float32Array(n);
    for (let i = 0; i < n; i++) r[i] = samples[i]!;
    return r;
  }
  const p = Math.floor(config.nFft / 2);
  const r = out ?? new Float32Array(n + 2 * p);
  if (samples instanceof Float32Array) r.set(samples, p);
  else for (let i = 0; i < n; i++) r[p + i] = samples[i]!;
  const reflect = config.padMode === "reflect";
  for (let i = 0; i < p; i++) {
    r[i] = reflect ? samples[reflectIndex(i - p, n)]! : 0;
    r[p + n + i] = reflect ? samples[reflectIndex(n + i, n)]! : 0;
  }
  return r;
}
