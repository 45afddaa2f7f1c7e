/**
 * Cross-check of the exporters (packages/quantizer, src/export): every variant of a small random
 * ResNet-18 exported to TFLite runs in LiteRT.js (compat build, one thread) and exported to ONNX
 * runs in onnxruntime-node, on the same crops as our engine. Bounds (measured values in the
 * bench README, "Exported models beside the engine"):
 * - fp32, dynamic: probabilities within 1e-5 of the engine's (measured <= 6e-7); fp16 in ONNX
 *   too. fp16 in TFLite stores the biases in half (XNNPACK takes a layer only when its filter and
 *   bias have the same type), the one difference from the engine's float bias: within 1e-5 when
 *   the biases are half values already (measured 4.2e-7), within 2e-4 otherwise (measured 4.2e-5;
 *   the fp16 variant itself is 5.6e-4 from fp32 on these crops);
 * - int8, int8-tensor, mixed in TFLite: the stem's int8 output within one quantization step,
 *   the last int8 tensor within 12 steps (measured 5-8: each op rounds on its own and the
 *   convolutions after it amplify a one-step difference), top-1 equal on >= 15 of 16 crops;
 * - int8 in onnxruntime: with graph optimizations off (each QuantizeLinear / DequantizeLinear run
 *   as written, the QDQ semantics) probabilities within 0.02; with them on (its fused int8
 *   kernels) top-1 equal on >= 15 of 16 crops and probabilities within 0.2 (measured 0.12).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argmax } from "@edge-audio/common";
import {
  createRandomModel,
  loadModel,
  type Model,
  randomCrop,
  readModel,
  writeModel,
} from "@edge-audio/engine-wasm";
import { exportModel, f16ToF32, f32ToF16, quantizeModel } from "@edge-audio/quantizer";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiteRtRunner } from "../src/litert/runner.js";

const dir = mkdtempSync(join(tmpdir(), "bench-export-"));
const H = 32;
const W = 34;
const dims = [1, H, W, 1];
const fp32 = join(dir, "m-fp32.eam");
writeModel(fp32, createRandomModel({ depth: 18, width: 0.125, inputHeight: H, inputWidth: W }, 3));
const calib = Array.from({ length: 8 }, (_, i) => randomCrop(H * W, 100 + i));
const crops = Array.from({ length: 16 }, (_, i) => randomCrop(H * W, 500 + i));
const runners: LiteRtRunner[] = [];
afterAll(async () => {
  for (const r of runners) await r.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

async function variantPath(mode: string): Promise<string> {
  if (mode === "fp32") return fp32;
  const out = join(dir, `m-${mode}.eam`);
  await quantizeModel(fp32, mode as "int8", { out, crops: calib, threads: 1 });
  return out;
}

async function liteRt(path: string, extraOutputs: string[] = []): Promise<LiteRtRunner> {
  const r = exportModel(path, { to: "tflite", out: path.replace(/\.eam$/, ".tflite"), extraOutputs });
  const runner = new LiteRtRunner({ modelPath: r.out!, inputDims: dims, threads: 1 });
  await runner.load();
  runners.push(runner);
  return runner;
}

async function ortSession(path: string, optimize = true): Promise<ort.InferenceSession> {
  const r = exportModel(path, { to: "onnx", out: path.replace(/\.eam$/, ".onnx") });
  return ort.InferenceSession.create(r.out!, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: optimize ? "all" : "disabled",
  });
}

async function ortRun(s: ort.InferenceSession, x: Float32Array): Promise<Float32Array> {
  const o = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", x, dims) });
  return o[s.outputNames[0]!]!.data as Float32Array;
}

/** The same model with every bias rounded to a half value (what the TFLite fp16 form stores). */
function halfBiasModel(): string {
  const c = createRandomModel({ depth: 18, width: 0.125, inputHeight: H, inputWidth: W }, 3);
  for (const t of c.tensors)
    if (t.name.endsWith(".bias"))
      t.data = Float32Array.from(t.data as Float32Array, (v) => f16ToF32(f32ToF16(v)));
  const p = join(dir, "m-halfbias-fp32.eam");
  writeModel(p, c);
  return p;
}

describe("exported float variants run as the engine does", () => {
  const liteRtBound: Record<string, number> = { fp32: 1e-5, fp16: 2e-4, dynamic: 1e-5 };
  for (const mode of ["fp32", "fp16", "dynamic"]) {
    it(`${mode}: LiteRT.js within ${liteRtBound[mode]!.toExponential(0)} and onnxruntime-node within 1e-5 of the engine`, async () => {
      const path = await variantPath(mode);
      const engine = await loadModel(path, { threads: 1 });
      const lrt = await liteRt(path);
      const s = await ortSession(path);
      let tfl = 0;
      let onnx = 0;
      for (const x of crops.slice(0, 4)) {
        const e = engine.run(x);
        tfl = Math.max(tfl, maxDiff(await lrt.run(x), e));
        onnx = Math.max(onnx, maxDiff(await ortRun(s, x), e));
      }
      await engine.dispose();
      expect(tfl).toBeLessThan(liteRtBound[mode]!);
      expect(onnx).toBeLessThan(1e-5);
    });
  }

  it("fp16 with biases that are half values: LiteRT.js within 1e-5 of the engine", async () => {
    const out = join(dir, "m-halfbias-fp16.eam");
    await quantizeModel(halfBiasModel(), "fp16", { out, crops: calib, threads: 1 });
    const engine = await loadModel(out, { threads: 1 });
    const lrt = await liteRt(out);
    let tfl = 0;
    for (const x of crops.slice(0, 4)) tfl = Math.max(tfl, maxDiff(await lrt.run(x), engine.run(x)));
    await engine.dispose();
    expect(tfl).toBeLessThan(1e-5);
  });
});

describe("exported int8 variants agree with the engine in quantization steps", () => {
  let int8Path = "";
  beforeAll(async () => {
    int8Path = await variantPath("int8");
  });

  for (const mode of ["int8", "int8-tensor", "mixed"]) {
    it(`${mode} in LiteRT.js: stem within 1 step, last int8 tensor within 12, top-1 on >= 15/16 crops`, async () => {
      const path = mode === "int8" ? int8Path : await variantPath(mode);
      const f = readModel(path);
      const acts = f.metadata.get("quant.activations") as Record<string, { scale: number }>;
      const last = f.graph.layers.filter((l) => l.op === "add").at(-1)!.name;
      const lrt = await liteRt(path, ["stem.conv", last]);
      // The engine fuses residual adds into the conv before them unless that conv's output is kept.
      const engine: Model = await loadModel(path, { threads: 1, keep: ["stem.conv", last] });
      const steps = (a: Float32Array, b: Float32Array, s: number) => {
        let m = 0;
        for (let i = 0; i < a.length; i++)
          m = Math.max(m, Math.abs(Math.round(a[i]! / s) - Math.round(b[i]! / s)));
        return m;
      };
      let stem = 0;
      let tail = 0;
      let agree = 0;
      for (const x of crops) {
        const [prob, stemOut, lastOut] = await lrt.runAll(x);
        const e = engine.run(x);
        stem = Math.max(stem, steps(stemOut!, engine.read("stem.conv"), acts["stem.conv"]!.scale));
        tail = Math.max(tail, steps(lastOut!, engine.read(last), acts[last]!.scale));
        if (argmax(prob!) === argmax(e)) agree++;
      }
      await engine.dispose();
      expect(stem).toBeLessThanOrEqual(1);
      expect(tail).toBeLessThanOrEqual(12);
      expect(agree).toBeGreaterThanOrEqual(15);
    });
  }

  it("int8 in onnxruntime-node (QDQ): as written within 0.02; fused kernels top-1 on >= 15/16 crops", async () => {
    const engine = await loadModel(int8Path, { threads: 1 });
    const fused = await ortSession(int8Path);
    const plain = await ortSession(int8Path, false);
    let agree = 0;
    let diffFused = 0;
    let diffPlain = 0;
    for (const x of crops) {
      const e = engine.run(x);
      const o = await ortRun(fused, x);
      diffFused = Math.max(diffFused, maxDiff(o, e));
      diffPlain = Math.max(diffPlain, maxDiff(await ortRun(plain, x), e));
      if (argmax(o) === argmax(e)) agree++;
    }
    await engine.dispose();
    expect(diffPlain).toBeLessThan(0.02);
    expect(agree).toBeGreaterThanOrEqual(15);
    expect(diffFused).toBeLessThan(0.2);
  });
});
