/**
 * Crop normalisation (MelConfig.normalization): old configs without the field, exact identity
 * for "none", the float64 reference against the fast path, gain invariance on real GTZAN clips,
 * and the same crop from a whole clip and from a live stream window.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  clampTopDbInPlace,
  defaultMelConfig,
  evalCropOffsets,
  extractCrop,
  loadAudio,
  logMelSpectrogram,
  logMelSpectrogramReference,
  MEL_NORMALIZATIONS,
  MelStream,
  modelCrop,
  normalizeCropInPlace,
  normalizeCropReference,
  validateMelConfig,
} from "../src/index.js";
import { DATA, HAVE_DATA, rng, SKIP_DATA_MSG } from "./helpers.js";

const CROP = 130;

function musicLike(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const beat = i % 5512 < 800 ? (r() * 2 - 1) * (1 - (i % 5512) / 800) : 0;
    x[i] = 0.3 * Math.sin(i * 0.0627) + 0.1 * Math.sin(i * 0.311 + Math.sin(i * 1e-4)) + 0.3 * beat;
  }
  return x;
}

/** Reference crop of a float64 spectrogram (frames past the end are not needed here). */
function refCrop(spec: { data: Float64Array; nMels: number; nFrames: number }, off: number): Float64Array {
  const out = new Float64Array(spec.nMels * CROP);
  for (let m = 0; m < spec.nMels; m++)
    out.set(spec.data.subarray(m * spec.nFrames + off, m * spec.nFrames + off + CROP), m * CROP);
  return out;
}

describe("MelConfig.normalization", () => {
  it("is optional: librosa defaults leave it out, older configs validate, every kind round-trips", () => {
    const old = defaultMelConfig();
    expect("normalization" in old).toBe(false);
    expect(validateMelConfig(JSON.parse(JSON.stringify(old)))).toEqual(old);
    for (const kind of MEL_NORMALIZATIONS) {
      const c = defaultMelConfig({ normalization: kind });
      expect(validateMelConfig(JSON.parse(JSON.stringify(c))).normalization).toBe(kind);
    }
    expect(() => validateMelConfig({ ...old, normalization: "pcen" })).toThrow(/MelConfig.normalization/);
    expect(() => validateMelConfig({ ...old, normalization: null })).toThrow(/MelConfig.normalization/);
  });

  it('"none" and a missing field leave crops exactly as extractCrop cuts them', () => {
    const spec = logMelSpectrogram(musicLike(22050 * 5, 3));
    for (const off of [0, 40, spec.nFrames - 10]) {
      const want = extractCrop(spec, off, CROP);
      expect(modelCrop(spec, off, CROP, defaultMelConfig())).toEqual(want);
      expect(modelCrop(spec, off, CROP, defaultMelConfig({ normalization: "none" }))).toEqual(want);
    }
  });

  it("crop-max puts the loudest cell at 0 dB and the floor at -topDb; crop-mean centres the crop", () => {
    const spec = logMelSpectrogram(musicLike(22050 * 4, 5));
    const max = modelCrop(spec, 3, CROP, defaultMelConfig({ normalization: "crop-max", topDb: 60 }));
    expect(Math.max(...max)).toBe(0);
    expect(Math.min(...max)).toBeCloseTo(-60, 4);
    const mean = modelCrop(spec, 3, CROP, defaultMelConfig({ normalization: "crop-mean" }));
    expect(Math.abs(mean.reduce((a, b) => a + b, 0) / mean.length)).toBeLessThan(1e-3);
    const open = modelCrop(spec, 3, CROP, defaultMelConfig({ normalization: "crop-max", topDb: null }));
    expect(Math.max(...open)).toBe(0);
    expect(Math.min(...open)).toBeLessThan(-60);
  });

  it("normalizes only the given range of a batch buffer", () => {
    const buf = new Float32Array(30).fill(-7);
    buf.fill(5, 10, 20);
    buf[12] = 9;
    normalizeCropInPlace({ normalization: "crop-max", topDb: 80 }, buf, 10, 10);
    expect(buf[9]).toBe(-7);
    expect(buf[20]).toBe(-7);
    expect(buf[12]).toBe(0);
    expect(buf[11]).toBe(-4);
  });

  it("fast path (f32 kernel + f32 normalisation) matches the float64 reference within 2e-3 dB", () => {
    const x = musicLike(22050 * 6, 9);
    const fast = logMelSpectrogram(x);
    const ref = logMelSpectrogramReference(x);
    let worst = 0;
    for (const kind of ["crop-max", "crop-mean"] as const) {
      const c = defaultMelConfig({ normalization: kind });
      for (const off of evalCropOffsets(fast.nFrames, CROP)) {
        const f = modelCrop(fast, off, CROP, c);
        const r = normalizeCropReference(c, refCrop(ref, off));
        for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(f[i]! - r[i]!));
      }
    }
    expect(worst).toBeLessThan(2e-3); // measured 5.9e-4 dB
  });

  it("a live stream window normalises to the same crop, bit for bit, as the whole clip's crop", () => {
    const x = musicLike(22050 * 7, 11);
    const c = defaultMelConfig({ normalization: "crop-max" });
    const clip = logMelSpectrogram(x, c);
    const s = new MelStream(c);
    const frames: Float32Array[] = [];
    const take = (f: { data: Float32Array; nMels: number; nFrames: number }) => {
      for (let t = 0; t < f.nFrames; t++)
        frames.push(Float32Array.from({ length: f.nMels }, (_, m) => f.data[m * f.nFrames + t]!));
    };
    for (let i = 0; i < x.length; i += 3000) take(s.push(x.subarray(i, i + 3000)));
    take(s.end());
    for (const w of [0, 1]) {
      const window = new Float32Array(128 * CROP);
      for (let t = 0; t < CROP; t++)
        for (let m = 0; m < 128; m++) window[m * CROP + t] = frames[w * CROP + t]![m]!;
      clampTopDbInPlace(window, 80);
      normalizeCropInPlace(c, window);
      expect(window).toEqual(modelCrop(clip, w * CROP, CROP, c));
    }
  });
});

const GAINS_DB = [-20, -12, 6];
const GTZAN = ["blues/blues.00001", "classical/classical.00002", "hiphop/hiphop.00003", "metal/metal.00004"];

describe.skipIf(!HAVE_DATA)("gain invariance on real GTZAN clips", () => {
  /** Largest difference between normalised crops of the clip and of a gained copy, over cells above the floor. */
  async function worstDifference(kind: "none" | "crop-max" | "crop-mean") {
    const c = defaultMelConfig({ normalization: kind });
    const floorMargin = 1;
    let worst = 0;
    let cells = 0;
    for (const id of GTZAN) {
      const x = await loadAudio(join(DATA, "gtzan-mini", `${id}.wav`));
      const base = logMelSpectrogram(x, c);
      for (const g of GAINS_DB) {
        const k = 10 ** (g / 20);
        const gained = logMelSpectrogram(
          x.map((v) => v * k),
          c,
        );
        for (const off of evalCropOffsets(base.nFrames, CROP)) {
          const a = modelCrop(base, off, CROP, c);
          const b = modelCrop(gained, off, CROP, c);
          const floorA = Math.min(...a) + floorMargin;
          const floorB = Math.min(...b) + floorMargin;
          for (let i = 0; i < a.length; i++) {
            if (a[i]! <= floorA || b[i]! <= floorB) continue;
            worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
            cells++;
          }
        }
      }
    }
    return { worst, cells };
  }

  it("crop-max: -20, -12 and +6 dB give the same crops within 1e-3 dB (cells 1 dB above the floor)", async () => {
    const { worst, cells } = await worstDifference("crop-max");
    expect(cells).toBeGreaterThan(4 * 3 * 5 * 128 * CROP * 0.5);
    expect(worst).toBeLessThan(1e-3); // measured 3.8e-4 dB
  });

  it("crop-mean: the same within 1e-3 dB", async () => {
    expect((await worstDifference("crop-mean")).worst).toBeLessThan(1e-3);
  });

  it("absolute dB (none) moves by the gain, which is what the normalisation removes", async () => {
    expect((await worstDifference("none")).worst).toBeGreaterThan(19);
  });
});
if (!HAVE_DATA) describe("gain invariance on real GTZAN clips", () => it.skip(SKIP_DATA_MSG, () => {}));
