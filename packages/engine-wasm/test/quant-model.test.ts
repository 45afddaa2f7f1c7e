/**
 * Quantized and mixed-precision models end to end: files written with f16 / i8 weights and the
 * `quant.*` metadata of docs/format.md run through the planner and executor, agree with the
 * float64 reference of the FP32 model within a stated SQNR, and give bit-identical results for
 * SIMD and scalar builds and for 1, 2 and 3 threads.
 */
import { describe, expect, it } from "vitest";
import { encodeModel, type ModelContents, type TensorInput } from "../dist/format.js";
import { loadModelFromBytes } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { refRunGraph } from "../dist/reference.js";

/** Minimum SQNR (dB) of the logits against float64 of the FP32 model. */
const MIN_SQNR = { f16: 55, dynamic: 30, int8: 30, mixed: 28, int4: 12 }; // measured 65.9, 37.4, 38.0, 33.4, 16.5

const config = { depth: 18, width: 0.25, inputHeight: 48, inputWidth: 40, numClasses: 10 };

function sqnr(ref: ArrayLike<number>, x: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    n += (ref[i]! - x[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const e = ((u >>> 23) & 0xff) - 112;
  let m = u & 0x7fffff;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const sh = 14 - e;
    const half = 1 << (sh - 1);
    let h = m >>> sh;
    const rest = m & ((1 << sh) - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Symmetric per-output-channel 4-bit weights in [-7, 7], two per byte (even channel low). */
function quantizeInt4(t: TensorInput, name: string, asInt8 = false): TensorInput[] {
  const w = t.data as Float32Array;
  const n = t.shape.at(-1)!;
  const half = Math.ceil(n / 2);
  const max = new Float64Array(n);
  for (let i = 0; i < w.length; i++) max[i % n] = Math.max(max[i % n]!, Math.abs(w[i]!));
  const scales = Float32Array.from(max, (m) => (m > 0 ? m / 7 : 1));
  const rows = w.length / n;
  const packed = new Uint8Array(rows * half);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      const q = Math.max(-7, Math.min(7, Math.round(w[r * n + c]! / scales[c]!)));
      packed[r * half + (c >> 1)]! |= (q & 15) << ((c & 1) * 4);
    }
  if (asInt8) {
    // The same 4-bit values stored as an ordinary per-channel i8 tensor.
    const q = new Int8Array(w.length);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < n; c++) {
        const nib = (packed[r * half + (c >> 1)]! >> ((c & 1) * 4)) & 15;
        q[r * n + c] = nib >= 8 ? nib - 16 : nib;
      }
    return [
      {
        ...t,
        dtype: "i8",
        data: q,
        quant: { axis: t.shape.length - 1, scales, zeroPoints: new Int32Array(n) },
      },
    ];
  }
  return [
    { name: t.name, dtype: "u8", shape: [...t.shape.slice(0, -1), half], data: packed },
    { name: `${name}.weight_scale`, dtype: "f32", shape: [n], data: scales },
  ];
}

/** Symmetric per-output-channel INT8 (last axis). */
function quantizeWeights(t: TensorInput): TensorInput {
  const w = t.data as Float32Array;
  const n = t.shape.at(-1)!;
  const max = new Float64Array(n);
  for (let i = 0; i < w.length; i++) max[i % n] = Math.max(max[i % n]!, Math.abs(w[i]!));
  const scales = Float32Array.from(max, (m) => (m > 0 ? m / 127 : 1));
  const q = Int8Array.from(w, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[i % n]!))));
  return {
    ...t,
    dtype: "i8",
    data: q,
    quant: { axis: t.shape.length - 1, scales, zeroPoints: new Int32Array(n) },
  };
}

describe("quantized models through the planner and executor", () => {
  const fp32 = createRandomModel(config, 4);
  const n = config.inputHeight * config.inputWidth;
  const crops = [randomCrop(n, 1), randomCrop(n, 2)];
  const weights = new Map(fp32.tensors.map((t) => [t.name, t.data]));
  const refLogits = crops.map(
    (c) => refRunGraph(fp32.graph, (k) => weights.get(k)!, c, ["head.dense"]).get("head.dense")!.data,
  );
  const wlayers = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);

  /** Activation ranges from the float64 reference on the crops (min/max). */
  function activations(): Record<string, { scale: number; zeroPoint: number }> {
    const lo = new Map<string, number>();
    const hi = new Map<string, number>();
    for (const c of crops) {
      const env = refRunGraph(fp32.graph, (k) => weights.get(k)!, c);
      for (const [name, t] of env) {
        let a = lo.get(name) ?? 0;
        let b = hi.get(name) ?? 0;
        for (const v of t.data) {
          a = Math.min(a, v);
          b = Math.max(b, v);
        }
        lo.set(name, a);
        hi.set(name, b);
      }
    }
    const out: Record<string, { scale: number; zeroPoint: number }> = {};
    for (const [name, a] of lo) {
      const b = hi.get(name)!;
      const scale = b - a > 0 ? (b - a) / 255 : 1;
      out[name] = { scale, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - a / scale))) };
    }
    return out;
  }

  function variant(layers: Record<string, string>, int4AsInt8 = false): ModelContents {
    const tensors = fp32.tensors.flatMap((t): TensorInput[] => {
      const layer = t.name.endsWith(".weight") ? t.name.slice(0, -7) : "";
      const p = layers[layer];
      if (p === "f16")
        return [{ ...t, dtype: "f16" as const, data: Uint16Array.from(t.data as Float32Array, toHalf) }];
      if (p === "int8" || p === "dynamic") return [quantizeWeights(t)];
      if (p === "int4") return quantizeInt4(t, layer, int4AsInt8);
      return [t];
    });
    const meta = int4AsInt8
      ? Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, v === "int4" ? "int8" : v]))
      : layers;
    return { ...fp32, tensors, metadata: { "quant.layers": meta, "quant.activations": activations() } };
  }

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

  for (const [name, layers] of cases) {
    it(`${name}: logits within ${MIN_SQNR[name]} dB of float64, identical for SIMD/scalar and 1/2/3 threads`, async () => {
      const bytes = encodeModel(variant(layers));
      let first: Float32Array[] | undefined;
      for (const [isa, threads] of [
        ["wasmsimd", 1],
        ["wasmsimd", 2],
        ["wasmsimd", 3],
        ["scalar", 1],
      ] as const) {
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
