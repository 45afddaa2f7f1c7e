/**
 * `.eam` -> `.tflite`. Each layer becomes the TFLite operator that computes what the engine
 * computes for its precision (docs/export.md has the table):
 * f32: float CONV_2D / FULLY_CONNECTED; f16: FLOAT16 weights and bias, each through DEQUANTIZE
 * (TFLite's fp16 form, as TensorFlow's converter writes it: XNNPACK takes a conv or dense layer
 * only when its filter and bias have the same type, and it sees a FLOAT16 -> FLOAT32 DEQUANTIZE
 * feeding a conv as FLOAT16, so a float bias beside half weights sends the layer to TFLite's slow
 * builtin kernels);
 * dynamic: int8 weights with float input and output (TFLite's dynamic-range "hybrid" kernels,
 * asymmetric per-tensor input quantization); int8 / int4: int8 tensors with our scales and zero
 * points, int32 bias at scale sx * sw[c], QUANTIZE / DEQUANTIZE where a tensor changes
 * representation. Input and output stay float32.
 */
import { toF16Array } from "@edge-audio/engine-wasm";
import { HWIO_TO_OHWI, IO_TO_OI, permute } from "../layout.js";
import {
  type ActQuant,
  ExportError,
  type ExportPlan,
  type LayerWeights,
  type PlannedLayer,
  type Repr,
} from "../plan.js";
import {
  encodeTflite,
  type TfliteModel,
  type TfliteOptions,
  type TfliteQuant,
  type TfliteType,
} from "./flatbuffer.js";
import {
  ActivationFunctionType,
  BuiltinOperator,
  BuiltinOptions,
  Padding,
  Slots,
  TensorType,
} from "./schema.js";

export interface TfliteWriteOptions {
  /** Extra outputs by tensor name (e.g. the logits); int8 tensors are dequantized to float. */
  extraOutputs?: string[];
  /** Text for `Model.description`. */
  description?: string;
  /** Metadata entries stored in buffers (e.g. labels, provenance). */
  metadata?: Record<string, string>;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const fused = (relu: boolean) => (relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE);

class TfliteGraphBuilder {
  readonly model: TfliteModel;
  /** Tensor index of each (name, representation) written so far. */
  private readonly index = new Map<string, number>();
  private readonly produced = new Map<string, Repr>();

  constructor(
    private readonly plan: ExportPlan,
    description: string,
    metadata: Record<string, string>,
  ) {
    this.model = {
      tensors: [],
      buffers: [new Uint8Array(0)],
      ops: [],
      inputs: [],
      outputs: [],
      description,
      metadata,
    };
  }

  tensor(name: string, shape: number[], type: TfliteType, quant?: TfliteQuant, data?: Uint8Array): number {
    let buffer = 0;
    if (data) {
      buffer = this.model.buffers.length;
      this.model.buffers.push(data);
    }
    this.model.tensors.push({ name, shape, type, buffer, quant });
    return this.model.tensors.length - 1;
  }

  actQuant(q: ActQuant): TfliteQuant {
    return { scale: [q.scale], zeroPoint: [q.zeroPoint], axis: 0 };
  }

  /** Shape with the batch dimension. */
  shape(name: string): number[] {
    return [1, ...this.plan.shapes.get(name)!];
  }

  /** Registers the tensor a layer produced. */
  define(name: string, repr: Repr): number {
    const q = repr === "i8" ? this.plan.int8.get(name)! : undefined;
    const i = this.tensor(
      name,
      this.shape(name),
      repr === "i8" ? TensorType.INT8 : TensorType.FLOAT32,
      q && this.actQuant(q),
    );
    this.index.set(`${name}:${repr}`, i);
    this.produced.set(name, repr);
    return i;
  }

  /** The tensor `name` in representation `repr`, converting it once (QUANTIZE / DEQUANTIZE) if needed. */
  need(name: string, repr: Repr): number {
    const have = this.index.get(`${name}:${repr}`);
    if (have !== undefined) return have;
    const from = this.produced.get(name);
    if (from === undefined) throw new ExportError(`tensor ${name} is read before it is written`);
    const src = this.index.get(`${name}:${from}`)!;
    let dst: number;
    if (repr === "i8") {
      const q = this.plan.int8.get(name);
      if (!q) throw new ExportError(`tensor ${name} has no int8 parameters`);
      dst = this.tensor(`${name}/quantized`, this.shape(name), TensorType.INT8, this.actQuant(q));
      this.op(BuiltinOperator.QUANTIZE, 2, [src], [dst], {
        type: BuiltinOptions.QuantizeOptions,
        fields: [],
      });
    } else {
      dst = this.tensor(`${name}/dequantized`, this.shape(name), TensorType.FLOAT32);
      this.op(BuiltinOperator.DEQUANTIZE, 2, [src], [dst], {
        type: BuiltinOptions.DequantizeOptions,
        fields: [],
      });
    }
    this.index.set(`${name}:${repr}`, dst);
    return dst;
  }

  op(code: number, version: number, inputs: number[], outputs: number[], options?: TfliteOptions): void {
    this.model.ops.push({ code, version, inputs, outputs, options });
  }
}

/** A FLOAT16 constant widened to float by its own DEQUANTIZE; returns the float tensor. */
function halfConstant(g: TfliteGraphBuilder, name: string, shape: number[], bits: Uint16Array): number {
  const half = g.tensor(name, shape, TensorType.FLOAT16, undefined, bytesOf(bits));
  const wide = g.tensor(`${name}/dequantized`, shape, TensorType.FLOAT32);
  g.op(BuiltinOperator.DEQUANTIZE, 3, [half], [wide], {
    type: BuiltinOptions.DequantizeOptions,
    fields: [],
  });
  return wide;
}

/** Weights in the target layout (OHWI for conv, [out, in] for dense), and their tensor index. */
function weightTensor(g: TfliteGraphBuilder, l: PlannedLayer, w: LayerWeights): number {
  const perm = l.spec.op === "conv" ? HWIO_TO_OHWI : IO_TO_OI;
  const shape = perm.map((p) => w.shape[p]!);
  const name = `${l.spec.name}.weight`;
  if (w.kind === "f32")
    return g.tensor(name, shape, TensorType.FLOAT32, undefined, bytesOf(permute(w.data, w.shape, perm)));
  if (w.kind === "f16") return halfConstant(g, name, shape, permute(w.bits, w.shape, perm));
  const quant: TfliteQuant = { scale: w.scales, zeroPoint: new Int32Array(w.scales.length), axis: 0 };
  return g.tensor(name, shape, TensorType.INT8, quant, bytesOf(permute(w.q, w.shape, perm)));
}

/** int32 bias of an int8 layer: round(b / (sx * sw[c])), the accumulator's scale. */
function int32Bias(
  l: PlannedLayer,
  sx: number,
  scales: Float32Array,
): { data: Int32Array; scale: Float32Array } {
  const b = l.bias!;
  const data = new Int32Array(b.length);
  const scale = new Float32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    scale[c] = Math.fround(sx * scales[scales.length === 1 ? 0 : c]!);
    const q = Math.round(b[c]! / scale[c]!);
    if (!(Math.abs(q) < 2 ** 31))
      throw new ExportError(
        `layer ${l.spec.name}: bias ${b[c]} is ${q} steps of the accumulator scale ${scale[c]}; it does not fit TFLite's int32 bias`,
      );
    data[c] = q;
  }
  return { data, scale };
}

/** Largest finite IEEE half. */
const HALF_MAX = 65504;

/**
 * The bias of an f16 layer in half (rounded to nearest): XNNPACK refuses a conv or dense layer
 * whose filter and bias types differ, so half weights take a half bias, as in TensorFlow's
 * converter. The rounding (relative 2^-11) is the one difference from the engine, which adds the
 * float bias.
 */
function halfBias(l: PlannedLayer): Uint16Array {
  const b = l.bias!;
  for (const v of b)
    if (!(Math.abs(v) <= HALF_MAX))
      throw new ExportError(
        `layer ${l.spec.name}: bias ${v} does not fit IEEE half (|b| <= ${HALF_MAX}), which TFLite's fp16 form stores it in; quantize this layer as f32`,
      );
  return toF16Array(b);
}

function biasTensor(g: TfliteGraphBuilder, l: PlannedLayer, int8In: ActQuant | null): number {
  const name = `${l.spec.name}.bias`;
  const w = l.weights!;
  if (int8In && w.kind === "i8") {
    const { data, scale } = int32Bias(l, int8In.scale, w.scales);
    // Per-tensor weights: a per-tensor bias scale (XNNPACK pairs the two granularities).
    const sc = w.scales.length === 1 ? scale.subarray(0, 1) : scale;
    const quant = { scale: sc, zeroPoint: new Int32Array(sc.length), axis: 0 };
    return g.tensor(name, [data.length], TensorType.INT32, quant, bytesOf(data));
  }
  if (w.kind === "f16") return halfConstant(g, name, [l.bias!.length], halfBias(l));
  return g.tensor(name, [l.bias!.length], TensorType.FLOAT32, undefined, bytesOf(l.bias!));
}

function refuseFloatOutputInt8(l: PlannedLayer): void {
  if (l.inRepr === "i8" && l.outRepr === "f32" && (l.spec.op === "conv" || l.spec.op === "dense"))
    throw new ExportError(
      `layer ${l.spec.name}: ${l.precision} ${l.spec.op} with a float output (${l.spec.op === "dense" ? "the logits" : "no output parameters"}) has no TFLite form: TFLite's int8 ${l.spec.op === "dense" ? "FULLY_CONNECTED" : "CONV_2D"} writes int8; quantize with this layer dynamic (the int8 mode's head) or give its output parameters`,
    );
}

function convLayer(
  g: TfliteGraphBuilder,
  plan: ExportPlan,
  l: PlannedLayer & { spec: { op: "conv" } },
): void {
  refuseFloatOutputInt8(l);
  const s = l.spec;
  const x = g.need(l.inputs[0]!, l.inRepr);
  const w = weightTensor(g, l, l.weights!);
  const b = biasTensor(g, l, l.inRepr === "i8" ? plan.int8.get(l.inputs[0]!)! : null);
  const y = g.define(s.name, l.outRepr);
  const hybrid = l.inRepr === "f32" && l.weights!.kind === "i8";
  const version =
    l.inRepr === "i8" ? 3 : hybrid ? (l.weights!.kind === "i8" && l.weights!.scales.length > 1 ? 5 : 2) : 1;
  const S = Slots.Conv2DOptions;
  g.op(BuiltinOperator.CONV_2D, version, [x, w, b], [y], {
    type: BuiltinOptions.Conv2DOptions,
    fields: [
      { slot: S.padding, kind: "i8", value: s.padding === "same" ? Padding.SAME : Padding.VALID, default: 0 },
      { slot: S.stride_w, kind: "i32", value: s.stride[1], default: 0 },
      { slot: S.stride_h, kind: "i32", value: s.stride[0], default: 0 },
      { slot: S.fused_activation_function, kind: "i8", value: fused(s.relu), default: 0 },
      { slot: S.dilation_w_factor, kind: "i32", value: 1, default: 1 },
      { slot: S.dilation_h_factor, kind: "i32", value: 1, default: 1 },
    ],
  });
}

function denseLayer(g: TfliteGraphBuilder, l: PlannedLayer & { spec: { op: "dense" } }): void {
  refuseFloatOutputInt8(l);
  const x = g.need(l.inputs[0]!, l.inRepr);
  const w = weightTensor(g, l, l.weights!);
  const b = biasTensor(g, l, null);
  const y = g.define(l.spec.name, l.outRepr);
  const hybrid = l.weights!.kind === "i8";
  const S = Slots.FullyConnectedOptions;
  g.op(BuiltinOperator.FULLY_CONNECTED, hybrid ? 9 : 1, [x, w, b], [y], {
    type: BuiltinOptions.FullyConnectedOptions,
    fields: [
      { slot: S.fused_activation_function, kind: "i8", value: 0, default: 0 },
      // Dynamic layers quantize their input with a zero point, as the engine does.
      { slot: S.asymmetric_quantize_inputs, kind: "bool", value: hybrid ? 1 : 0, default: 0 },
    ],
  });
}

function poolLayer(g: TfliteGraphBuilder, l: PlannedLayer & { spec: { op: "maxpool" } }): void {
  const s = l.spec;
  // TFLite's SAME padding puts the odd cell after, as TF does: the same rule as ours (and padded
  // cells never win the max, in TFLite as in the engine).
  const x = g.need(l.inputs[0]!, l.inRepr);
  const y = g.define(s.name, l.outRepr);
  const S = Slots.Pool2DOptions;
  g.op(BuiltinOperator.MAX_POOL_2D, l.inRepr === "i8" ? 2 : 1, [x], [y], {
    type: BuiltinOptions.Pool2DOptions,
    fields: [
      { slot: S.padding, kind: "i8", value: s.padding === "same" ? Padding.SAME : Padding.VALID, default: 0 },
      { slot: S.stride_w, kind: "i32", value: s.stride[1], default: 0 },
      { slot: S.stride_h, kind: "i32", value: s.stride[0], default: 0 },
      { slot: S.filter_width, kind: "i32", value: s.pool[1], default: 0 },
      { slot: S.filter_height, kind: "i32", value: s.pool[0], default: 0 },
    ],
  });
}

function emitLayer(g: TfliteGraphBuilder, plan: ExportPlan, l: PlannedLayer): void {
  const s = l.spec;
  switch (s.op) {
    case "conv":
      convLayer(g, plan, l as PlannedLayer & { spec: typeof s });
      return;
    case "dense":
      denseLayer(g, l as PlannedLayer & { spec: typeof s });
      return;
    case "maxpool":
      poolLayer(g, l as PlannedLayer & { spec: typeof s });
      return;
    case "add": {
      const a = g.need(l.inputs[0]!, l.inRepr);
      const b = g.need(l.inputs[1]!, l.inRepr);
      const y = g.define(s.name, l.outRepr);
      g.op(BuiltinOperator.ADD, l.inRepr === "i8" ? 2 : 1, [a, b], [y], {
        type: BuiltinOptions.AddOptions,
        fields: [
          { slot: Slots.AddOptions.fused_activation_function, kind: "i8", value: fused(s.relu), default: 0 },
        ],
      });
      return;
    }
    case "gap": {
      // The engine's int8 average sums exactly and outputs float: MEAN over the dequantized tensor.
      const x = g.need(l.inputs[0]!, "f32");
      const axes = g.tensor(`${s.name}.axes`, [2], TensorType.INT32, undefined, bytesOf(Int32Array.of(1, 2)));
      const y = g.define(s.name, "f32");
      g.op(BuiltinOperator.MEAN, 1, [x, axes], [y], {
        type: BuiltinOptions.ReducerOptions,
        fields: [{ slot: Slots.ReducerOptions.keep_dims, kind: "bool", value: 0, default: 0 }],
      });
      return;
    }
    case "softmax": {
      const x = g.need(l.inputs[0]!, "f32");
      const y = g.define(s.name, "f32");
      g.op(BuiltinOperator.SOFTMAX, 1, [x], [y], {
        type: BuiltinOptions.SoftmaxOptions,
        fields: [{ slot: Slots.SoftmaxOptions.beta, kind: "f32", value: 1, default: 0 }],
      });
    }
  }
}

/** Writes the planned model as a `.tflite` file (bytes). */
export function writeTflite(plan: ExportPlan, options: TfliteWriteOptions = {}): Uint8Array {
  const g = new TfliteGraphBuilder(
    plan,
    options.description ?? `edge-audio ${plan.mode} export`,
    options.metadata ?? {},
  );
  g.model.inputs.push(g.define(plan.graph.input, "f32"));
  for (const l of plan.layers) emitLayer(g, plan, l);
  g.model.outputs.push(g.need(plan.output, "f32"));
  for (const name of options.extraOutputs ?? []) {
    if (!plan.shapes.has(name)) throw new ExportError(`extra output ${name} is not a tensor of the graph`);
    g.model.outputs.push(g.need(plan.root(name), "f32"));
  }
  return encodeTflite(g.model);
}
