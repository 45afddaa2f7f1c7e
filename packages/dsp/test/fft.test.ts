import { describe, expect, it } from "vitest";
import { fftComplex64, RealFFT, stftPowerReference } from "../src/index.js";
import { bruteDft, rng } from "./helpers.js";

function snrDb(
  ref: { re: Float64Array; im: Float64Array },
  re: ArrayLike<number>,
  im: ArrayLike<number>,
  bins: number,
) {
  let sig = 0;
  let err = 0;
  for (let k = 0; k < bins; k++) {
    sig += ref.re[k]! ** 2 + ref.im[k]! ** 2;
    err += (ref.re[k]! - re[k]!) ** 2 + (ref.im[k]! - im[k]!) ** 2;
  }
  return 10 * Math.log10(sig / Math.max(err, 1e-300));
}

describe("float64 reference FFT", () => {
  for (const n of [1, 2, 8, 64, 1024, 3, 12, 100, 1000, 441]) {
    it(`matches a brute-force DFT for N = ${n}${(n & (n - 1)) === 0 ? "" : " (Bluestein)"}`, () => {
      const r = rng(n);
      const re = Float64Array.from({ length: n }, () => r() * 2 - 1);
      const im = Float64Array.from({ length: n }, () => r() * 2 - 1);
      const ref = bruteDft(re, im);
      fftComplex64(re, im);
      expect(snrDb(ref, re, im, n)).toBeGreaterThan(240);
    });
  }
});

describe("RealFFT (wasm kernel, f32)", () => {
  for (const flavour of ["simd", "scalar"] as const)
    for (const n of [32, 64, 128, 256, 512, 1024, 2048, 4096]) {
      it(`${flavour} N = ${n} agrees with a brute-force DFT (SNR > 120 dB)`, () => {
        const r = rng(1000 + n);
        const x = Float32Array.from({ length: n }, () => r() * 2 - 1);
        const fft = new RealFFT(n, flavour);
        expect(fft.flavour).toBe(flavour);
        const out = fft.forward(x);
        const ref = bruteDft(x);
        const re = new Float64Array(n / 2 + 1);
        const im = new Float64Array(n / 2 + 1);
        for (let k = 0; k <= n / 2; k++) {
          re[k] = out[2 * k]!;
          im[k] = out[2 * k + 1]!;
        }
        expect(snrDb(ref, re, im, n / 2 + 1)).toBeGreaterThan(120);
        expect(im[0]).toBe(0);
        expect(out[n + 1]).toBe(0);
      });
    }

  it("is linear and handles impulses and DC exactly", () => {
    const fft = new RealFFT(2048);
    const x = new Float32Array(2048);
    x[0] = 1;
    const out = fft.forward(x);
    for (let k = 0; k <= 1024; k++) {
      expect(out[2 * k]).toBeCloseTo(1, 6);
      expect(out[2 * k + 1]).toBeCloseTo(0, 6);
    }
    x.fill(0.5);
    fft.forward(x, out);
    expect(out[0]).toBeCloseTo(1024, 3);
    for (let k = 1; k <= 1024; k++) expect(Math.hypot(out[2 * k]!, out[2 * k + 1]!)).toBeLessThan(1e-3);
  });

  it("falls back to the float64 FFT for sizes the kernel does not take", () => {
    const fft = new RealFFT(100);
    expect(fft.flavour).toBe("reference");
    const r = rng(5);
    const x = Float32Array.from({ length: 100 }, () => r() - 0.5);
    const out = fft.forward(x);
    const ref = bruteDft(x);
    for (let k = 0; k <= 50; k++) expect(out[2 * k]).toBeCloseTo(ref.re[k]!, 4);
  });

  it("rejects bad sizes and buffers with typed errors", () => {
    expect(() => new RealFFT(7)).toThrow(/even integer/);
    expect(() => new RealFFT(64).forward(new Float32Array(10))).toThrow(/expected 64/);
  });
});

describe("Parseval", () => {
  it("sum |x w|^2 = (1/N) sum_k |X_k|^2 over the full spectrum of each reference STFT frame", () => {
    const r = rng(9);
    const n = 4096;
    const x = Float32Array.from({ length: n }, () => r() * 2 - 1);
    const nFft = 512;
    const { data, nFrames, nBins } = stftPowerReference(x, { nFft, hopLength: 256, center: false });
    const w = Array.from({ length: nFft }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft));
    for (let t = 0; t < nFrames; t++) {
      let time = 0;
      for (let i = 0; i < nFft; i++) time += (x[t * 256 + i]! * w[i]!) ** 2;
      // bins 1..N/2-1 appear twice in the full spectrum
      let freq = data[t * nBins]! + data[t * nBins + nBins - 1]!;
      for (let k = 1; k < nBins - 1; k++) freq += 2 * data[t * nBins + k]!;
      expect(freq / nFft / time).toBeCloseTo(1, 12);
    }
  });

  it("holds for the f32 kernel FFT within f32 precision", () => {
    const r = rng(10);
    const fft = new RealFFT(2048);
    const x = Float32Array.from({ length: 2048 }, () => r() * 2 - 1);
    const out = fft.forward(x);
    let time = 0;
    for (const v of x) time += v * v;
    let freq = out[0]! ** 2 + out[2048]! ** 2;
    for (let k = 1; k < 1024; k++) freq += 2 * (out[2 * k]! ** 2 + out[2 * k + 1]! ** 2);
    expect(Math.abs(freq / 2048 / time - 1)).toBeLessThan(1e-5);
  });
});

describe("kernel loading", () => {
  it("accepts kernel bytes from the caller (for single-file bundles)", async () => {
    const { readFileSync } = await import("node:fs");
    const { kernelWasmUrl, registerKernelWasm } = await import("../src/index.js");
    registerKernelWasm("scalar", readFileSync(kernelWasmUrl("scalar")));
    const fft = new RealFFT(64, "scalar");
    const x = new Float32Array(64);
    x[1] = 1;
    const out = fft.forward(x);
    expect(out[2]).toBeCloseTo(Math.cos((2 * Math.PI) / 64), 6);
    expect(out[3]).toBeCloseTo(-Math.sin((2 * Math.PI) / 64), 6);
  });
});
