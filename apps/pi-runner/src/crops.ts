/**
 * Cutting a log-Mel spectrogram (dsp layout: data[m * nFrames + t]) into the model's input
 * crops (NHWC with H = Mel band, W = frame, C = 1, so the same row-major layout).
 */
export interface CropPlan {
  /** Frame offsets of the crops. */
  offsets: number[];
  /** Frames of padding appended when the clip is shorter than one crop. */
  padFrames: number;
}

/**
 * Non-overlapping crops from the start (hop = crop length by default); a clip shorter than one
 * crop gives one crop padded with the clip's quietest value.
 */
export function planCrops(nFrames: number, cropFrames: number, hopFrames = cropFrames): CropPlan {
  if (nFrames <= cropFrames) return { offsets: [0], padFrames: cropFrames - nFrames };
  const offsets: number[] = [];
  for (let o = 0; o + cropFrames <= nFrames; o += hopFrames) offsets.push(o);
  return { offsets, padFrames: 0 };
}

export function extractCrop(
  data: Float32Array,
  nMels: number,
  nFrames: number,
  offset: number,
  cropFrames: number,
  out = new Float32Array(nMels * cropFrames),
): Float32Array {
  const avail = Math.max(0, Math.min(cropFrames, nFrames - offset));
  let floor = Number.POSITIVE_INFINITY;
  if (avail < cropFrames) for (let i = 0; i < data.length; i++) floor = Math.min(floor, data[i]!);
  for (let m = 0; m < nMels; m++) {
    const src = m * nFrames + offset;
    out.set(data.subarray(src, src + avail), m * cropFrames);
    if (avail < cropFrames)
      out.fill(Number.isFinite(floor) ? floor : 0, m * cropFrames + avail, (m + 1) * cropFrames);
  }
  return out;
}

/** Mean of per-crop probability vectors. */
export function meanProbs(rows: Float32Array[]): Float32Array {
  const k = rows[0]!.length;
  const out = new Float32Array(k);
  for (const r of rows) for (let i = 0; i < k; i++) out[i]! += r[i]!;
  for (let i = 0; i < k; i++) out[i]! /= rows.length;
  return out;
}

export function topK(probs: Float32Array, labels: string[], k: number): { label: string; p: number }[] {
  return [...probs]
    .map((p, i) => ({ label: labels[i] ?? String(i), p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
