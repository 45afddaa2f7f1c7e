/**
 * Crops of log-Mel features and the seeded augmentations: random crop offset, SpecAugment-style
 * time and frequency masking, and mixup.
 */
import type { Rng } from "./rng.js";

/**
 * Crop length, evaluation crop offsets and crop extraction are defined once in @edge-audio/dsp,
 * which the on-device runner imports too, so training and serving cut clips identically.
 */
export { cropFramesFor, evalCropOffsets, extractCrop, modelCrop } from "@edge-audio/dsp";

export interface AugmentConfig {
  /** Random crop offsets in training (otherwise crops start at evenly spaced positions). */
  randomCrop: boolean;
  /** SpecAugment: number of frequency masks and their maximum width in bands. */
  freqMasks: number;
  freqMaskWidth: number;
  /** SpecAugment: number of time masks and their maximum width in frames. */
  timeMasks: number;
  timeMaskWidth: number;
  /** Mixup Beta(alpha, alpha) parameter; 0 disables mixup. */
  mixupAlpha: number;
}

export function defaultAugment(): AugmentConfig {
  return {
    randomCrop: true,
    freqMasks: 2,
    freqMaskWidth: 12,
    timeMasks: 2,
    timeMaskWidth: 16,
    mixupAlpha: 0.2,
  };
}

export function noAugment(): AugmentConfig {
  return { randomCrop: false, freqMasks: 0, freqMaskWidth: 0, timeMasks: 0, timeMaskWidth: 0, mixupAlpha: 0 };
}

/** SpecAugment masking of one crop in place; masked cells take the crop's mean. */
export function specAugment(
  crop: Float32Array,
  offset: number,
  nMels: number,
  cropFrames: number,
  aug: AugmentConfig,
  rng: Rng,
): void {
  if (aug.freqMasks <= 0 && aug.timeMasks <= 0) return;
  const size = nMels * cropFrames;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += crop[offset + i]!;
  const mean = sum / size;
  for (let k = 0; k < aug.freqMasks; k++) {
    const w = rng.int(0, Math.min(aug.freqMaskWidth, nMels - 1));
    const m0 = rng.int(0, nMels - w);
    for (let m = m0; m < m0 + w; m++) crop.fill(mean, offset + m * cropFrames, offset + (m + 1) * cropFrames);
  }
  for (let k = 0; k < aug.timeMasks; k++) {
    const w = rng.int(0, Math.min(aug.timeMaskWidth, cropFrames - 1));
    const t0 = rng.int(0, cropFrames - w);
    for (let m = 0; m < nMels; m++) {
      const row = offset + m * cropFrames;
      crop.fill(mean, row + t0, row + t0 + w);
    }
  }
}

/**
 * Mixup over a batch in place: x_i <- lam x_i + (1 - lam) x_perm(i), same for the one-hot
 * targets; one lam per batch drawn from Beta(alpha, alpha), folded to lam >= 0.5.
 */
export function mixup(
  x: Float32Array,
  y: Float32Array,
  batch: number,
  numClasses: number,
  alpha: number,
  rng: Rng,
): number {
  if (alpha <= 0 || batch < 2) return 1;
  let lam = rng.beta(alpha);
  lam = Math.max(lam, 1 - lam);
  const perm = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
  const per = x.length / batch;
  const x0 = Float32Array.from(x);
  const y0 = Float32Array.from(y);
  for (let i = 0; i < batch; i++) {
    const j = perm[i]!;
    for (let k = 0; k < per; k++) x[i * per + k] = lam * x0[i * per + k]! + (1 - lam) * x0[j * per + k]!;
    for (let k = 0; k < numClasses; k++) {
      y[i * numClasses + k] = lam * y0[i * numClasses + k]! + (1 - lam) * y0[j * numClasses + k]!;
    }
  }
  return lam;
}
