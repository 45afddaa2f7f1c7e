/**
 * Writes the compressed variants of an FP32 `.eam` model. How quantized layers are represented
 * (metadata keys `quant.*`, i8/f16 weight tensors with per-channel scales) is specified in
 * packages/engine-wasm/docs/format.md, section "Quantized models".
 */
import {
  activationRoot,
  type EamFile,
  type EamGraph,
  type JsonObject,
  type ModelContents,
  type Precision,
  packInt4Weights,
  readModel,
  sevenBitCandidates,
  type TensorInput,
  toF16Array,
  writeModel,
} from "@edge-audio/engine-wasm";
import { activationParams, quantizeSymmetric } from "./int8.js";
import type { RangeMethod } from "./observers.js";

export type Mode = "fp32" | "fp16" | "dynamic" | "int8-tensor" | "int8" | "mixed";
export const MODES: Mode[] = ["fp16", "dynamic", "int8-tensor", "int8", "mixed"];

/**
 * Precision of one layer (the engine's type). conv/dense: all five (int4: 4-bit weights, int8
 * activations, used by mixed precision); add, maxpool, gap: f32 or int8.
 */
export type { Precision };

/** Affine INT8 parameters of one activation tensor: real = scale * (q - zeroPoint). */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  lo: number;
  hi: number;
  method: RangeMethod;
}

export interface QuantSpec {
  mode: Mode;
  /** Per-layer precision of every layer with weights, add, maxpool and gap. */
  layers: Record<string, Precision>;
  /** Weight scale granularity of int8/dynamic layers. */
  perChannel: boolean;
  /** Activation parameters (static int8 only), by tensor name (graph input and layer outputs). */
  activations: Record<string, ActivationQuant>;
  /** Fraction of weights set to zero by magnitude pruning (0: none). */
  prune?: number;
  /** Free-form provenance of the quantization (calibration crops, budget, ...). */
  info?: JsonObject;
  /**
   * 7-bit inputs: int8/int4 conv and dense layers whose input is a ReLU output read it quantized
   * to [0, 127] with zero point 0 (`quant.inputBits`), the operand the relaxed-SIMD GEMM needs;
   * layers whose input can be negative keep 8 bits.
   */
  sevenBit?: boolean;
}

/**
 * An object keyed by names read from a model file (layers, tensors, metadata keys). It has no
 * prototype, so `constructor`, `toString` or `__proto__` are ordinary keys, read and written as
 * any other; JSON.stringify writes it like a plain object.
 */
export function nameRecord<T>(init: Record<string, T> = {}): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, init);
}

/** Layers that carry weights (conv and dense), in graph order. */
export function weightLayers(graph: EamGraph): string[] {
  return graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);
}

/**
 * Default per-layer precisions of a mode. For int8: every conv/dense, add, maxpool and gap in
 * int8 except the classifier head (dense), which stays dynamic: its output is the logits, whose
 * range the softmax needs exactly.
 */
export function defaultPrecisions(graph: EamGraph, mode: Exclude<Mode, "mixed">): Record<string, Precision> {
  const out = nameRecord<Precision>();
  for (const l of graph.layers) {
    if (l.op === "conv" || l.op === "dense") {
      out[l.name] =
        mode === "fp32"
          ? "f32"
          : mode === "fp16"
            ? "f16"
            : mode === "dynamic"
              ? "dynamic"
              : l.op === "dense"
                ? "dynamic"
                : "int8";
    } else if (l.op === "add" || l.op === "maxpool" || l.op === "gap") {
      out[l.name] = mode === "int8" || mode === "int8-tensor" ? "int8" : "f32";
    }
  }
  return out;
}

/**
 * Makes the int8 choice of non-weight layers consistent with their neighbours: an add/maxpool/gap
 * runs in int8 only when every input comes from an int8 producer (or an int8 maxpool/add), so that
 * no f32 tensor must be quantized just for it.
 */
export function settlePrecisions(
  graph: EamGraph,
  layers: Record<string, Precision>,
): Record<string, Precision> {
  const out = nameRecord(layers);
  const int8Out = new Set<string>();
  const alias = new Map<string, string>();
  const root = (n: string): string => alias.get(n) ?? n;
  for (const l of graph.layers) {
    if (l.op === "dropout") {
      alias.set(l.name, root(l.input));
      continue;
    }
    const inputs = l.op === "add" ? l.inputs : [l.input];
    if (l.op === "conv" || l.op === "dense") {
      if (out[l.name] === "int8" || out[l.name] === "int4") int8Out.add(l.name);
    } else if (l.op === "add" || l.op === "maxpool" || l.op === "gap") {
      const ok = out[l.name] === "int8" && inputs.every((i) => int8Out.has(root(i)));
      out[l.name] = ok ? "int8" : "f32";
      if (ok && l.op !== "gap") int8Out.add(l.name);
    }
  }
  return out;
}

/** Tensor names whose activation parameters an int8 graph needs. */
export function tensorsNeedingParams(graph: EamGraph, layers: Record<string, Precision>): string[] {
  const need = new Set<string>();
  const alias = new Map<string, string>();
  const root = (n: string): string => alias.get(n) ?? n;
  for (const l of graph.layers) {
    if (l.op === "dropout") {
      alias.set(l.name, root(l.input));
      continue;
    }
    const p = Object.hasOwn(layers, l.name) ? layers[l.name] : undefined;
    if (p !== "int8" && p !== "int4") continue;
    const inputs = l.op === "add" ? l.inputs : [l.input];
    for (const i of inputs) need.add(root(i));
    if (l.op !== "gap" && l.op !== "dense") need.add(l.name);
  }
  return [...need];
}

export interface BuildOptions {
  spec: QuantSpec;
  /** Magnitude pruning applied to conv/dense weights before quantization. */
  prune?: number;
}

/** Sets the `sparsity` fraction of smallest-magnitude weights of each tensor to zero. */
export function pruneMagnitude(w: Float32Array, sparsity: number): Float32Array {
  if (sparsity <= 0) return w;
  if (sparsity >= 1) return new Float32Array(w.length);
  const mags = Float32Array.from(w, Math.abs).sort();
  const cut = Math.floor(sparsity * w.length);
  if (cut === 0) return w;
  const thr = mags[cut - 1]!;
  const out = new Float32Array(w.length);
  let removed = 0;
  // Remove everything strictly below the threshold, then ties at the threshold until the count is met.
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]!);
    if (a < thr) {
      removed++;
      continue;
    }
    out[i] = w[i]!;
  }
  for (let i = 0; i < w.length && removed < cut; i++) {
    if (Math.abs(w[i]!) === thr && out[i] !== 0) {
      out[i] = 0;
      removed++;
    }
  }
  return out;
}

/**
 * Builds the contents of a variant file from a loaded FP32 model. Weights of `f16` layers are
 * stored as IEEE half; `int8` and `dynamic` layers as symmetric INT8 with one scale per output
 * channel (or per tensor when `perChannel` is false); biases stay f32 (the epilogue adds them in
 * float). Activation parameters and per-layer precisions go into the metadata.
 */
export function buildVariant(src: EamFile, spec: QuantSpec): ModelContents {
  const g = src.graph;
  const layers = settlePrecisions(g, spec.layers);
  const byName = new Map(src.tensors.map((t) => [t.name, t]));
  const tensors: TensorInput[] = [];
  const weightOf = new Map<string, string>();
  for (const l of g.layers) if (l.op === "conv" || l.op === "dense") weightOf.set(`${l.name}.weight`, l.name);
  for (const t of src.tensors) {
    if (t.dtype !== "f32") throw new Error(`tensor ${t.name} is ${t.dtype}; quantize from the FP32 model`);
    const layer = weightOf.get(t.name);
    let data = src.tensorData.get(t.name) as Float32Array;
    if (!layer) {
      tensors.push({ name: t.name, dtype: "f32", shape: t.shape, data });
      continue;
    }
    if (spec.prune) data = pruneMagnitude(data, spec.prune);
    const p = layers[layer] ?? "f32";
    if (p === "f32") {
      tensors.push({ name: t.name, dtype: "f32", shape: t.shape, data });
    } else if (p === "f16") {
      for (let i = 0; i < data.length; i++)
        if (Math.abs(data[i]!) > 65504)
          throw new Error(`tensor ${t.name}: weight ${data[i]} overflows IEEE half`);
      tensors.push({ name: t.name, dtype: "f16", shape: t.shape, data: toF16Array(data) });
    } else if (p === "int4") {
      tensors.push(...int4Tensors(t.name, layer, t.shape, data));
    } else {
      const axis = t.shape.length - 1; // HWIO: output channel last; dense [in, out]: out last
      const q = quantizeSymmetric(data, t.shape, spec.perChannel ? axis : null);
      tensors.push({
        name: t.name,
        dtype: "i8",
        shape: t.shape,
        data: q.q,
        quant: { axis: q.axis, scales: q.scales, zeroPoints: new Int32Array(q.scales.length) },
      });
    }
  }
  for (const [n] of weightOf) if (!byName.has(n)) throw new Error(`model: tensor ${n} is missing`);
  const needed = tensorsNeedingParams(g, layers);
  const acts = nameRecord<ActivationQuant>();
  for (const n of needed) {
    const a = Object.hasOwn(spec.activations, n) ? spec.activations[n] : undefined;
    if (!a) throw new Error(`no calibrated range for activation ${n}; run calibration first (--calib DIR)`);
    acts[n] = a;
  }
  const metadata: NonNullable<ModelContents["metadata"]> = nameRecord();
  for (const [k, v] of src.metadata) {
    if (k.startsWith("eam.") || k.startsWith("quant.") || k.startsWith("provenance.")) continue;
    metadata[k] = v as never;
  }
  metadata["quant.mode"] = spec.mode;
  metadata["quant.layers"] = layers;
  metadata["quant.weights"] = spec.perChannel ? "per-channel" : "per-tensor";
  if (spec.sevenBit) {
    const seven = sevenBitLayers(g, layers);
    for (const t of new Set(seven.map((l) => paramsSource(g, layers, inputOf(g, l))))) {
      const a = acts[t];
      if (!a) throw new Error(`no calibrated range for activation ${t}; run calibration first (--calib DIR)`);
      acts[t] = toActivationQuant7(a.hi, a.method);
    }
    metadata["quant.inputBits"] = nameRecord<number>(Object.fromEntries(seven.map((l) => [l, 7])));
  }
  if (Object.keys(acts).length > 0) metadata["quant.activations"] = acts as unknown as JsonObject;
  if (spec.prune) metadata["quant.pruning"] = { sparsity: spec.prune, method: "magnitude, per tensor" };
  if (spec.info) metadata["quant.info"] = spec.info;
  const prov = { ...src.provenance };
  prov.notes = `${prov.notes ? `${prov.notes}; ` : ""}quantized: ${spec.mode}${spec.prune ? `, pruned ${spec.prune}` : ""}`;
  prov.tools = { ...(prov.tools ?? {}), "@edge-audio/quantizer": "0.1.0" };
  return {
    graph: g,
    tensors,
    labels: src.labels,
    mel: src.mel,
    arch: src.arch,
    provenance: prov,
    metadata,
  };
}

/**
 * 4-bit weights: symmetric per output channel in [-7, 7], two per byte along the output channels
 * (even channel in the low nibble, two's complement), as a u8 tensor [..., ceil(cout/2)], and the
 * channel scales as `<layer>.weight_scale` f32 [cout].
 */
export function int4Tensors(name: string, layer: string, shape: number[], w: Float32Array): TensorInput[] {
  const n = shape.at(-1)!;
  const { packed, scales } = packInt4Weights(w, n);
  return [
    { name, dtype: "u8", shape: [...shape.slice(0, -1), Math.ceil(n / 2)], data: packed },
    { name: `${layer}.weight_scale`, dtype: "f32", shape: [n], data: scales },
  ];
}

/** The int8/int4 conv and dense layers whose input is non-negative by construction (ReLU outputs). */
export function sevenBitLayers(graph: EamGraph, layers: Record<string, Precision>): string[] {
  return sevenBitCandidates(graph).filter((l) => layers[l] === "int8" || layers[l] === "int4");
}

function inputOf(graph: EamGraph, layer: string): string {
  const l = graph.layers.find((x) => x.name === layer);
  if (!l || l.op === "add") throw new Error(`layer ${layer} has no single input`);
  return l.input;
}

/**
 * The tensor whose activation parameters the engine uses for tensor `n`: dropout outputs and
 * int8 max-pool outputs carry their input's (docs/format.md, "Semantics").
 */
export function paramsSource(graph: EamGraph, layers: Record<string, Precision>, n: string): string {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  let t = activationRoot(graph, n);
  for (let l = byName.get(t); l?.op === "maxpool" && layers[l.name] === "int8"; l = byName.get(t))
    t = activationRoot(graph, l.input);
  return t;
}

/**
 * 7-bit parameters of a non-negative tensor with calibrated upper end `hi`: zero point 0 and
 * scale hi / 127, so that [0, hi] maps onto [0, 127] (the ReLU floor is q = 0).
 */
export function toActivationQuant7(hi: number, method: RangeMethod): ActivationQuant {
  const scale = hi > 1e-12 ? hi / 127 : 1;
  return { scale, zeroPoint: 0, lo: 0, hi, method };
}

/** Activation parameters from a calibrated range. */
export function toActivationQuant(lo: number, hi: number, method: RangeMethod): ActivationQuant {
  const p = activationParams(lo, hi);
  return { scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, method };
}

export function readFp32(path: string): EamFile {
  const m = readModel(path);
  const bad = m.tensors.find((t) => t.dtype !== "f32");
  if (bad)
    throw new Error(
      `${path}: tensor ${bad.name} is ${bad.dtype}; this file is already quantized (quant.mode=${String(m.metadata.get("quant.mode") ?? "?")}); pass the FP32 model`,
    );
  return m;
}

export function writeVariant(path: string, contents: ModelContents): number {
  return writeModel(path, contents).bytes;
}
