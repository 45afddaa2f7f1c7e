import { clipTopDb, type MelConfig, resolveMelConfig } from "./config.js";
import { checkSamples, frameCount, hannWindow, melFilterbank, reflectIndex } from "./filters.js";

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

const tables = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();
function radix2Tables(n: number) {
  let t = tables.get(n);
  if (!t) {
    const cos = new Float64Array(n / 2);
    const sin = new Float64Array(n / 2);
    for (let k = 0; k < n / 2; k++) {
      cos[k] = Math.cos((2 * Math.PI * k) / n);
      sin[k] = -Math.sin((2 * Math.PI * k) / n);
    }
    const rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
    t = { cos, sin, rev };
    if (tables.size > 16) tables.clear();
    tables.set(n, t);
  }
  return t;
}

/**
 * In-place forward complex DFT in float64, X[k] = sum x[n] e^{-2 pi i k n / N}, any length N >= 1:
 * iterative radix-2 for powers of two, Bluestein's chirp-z otherwise. Twiddles come straight from
 * Math.cos/Math.sin, so the error grows like eps * log2(N).
 */
export function fftComplex64(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n <= 1) return;
  if (!isPow2(n)) {
    bluestein(re, im);
    return;
  }
  const { cos, sin, rev } = radix2Tables(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!;
        const wi = sin[k * step]!;
        const a = start + k;
        const b = a + half;
        const br = re[b]! * wr - im[b]! * wi;
        const bi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - br;
        im[b] = im[a]! - bi;
        re[a] = re[a]! + br;
        im[a] = im[a]! + bi;
      }
    }
  }
}

function bluestein(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const wr = new Float64Array(n);
  const wi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // k^2 mod 2n keeps the angle argument small and exact
    const a = (Math.PI * ((k * k) % (2 * n))) / n;
    wr[k] = Math.cos(a);
    wi[k] = -Math.sin(a);
  }
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  br[0] = wr[0]!;
  bi[0] = -wi[0]!;
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = wr[k]!;
    bi[k] = bi[m - k] = -wi[k]!;
  }
  fftComplex64(ar, ai);
  fftComplex64(br, bi);
  for (let k = 0; k < m; k++) {
    const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    const i = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = r;
    ai[k] = -i; // conjugate, so that a forward FFT computes the inverse
  }
  fftComplex64(ar, ai);
  for (let k = 0; k < n; k++) {
    const r = ar[k]! / m;
    const i = -ai[k]! / m;
    re[k] = r * wr[k]! - i * wi[k]!;
    im[k] = r * wi[k]! + i * wr[k]!;
  }
}

/** |STFT|^power in float64, frames of nFft/2 + 1 bins: result[t * nBins + k]. */
export function stftPowerReference(
  samples: ArrayLike<number>,
  config: Partial<MelConfig> = {},
): { data: Float64Array; nFrames: number; nBins: number } {
  const c = resolveMelConfig(config);
  checkSamples(samples, c);
  const n = samples.length;
  const nFft = c.nFft;
  const nBins = Math.floor(nFft / 2) + 1;
  const nFrames = frameCount(n, c);
  const pad = c.center ? Math.floor(nFft / 2) : 0;
  const win = hannWindow(nFft, c.winLength);
  const data = new Float64Array(nFrames * nBins);
  const re = new Float64Array(nFft);
  const im = new Float64Array(nFft);
  for (let t = 0; t < nFrames; t++) {
    for (let i = 0; i < nFft; i++) {
      const j = t * c.hopLength + i - pad;
      let v: number;
      if (j >= 0 && j < n) v = samples[j]!;
      else v = c.padMode === "reflect" ? samples[reflectIndex(j, n)]! : 0;
      re[i] = v * win[i]!;
      im[i] = 0;
    }
    fftComplex64(re, im);
    for (let k = 0; k < nBins; k++) {
      const p = re[k]! * re[k]! + im[k]! * im[k]!;
      data[t * nBins + k] = c.power === 2 ? p : Math.sqrt(p) ** c.power;
    }
  }
  return { data, nFrames, nBins };
}

/** Mel power spectrogram in float64, data[m * nFrames + t] (librosa.feature.melspectrogram). */
export function melSpectrogramReference(
  samples: ArrayLike<number>,
  config: Partial<MelConfig> = {},
): { data: Float64Array; nMels: number; nFrames: number } {
  const c = resolveMelConfig(config);
  const { data: spec, nFrames, nBins } = stftPowerReference(samples, c);
  const fb = melFilterbank(c);
  const out = new Float64Array(c.nMels * nFrames);
  for (let m = 0; m < c.nMels; m++) {
    const s = fb.start[m]!;
    const len = fb.length[m]!;
    const off = fb.offset[m]!;
    for (let t = 0; t < nFrames; t++) {
      let acc = 0;
      for (let j = 0; j < len; j++) acc += fb.weights[off + j]! * spec[t * nBins + s + j]!;
      out[m * nFrames + t] = acc;
    }
  }
  return { data: out, nMels: c.nMels, nFrames };
}

/** librosa.power_to_db in place: 10 log10(max(amin, S)) - 10 log10(max(amin, ref)), then the topDb clamp. */
export function powerToDb<T extends Float32Array | Float64Array>(
  data: T,
  opts: { amin?: number; ref?: number; topDb?: number | null } = {},
): T {
  const amin = opts.amin ?? 1e-10;
  const refDb = 10 * Math.log10(Math.max(amin, opts.ref ?? 1));
  for (let i = 0; i < data.length; i++) data[i] = 10 * Math.log10(Math.max(amin, data[i]!)) - refDb;
  const topDb = opts.topDb === undefined ? 80 : opts.topDb;
  if (topDb !== null) applyTopDb(data, topDb);
  return data;
}

/** Clamps dB values to (max - topDb), the max taken over `data` itself. Returns the floor used. */
export function applyTopDb(data: Float32Array | Float64Array, topDb: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  const floor = max - topDb;
  for (let i = 0; i < data.length; i++) if (data[i]! < floor) data[i] = floor;
  return floor;
}

/** The float64 reference log-Mel spectrogram; same layout and defaults as logMelSpectrogram. */
export function logMelSpectrogramReference(
  samples: ArrayLike<number>,
  config: Partial<MelConfig> = {},
): { data: Float64Array; nMels: number; nFrames: number } {
  const c = resolveMelConfig(config);
  const mel = melSpectrogramReference(samples, c);
  powerToDb(mel.data, { ...c, topDb: clipTopDb(c) });
  return mel;
}
