import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DspError,
  decodeAudio,
  defaultMelConfig,
  frameCount,
  hzToMel,
  logMelSpectrogram,
  logMelSpectrogramReference,
  melFilterbank,
  melSpectrogram,
  melToHz,
  padSignal,
  resolveMelConfig,
  stftPowerReference,
} from "../src/index.js";
import { bruteDft, DATA, HAVE_DATA, rng, SKIP_DATA_MSG } from "./helpers.js";

const SR = 22050;

function tone(freq: number, seconds: number, amp = 0.5, sr = SR): Float32Array {
  const n = Math.round(seconds * sr);
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / sr));
}

/** Slaney-normalised Slaney-Mel triangle weight of FFT bin k, written straight from librosa's definition. */
function slaneyWeight(m: number, k: number, nMels: number, sr: number, nFft: number): number {
  const toMel = (f: number) => (f < 1000 ? (3 * f) / 200 : 15 + (27 * Math.log(f / 1000)) / Math.log(6.4));
  const toHz = (mel: number) =>
    mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp(((mel - 15) * Math.log(6.4)) / 27);
  const top = toMel(sr / 2);
  const edge = (i: number) => toHz((top * i) / (nMels + 1));
  const [lo, c, hi] = [edge(m), edge(m + 1), edge(m + 2)];
  const f = (k * sr) / nFft;
  const w = Math.max(0, Math.min((f - lo) / (c - lo), (hi - f) / (hi - c)));
  return (w * 2) / (hi - lo);
}

describe("Mel scale and filterbank", () => {
  it("converts Hz and Mel like librosa (Slaney and HTK)", () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(200)).toBeCloseTo(3, 12);
    expect(hzToMel(6400)).toBeCloseTo(42, 12);
    expect(hzToMel(700, "htk")).toBeCloseTo(2595 * Math.log10(2), 10);
    for (const f of [0, 55, 999, 1000, 1234.5, 11025])
      for (const s of ["slaney", "htk"] as const) expect(melToHz(hzToMel(f, s), s)).toBeCloseTo(f, 8);
  });

  it("matches the definition of librosa.filters.mel weight by weight", () => {
    const c = resolveMelConfig();
    const fb = melFilterbank(c);
    for (let m = 0; m < 128; m++)
      for (let k = 0; k < fb.nBins; k++)
        expect(fb.dense[m * fb.nBins + k]).toBeCloseTo(slaneyWeight(m, k, 128, SR, 2048), 12);
  });

  it("the sparse rows hold exactly the non-zero span of the dense weights", () => {
    for (const c of [
      resolveMelConfig(),
      resolveMelConfig({ melScale: "htk", norm: null, nMels: 40, nFft: 512 }),
    ]) {
      const fb = melFilterbank(c);
      for (let m = 0; m < fb.nMels; m++) {
        const row = fb.dense.subarray(m * fb.nBins, (m + 1) * fb.nBins);
        const s = fb.start[m]!;
        const len = fb.length[m]!;
        expect(Array.from(row.subarray(s, s + len))).toEqual(
          Array.from(fb.weights.subarray(fb.offset[m]!, fb.offset[m]! + len)),
        );
        expect(row.subarray(0, s).every((w) => w === 0) && row.subarray(s + len).every((w) => w === 0)).toBe(
          true,
        );
      }
    }
  });

  it("Slaney normalisation gives unit area for filters wide enough to sample well", () => {
    const c = resolveMelConfig();
    const fb = melFilterbank(c);
    const binHz = SR / 2048;
    for (let m = 60; m < 128; m++) {
      let area = 0;
      for (let k = 0; k < fb.nBins; k++) area += fb.dense[m * fb.nBins + k]! * binHz;
      expect(Math.abs(area - 1)).toBeLessThan(0.02);
    }
  });
});

describe("log-Mel spectrogram on analytic signals", () => {
  it("has 1 + floor(n / hop) frames, data[m * nFrames + t], and librosa's defaults", () => {
    const c = defaultMelConfig();
    expect(c).toMatchObject({
      sampleRate: 22050,
      nFft: 2048,
      hopLength: 512,
      nMels: 128,
      fMin: 0,
      fMax: 11025,
    });
    expect(c).toMatchObject({
      center: true,
      padMode: "reflect",
      power: 2,
      melScale: "slaney",
      norm: "slaney",
    });
    expect(c).toMatchObject({ amin: 1e-10, ref: 1, topDb: 80 });
    // silence for the first half, a 1 kHz tone in the second
    const x = new Float32Array(SR);
    x.set(tone(1000, 0.5), SR / 2);
    const r = logMelSpectrogram(x);
    expect(r.nFrames).toBe(1 + Math.floor(SR / 512));
    expect(r.data.length).toBe(128 * r.nFrames);
    const late = r.nFrames - 3;
    let band = 0;
    for (let m = 1; m < 128; m++)
      if (r.data[m * r.nFrames + late]! > r.data[band * r.nFrames + late]!) band = m;
    const max = r.data[band * r.nFrames + late]!;
    // the silent frames sit on the top_db floor, 80 dB under the clip maximum
    expect(r.data[band * r.nFrames + 2]).toBeCloseTo(max - 80, 3);
    expect(Math.max(...r.data)).toBeCloseTo(max, 5);
  });

  for (const f of [200, 440, 1000, 2500, 6000, 9000]) {
    it(`a ${f} Hz sine peaks in the Mel band centred nearest to ${f} Hz`, () => {
      const r = logMelSpectrogram(tone(f, 1));
      const t = Math.floor(r.nFrames / 2);
      let best = 0;
      for (let m = 1; m < 128; m++) if (r.data[m * r.nFrames + t]! > r.data[best * r.nFrames + t]!) best = m;
      const centres = melFilterbank(resolveMelConfig()).centerHz;
      let nearest = 0;
      for (let m = 1; m < 128; m++)
        if (Math.abs(centres[m]! - f) < Math.abs(centres[nearest]! - f)) nearest = m;
      expect(Math.abs(best - nearest)).toBeLessThanOrEqual(1);
      expect(Math.abs(centres[best]! - f) / f).toBeLessThan(0.1);
    });
  }

  it("silence gives the floor: 10 log10(amin) = -100 dB everywhere", () => {
    const x = new Float32Array(SR);
    for (const r of [logMelSpectrogram(x), logMelSpectrogramReference(x)]) {
      for (const v of r.data) expect(v).toBeCloseTo(-100, 4);
    }
    const r = logMelSpectrogram(x, { amin: 1e-5 });
    for (const v of r.data) expect(v).toBeCloseTo(-50, 4);
  });

  it("a bin-centred cosine gives the closed-form periodic-Hann spectrum (N/4, N/8) through the Mel weights", () => {
    const nFft = 2048;
    const k0 = 93; // 1001.3 Hz
    const A = 0.5;
    const x = Float32Array.from({ length: 4 * SR }, (_, i) => A * Math.cos((2 * Math.PI * k0 * i) / nFft));
    const power = new Map([
      [k0, ((A * nFft) / 4) ** 2],
      [k0 - 1, ((A * nFft) / 8) ** 2],
      [k0 + 1, ((A * nFft) / 8) ** 2],
    ]);
    const ref = logMelSpectrogramReference(x, { topDb: null });
    const fast = logMelSpectrogram(x, { topDb: null });
    const t = 40;
    for (let m = 0; m < 128; m++) {
      let s = 0;
      for (const [k, p] of power) s += slaneyWeight(m, k, 128, SR, nFft) * p;
      const expected = 10 * Math.log10(Math.max(1e-10, s));
      expect(ref.data[m * ref.nFrames + t]).toBeCloseTo(expected, 6);
      if (expected > 0) expect(Math.abs(fast.data[m * fast.nFrames + t]! - expected)).toBeLessThan(1e-3);
    }
  });

  it("the reference STFT equals a brute-force DFT of reflect-padded, Hann-windowed frames", () => {
    const r = rng(3);
    const n = 1500;
    const x = Float32Array.from({ length: n }, () => r() * 2 - 1);
    for (const nFft of [256, 400]) {
      const hop = 128;
      const c = resolveMelConfig({ nFft, hopLength: hop });
      const stft = stftPowerReference(x, c);
      const padded = padSignal(x, c);
      expect(stft.nFrames).toBe(frameCount(n, c));
      for (const t of [0, 3, stft.nFrames - 1]) {
        const frame = Array.from(
          { length: nFft },
          (_, i) => padded[t * hop + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft)),
        );
        const d = bruteDft(frame);
        for (let k = 0; k <= nFft / 2; k++) {
          const p = d.re[k]! ** 2 + d.im[k]! ** 2;
          expect(Math.abs(stft.data[t * stft.nBins + k]! - p)).toBeLessThan(1e-9 * Math.max(1, p));
        }
      }
    }
  });

  it("pads like numpy 'reflect', including pads longer than the signal", () => {
    const c = resolveMelConfig({ nFft: 10 });
    expect(Array.from(padSignal(Float32Array.of(1, 2, 3), c))).toEqual([
      2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2,
    ]);
    expect(Array.from(padSignal(Float32Array.of(5), resolveMelConfig({ nFft: 4 })))).toEqual([5, 5, 5, 5, 5]);
    const z = padSignal(Float32Array.of(1, 2, 3), resolveMelConfig({ nFft: 4, padMode: "constant" }));
    expect(Array.from(z)).toEqual([0, 0, 1, 2, 3, 0, 0]);
  });
});

describe("bad and edge-case input", () => {
  it("empty input is a typed error", () => {
    expect(() => logMelSpectrogram(new Float32Array(0))).toThrow(DspError);
    expect(() => logMelSpectrogram(new Float32Array(0))).toThrow(/no samples/);
  });
  it("NaN and Infinity are typed errors naming the sample", () => {
    const x = new Float32Array(5000);
    x[1234] = Number.NaN;
    expect(() => logMelSpectrogram(x)).toThrow(/sample 1234 is NaN/);
    x[1234] = Number.POSITIVE_INFINITY;
    expect(() => logMelSpectrogramReference(x)).toThrow(/sample 1234 is Infinity/);
  });
  it("NaN is found in any block of frames, and after the last frame's reach", () => {
    const long = new Float32Array(SR * 20); // 862 frames: several kernel blocks
    long[SR * 17 + 3] = Number.NaN;
    expect(() => logMelSpectrogram(long)).toThrow(new RegExp(`sample ${SR * 17 + 3} is NaN`));
    // hop 200 > nFft/2: the last samples lie beyond every frame and are still checked
    const cfg = { nFft: 256, hopLength: 200, nMels: 20 };
    const n = 10_190;
    const reach = (frameCount(n, resolveMelConfig(cfg)) - 1) * 200 + 256 - 128;
    expect(reach).toBeLessThan(n);
    const y = new Float32Array(n);
    y[n - 1] = Number.NEGATIVE_INFINITY;
    expect(() => logMelSpectrogram(y, cfg)).toThrow(new RegExp(`sample ${n - 1} is -Infinity`));
  });
  it("audio shorter than one frame gives a defined result when centred, a typed error otherwise", () => {
    for (const n of [1, 2, 100, 1024, 1025, 2047]) {
      const x = tone(700, n / SR);
      if (n === 1) x[0] = 0.25;
      const fast = logMelSpectrogram(x);
      const ref = logMelSpectrogramReference(x);
      expect(fast.nFrames).toBe(1 + Math.floor(n / 512));
      for (let i = 0; i < ref.data.length; i++)
        expect(Math.abs(fast.data[i]! - ref.data[i]!)).toBeLessThan(0.01);
    }
    try {
      logMelSpectrogram(new Float32Array(100), { center: false });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DspError);
      expect((e as DspError).code).toBe("TOO_SHORT");
    }
  });
  it("invalid configs are rejected naming the field", () => {
    expect(() => logMelSpectrogram(new Float32Array(10), { nMels: 0 })).toThrow(/MelConfig.nMels/);
    expect(() => logMelSpectrogram(new Float32Array(10), { fMax: 30000 })).toThrow(/MelConfig.fMax/);
  });
});

describe("fast path vs float64 reference on real music", () => {
  it.skipIf(!HAVE_DATA)("agrees within 0.01 dB on every bin of one clip per genre (defaults)", () => {
    let worst = 0;
    for (const genre of readdirSync(join(DATA, "gtzan-mini")).sort()) {
      const file = join(DATA, "gtzan-mini", genre, `${genre}.00000.wav`);
      const x = decodeAudio(readFileSync(file), file).channels[0]!;
      const fast = logMelSpectrogram(x);
      const ref = logMelSpectrogramReference(x);
      expect(fast.nFrames).toBe(ref.nFrames);
      let err = 0;
      for (let i = 0; i < ref.data.length; i++) err = Math.max(err, Math.abs(fast.data[i]! - ref.data[i]!));
      expect(err, file).toBeLessThan(0.01);
      worst = Math.max(worst, err);
    }
    console.log(`fast vs reference, default config, 10 clips: max |error| = ${worst.toExponential(2)} dB`);
  });

  it.skipIf(!HAVE_DATA)("agrees within 0.01 dB for other configs and for the scalar kernel", () => {
    const file = join(DATA, "gtzan-mini", "metal", "metal.00003.wav");
    const x = decodeAudio(readFileSync(file), file).channels[0]!.subarray(0, 8 * SR);
    const configs = [
      { melScale: "htk" as const, norm: null },
      { nFft: 1024, hopLength: 256, nMels: 64, fMin: 20, fMax: 8000 },
      { power: 1 },
      { nFft: 512, hopLength: 160, nMels: 40, padMode: "constant" as const, topDb: null },
      { center: false, nFft: 4096, hopLength: 1024 },
    ];
    let worst = 0;
    for (const cfg of configs)
      for (const kernel of ["simd", "scalar"] as const) {
        const fast = logMelSpectrogram(x, cfg, { kernel });
        const ref = logMelSpectrogramReference(x, cfg);
        let err = 0;
        for (let i = 0; i < ref.data.length; i++) err = Math.max(err, Math.abs(fast.data[i]! - ref.data[i]!));
        expect(err, `${JSON.stringify(cfg)} ${kernel}`).toBeLessThan(0.01);
        worst = Math.max(worst, err);
      }
    console.log(`fast vs reference, 5 other configs x 2 kernels: max |error| = ${worst.toExponential(2)} dB`);
  });

  if (!HAVE_DATA) it.skip(SKIP_DATA_MSG, () => {});

  it("melSpectrogram (power) matches the reference within f32 precision", () => {
    const r = rng(11);
    const x = Float32Array.from({ length: SR }, () => r() * 2 - 1);
    const fast = melSpectrogram(x);
    const ref = logMelSpectrogramReference(x, { topDb: null });
    for (let i = 0; i < fast.data.length; i++)
      expect(Math.abs(10 * Math.log10(fast.data[i]!) - ref.data[i]!)).toBeLessThan(1e-3);
  });
});

describe("fast path vs float64 reference over randomized configs", () => {
  it("agrees within 0.01 dB for 24 random configs (SIMD and scalar kernels)", () => {
    const r = rng(2024);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let i = 0; i < 24; i++) {
      const sampleRate = pick([8000, 16000, 22050, 44100]);
      const nFft = pick([32, 64, 256, 512, 1024, 2048, 4096]);
      const fMin = r() < 0.5 ? 0 : Math.round(r() * 300);
      const cfg = {
        sampleRate,
        nFft,
        winLength: r() < 0.7 ? nFft : Math.max(8, Math.round(nFft * (0.5 + 0.5 * r()))),
        hopLength: 1 + Math.floor(r() * nFft),
        nMels: pick([8, 20, 40, 64, 128]),
        fMin,
        fMax: fMin + (sampleRate / 2 - fMin) * (0.5 + 0.5 * r()),
        center: r() < 0.8,
        padMode: pick(["reflect", "constant"] as const),
        power: pick([1, 2]),
        melScale: pick(["slaney", "htk"] as const),
        norm: pick(["slaney", null] as const),
      };
      const n = nFft + Math.floor(r() * sampleRate);
      const f0 = 50 + r() * (sampleRate / 3);
      const x = Float32Array.from(
        { length: n },
        (_, j) => 0.3 * Math.sin((2 * Math.PI * f0 * j) / sampleRate) + 0.2 * (r() - 0.5),
      );
      const ref = logMelSpectrogramReference(x, cfg);
      for (const kernel of ["simd", "scalar"] as const) {
        const fast = logMelSpectrogram(x, cfg, { kernel });
        expect(fast.nFrames).toBe(ref.nFrames);
        let err = 0;
        for (let j = 0; j < ref.data.length; j++) err = Math.max(err, Math.abs(fast.data[j]! - ref.data[j]!));
        expect(err, `${JSON.stringify(cfg)} ${kernel}`).toBeLessThan(0.01);
      }
    }
  });
});
