import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeAudio,
  defaultMelConfig,
  logMelSpectrogram,
  logMelSpectrogramReference,
  RealFFT,
} from "@edge-audio/dsp";
import FFTJS from "fft.js";

const require = createRequire(import.meta.url);

interface MeydaLike {
  bufferSize: number;
  sampleRate: number;
  melBands: number;
  windowingFunction: string;
  extract(feature: string, signal: Float32Array): unknown;
}

/** One implementation under test: `run` does one full operation. */
export interface Contender {
  name: string;
  /** Short description of what one operation includes. */
  note: string;
  run: () => void;
}

// ---------- input ----------

const here = dirname(fileURLToPath(import.meta.url));
const AU = resolve(here, "../../../../../shared/data/gtzan-au/blues.00000.au");

/** A 30 s clip at 22050 Hz: GTZAN blues.00000.au when the shared data is present, else a synthetic one. */
export function benchClip(): { samples: Float32Array; source: string } {
  if (existsSync(AU)) {
    const x = decodeAudio(readFileSync(AU), AU).channels[0]!;
    return { samples: x.subarray(0, 30 * 22050), source: "GTZAN blues.00000.au (first 30 s)" };
  }
  // deterministic noise-and-tones stand-in with the same length
  const n = 30 * 22050;
  const x = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = 0.1 * (s / 2 ** 32 - 0.5) + 0.3 * Math.sin(i * 0.05) * Math.sin(i * 0.0001);
  }
  return { samples: x, source: "synthetic 30 s (shared GTZAN data not found)" };
}

// ---------- real FFT, 2048 points ----------

interface PffftModule {
  _pffft_new_setup(n: number, kind: number): number;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, dir: number): void;
  HEAPF32: Float32Array;
}

async function loadPffft(flavour: "simd" | "non-simd"): Promise<PffftModule> {
  const spec: string = flavour === "simd" ? "@echogarden/pffft-wasm/simd" : "@echogarden/pffft-wasm";
  const mod = await import(spec);
  return (await mod.default()) as PffftModule;
}

/** Real-FFT contenders, each checked against our float64 FFT before timing. */
export async function fftContenders(
  n = 2048,
): Promise<{ contenders: Contender[]; maxRelError: Record<string, number> }> {
  const input = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    input[i] = s / 2 ** 32 - 0.5;
  }
  // expected spectrum (float64)
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < n; j++) {
      const ang = (-2 * Math.PI * ((k * j) % n)) / n;
      a += input[j]! * Math.cos(ang);
      b += input[j]! * Math.sin(ang);
    }
    re[k] = a;
    im[k] = b;
  }
  let norm = 0;
  for (let k = 0; k <= n / 2; k++) norm = Math.max(norm, Math.hypot(re[k]!, im[k]!));
  const maxRelError: Record<string, number> = {};
  const check = (name: string, get: (k: number) => [number, number]) => {
    let e = 0;
    for (let k = 0; k <= n / 2; k++) {
      const [a, b] = get(k);
      e = Math.max(e, Math.hypot(a - re[k]!, b - im[k]!));
    }
    maxRelError[name] = e / norm;
    if (e / norm > 1e-4)
      throw new Error(`${name}: FFT result disagrees with the DFT (max rel error ${e / norm})`);
  };

  const contenders: Contender[] = [];

  for (const flavour of ["simd", "scalar"] as const) {
    const fft = new RealFFT(n, flavour);
    fft.input.set(input);
    fft.transform();
    const name = `edge-audio RealFFT (${flavour === "simd" ? "wasm SIMD" : "wasm scalar"})`;
    check(name, (k) => [fft.output[2 * k]!, fft.output[2 * k + 1]!]);
    contenders.push({ name, note: "in-place on its wasm buffers", run: () => fft.transform() });
    if (flavour === "simd") {
      const out = new Float32Array(n + 2);
      contenders.push({
        name: "edge-audio RealFFT.forward (copy in/out)",
        note: "copies the JS input in and the spectrum out",
        run: () => fft.forward(input, out),
      });
    }
  }

  for (const flavour of ["simd", "non-simd"] as const) {
    const m = await loadPffft(flavour);
    const setup = m._pffft_new_setup(n, 0); // PFFFT_REAL
    const inPtr = m._pffft_aligned_malloc(n * 4);
    const outPtr = m._pffft_aligned_malloc(n * 4);
    const work = m._pffft_aligned_malloc(n * 4);
    m.HEAPF32.set(input, inPtr / 4);
    m._pffft_transform_ordered(setup, inPtr, outPtr, work, 0);
    const o = m.HEAPF32.subarray(outPtr / 4, outPtr / 4 + n);
    // ordered real output: [X0, X(n/2), re1, im1, re2, im2, ...]
    const name = `@echogarden/pffft-wasm (${flavour === "simd" ? "wasm SIMD" : "wasm scalar"})`;
    check(name, (k) => (k === 0 ? [o[0]!, 0] : k === n / 2 ? [o[1]!, 0] : [o[2 * k]!, o[2 * k + 1]!]));
    contenders.push({
      name,
      note: "pffft_transform_ordered on its wasm heap",
      run: () => m._pffft_transform_ordered(setup, inPtr, outPtr, work, 0),
    });
  }

  const f = new FFTJS(n);
  const out = f.createComplexArray() as number[];
  const inArr = Array.from(input);
  f.realTransform(out, inArr);
  check("fft.js realTransform", (k) => [out[2 * k]!, out[2 * k + 1]!]);
  contenders.push({
    name: "fft.js realTransform",
    note: "radix-4 JS, half spectrum",
    run: () => f.realTransform(out, inArr),
  });
  return { contenders, maxRelError };
}

// ---------- log-Mel of a 30 s clip ----------

interface EssentiaLike {
  arrayToVector(a: Float32Array): unknown;
  vectorToArray(v: unknown): Float32Array;
  Windowing(frame: unknown, normalized: boolean, size: number, type: string): { frame: { delete(): void } };
  Spectrum(frame: unknown, size: number): { spectrum: { delete(): void } };
  MelBands(
    spectrum: unknown,
    highFrequencyBound: number,
    inputSize: number,
    log: boolean,
    lowFrequencyBound: number,
    normalize: string,
    numberBands: number,
    sampleRate: number,
    type: string,
    warpingFormula: string,
    weighting: string,
  ): { bands: { delete(): void } };
}

/** Reflect-padded copy of x, as librosa's centre padding (for the per-frame baselines). */
function reflectPad(x: Float32Array, pad: number): Float32Array {
  const out = new Float32Array(x.length + 2 * pad);
  out.set(x, pad);
  for (let i = 1; i <= pad; i++) {
    out[pad - i] = x[i]!;
    out[pad + x.length - 1 + i] = x[x.length - 1 - i]!;
  }
  return out;
}

/** Log-Mel contenders; all produce 128 bands x frames of the same 30 s clip in dB. */
export function logMelContenders(x: Float32Array): Contender[] {
  const cfg = defaultMelConfig();
  const nFft = cfg.nFft;
  const hop = cfg.hopLength;
  const nMels = cfg.nMels;
  const nFrames = 1 + Math.floor(x.length / hop);
  const list: Contender[] = [
    {
      name: "edge-audio logMelSpectrogram (wasm SIMD)",
      note: "padding, STFT, Slaney Mel, dB, top_db; whole clip",
      run: () => logMelSpectrogram(x),
    },
    {
      name: "edge-audio logMelSpectrogram (wasm scalar)",
      note: "same, scalar kernel build",
      run: () => logMelSpectrogram(x, {}, { kernel: "scalar" }),
    },
    {
      name: "edge-audio float64 reference",
      note: "same maths in float64 JS",
      run: () => logMelSpectrogramReference(x),
    },
  ];

  // Meyda: its own FFT and Mel filterbank, one extract() per frame, then 10 log10.
  const padded = reflectPad(x, nFft / 2);
  const Meyda = require("meyda") as MeydaLike;
  Meyda.bufferSize = nFft;
  Meyda.sampleRate = cfg.sampleRate;
  Meyda.melBands = nMels;
  Meyda.windowingFunction = "hanning";
  const meydaOut = new Float32Array(nMels * nFrames);
  list.push({
    name: "Meyda 5 melBands",
    note: "Meyda.extract('melBands') per frame + 10 log10",
    run: () => {
      for (let t = 0; t < nFrames; t++) {
        const r = Meyda.extract("melBands", padded.subarray(t * hop, t * hop + nFft)) as unknown as number[];
        for (let m = 0; m < nMels; m++) meydaOut[m * nFrames + t] = 10 * Math.log10(Math.max(1e-10, r[m]!));
      }
    },
  });

  // essentia.js: Windowing -> Spectrum -> MelBands (Slaney, unit_sum, power) per frame, then 10 log10.
  const { Essentia, EssentiaWASM } = require("essentia.js") as {
    Essentia: new (wasm: unknown) => EssentiaLike;
    EssentiaWASM: unknown;
  };
  const ess = new Essentia(EssentiaWASM);
  const essOut = new Float32Array(nMels * nFrames);
  list.push({
    name: "essentia.js 0.1.3 MelBands",
    note: "Windowing + Spectrum + MelBands per frame (wasm) + 10 log10",
    run: () => {
      for (let t = 0; t < nFrames; t++) {
        const v = ess.arrayToVector(padded.subarray(t * hop, t * hop + nFft));
        const w = ess.Windowing(v, false, nFft, "hann");
        const s = ess.Spectrum(w.frame, nFft);
        const mb = ess.MelBands(
          s.spectrum,
          cfg.sampleRate / 2,
          nFft / 2 + 1,
          false,
          0,
          "unit_sum",
          nMels,
          cfg.sampleRate,
          "power",
          "slaneyMel",
          "linear",
        );
        const bands = ess.vectorToArray(mb.bands);
        for (let m = 0; m < nMels; m++) essOut[m * nFrames + t] = 10 * Math.log10(Math.max(1e-10, bands[m]!));
        (v as { delete?: () => void }).delete?.();
        w.frame.delete();
        s.spectrum.delete();
        mb.bands.delete();
      }
    },
  });
  return list;
}

export const CLIP_PATH_HINT = join("..", "shared", "data", "gtzan-au", "blues.00000.au");
