/**
 * Normalisation of a model input crop: a window of log-Mel frames, [nMels][cropFrames], as cut by
 * extractCrop or collected by a live stream. It is local to the crop, so file, stream and
 * microphone input normalise a window the same way, and a model file's Mel configuration says
 * which one its crops get (`normalization`; absent means "none").
 *
 * A gain of g dB adds g to every cell that is above the amin floor, and so leaves crop-max and
 * crop-mean unchanged as long as the crop's maximum minus topDb stays above 10 log10(amin).
 */
import type { MelConfig, MelNormalization } from "./config.js";
import { extractCrop } from "./crops.js";
import { type MelSpectrogram, maxOf, raiseTo } from "./logmel.js";

/** The crop normalisation a config asks for; "none" when the field is absent (older models). */
export function normalizationOf(config: Pick<MelConfig, "normalization">): MelNormalization {
  return config.normalization ?? "none";
}

/**
 * Normalises crop values data[offset, offset + size) in place (float32 arithmetic) and returns
 * data. "none" leaves them untouched; "crop-max" raises them to (max - topDb) and subtracts the
 * max; "crop-mean" raises them the same way and subtracts the mean of the raised values.
 */
export function normalizeCropInPlace(
  config: Pick<MelConfig, "normalization" | "topDb">,
  data: Float32Array,
  offset = 0,
  size = data.length - offset,
): Float32Array {
  const kind = normalizationOf(config);
  if (kind === "none" || size <= 0) return data;
  const crop = data.subarray(offset, offset + size);
  const max = maxOf(crop);
  if (config.topDb !== null) raiseTo(crop, Math.fround(max - Math.fround(config.topDb)));
  shiftBy(crop, kind === "crop-max" ? max : Math.fround(meanOf(crop)));
  return data;
}

/**
 * Float64 reference of normalizeCropInPlace, written for clarity: takes dB values in any
 * precision and returns the normalised crop in float64.
 */
export function normalizeCropReference(
  config: Pick<MelConfig, "normalization" | "topDb">,
  db: ArrayLike<number>,
): Float64Array {
  const x = Float64Array.from(db);
  const kind = normalizationOf(config);
  if (kind === "none" || x.length === 0) return x;
  const max = x.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  const floor = config.topDb === null ? Number.NEGATIVE_INFINITY : max - config.topDb;
  const raised = x.map((v) => Math.max(v, floor));
  const centre = kind === "crop-max" ? max : raised.reduce((a, b) => a + b, 0) / raised.length;
  return raised.map((v) => v - centre);
}

/**
 * The model input for the crop starting at frame `offset`: extractCrop (frames past the clip's
 * end repeat its quietest value) followed by normalizeCropInPlace. Training, calibration and the
 * runner all cut crops through this function.
 */
export function modelCrop(
  spec: Pick<MelSpectrogram, "data" | "nMels" | "nFrames">,
  offset: number,
  cropFrames: number,
  config: Pick<MelConfig, "normalization" | "topDb">,
  out: Float32Array = new Float32Array(spec.nMels * cropFrames),
  outOffset = 0,
): Float32Array {
  extractCrop(spec, offset, cropFrames, out, outOffset);
  return normalizeCropInPlace(config, out, outOffset, spec.nMels * cropFrames);
}

// One loop per function (see logmel.ts).
function meanOf(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  return sum / x.length;
}

function shiftBy(x: Float32Array, centre: number): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! - centre;
}
