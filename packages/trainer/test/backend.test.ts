import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { missingKernels, setupBackend } from "../src/backend.js";

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

async function filterGrad(
  backend: "cpu" | "wasm",
  xShape: [number, number, number, number],
  fShape: [number, number, number, number],
  stride: number,
  pad: "same" | "valid",
): Promise<Float32Array> {
  await setupBackend(backend);
  const x = tf.tensor4d(
    rand(
      xShape.reduce((a, b) => a * b),
      1,
    ),
    xShape,
  );
  const w = tf.tensor4d(
    rand(
      fShape.reduce((a, b) => a * b),
      2,
    ),
    fShape,
  );
  const y = tf.conv2d(x, w, stride, pad);
  const dy = tf.tensor(rand(y.size, 3), y.shape);
  const g = tf.grad((ww) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, stride, pad), dy)))(w);
  const out = (await g.data()) as Float32Array;
  tf.dispose([x, w, y, dy, g]);
  return out;
}

describe("wasm backend", () => {
  it("lacks only kernels this project does not use once ours is registered", async () => {
    await setupBackend("wasm");
    const missing = missingKernels("wasm");
    expect(missing).not.toContain("Conv2DBackpropFilter");
    for (const k of ["Conv2DBackpropInput", "MaxPoolGrad", "FusedBatchNorm", "Relu", "Step", "BatchMatMul"]) {
      expect(missing).not.toContain(k);
    }
  });

  const cases: Array<
    [string, [number, number, number, number], [number, number, number, number], number, "same" | "valid"]
  > = [
    ["7x7 stride 2 same (stem)", [2, 17, 19, 1], [7, 7, 1, 4], 2, "same"],
    ["3x3 stride 1 same", [3, 9, 10, 4], [3, 3, 4, 8], 1, "same"],
    ["3x3 stride 2 same, odd sizes", [2, 11, 13, 3], [3, 3, 3, 5], 2, "same"],
    ["1x1 stride 2 (projection)", [2, 8, 9, 4], [1, 1, 4, 8], 2, "same"],
    ["1x1 stride 1", [2, 5, 6, 8], [1, 1, 8, 4], 1, "same"],
    ["3x3 stride 1 valid", [2, 7, 8, 2], [3, 3, 2, 3], 1, "valid"],
  ];
  for (const [name, xs, fs, s, p] of cases) {
    it(`Conv2DBackpropFilter matches the cpu backend: ${name}`, async () => {
      const ref = await filterGrad("cpu", xs, fs, s, p);
      const got = await filterGrad("wasm", xs, fs, s, p);
      expect(got.length).toBe(ref.length);
      let maxErr = 0;
      let maxRef = 0;
      for (let i = 0; i < ref.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i]! - ref[i]!));
        maxRef = Math.max(maxRef, Math.abs(ref[i]!));
      }
      expect(maxRef).toBeGreaterThan(0.01);
      expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxRef));
    });
  }
});

async function inputGrad(
  backend: "cpu" | "wasm",
  xShape: [number, number, number, number],
  fShape: [number, number, number, number],
  stride: number,
  pad: "same" | "valid",
): Promise<Float32Array> {
  await setupBackend(backend);
  const x = tf.tensor4d(
    rand(
      xShape.reduce((a, b) => a * b),
      4,
    ),
    xShape,
  );
  const w = tf.tensor4d(
    rand(
      fShape.reduce((a, b) => a * b),
      5,
    ),
    fShape,
  );
  const y = tf.conv2d(x, w, stride, pad);
  const dy = tf.tensor(rand(y.size, 6), y.shape);
  const g = tf.grad((xx) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, w, stride, pad), dy)))(x);
  const out = (await g.data()) as Float32Array;
  tf.dispose([x, w, y, dy, g]);
  return out;
}

describe("wasm Conv2DBackpropInput replacement", () => {
  const cases: Array<
    [string, [number, number, number, number], [number, number, number, number], number, "same" | "valid"]
  > = [
    ["7x7 stride 2 same, odd size", [2, 17, 19, 1], [7, 7, 1, 4], 2, "same"],
    ["7x7 stride 2 same, even size", [1, 16, 18, 2], [7, 7, 2, 4], 2, "same"],
    ["3x3 stride 1 same", [3, 9, 10, 4], [3, 3, 4, 8], 1, "same"],
    ["3x3 stride 2 same", [2, 11, 12, 3], [3, 3, 3, 5], 2, "same"],
    ["1x1 stride 2", [2, 8, 9, 4], [1, 1, 4, 8], 2, "same"],
    ["1x1 stride 2, odd size", [2, 7, 9, 4], [1, 1, 4, 8], 2, "same"],
    ["3x3 stride 2 valid", [2, 9, 10, 2], [3, 3, 2, 3], 2, "valid"],
  ];
  for (const [name, xs, fs, s, p] of cases) {
    it(`matches the cpu backend: ${name}`, async () => {
      const ref = await inputGrad("cpu", xs, fs, s, p);
      const got = await inputGrad("wasm", xs, fs, s, p);
      expect(got.length).toBe(ref.length);
      let maxErr = 0;
      let maxRef = 0;
      for (let i = 0; i < ref.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i]! - ref[i]!));
        maxRef = Math.max(maxRef, Math.abs(ref[i]!));
      }
      expect(maxRef).toBeGreaterThan(0.01);
      expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxRef));
    });
  }
});

describe("FusedBatchNorm gradient", () => {
  it("matches autodiff of the plain formula for every input", async () => {
    await setupBackend("cpu");
    const x = tf.tensor4d(rand(2 * 5 * 6 * 3, 7), [2, 5, 6, 3]);
    const mean = tf.tensor1d([0.1, -0.2, 0.05]);
    const variance = tf.tensor1d([0.5, 1.5, 0.2]);
    const scale = tf.tensor1d([1.2, 0.7, -0.4]);
    const offset = tf.tensor1d([0.3, 0.0, -0.1]);
    const dy = tf.tensor4d(rand(2 * 5 * 6 * 3, 8), [2, 5, 6, 3]);
    const fused = tf.grads((a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, 1e-3), dy)),
    );
    const plain = tf.grads((a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.mul(tf.mul(tf.sub(a, m), tf.rsqrt(tf.add(v, 1e-3))), s), o), dy)),
    );
    const inputs = [x, mean, variance, scale, offset];
    const got = fused(inputs);
    const want = plain(inputs);
    for (let i = 0; i < 5; i++) {
      const g = await got[i]!.data();
      const w = await want[i]!.data();
      expect(got[i]!.shape).toEqual(want[i]!.shape);
      for (let j = 0; j < w.length; j++) expect(g[j]!).toBeCloseTo(w[j]!, 4);
    }
  });
});
