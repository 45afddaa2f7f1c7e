/**
 * `.eam` -> ONNX (opset 13, IR 8). FP32 layers are plain Conv / MaxPool / Add / Gemm nodes;
 * quantized layers use the QDQ form that onnxruntime fuses into its int8 kernels: int8 tensors
 * are QuantizeLinear outputs (signed int8, our scales and zero points), every int8 layer reads
 * them through DequantizeLinear, weights are int8 initializers through DequantizeLinear
 * (per-channel along the output channel, or per tensor), biases of int8 layers int32 at scale
 * sx * sw[c]. f16 weights are FLOAT16 initializers cast to float; dynamic layers quantize their
 * input at run time with DynamicQuantizeLinear (asymmetric, min/max with 0, as the engine does).
 * Activations are NCHW inside the graph; the input stays NHWC [1, H, W, C].
 */
import { type ArchSpec, graphFromArch, padding1d, weightShapes } from "@edge-audio/engine-wasm";
import { HWIO_TO_OIHW, permute } from "../layout.js";
import {
  ExportError,
  type ExportPlan,
  type LayerWeights,
  type PlannedLayer,
  planExport,
  type Repr,
  sourceFromWeights,
} from "../plan.js";
import {
  type IAttributeProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
  int,
  int64Tensor,
  ints,
  onnx,
  tensorProto,
  valueInfo,
} from "./proto.js";

/** Opset the graph is written against (per-axis DequantizeLinear, Softmax on the last dim). */
export const ONNX_OPSET = 13;
/** ONNX IR version written (onnx 1.10). */
export const ONNX_IR_VERSION = 8;

export interface OnnxWriteOptions {
  /** Graph name. */
  graphName?: string;
  /**
   * Extra graph outputs, by layer name (e.g. "head.dense" for the logits), as float: conv, add and
   * pool outputs in ONNX's NCHW layout, "head.gap" and "head.dense" as [1, C].
   */
  extraOutputs?: string[];
  /** Metadata written into `metadata_props`. */
  metadata?: Record<string, string>;
}

class OnnxGraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  /** ONNX tensor name of each (tensor, representation) written so far. */
  private readonly names = new Map<string, string>();
  private readonly produced = new Map<string, Repr>();
  private dq = 0;

  constructor(private readonly plan: ExportPlan) {}

  node(opType: string, name: string, input: string[], output: string[], attribute: IAttributeProto[] = []) {
    this.nodes.push({ opType, name, input, output, attribute });
  }

  /** Scale and zero point initializers of an int8 activation; returns their names. */
  actParams(tensor: string): [string, string] {
    const s = `${tensor}.scale`;
    if (!this.initializers.some((i) => i.name === s)) {
      const q = this.plan.int8.get(tensor)!;
      this.initializers.push(
        tensorProto(s, [], Float32Array.of(q.scale)),
        tensorProto(`${tensor}.zero_point`, [], Int8Array.of(q.zeroPoint)),
      );
    }
    return [s, `${tensor}.zero_point`];
  }

  define(name: string, repr: Repr, onnxName = name): string {
    this.names.set(`${name}:${repr}`, onnxName);
    this.produced.set(name, repr);
    return onnxName;
  }

  /**
   * The ONNX name of `name` as float (for an int8 tensor: a DequantizeLinear of its own, the QDQ
   * form onnxruntime fuses) or as int8 (a QuantizeLinear of the float tensor, written once).
   */
  need(name: string, repr: Repr): string {
    const from = this.produced.get(name);
    if (from === undefined) throw new ExportError(`tensor ${name} is read before it is written`);
    if (repr === "f32" && from === "i8") {
      const out = `${name}.dq${this.dq++}`;
      this.node("DequantizeLinear", out, [this.names.get(`${name}:i8`)!, ...this.actParams(name)], [out]);
      return out;
    }
    const have = this.names.get(`${name}:${repr}`);
    if (have !== undefined) return have;
    const out = `${name}.q`;
    this.node("QuantizeLinear", out, [this.names.get(`${name}:f32`)!, ...this.actParams(name)], [out]);
    return this.define(name, "i8", out);
  }

  /** A float input of a layer: for an int8 layer the dequantized int8 tensor (quantized first if needed). */
  read(name: string, repr: Repr): string {
    if (repr === "i8") this.need(name, "i8");
    return this.need(name, "f32");
  }

  /** Quantizes a float result into the int8 tensor `name` (QuantizeLinear). */
  quantizeOutput(floatName: string, name: string): void {
    const out = `${name}.q`;
    this.node("QuantizeLinear", out, [floatName, ...this.actParams(name)], [out]);
    this.define(name, "i8", out);
  }
}

/** Float weights for a Conv (OIHW) or Gemm (B = [in, out]) input, through DQ or Cast as needed. */
function weightInput(g: OnnxGraphBuilder, l: PlannedLayer, w: LayerWeights): string {
  const conv = l.spec.op === "conv";
  const perm = conv ? HWIO_TO_OIHW : [0, 1];
  const dims = perm.map((p) => w.shape[p]!);
  const name = `${l.spec.name}.weight`;
  if (w.kind === "f32") {
    g.initializers.push(tensorProto(name, dims, conv ? permute(w.data, w.shape, perm) : w.data));
    return name;
  }
  if (w.kind === "f16") {
    g.initializers.push(tensorProto(`${name}.f16`, dims, conv ? permute(w.bits, w.shape, perm) : w.bits));
    g.node("Cast", `${name}.cast`, [`${name}.f16`], [name], [int("to", onnx.TensorProto.DataType.FLOAT)]);
    return name;
  }
  const perChannel = w.scales.length > 1;
  const n = perChannel ? w.scales.length : 1;
  g.initializers.push(
    tensorProto(`${name}.q`, dims, conv ? permute(w.q, w.shape, perm) : w.q),
    tensorProto(`${name}.scale`, perChannel ? [n] : [], w.scales),
    tensorProto(`${name}.zero_point`, perChannel ? [n] : [], new Int8Array(n)),
  );
  // Output channel: axis 0 of OIHW, axis 1 of the dense [in, out].
  const axis = perChannel ? [int("axis", conv ? 0 : 1)] : [];
  g.node(
    "DequantizeLinear",
    `${name}.dq`,
    [`${name}.q`, `${name}.scale`, `${name}.zero_point`],
    [name],
    axis,
  );
  return name;
}

/** Bias input: f32, or for a layer with an int8 input int32 at the accumulator scale through DQ. */
function biasInput(g: OnnxGraphBuilder, plan: ExportPlan, l: PlannedLayer): string {
  const name = `${l.spec.name}.bias`;
  const w = l.weights!;
  if (l.inRepr !== "i8" || w.kind !== "i8" || l.outRepr !== "i8") {
    g.initializers.push(tensorProto(name, [l.bias!.length], l.bias!));
    return name;
  }
  const sx = plan.int8.get(l.inputs[0]!)!.scale;
  const b = l.bias!;
  const q = new Int32Array(b.length);
  const scale = new Float32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    scale[c] = Math.fround(sx * w.scales[w.scales.length === 1 ? 0 : c]!);
    q[c] = Math.round(b[c]! / scale[c]!);
    if (!(Math.abs(q[c]!) < 2 ** 31 - 1) || !Number.isFinite(b[c]! / scale[c]!))
      throw new ExportError(
        `layer ${l.spec.name}: bias ${b[c]} does not fit int32 at the accumulator scale ${scale[c]}`,
      );
  }
  g.initializers.push(
    tensorProto(`${name}.q`, [b.length], q),
    tensorProto(`${name}.scale`, [b.length], scale),
    tensorProto(`${name}.zero_point`, [b.length], new Int32Array(b.length)),
  );
  g.node(
    "DequantizeLinear",
    `${name}.dq`,
    [`${name}.q`, `${name}.scale`, `${name}.zero_point`],
    [name],
    [int("axis", 0)],
  );
  return name;
}

/** The float input of a conv/dense layer: dynamic layers fake-quantize it with run-time parameters. */
function layerInput(g: OnnxGraphBuilder, l: PlannedLayer): string {
  const x = g.read(l.inputs[0]!, l.inRepr);
  if (l.precision !== "dynamic") return x;
  const n = `${l.spec.name}.input`;
  g.node("DynamicQuantizeLinear", `${n}.dql`, [x], [`${n}.u8`, `${n}.scale`, `${n}.zero_point`]);
  g.node("DequantizeLinear", `${n}.dq`, [`${n}.u8`, `${n}.scale`, `${n}.zero_point`], [n]);
  return n;
}

/** Writes a float result `value` (before ReLU) as the layer's output in its representation. */
function finish(g: OnnxGraphBuilder, l: PlannedLayer, value: string, relu: boolean): void {
  const name = l.spec.name;
  const f = l.outRepr === "i8" ? `${name}.float` : name;
  if (relu) g.node("Relu", `${name}.relu`, [value], [f]);
  if (l.outRepr === "i8") g.quantizeOutput(relu ? f : value, name);
  else g.define(name, "f32", relu ? f : value);
}

function windowAttrs(
  plan: ExportPlan,
  l: PlannedLayer & { spec: { op: "conv" | "maxpool" } },
): IAttributeProto[] {
  const s = l.spec;
  const [h, w] = plan.shapes.get(l.inputs[0]!)! as [number, number];
  const k = s.op === "conv" ? s.kernel : s.pool;
  const ph = padding1d(s.padding, h, k[0], s.stride[0]);
  const pw = padding1d(s.padding, w, k[1], s.stride[1]);
  return [
    ints("kernel_shape", [k[0], k[1]]),
    ints("strides", [s.stride[0], s.stride[1]]),
    ints("pads", [ph.before, pw.before, ph.after, pw.after]),
  ];
}

function emitLayer(g: OnnxGraphBuilder, plan: ExportPlan, l: PlannedLayer): void {
  const s = l.spec;
  const pre = (relu: boolean) => (relu || l.outRepr === "i8" ? `${s.name}.preact` : s.name);
  switch (s.op) {
    case "conv": {
      const x = layerInput(g, l);
      const w = weightInput(g, l, l.weights!);
      const b = biasInput(g, plan, l);
      const attrs = [
        ...windowAttrs(plan, l as PlannedLayer & { spec: typeof s }),
        ints("dilations", [1, 1]),
        int("group", 1),
      ];
      g.node("Conv", `${s.name}.conv`, [x, w, b], [pre(s.relu)], attrs);
      finish(g, l, pre(s.relu), s.relu);
      return;
    }
    case "maxpool": {
      // Padded cells never win the max in ONNX MaxPool: TF "same" pooling semantics.
      const x = g.read(l.inputs[0]!, l.inRepr);
      g.node("MaxPool", s.name, [x], [pre(false)], windowAttrs(plan, l as PlannedLayer & { spec: typeof s }));
      finish(g, l, pre(false), false);
      return;
    }
    case "add": {
      const a = g.read(l.inputs[0]!, l.inRepr);
      const b = g.read(l.inputs[1]!, l.inRepr);
      const sum = s.relu || l.outRepr === "i8" ? `${s.name}.sum` : s.name;
      g.node("Add", s.name, [a, b], [sum]);
      finish(g, l, sum, s.relu);
      return;
    }
    case "gap": {
      const x = g.read(l.inputs[0]!, l.inRepr);
      g.node("GlobalAveragePool", `${s.name}.pool`, [x], [`${s.name}.nc11`]);
      g.node("Flatten", s.name, [`${s.name}.nc11`], [s.name], [int("axis", 1)]);
      g.define(s.name, "f32");
      return;
    }
    case "dense": {
      const x = layerInput(g, l);
      const w = weightInput(g, l, l.weights!);
      const b = biasInput(g, plan, l);
      g.node("Gemm", s.name, [x, w, b], [s.name], [int("transA", 0), int("transB", 0)]);
      g.define(s.name, "f32");
      return;
    }
    case "softmax":
      g.node("Softmax", s.name, [g.need(l.inputs[0]!, "f32")], [s.name], [int("axis", 1)]);
      g.define(s.name, "f32");
  }
}

/** Graph input: NHWC [1, H, W, C], made NCHW (a pure reshape with one channel). */
function inputNode(g: OnnxGraphBuilder, plan: ExportPlan): void {
  const [h, w, c] = plan.graph.inputShape as [number, number, number];
  const input = plan.graph.input;
  const nchw = `${input}.nchw`;
  if (c === 1) {
    g.initializers.push(int64Tensor(`${nchw}.shape`, [1, 1, h, w]));
    g.node("Reshape", nchw, [input, `${nchw}.shape`], [nchw]);
  } else {
    g.node("Transpose", nchw, [input], [nchw], [ints("perm", [0, 3, 1, 2])]);
  }
  g.define(input, "f32", nchw);
}

function outputInfo(g: OnnxGraphBuilder, plan: ExportPlan, name: string): IValueInfoProto {
  const s = plan.shapes.get(name);
  if (!s) throw new ExportError(`extra output "${name}" is not a layer of the graph`);
  const dims = s.length === 3 ? [1, s[2]!, s[0]!, s[1]!] : [1, ...s];
  return valueInfo(g.need(plan.root(name), "f32"), dims);
}

/** Writes the planned model as ONNX bytes. */
export function writeOnnx(plan: ExportPlan, options: OnnxWriteOptions = {}): Uint8Array {
  const g = new OnnxGraphBuilder(plan);
  inputNode(g, plan);
  for (const l of plan.layers) emitLayer(g, plan, l);
  const outputs = [valueInfo(g.need(plan.output, "f32"), [1, plan.shapes.get(plan.output)![0]!])];
  for (const name of options.extraOutputs ?? []) outputs.push(outputInfo(g, plan, name));
  const [h, w, c] = plan.graph.inputShape as [number, number, number];
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "edge-audio",
    producerVersion: "0.1.0",
    modelVersion: 1,
    docString: `edge-audio ${plan.mode} export, input NHWC [1,${h},${w},${c}]`,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.graphName ?? "edge-audio",
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(plan.graph.input, [1, h, w, c])],
      output: outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Checks that every weight the spec needs is present with the right element count. */
export function checkWeights(spec: ArchSpec, weights: Map<string, Float32Array>): void {
  const problems: string[] = [];
  for (const [key, shape] of weightShapes(spec)) {
    const w = weights.get(key);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!w) problems.push(`missing ${key} [${shape.join(",")}]`);
    else if (w.length !== n)
      problems.push(`${key} has ${w.length} values, expected ${n} [${shape.join(",")}]`);
  }
  if (problems.length) throw new ExportError(`weights do not match the architecture: ${problems.join("; ")}`);
}

/**
 * The FP32 ResNet described by `spec` with the given weights (conv HWIO, dense [in, out]) as
 * ONNX. Input "input": NHWC float [1, H, W, C]; output: the spec's output name, probabilities.
 * `metadata_props` carries `arch` (the ArchConfig JSON).
 */
export function writeResNetOnnx(
  spec: ArchSpec,
  weights: Map<string, Float32Array>,
  options: OnnxWriteOptions = {},
): Uint8Array {
  checkWeights(spec, weights);
  const plan = planExport(sourceFromWeights(graphFromArch(spec), weights));
  const c = spec.config;
  return writeOnnx(plan, {
    graphName: `resnet${c.depth}`,
    ...options,
    metadata: { arch: JSON.stringify(c), ...options.metadata },
  });
}
