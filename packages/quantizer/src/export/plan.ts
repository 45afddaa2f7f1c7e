/**
 * What an exporter writes for a `.eam` model, independent of the target format: every layer with
 * its precision (`quant.layers`, or derived from the weight dtypes), the representation of every
 * tensor (f32, or int8 with the parameters of `quant.activations`) and the weights in the form the
 * layer runs them (f32, IEEE half bits, or int8 with per-channel or per-tensor scales). The rules
 * are those of engine-wasm/docs/format.md, "Quantized models"; a file that breaks them is refused
 * here, naming the layer or tensor, before anything is written.
 */
import {
  type ArchConfig,
  type ArchSpec,
  type EamFile,
  type EamGraph,
  type EamHeader,
  inferShapes,
  type LayerSpec,
  quantConfig,
  unpackInt4,
} from "@edge-audio/engine-wasm";
import type { Precision } from "../variants.js";

/** Affine int8 parameters of an activation: real = scale * (q - zeroPoint). */
export interface ActQuant {
  scale: number;
  zeroPoint: number;
}

/** How a tensor is held between layers. */
export type Repr = "f32" | "i8";

/** Weights of a conv (HWIO) or dense ([in, out]) layer, in the form its precision runs them. */
export type LayerWeights =
  | { kind: "f32"; shape: number[]; data: Float32Array }
  | { kind: "f16"; shape: number[]; bits: Uint16Array }
  | {
      kind: "i8";
      shape: number[];
      q: Int8Array;
      /** One scale (per tensor) or one per output channel (the last axis). */
      scales: Float32Array;
      /** The layer stored 4-bit weights (values in [-7, 7]); written as int8. */
      fromInt4: boolean;
    };

export interface PlannedLayer {
  spec: Exclude<LayerSpec, { op: "dropout" }>;
  precision: Precision;
  /** Input tensor names, dropout aliases resolved. */
  inputs: string[];
  /** Representation the layer reads its inputs in. */
  inRepr: Repr;
  /** Representation of its output. */
  outRepr: Repr;
  weights?: LayerWeights;
  bias?: Float32Array;
}

export interface ExportPlan {
  graph: EamGraph;
  shapes: Map<string, number[]>;
  layers: PlannedLayer[];
  /** Parameters of every tensor held as int8 (by tensor name). */
  int8: Map<string, ActQuant>;
  /** Graph output (the softmax), dropout aliases resolved. */
  output: string;
  /** The classifier head's output (the logits), if the graph has a dense layer. */
  logits: string | null;
  /** `quant.mode` of the file ("fp32" when absent). */
  mode: string;
  /** The tensor a name stands for (a dropout output is its input). */
  root(name: string): string;
}

export class ExportError extends Error {
  override readonly name = "ExportError";
}

/** The parts of a loaded `.eam` file an exporter reads (an EamFile, or FP32 weights in memory). */
export interface ModelSource {
  graph: EamGraph;
  metadata: Map<string, unknown>;
  tensorNames: Set<string>;
  tensor(name: string): {
    dtype: string;
    shape: number[];
    data: ArrayLike<number> & { buffer: ArrayBufferLike };
    quant?: { axis: number | null; scales: Float32Array; zeroPoints: Int32Array };
  };
}

export function sourceFromFile(file: EamFile): ModelSource {
  return {
    graph: file.graph,
    metadata: file.metadata,
    tensorNames: new Set(file.tensors.map((t) => t.name)),
    tensor: (n) => file.tensor(n),
  };
}

/** An FP32 model held in memory: the graph and `${layer}.weight` / `${layer}.bias` arrays. */
export function sourceFromWeights(graph: EamGraph, weights: Map<string, Float32Array>): ModelSource {
  const shapes = weightShapesOf(graph);
  return {
    graph,
    metadata: new Map(),
    tensorNames: new Set(weights.keys()),
    tensor: (n) => {
      const data = weights.get(n);
      if (!data) throw new ExportError(`tensor ${n} is missing`);
      return { dtype: "f32", shape: shapes.get(n) ?? [data.length], data };
    },
  };
}

/** The shape-inference spec of a graph (inferShapes only reads the input dimensions). */
export function specOf(graph: EamGraph): ArchSpec {
  const [inputHeight, inputWidth, inChannels] = graph.inputShape as [number, number, number];
  return {
    config: { inputHeight, inputWidth, inChannels } as ArchConfig,
    input: graph.input,
    output: graph.output,
    layers: graph.layers,
  };
}

function weightShapesOf(graph: EamGraph): Map<string, number[]> {
  const shapes = inferShapes(specOf(graph));
  const out = new Map<string, number[]>();
  for (const l of graph.layers) {
    if (l.op === "conv")
      out.set(`${l.name}.weight`, [l.kernel[0], l.kernel[1], shapes.get(l.input)![2]!, l.filters]);
    else if (l.op === "dense") out.set(`${l.name}.weight`, [shapes.get(l.input)![0]!, l.units]);
    if (l.op === "conv" || l.op === "dense")
      out.set(`${l.name}.bias`, [l.op === "conv" ? l.filters : l.units]);
  }
  return out;
}

/** The precision of each layer and the activation parameters, read and checked. */
function readQuant(src: ModelSource): {
  precision: ReadonlyMap<string, Precision>;
  acts: ReadonlyMap<string, ActQuant>;
} {
  const dtypes = src.graph.layers
    .filter((l) => l.op === "conv" || l.op === "dense")
    .map((l) => ({
      name: `${l.name}.weight`,
      dtype: src.tensorNames.has(`${l.name}.weight`) ? src.tensor(`${l.name}.weight`).dtype : "f32",
    }));
  try {
    const q = quantConfig({
      metadata: src.metadata,
      tensors: dtypes,
      graph: src.graph,
    } as unknown as EamHeader);
    return { precision: q.precision, acts: q.activations };
  } catch (e) {
    throw new ExportError(e instanceof Error ? e.message : String(e));
  }
}

/** The 4-bit weights of an int4 layer as int8 (docs/format.md: two per byte along the output channels). */
function int4Values(packed: Uint8Array, shape: number[], cout: number, name: string): Int8Array {
  const half = shape.at(-1)!;
  if (half !== Math.ceil(cout / 2))
    throw new ExportError(
      `${name}: 4-bit weights of ${cout} output channels take ${Math.ceil(cout / 2)} bytes per row, the tensor has ${half}; the file is inconsistent, quantize it again`,
    );
  return unpackInt4(packed, packed.length / half, cout);
}

function asTyped<T>(data: unknown, ctor: { new (...a: never[]): T }, what: string): T {
  if (!(data instanceof ctor)) throw new ExportError(`${what}: unexpected data type`);
  return data;
}

/** The weights of a conv/dense layer in the form its precision runs them, checked against the file. */
function layerWeights(src: ModelSource, layer: string, precision: Precision, shape: number[]): LayerWeights {
  const name = `${layer}.weight`;
  if (!src.tensorNames.has(name)) throw new ExportError(`tensor ${name} is missing`);
  const t = src.tensor(name);
  const expect = ({ f32: "f32", f16: "f16", dynamic: "i8", int8: "i8", int4: "u8" } as const)[precision];
  if (t.dtype !== expect)
    throw new ExportError(
      `layer ${layer} runs in ${precision} but its weight ${name} is ${t.dtype} (expected ${expect}); the file is inconsistent, quantize it again`,
    );
  const cout = shape.at(-1)!;
  if (precision === "f32") return { kind: "f32", shape, data: asTyped(t.data, Float32Array, name) };
  if (precision === "f16") return { kind: "f16", shape, bits: asTyped(t.data, Uint16Array, name) };
  if (precision === "int4") {
    const sc = `${layer}.weight_scale`;
    if (!src.tensorNames.has(sc)) throw new ExportError(`int4 layer ${layer} has no ${sc} tensor`);
    const scales = asTyped(src.tensor(sc).data, Float32Array, sc);
    const q = int4Values(asTyped(t.data, Uint8Array, name), t.shape, cout, name);
    return { kind: "i8", shape, q, scales, fromInt4: true };
  }
  const quant = t.quant;
  if (!quant) throw new ExportError(`${name} is i8 without quantization parameters`);
  if (quant.axis !== null && quant.axis !== t.shape.length - 1)
    throw new ExportError(
      `${name}: per-channel scales along axis ${quant.axis}; the exporters take the output channel (axis ${t.shape.length - 1})`,
    );
  if (quant.zeroPoints.some((z) => z !== 0))
    throw new ExportError(`${name}: weight zero points must be 0 (symmetric int8 weights)`);
  return { kind: "i8", shape, q: asTyped(t.data, Int8Array, name), scales: quant.scales, fromInt4: false };
}

/** Representation of a layer's input and output under the format's rules. */
function reprOf(
  l: Exclude<LayerSpec, { op: "dropout" }>,
  p: Precision,
  acts: ReadonlyMap<string, ActQuant>,
): { inRepr: Repr; outRepr: Repr } {
  const int8 = p === "int8" || p === "int4";
  if (l.op === "softmax" || !int8) return { inRepr: "f32", outRepr: "f32" };
  if (l.op === "gap") return { inRepr: "i8", outRepr: "f32" };
  if (l.op === "maxpool" || l.op === "add") return { inRepr: "i8", outRepr: "i8" };
  return { inRepr: "i8", outRepr: l.op === "conv" && acts.has(l.name) ? "i8" : "f32" };
}

/** Reads a model for export: precisions, representations, int8 parameters and weights. */
export function planExport(src: ModelSource): ExportPlan {
  const graph = src.graph;
  const shapes = inferShapes(specOf(graph));
  const { precision, acts } = readQuant(src);
  const alias = new Map<string, string>();
  const root = (n: string) => alias.get(n) ?? n;
  const int8 = new Map<string, ActQuant>();
  const layers: PlannedLayer[] = [];
  let logits: string | null = null;
  for (const l of graph.layers) {
    if (l.op === "dropout") {
      alias.set(l.name, root(l.input));
      continue;
    }
    const p = l.op === "softmax" ? "f32" : (precision.get(l.name) ?? "f32");
    const inputs = (l.op === "add" ? l.inputs : [l.input]).map(root);
    const { inRepr, outRepr } = reprOf(l, p, acts);
    if (inRepr === "i8")
      for (const i of inputs) {
        // An int8 tensor already written keeps its parameters (a max pool's are its input's).
        if (int8.has(i)) continue;
        const a = acts.get(i);
        if (!a)
          throw new ExportError(
            `layer ${l.name} runs in int8 but its input ${i} has no parameters in quant.activations; quantize the model again with calibration`,
          );
        int8.set(i, a);
      }
    if (outRepr === "i8") {
      const a = l.op === "maxpool" ? int8.get(inputs[0]!) : acts.get(l.name);
      if (!a)
        throw new ExportError(`int8 layer ${l.name}: its output has no parameters in quant.activations`);
      int8.set(l.name, a);
    }
    const planned: PlannedLayer = { spec: l, precision: p, inputs, inRepr, outRepr };
    if (l.op === "conv" || l.op === "dense") {
      const wShape =
        l.op === "conv"
          ? [l.kernel[0], l.kernel[1], shapes.get(inputs[0]!)![2]!, l.filters]
          : [shapes.get(inputs[0]!)![0]!, l.units];
      planned.weights = layerWeights(src, l.name, p, wShape);
      if (!src.tensorNames.has(`${l.name}.bias`)) throw new ExportError(`tensor ${l.name}.bias is missing`);
      planned.bias = asTyped(src.tensor(`${l.name}.bias`).data, Float32Array, `${l.name}.bias`);
      if (l.op === "dense") logits = l.name;
    }
    layers.push(planned);
  }
  const mode = String(src.metadata.get("quant.mode") ?? "fp32");
  return { graph, shapes, layers, int8, output: root(graph.output), logits, mode, root };
}

/** Counts of layers (conv, dense, add, maxpool, gap) per precision. */
export function precisionCounts(plan: ExportPlan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of plan.layers) if (l.spec.op !== "softmax") out[l.precision] = (out[l.precision] ?? 0) + 1;
  return out;
}
