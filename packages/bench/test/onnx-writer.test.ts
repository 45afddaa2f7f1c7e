import { argmax } from "@edge-audio/common";
import { type ArchConfig, defaultArchConfig, inferShapes, resnetSpec } from "@edge-audio/engine-wasm";
import { hwioToOihw, writeResNetOnnx } from "@edge-audio/quantizer";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { referenceForward } from "../src/onnx/reference.js";
import { randomCrop, randomResNetWeights } from "../src/onnx/weights.js";

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

async function runOnnx(bytes: Uint8Array, c: ArchConfig, crop: Float32Array, outputs: string[]) {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  sessions.push(session);
  const feeds = { input: new ort.Tensor("float32", crop, [1, c.inputHeight, c.inputWidth, c.inChannels]) };
  const result = await session.run(feeds, outputs);
  return outputs.map((o) => result[o]!);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("ONNX writer vs float64 reference", () => {
  const cases: { name: string; config: Partial<ArchConfig> }[] = [
    { name: "ResNet-18 w0.125 32x34", config: { depth: 18, width: 0.125, inputHeight: 32, inputWidth: 34 } },
    { name: "ResNet-50 w0.125 32x34", config: { depth: 50, width: 0.125, inputHeight: 32, inputWidth: 34 } },
    // Odd sizes exercise asymmetric "same" padding at every stride-2 layer.
    { name: "ResNet-34 w0.125 29x37", config: { depth: 34, width: 0.125, inputHeight: 29, inputWidth: 37 } },
    {
      name: "ResNet-152 w0.0625 24x26",
      config: { depth: 152, width: 0.0625, inputHeight: 24, inputWidth: 26 },
    },
  ];
  for (const [k, tc] of cases.entries()) {
    it(`${tc.name}: same probabilities, logits and top-1`, async () => {
      const config = defaultArchConfig(tc.config);
      const spec = resnetSpec(config);
      const weights = randomResNetWeights(spec, { seed: 100 + k });
      const crop = randomCrop(config.inputHeight, config.inputWidth, 1, 200 + k);
      const bytes = writeResNetOnnx(spec, weights, { extraOutputs: ["head.dense"] });
      const ref = referenceForward(spec, weights, crop);
      const [probs, logits] = await runOnnx(bytes, config, crop, [spec.output, "head.dense"]);
      expect(probs!.dims).toEqual([1, config.numClasses]);
      const p = probs!.data as Float32Array;
      const z = logits!.data as Float32Array;
      const refP = ref.get(spec.output)!;
      const refZ = ref.get("head.dense")!;
      // The network is not degenerate: logits spread and probabilities far from uniform.
      const spread = Math.max(...refZ) - Math.min(...refZ);
      expect(spread).toBeGreaterThan(0.5);
      expect(Math.max(...refP)).toBeGreaterThan(1.5 / config.numClasses);
      const zScale = Math.max(...refZ.map(Math.abs));
      expect(maxAbsDiff(z, refZ) / zScale).toBeLessThan(1e-4);
      expect(maxAbsDiff(p, refP)).toBeLessThan(1e-5);
      expect(argmax(p)).toBe(argmax(refP));
      expect(p.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
      // The seeded weights keep the residual stream in range at every block (RMS near 1).
      for (const l of spec.layers) {
        if (l.op !== "add") continue;
        const x = ref.get(l.name)!;
        const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
        expect(rms, l.name).toBeGreaterThan(0.2);
        expect(rms, l.name).toBeLessThan(5);
      }
    });
  }

  it("matches intermediate tensors (stem conv, pool) in NCHW", async () => {
    const config = defaultArchConfig({ depth: 18, width: 0.125, inputHeight: 17, inputWidth: 22 });
    const spec = resnetSpec(config);
    const weights = randomResNetWeights(spec, { seed: 5 });
    const crop = randomCrop(17, 22, 1, 6);
    const ref = referenceForward(spec, weights, crop);
    const shapes = inferShapes(spec);
    const names = ["stem.conv", "stem.pool", "layer2.0.add"];
    const bytes = writeResNetOnnx(spec, weights, { extraOutputs: names });
    const outs = await runOnnx(bytes, config, crop, names);
    for (const [i, name] of names.entries()) {
      const [h, w, ch] = shapes.get(name) as [number, number, number];
      expect(outs[i]!.dims).toEqual([1, ch, h, w]);
      const got = outs[i]!.data as Float32Array;
      const want = ref.get(name)!;
      let m = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < ch; c++)
            m = Math.max(m, Math.abs(got[(c * h + y) * w + x]! - want[(y * w + x) * ch + c]!));
      expect(m).toBeLessThan(1e-4);
    }
  });
});

describe("ONNX model structure", () => {
  const config = defaultArchConfig({ depth: 50, width: 0.125, inputHeight: 32, inputWidth: 34 });
  const spec = resnetSpec(config);
  const weights = randomResNetWeights(spec, { seed: 3 });
  const model = onnxProto.onnx.ModelProto.decode(writeResNetOnnx(spec, weights));

  it("declares NHWC input, probability output and opset 13", () => {
    const g = model.graph!;
    expect(g.input![0]!.name).toBe("input");
    expect(g.input![0]!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))).toEqual([1, 32, 34, 1]);
    expect(g.output![0]!.name).toBe(spec.output);
    expect(Number(model.opsetImport![0]!.version)).toBe(13);
    expect(JSON.parse(model.metadataProps!.find((m) => m.key === "arch")!.value!)).toEqual(config);
  });

  it("uses explicit pads (asymmetric for stride 2), no auto_pad and no Dropout", () => {
    const g = model.graph!;
    const ops = g.node!.map((n) => n.opType);
    expect(ops).not.toContain("Dropout");
    expect(ops.filter((o) => o === "Conv").length).toBe(spec.layers.filter((l) => l.op === "conv").length);
    for (const n of g.node!) expect(n.attribute!.some((a) => a.name === "auto_pad")).toBe(false);
    const stem = g.node!.find((n) => n.name === "stem.conv.conv")!;
    const pads = stem.attribute!.find((a) => a.name === "pads")!.ints!.map(Number);
    // 7x7 stride 2 on 32x34: total padding 5 -> 2 before, 3 after.
    expect(pads).toEqual([2, 2, 3, 3]);
  });

  it("stores conv weights OIHW", () => {
    const w = weights.get("stem.conv.weight")!;
    const t = model.graph!.initializer!.find((i) => i.name === "stem.conv.weight")!;
    const cout = spec.layers[0]!.op === "conv" ? spec.layers[0]!.filters : 0;
    expect(t.dims!.map(Number)).toEqual([cout, 1, 7, 7]);
    const raw = t.rawData!;
    const stored = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(stored).toEqual(hwioToOihw(w, 7, 7, 1, cout));
    // HWIO [ky=3][kx=5][i=0][o=2] -> OIHW [o=2][i=0][ky=3][kx=5]
    expect(stored[(2 * 1 + 0) * 49 + 3 * 7 + 5]).toBe(w[((3 * 7 + 5) * 1 + 0) * cout + 2]);
  });

  it("refuses weights that do not match the architecture", () => {
    const bad = new Map(weights);
    bad.delete("layer1.0.conv2.bias");
    bad.set("head.dense.weight", new Float32Array(3));
    expect(() => writeResNetOnnx(spec, bad)).toThrow(
      /missing layer1\.0\.conv2\.bias.*head\.dense\.weight has 3/,
    );
  });
});
