/**
 * 7-bit inputs (`quant.inputBits`, docs/format.md): the field round-trips through the file and
 * hostile values are refused naming it; a 7-bit file runs on 128-bit SIMD within a stated SQNR
 * of the float64 FP32 reference with every 7-bit input byte in [0, 127], bit-identical across
 * builds and thread counts; and the relaxed-SIMD GEMM gives exactly those bits (skipped, saying
 * why, where relaxed SIMD is not usable).
 */
import { describe, expect, it } from "vitest";
import { EamFormatError, encodeModel, type ModelContents, readModel } from "../dist/format.js";
import { nonNegativeTensors, sevenBitCandidates } from "../dist/input-bits.js";
import { loadModelFromBytes } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { relaxedSimdStatus } from "../dist/relaxed.js";
import {
  activationParams,
  BIT_IDENTITY_RUNS,
  int8Layers,
  quantizedVariant,
  referenceLogits,
  sevenBitVariant,
  sqnr,
} from "./model-helpers.js";

/** Logits SQNR (dB) against float64 of the FP32 model (measured on the two crops: 7-bit inputs 31.5 / 32.6, the same file with 8-bit inputs 38.7 / 36.1). */
const MIN_SQNR_7BIT = 27;

const config = { depth: 18 as const, width: 0.25, inputHeight: 48, inputWidth: 40, numClasses: 10 };

const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

describe("7-bit inputs (quant.inputBits)", () => {
  const fp32 = createRandomModel(config, 4);
  const n = config.inputHeight * config.inputWidth;
  const crops = [randomCrop(n, 1), randomCrop(n, 2)];
  const refLogits = referenceLogits(fp32, crops);
  // every conv int8, the dense head int8 too (a single-pixel layer with f32 output)
  const int8 = quantizedVariant(
    fp32,
    { ...int8Layers(fp32), "head.dense": "int8" },
    activationParams(fp32, crops),
  );
  const seven = sevenBitVariant(
    fp32,
    int8,
    crops,
    nonNegativeTensors(fp32.graph),
    sevenBitCandidates(fp32.graph),
  );
  const sevenBytes = encodeModel(seven);
  const bitsOf = (c: ModelContents) => c.metadata!["quant.inputBits"] as Record<string, number>;
  const sevenLayers = Object.keys(bitsOf(seven));

  /** Logits of every crop for a file and load options. */
  async function logits(bytes: Uint8Array, opts: Parameters<typeof loadModelFromBytes>[1] = {}) {
    const m = await loadModelFromBytes(bytes, { keep: ["head.dense"], ...opts });
    const out = crops.map((c) => {
      m.run(c);
      return m.read("head.dense");
    });
    const info = m.info();
    await m.dispose();
    return { out, info };
  }

  it("marks every int8 conv and dense layer that reads a ReLU output, and not the stem", () => {
    expect(sevenLayers).not.toContain("stem.conv");
    expect(sevenLayers).toContain("head.dense");
    const convs = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);
    expect(sevenLayers.length).toBe(convs.length - 1);
  });

  it("round-trips through the file, and all-8-bit gives the bits of the file without the field", async () => {
    expect(readModel(sevenBytes).metadata.get("quant.inputBits")).toEqual(bitsOf(seven));
    const eight = { ...int8, metadata: { ...int8.metadata, "quant.inputBits": { "layer1.0.conv1": 8 } } };
    const a = await logits(encodeModel(int8));
    const b = await logits(encodeModel(eight));
    expect(b.info.relaxed.sevenBitLayers).toBe(0);
    for (const [i, o] of a.out.entries()) expect(sameBits(o, b.out[i]!)).toBe(true);
  });

  it(`128-bit SIMD: logits within ${MIN_SQNR_7BIT} dB of float64, 7-bit inputs in [0, 127], identical for SIMD/scalar and 1/2/3 threads`, async () => {
    const convInputs = [
      ...new Set(
        fp32.graph.layers.flatMap((l) => (l.op === "conv" && sevenLayers.includes(l.name) ? [l.input] : [])),
      ),
    ];
    const m = await loadModelFromBytes(sevenBytes, { threads: 1, keep: convInputs });
    for (const c of crops) {
      m.run(c);
      for (const t of convInputs) {
        const scale = Math.fround(m.plan.tensors.get(t)!.quant!.scale);
        expect(m.plan.tensors.get(t)!.quant!.zeroPoint).toBe(0);
        const q = Array.from(m.read(t), (v) => Math.round(v / scale));
        expect([t, Math.min(...q) >= 0 && Math.max(...q) <= 127]).toEqual([t, true]);
      }
    }
    await m.dispose();
    let first: Float32Array[] | undefined;
    for (const [isa, threads] of BIT_IDENTITY_RUNS) {
      const { out, info } = await logits(sevenBytes, { isa, threads });
      expect(info.relaxed.relaxedLayers).toBe(0);
      expect(info.relaxed.sevenBitLayers).toBe(sevenLayers.length);
      out.forEach((o, i) => {
        const s = sqnr(refLogits[i]!, o);
        if (!(s >= MIN_SQNR_7BIT)) throw new Error(`7-bit ${isa} ${threads}: SQNR ${s.toFixed(1)} dB`);
      });
      if (first) for (const [i, o] of out.entries()) expect(sameBits(o, first![i]!)).toBe(true);
      else first = out;
    }
  });

  const status = relaxedSimdStatus();
  const why = status.usable ? "" : ` (skipped: ${status.reason})`;

  it.runIf(status.usable)(
    `relaxed SIMD gives the 128-bit SIMD bits, with and without Winograd, 1/2/3 threads${why}`,
    async () => {
      for (const winograd of [true, false]) {
        const ref = await logits(sevenBytes, { threads: 1, winograd });
        for (const threads of [1, 2, 3]) {
          const got = await logits(sevenBytes, { threads, winograd, relaxedSimd: true });
          // without Winograd every 7-bit layer runs relaxed; with it the 3x3 layers stay Winograd
          if (winograd) expect(got.info.relaxed.relaxedLayers).toBeGreaterThan(0);
          else expect(got.info.relaxed.relaxedLayers).toBe(sevenLayers.length);
          for (const [i, o] of got.out.entries()) expect(sameBits(o, ref.out[i]!)).toBe(true);
        }
      }
    },
  );

  it("runs 7-bit layers on 128-bit SIMD when relaxed SIMD is not asked for, on scalar, and in 8-bit files", async () => {
    const scalar = await logits(sevenBytes, { isa: "scalar", threads: 1, relaxedSimd: true });
    expect(scalar.info.relaxed.relaxedLayers).toBe(0);
    expect(scalar.info.relaxed.reason).toMatch(/wasmsimd/);
    const eight = await logits(encodeModel(int8), { threads: 1, relaxedSimd: true });
    expect(eight.info.relaxed).toMatchObject({ sevenBitLayers: 0, relaxedLayers: 0 });
  });

  it("refuses hostile quant.inputBits values, naming the key and the layer", async () => {
    const withBits = (c: ModelContents, v: unknown): Uint8Array =>
      encodeModel({ ...c, metadata: { ...c.metadata, "quant.inputBits": v as never } });
    const cases: [Uint8Array, RegExp][] = [
      [withBits(seven, [7]), /quant\.inputBits must be a JSON object/],
      [withBits(seven, "7"), /quant\.inputBits must be a JSON object/],
      [withBits(seven, { "layer1.0.conv1": 9 }), /quant\.inputBits\.layer1\.0\.conv1 is 9; expected 7 or 8/],
      [withBits(seven, { "layer1.0.conv1": "7" }), /is "7"; expected 7 or 8/],
      [withBits(seven, { "layer1.0.conv1": 7.5 }), /expected 7 or 8/],
      [withBits(seven, { "layer1.0.conv1": null }), /expected 7 or 8/],
      [withBits(seven, { nope: 7 }), /quant\.inputBits\.nope: the graph has no conv or dense layer/],
      [withBits(seven, JSON.parse('{ "__proto__": 7 }')), /no conv or dense layer/],
      [withBits(seven, { gap: 7 }), /quant\.inputBits\.gap: the graph has no conv or dense layer/],
      [
        withBits(seven, { "stem.conv": 7 }),
        /stem\.conv is 7, but the layer's input input is not a ReLU output/,
      ],
      [withBits(fp32, { "layer1.0.conv1": 7 }), /layer1\.0\.conv1: the layer runs in f32/],
      // 8-bit parameters (zero point -128) under a 7-bit mark
      [withBits(int8, { "layer1.0.conv1": 7 }), /layer1\.0\.conv1 has 7-bit input .* zero point -128/],
    ];
    for (const [bytes, msg] of cases) {
      for (const relaxedSimd of [false, true]) {
        const e = await loadModelFromBytes(bytes, { threads: 1, relaxedSimd }).then(
          () => null,
          (err: unknown) => err,
        );
        expect(e, String(msg)).toBeInstanceOf(EamFormatError);
        expect((e as Error).message).toMatch(msg);
      }
    }
  });
});
