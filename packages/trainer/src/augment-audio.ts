/**
 * Audio-level training augmentation: every clip gets `variants` degraded copies (a round trip
 * through 44.1 or 48 kHz, white noise at a random SNR, a random low-pass, a random gain), made once from the decoded samples with a seed
 * per clip and copy, turned into log-Mel features and cached like the clean features. Training
 * draws each crop from the clean clip or one of its copies; evaluation always sees clean clips.
 */
import { resample } from "@edge-audio/dsp";
import { hashString, Rng } from "./rng.js";

export interface AudioAugmentConfig {
  /** Degraded copies per clip that training crops are drawn from beside the clean clip (0 = off). */
  variants: number;
  /** Probability that a copy gets white Gaussian noise, at an SNR uniform in noiseSnrDb. */
  noiseProb: number;
  noiseSnrDb: [number, number];
  /** Probability that a copy is low-passed (8th-order Butterworth), cut-off uniform in lowpassHz. */
  lowpassProb: number;
  lowpassHz: [number, number];
  /** Gain of each copy, uniform in gainDb (samples are not clipped: a float signal). */
  gainDb: [number, number];
  /**
   * Probability that a copy goes to one of `resampleRates` and back through dsp's resampler, as a
   * recording at that rate reaches the model: what is above the resampler's passband (0.92 of the
   * model's Nyquist frequency) is gone.
   */
  resampleProb: number;
  resampleRates: number[];
}

/** The default recipe of new models (see the trainer README, "Augmentation", for the measurements). */
export function defaultAudioAugment(): AudioAugmentConfig {
  return { ...noAudioAugment(), variants: 1, noiseProb: 0.5, lowpassProb: 0.5 };
}

/** No audio augmentation (the ranges are the ones the flags use when switched on). */
export function noAudioAugment(): AudioAugmentConfig {
  return {
    variants: 0,
    noiseProb: 0,
    noiseSnrDb: [10, 40],
    lowpassProb: 0,
    lowpassHz: [2500, 8000],
    gainDb: [0, 0],
    resampleProb: 0,
    resampleRates: [44100, 48000],
  };
}

/** What makes copy `variant` of a clip, for the feature cache key (same recipe, same bytes). */
export function augmentKey(cfg: AudioAugmentConfig, variant: number, seed: number): string {
  const { variants: _count, ...recipe } = cfg;
  return JSON.stringify({ recipe, variant, seed });
}

/** Copy of `x` degraded as the recipe says, with the choices drawn from `rng`. */
export function augmentSamples(
  x: Float32Array,
  sampleRate: number,
  cfg: AudioAugmentConfig,
  rng: Rng,
): Float32Array {
  const gain = 10 ** (rng.uniform(cfg.gainDb[0], cfg.gainDb[1]) / 20);
  const noise = rng.next() < cfg.noiseProb ? rng.uniform(cfg.noiseSnrDb[0], cfg.noiseSnrDb[1]) : null;
  const cutoff = rng.next() < cfg.lowpassProb ? rng.uniform(cfg.lowpassHz[0], cfg.lowpassHz[1]) : null;
  // drawn only when enabled, so that recipes without it keep their copies exactly
  const via = cfg.resampleProb > 0 && rng.next() < cfg.resampleProb ? rng.pick(cfg.resampleRates) : null;
  let y: Float32Array = via === null ? Float32Array.from(x) : resampleRoundTrip(x, sampleRate, via);
  if (cutoff !== null && cutoff < sampleRate / 2) y = butterworthLowpass(y, sampleRate, cutoff);
  if (noise !== null) addWhiteNoise(y, noise, rng);
  if (gain !== 1) for (let i = 0; i < y.length; i++) y[i] = y[i]! * gain;
  return y;
}

/** `x` taken to `via` Hz and back to `sampleRate` by dsp's resampler (same length as `x`). */
export function resampleRoundTrip(x: Float32Array, sampleRate: number, via: number): Float32Array {
  const back = resample(resample(x, sampleRate, via), via, sampleRate);
  if (back.length === x.length) return back;
  const y = new Float32Array(x.length);
  y.set(back.subarray(0, x.length));
  return y;
}

/** Adds white Gaussian noise `snrDb` below the signal's mean power, in place. */
export function addWhiteNoise(x: Float32Array, snrDb: number, rng: Rng): void {
  let power = 0;
  for (let i = 0; i < x.length; i++) power += x[i]! * x[i]!;
  const sigma = Math.sqrt(power / Math.max(1, x.length) / 10 ** (snrDb / 10));
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + sigma * rng.normal();
}

/** Q of the four second-order sections of an 8th-order Butterworth filter. */
const BUTTERWORTH_8_Q = [0.5098, 0.6013, 0.9, 2.5629];

/**
 * 8th-order Butterworth low-pass (48 dB per octave): four biquads (RBJ cookbook form), run
 * forward in float64.
 */
export function butterworthLowpass(x: Float32Array, sampleRate: number, cutoffHz: number): Float32Array {
  const w0 = (2 * Math.PI * cutoffHz) / sampleRate;
  let y: Float64Array = Float64Array.from(x);
  for (const q of BUTTERWORTH_8_Q) {
    const alpha = Math.sin(w0) / (2 * q);
    const cos = Math.cos(w0);
    const a0 = 1 + alpha;
    const b0 = (1 - cos) / 2 / a0;
    const b1 = (1 - cos) / a0;
    const a1 = (-2 * cos) / a0;
    const a2 = (1 - alpha) / a0;
    y = biquad(y, b0, b1, b0, a1, a2);
  }
  return Float32Array.from(y);
}

function biquad(x: Float64Array, b0: number, b1: number, b2: number, a1: number, a2: number): Float64Array {
  const y = new Float64Array(x.length);
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = b0 * x[i]! + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x[i]!;
    y2 = y1;
    y1 = v;
    y[i] = v;
  }
  return y;
}

/** The seed of copy `variant` of clip `id`. */
export function variantRng(id: string, variant: number, seed: number): Rng {
  return new Rng(hashString(`audio-augment:${id}:${variant}`, seed));
}
