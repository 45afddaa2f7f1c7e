import { f16ToF32, f32ToF16, fromF16Array, mulberry32 as rng, toF16Array } from "@edge-audio/engine-wasm";
import { describe, expect, it } from "vitest";
import {
  activationParams,
  dequantizeSymmetric,
  fakeQuantActivation,
  quantizeSymmetric,
} from "../src/int8.js";
import { sqnrDb, top1Agreement } from "../src/metrics.js";
import { RangeObserver } from "../src/observers.js";

function gauss(r: () => number) {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

describe("f16", () => {
  it("round-trips every half-precision value exactly", () => {
    for (let h = 0; h < 65536; h++) {
      const halfIsNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (halfIsNaN) expect(Number.isNaN(f16ToF32(h))).toBe(true);
      else expect(f32ToF16(f16ToF32(h))).toBe(h);
    }
  });

  it("rounds halfway cases to even and just-off-halfway cases to the nearest", () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let h = 1; h < 0x7bff; h += 7) {
      const a = f16ToF32(h);
      const b = f16ToF32(h + 1);
      f[0] = (a + b) / 2;
      expect(f32ToF16(f[0]!)).toBe(h % 2 === 0 ? h : h + 1);
      u[0]! -= 1;
      expect(f32ToF16(f[0]!)).toBe(h);
      u[0]! += 2;
      expect(f32ToF16(f[0]!)).toBe(h + 1);
    }
  });

  it("handles signed zero, subnormals, overflow, infinity and NaN", () => {
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(2 ** -24)).toBe(1);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie with zero: even
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(Number.isNaN(f16ToF32(f32ToF16(Number.NaN)))).toBe(true);
  });

  it("has relative error at most 2^-11 over the normal range", () => {
    const r = rng(1);
    const x = Float32Array.from({ length: 20000 }, () => (r() - 0.5) * 2 ** (r() * 28 - 12));
    const y = fromF16Array(toF16Array(x));
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i]!) < 2 ** -14) continue;
      expect(Math.abs(y[i]! - x[i]!) / Math.abs(x[i]!)).toBeLessThanOrEqual(2 ** -11);
    }
  });
});

describe("int8 weights", () => {
  const r = rng(2);
  // HWIO weights whose output channels have very different magnitudes (as after batch-norm folding)
  const shape = [3, 3, 8, 16];
  const w = new Float32Array(3 * 3 * 8 * 16);
  for (let i = 0; i < w.length; i++) w[i] = gauss(r) * 10 ** ((i % 16) / 5 - 2);

  it("keeps every value within half a step of its channel's scale", () => {
    const q = quantizeSymmetric(w, shape, 3);
    expect(q.scales).toHaveLength(16);
    const d = dequantizeSymmetric(q, shape);
    for (let i = 0; i < w.length; i++)
      expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(q.scales[i % 16]! / 2 + 1e-12);
    expect(Math.max(...[...q.q].map(Math.abs))).toBe(127);
  });

  it("per-channel scales beat one scale per tensor by a wide margin on such weights", () => {
    const perChannel = sqnrDb(w, dequantizeSymmetric(quantizeSymmetric(w, shape, 3), shape));
    const perTensor = sqnrDb(w, dequantizeSymmetric(quantizeSymmetric(w, shape, null), shape));
    expect(perChannel).toBeGreaterThan(35);
    expect(perChannel - perTensor).toBeGreaterThan(5);
  });

  it("maps an all-zero channel to zeros with a unit scale", () => {
    const z = new Float32Array(8);
    const q = quantizeSymmetric(z, [2, 4], 1);
    expect([...q.scales]).toEqual([1, 1, 1, 1]);
    expect([...dequantizeSymmetric(q, [2, 4])]).toEqual([...z]);
  });
});

describe("activation ranges", () => {
  it("represents zero exactly and covers the range", () => {
    for (const [lo, hi] of [
      [0, 6],
      [-3, 5],
      [0.5, 2],
      [-4, -1],
    ]) {
      const p = activationParams(lo!, hi!);
      expect(fakeQuantActivation(Float32Array.of(0), p)[0]).toBe(0);
      const q = fakeQuantActivation(Float32Array.of(Math.min(lo!, 0), Math.max(hi!, 0)), p);
      expect(Math.abs(q[0]! - Math.min(lo!, 0))).toBeLessThanOrEqual(p.scale / 2 + 1e-9);
      expect(Math.abs(q[1]! - Math.max(hi!, 0))).toBeLessThanOrEqual(p.scale / 2 + 1e-9);
    }
  });

  it("tracks min/max exactly and quantiles within a bin while the histogram grows", () => {
    const o = new RangeObserver();
    const r = rng(3);
    for (let b = 0; b < 20; b++) o.observe(Float32Array.from({ length: 5000 }, () => r() * (b + 1)));
    expect(o.min).toBeGreaterThanOrEqual(0);
    expect(o.max).toBeLessThanOrEqual(20);
    expect(o.max).toBeGreaterThan(19.9);
    expect(o.range("minmax")).toEqual({ lo: o.min, hi: o.max });
    // values are a mixture of U(0, b+1): P(x < 1) = sum_b 1/(b+1) / 20
    let p1 = 0;
    for (let b = 0; b < 20; b++) p1 += 1 / (b + 1) / 20;
    expect(o.quantile(p1)).toBeCloseTo(1, 1);
  });

  it("clips heavy tails: the MSE-optimal range gives less error than min/max and a tight percentile", () => {
    const o = new RangeObserver();
    const r = rng(4);
    // ReLU of a heavy-tailed (Laplace) distribution: the largest values are rare
    const x = Float32Array.from({ length: 200000 }, () =>
      Math.max(0, -Math.log(1 - r()) * (r() < 0.5 ? 1 : -1)),
    );
    o.observe(x);
    const errMinMax = o.expectedError(o.range("minmax"));
    const errMse = o.expectedError(o.range("mse"));
    const errPct = o.expectedError(o.range("percentile", 99.9));
    // measured here: max 12.5, MSE range 10.4; errors 2.0e-4 (min/max), 1.6e-4 (MSE), 1.8e-3 (99.9th pct)
    expect(o.range("mse").hi).toBeLessThan(o.max * 0.9);
    expect(errMse).toBeLessThan(errMinMax * 0.85);
    expect(errPct).toBeGreaterThan(errMse);
    // the expected error agrees with the measured error of fake quantization
    const p = activationParams(o.range("mse").lo, o.range("mse").hi);
    const y = fakeQuantActivation(x, p);
    let measured = 0;
    for (let i = 0; i < x.length; i++) measured += (x[i]! - y[i]!) ** 2;
    measured /= x.length;
    expect(measured / errMse).toBeGreaterThan(0.5);
    expect(measured / errMse).toBeLessThan(2);
    expect(o.bestMethod(99.9).method).toBe("mse");
  });

  it("refuses NaN activations and an empty observer", () => {
    expect(() => new RangeObserver().observe(Float32Array.of(1, Number.NaN))).toThrow(/NaN/);
    expect(() => new RangeObserver().range("mse")).toThrow(/no data/);
  });
});

describe("agreement metrics", () => {
  it("computes SQNR and top-1 agreement", () => {
    expect(sqnrDb([1, 2, 3], [1, 2, 3])).toBe(Number.POSITIVE_INFINITY);
    expect(sqnrDb([3, 4], [3, 4.05])).toBeCloseTo(10 * Math.log10(25 / 0.0025), 6);
    expect(
      top1Agreement(
        [
          [0.1, 0.9],
          [0.8, 0.2],
        ],
        [
          [0.2, 0.8],
          [0.4, 0.6],
        ],
      ),
    ).toBe(0.5);
  });
});
