import type { MelConfig } from "./config.js";
import { hzToMel } from "./filters.js";
import { Bitmap, colourMap, textWidth } from "./png.js";

const BLACK = [0, 0, 0] as const;
const GREY = [90, 90, 90] as const;

function niceStep(range: number, target: number): number {
  const raw = range / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const fmtHz = (f: number): string => (f >= 1000 ? `${+(f / 1000).toFixed(1)}k` : `${Math.round(f)}`);

/**
 * Renders a log-Mel spectrogram (data[m * nFrames + t], dB) as a PNG: low frequencies at the
 * bottom, a Hz axis placed on the Mel scale, a time axis in seconds and a dB colour bar.
 */
export function renderMelPng(
  mel: { data: Float32Array; nMels: number; nFrames: number },
  config: MelConfig,
  title = "",
): Uint8Array {
  const { data, nMels, nFrames } = mel;
  const cols = Math.max(400, Math.min(nFrames, 1600)); // short clips are stretched, long ones reduced
  const rowScale = nMels <= 64 ? 4 : nMels <= 160 ? 2 : 1;
  const plotH = nMels * rowScale;
  const left = 56;
  const top = title ? 22 : 10;
  const bottom = 36;
  const right = 70;
  const img = new Bitmap(left + cols + right, top + plotH + bottom);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) hi = lo + 1;
  // pixels: each column shows the max over the frames it covers
  for (let x = 0; x < cols; x++) {
    const t0 = Math.floor((x * nFrames) / cols);
    const t1 = Math.max(t0 + 1, Math.floor(((x + 1) * nFrames) / cols));
    for (let m = 0; m < nMels; m++) {
      let v = Number.NEGATIVE_INFINITY;
      for (let t = t0; t < t1 && t < nFrames; t++) v = Math.max(v, data[m * nFrames + t]!);
      const c = colourMap((v - lo) / (hi - lo));
      for (let r = 0; r < rowScale; r++) img.set(left + x, top + plotH - 1 - (m * rowScale + r), c);
    }
  }
  // frame
  for (let x = left - 1; x <= left + cols; x++) {
    img.set(x, top - 1, BLACK);
    img.set(x, top + plotH, BLACK);
  }
  for (let y = top - 1; y <= top + plotH; y++) {
    img.set(left - 1, y, BLACK);
    img.set(left + cols, y, BLACK);
  }
  if (title) img.text(left, 6, title, BLACK);
  // frequency axis: ticks at round Hz values, placed on the Mel scale of the filterbank
  const mLo = hzToMel(config.fMin, config.melScale);
  const mHi = hzToMel(config.fMax, config.melScale);
  const ticks = [0, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000].filter(
    (f) => f >= config.fMin && f <= config.fMax,
  );
  let lastY = Number.POSITIVE_INFINITY;
  for (const f of ticks) {
    const y = Math.round(top + plotH - ((hzToMel(f, config.melScale) - mLo) / (mHi - mLo)) * plotH);
    if (lastY - y < 12) continue;
    lastY = y;
    for (let d = 1; d <= 4; d++) img.set(left - 1 - d, y, BLACK);
    const s = fmtHz(f);
    img.text(left - 7 - textWidth(s), y - 3, s, BLACK);
  }
  img.text(4, top + Math.floor(plotH / 2) - 3, "Hz", GREY);
  // time axis
  const seconds = ((nFrames - 1) * config.hopLength) / config.sampleRate;
  const step = seconds > 0 ? niceStep(seconds, Math.min(8, Math.floor(cols / 60))) : 1;
  for (let s = 0; s <= seconds + 1e-9; s += step) {
    const x = Math.round(left + (s / Math.max(seconds, 1e-9)) * (cols - 1));
    for (let d = 1; d <= 4; d++) img.set(x, top + plotH + d, BLACK);
    const label = `${+s.toFixed(2)}`;
    img.text(x - Math.floor(textWidth(label) / 2), top + plotH + 7, label, BLACK);
  }
  img.text(left + Math.floor(cols / 2) - 20, top + plotH + 21, "time (s)", GREY);
  // colour bar
  const bx = left + cols + 12;
  for (let y = 0; y < plotH; y++) {
    const c = colourMap(1 - y / (plotH - 1 || 1));
    for (let x = 0; x < 10; x++) img.set(bx + x, top + y, c);
  }
  img.text(bx + 14, top, `${Math.round(hi)}`, BLACK);
  img.text(bx + 14, top + plotH - 7, `${Math.round(lo)}`, BLACK);
  img.text(bx + 14, top + Math.floor(plotH / 2) - 3, "dB", GREY);
  return img.toPng();
}
