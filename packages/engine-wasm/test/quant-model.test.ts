/**
 * Quantized and mixed-precision models end to end: files written with f16 / i8 weights and the
 * `quant.*` metadata of docs/format.md run through the planner and executor, agree with the
 * float64 reference of the FP32 model within a stated SQNR, and give bit-identical results for
 * SIMD and scalar builds and for 1, 2 and 3 threads.
 */
import { describe, expect, it } from "vitest";
import { encodeModel, type ModelContents } from "../dist/format.js";
import { loadModelFromBytes } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import {
  activationParams,
  BIT_IDENTITY_RUNS,
  quantizedVariant,
  referenceLogits,
  sqnr,
} from "./model-helpers.js";

/** Minimum SQNR (dB) of the logits against float64 of the FP32 model. */
const MIN_SQNR = { f16: 55, dynamic: 30, int8: 30, mixed: 28, int4: 12 }; // measured 65.9, 37.4, 38.0, 33.4, 16.5

const config = { depth: 18 as const, width: 0.25, inputHeight: 48, inputWidth: 40, numClasses: 10 };

describe("quantized models through the planner and executor", () => {
  const fp32 = createRandomModel(config, 4);
  const n = config.inputHeight * config.inputWidth;
  const crops = [randomCrop(n, 1), randomCrop(n, 2)];
  const refLogits = referenceLogits(fp32, crops);
  const wlayers = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);

  const acts = activationParams(fp32, crops);
  const variant = (layers: Record<string, string>, int4AsInt8 = false): ModelContents =>
    quantizedVariant(fp32, layers, acts, int4AsInt8);

  const all = (p: string, extra: Record<string, string> = {}) => ({
    ...Object.fromEntries(wlayers.map((l) => [l, p])),
    ...extra,
  });
  const int8Rest = Object.fromEntries(
    fp32.graph.layers
      .filter((l) => l.op === "add" || l.op === "maxpool" || l.op === "gap")
      .map((l) => [l.name, "int8"]),
  );
  const mixed = Object.fromEntries(
    fp32.graph.layers.map((l, i) => [l.name, ["int8", "f16", "dynamic", "f32", "int8"][i % 5]!]),
  );
  const cases: [keyof typeof MIN_SQNR, Record<string, string>][] = [
    ["f16", all("f16")],
    ["dynamic", all("dynamic")],
    ["int8", { ...all("int8", { "head.dense": "dynamic" }), ...int8Rest }],
    ["mixed", mixed],
    // 4-bit weights on the larger half of the layers, int8 elsewhere (activations int8).
    [
      "int4",
      {
        ...all("int8", { "head.dense": "dynamic" }),
        ...int8Rest,
        ...Object.fromEntries(wlayers.slice(8, -1).map((l) => [l, "int4"])),
      },
    ],
  ];

  it("int4 weights unpack to exactly the int8 layer with the same 4-bit values", async () => {
    const layers = cases.find(([n]) => n === "int4")![1];
    const a = await loadModelFromBytes(encodeModel(variant(layers)), { keep: ["head.dense"] });
    const b = await loadModelFromBytes(encodeModel(variant(layers, true)), { keep: ["head.dense"] });
    expect(a.info().weightBytes).toBe(b.info().weightBytes);
    for (const c of crops) {
      a.run(c);
      b.run(c);
      expect(Buffer.from(a.read("head.dense").buffer).equals(Buffer.from(b.read("head.dense").buffer))).toBe(
        true,
      );
    }
    await a.dispose();
    await b.dispose();
  });

  it("f16 Winograd F(2x2,3x3) agrees with the direct f16 layers (f16Winograd: false): top-1 and probabilities", async () => {
    const bytes = encodeModel(variant(all("f16")));
    const wino = await loadModelFromBytes(bytes, { threads: 1 });
    const direct = await loadModelFromBytes(bytes, { threads: 1, f16Winograd: false });
    // ResNet-18's 3x3 stride-1 convolutions: 16 in the blocks less the three of stride 2.
    expect(wino.info().winogradF16Layers).toBe(13);
    expect(direct.info().winogradF16Layers).toBe(0);
    const argmax = (p: Float32Array): number => p.indexOf(Math.max(...p));
    let maxDiff = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const crop = randomCrop(n, seed);
      const a = Float32Array.from(wino.run(crop));
      const b = Float32Array.from(direct.run(crop));
      expect(argmax(a)).toBe(argmax(b));
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    await wino.dispose();
    await direct.dispose();
    // measured 4.2e-7 (two orders of f32 rounding on the same f16 weights)
    expect(maxDiff).toBeLessThan(1e-5);
  });

  for (const [name, layers] of cases) {
    it(`${name}: logits within ${MIN_SQNR[name]} dB of float64, identical for SIMD/scalar and 1/2/3 threads`, async () => {
      const bytes = encodeModel(variant(layers));
      let first: Float32Array[] | undefined;
      for (const [isa, threads] of BIT_IDENTITY_RUNS) {
        const m = await loadModelFromBytes(bytes, { isa, threads, keep: ["head.dense"] });
        const outs = crops.map((c) => {
          m.run(c);
          return m.read("head.dense");
        });
        if (name !== "mixed" && name !== "int4") expect(Object.keys(m.info().precision)).toContain(name);
        await m.dispose();
        outs.forEach((o, i) => {
          const s = sqnr(refLogits[i]!, o);
          if (!(s >= MIN_SQNR[name])) throw new Error(`${name} ${isa} ${threads}: SQNR ${s.toFixed(1)} dB`);
        });
        if (first) {
          for (const [i, o] of outs.entries())
            expect(Buffer.from(o.buffer).equals(Buffer.from(first[i]!.buffer))).toBe(true);
        } else first = outs;
      }
    });
  }
});
