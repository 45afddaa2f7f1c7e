/**
 * Test models: quantized variants of a random FP32 model written the way docs/format.md
 * ("Quantized models") describes (f16 / i8 / 4-bit weights, `quant.layers`, `quant.activations`
 * from the float64 reference), and renaming of a layer through the whole file.
 */
import { toF16Array } from "../dist/f16.js";
import type { ModelContents, TensorInput } from "../dist/format.js";
import { packInt4Weights, unpackInt4 } from "../dist/int4.js";
import { refRunGraph } from "../dist/reference.js";

/** The builds and thread counts whose results must be bit-identical to each other. */
export const BIT_IDENTITY_RUNS = [
  ["wasmsimd", 1],
  ["wasmsimd", 2],
  ["wasmsimd", 3],
  ["scalar", 1],
] as const;

export type ActParams = Record<string, { scale: number; zeroPoint: number }>;

/** Signal-to-quantization-noise ratio (dB) of x against ref. */
export function sqnr(ref: ArrayLike<number>, x: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    n += (ref[i]! - x[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

/** Symmetric per-output-channel 4-bit weights in [-7, 7], two per byte (even channel low). */
export function quantizeInt4(t: TensorInput, name: string, asInt8 = false): TensorInput[] {
  const w = t.data as Float32Array;
  const n = t.shape.at(-1)!;
  const half = Math.ceil(n / 2);
  const { packed, scales } = packInt4Weights(w, n);
  if (asInt8) {
    // The same 4-bit values stored as an ordinary per-channel i8 tensor.
    const q = unpackInt4(packed, w.length / n, n);
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
export function quantizeWeights(t: TensorInput): TensorInput {
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

/** Logits (`head.dense`) of the float64 reference of `fp32` on each crop. */
export function referenceLogits(fp32: ModelContents, crops: Float32Array[]): Float64Array[] {
  const weights = new Map(fp32.tensors.map((t) => [t.name, t.data]));
  return crops.map(
    (c) => refRunGraph(fp32.graph, (k) => weights.get(k)!, c, ["head.dense"]).get("head.dense")!.data,
  );
}

/** Min/max (with 0 inside) of every tensor over the float64 reference runs of `crops`. */
export function activationRanges(fp32: ModelContents, crops: Float32Array[]): Map<string, [number, number]> {
  const weights = new Map(fp32.tensors.map((t) => [t.name, t.data]));
  const range = new Map<string, [number, number]>();
  for (const c of crops) {
    const env = refRunGraph(fp32.graph, (k) => weights.get(k)!, c);
    for (const [name, t] of env) {
      let [a, b] = range.get(name) ?? [0, 0];
      for (const v of t.data) {
        a = Math.min(a, v);
        b = Math.max(b, v);
      }
      range.set(name, [a, b]);
    }
  }
  return range;
}

/** INT8 parameters of every tensor from its min/max over the float64 reference runs of `crops`. */
export function activationParams(fp32: ModelContents, crops: Float32Array[]): ActParams {
  const out: ActParams = {};
  for (const [name, [a, b]] of activationRanges(fp32, crops)) {
    const scale = b - a > 0 ? (b - a) / 255 : 1;
    out[name] = { scale, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - a / scale))) };
  }
  return out;
}

/**
 * The int8 variant `c` of `fp32` with 7-bit parameters (zero point 0, scale hi / 127, hi from
 * the float64 runs of `fp32` on `crops`) for the non-negative tensors, its 8-bit ones elsewhere, and `quant.inputBits` 7 for every int8/int4 conv or dense
 * layer whose input is non-negative by construction (as the quantizer's --seven-bit writes them).
 */
export function sevenBitVariant(
  fp32: ModelContents,
  c: ModelContents,
  crops: Float32Array[],
  nonNegative: Set<string>,
  candidates: string[],
): ModelContents {
  const range = activationRanges(fp32, crops);
  const acts = structuredClone(c.metadata!["quant.activations"]) as ActParams;
  for (const t of nonNegative)
    if (t in acts) acts[t] = { scale: range.get(t)![1] > 0 ? range.get(t)![1] / 127 : 1, zeroPoint: 0 };
  const layers = c.metadata!["quant.layers"] as Record<string, string>;
  const seven = candidates.filter((l) => layers[l] === "int8" || layers[l] === "int4");
  return {
    ...c,
    metadata: {
      ...c.metadata,
      "quant.activations": acts,
      "quant.inputBits": Object.fromEntries(seven.map((l) => [l, 7])),
    },
  };
}

/**
 * A variant of `fp32` with per-layer precisions `layers` (layer name -> f16, int8, dynamic, int4;
 * absent: f32) and the given activation parameters.
 */
export function quantizedVariant(
  fp32: ModelContents,
  layers: Record<string, string>,
  acts: ActParams,
  int4AsInt8 = false,
): ModelContents {
  const tensors = fp32.tensors.flatMap((t): TensorInput[] => {
    const layer = t.name.endsWith(".weight") ? t.name.slice(0, -7) : "";
    const p = Object.hasOwn(layers, layer) ? layers[layer] : undefined;
    if (p === "f16") return [{ ...t, dtype: "f16" as const, data: toF16Array(t.data as Float32Array) }];
    if (p === "int8" || p === "dynamic") return [quantizeWeights(t)];
    if (p === "int4") return quantizeInt4(t, layer, int4AsInt8);
    return [t];
  });
  const meta = int4AsInt8
    ? Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, v === "int4" ? "int8" : v]))
    : layers;
  return { ...fp32, tensors, metadata: { "quant.layers": meta, "quant.activations": acts } };
}

/**
 * The static int8 precisions of a graph: every conv int8, the dense head dynamic, add, maxpool
 * and gap int8.
 */
export function int8Layers(fp32: ModelContents): Record<string, string> {
  return Object.fromEntries(
    fp32.graph.layers
      .filter((l) => l.op !== "dropout" && l.op !== "softmax")
      .map((l) => [l.name, l.op === "dense" ? "dynamic" : "int8"]),
  );
}

/** Renames a layer (or the graph input) everywhere: graph, tensors, quant.layers, quant.activations. */
export function renameTensor(c: ModelContents, from: string, to: string): ModelContents {
  const out: ModelContents = structuredClone(c);
  const g = out.graph;
  const map = (n: string) => (n === from ? to : n);
  if (g.input === from) g.input = to;
  if (g.output === from) g.output = to;
  for (const l of g.layers) {
    l.name = map(l.name);
    if (l.op === "add") l.inputs = [map(l.inputs[0]), map(l.inputs[1])];
    else l.input = map(l.input);
  }
  for (const t of out.tensors)
    for (const suffix of [".weight", ".bias", ".weight_scale"])
      if (t.name === `${from}${suffix}`) t.name = `${to}${suffix}`;
  const rekey = (o: unknown): unknown =>
    typeof o === "object" && o !== null
      ? Object.fromEntries(Object.entries(o).map(([k, v]) => [map(k), v]))
      : o;
  if (out.metadata) {
    for (const k of ["quant.layers", "quant.activations"])
      if (k in out.metadata) out.metadata[k] = rekey(out.metadata[k]) as never;
  }
  return out;
}
