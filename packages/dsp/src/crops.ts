/**
 * Cutting a log-Mel spectrogram into a model's fixed-size input crops. Training, export checks
 * and the on-device runner all use these functions, so a clip is seen the same way everywhere.
 * Layout: the spectrogram is data[m * nFrames + t] and a crop is out[m * cropFrames + t]
 * (NHWC with H = Mel band, W = frame, C = 1).
 */
import type { MelSpectrogram } from "./logmel.js";

/**
 * Crop length in frames for a duration in seconds: the frame count of a centred STFT of that
 * many samples, 1 + floor(samples / hop); 3 s at 22050 Hz with hop 512 gives 130.
 */
export function cropFramesFor(seconds: number, sampleRate: number, hopLength: number): number {
  return 1 + Math.floor(Math.round(seconds * sampleRate) / hopLength);
}

/**
 * Evaluation crop offsets: the fewest crops that cover the whole clip, spread evenly from its
 * start to its end (one crop at 0 when the clip is not longer than a crop).
 */
export function evalCropOffsets(nFrames: number, cropFrames: number): number[] {
  if (nFrames <= cropFrames) return [0];
  const n = Math.ceil(nFrames / cropFrames);
  const span = nFrames - cropFrames;
  return Array.from({ length: n }, (_, i) => Math.round((i * span) / (n - 1)));
}

/**
 * Copies the crop that starts at frame `offset` into `out` at `outOffset`. Frames past the
 * clip's end repeat the clip's quietest value (the dB floor), so short clips pad with silence.
 */
export function extractCrop(
  spec: Pick<MelSpectrogram, "data" | "nMels" | "nFrames">,
  offset: number,
  cropFrames: number,
  out: Float32Array = new Float32Array(spec.nMels * cropFrames),
  outOffset = 0,
): Float32Array {
  const { data, nMels, nFrames } = spec;
  const avail = Math.max(0, Math.min(cropFrames, nFrames - offset));
  let fill = 0;
  if (avail < cropFrames) {
    fill = Number.POSITIVE_INFINITY;
    for (let i = 0; i < data.length; i++) if (data[i]! < fill) fill = data[i]!;
    if (!Number.isFinite(fill)) fill = 0;
  }
  for (let m = 0; m < nMels; m++) {
    const src = m * nFrames + offset;
    const dst = outOffset + m * cropFrames;
    out.set(data.subarray(src, src + avail), dst);
    if (avail < cropFrames) out.fill(fill, dst + avail, dst + cropFrames);
  }
  return out;
}
