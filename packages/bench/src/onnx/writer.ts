import { type ArchSpec, inferShapes, padding1d, weightShapes } from "@edge-audio/engine-wasm";
import onnxProto from "onnx-proto";
import type { WeightMap } from "./weights.js";

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Opset the graph is written against (Softmax with `axis` on the last dim, Gemm, explicit pads). */
export const ONNX_OPSET = 13;
/** ONNX IR version written (onnx 1.10). */
export const ONNX_IR_VERSION = 8;

export interface OnnxWriteOptions {
  /** Graph name and `producer_name` extras. */
  graphName?: string;
  /**
   * Extra graph outputs, by layer name (e.g. "head.dense" for the logits). Conv/add/pool outputs
   * are exposed in ONNX's NCHW layout; "head.gap" and "head.dense" as [1, C].
   */
  extraOutputs?: string[];
  /** Metadata written into `metadata_props` (the arch config is always written). */
  metadata?: Record<string, string>;
}

const ints = (name: string, values: number[]): IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX raw_data is little-endian. */
function floatTensor(name: string, dims: number[], data: Float32Array): ITensorProto {
  let le: Uint8Array;
  if (LITTLE_ENDIAN) {
    le = new Uint8Array(data.byteLength);
    le.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else {
    le = new Uint8Array(data.length * 4);
    const dv = new DataView(le.buffer);
    for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
  }
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: le };
}

function int64Tensor(name: string, values: number[]): ITensorProto {
  const le = new Uint8Array(values.length * 8);
  const dv = new DataView(le.buffer);
  values.forEach((v, i) => {
    dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: le };
}

function valueInfo(name: string, dims: number[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => ({ dimValue: d })) },
      },
    },
  };
}

/** HWIO [kh, kw, cin, cout] -> OIHW [cout, cin, kh, kw]. */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w[src + o]!;
      }
  return out;
}

/** Checks that every weight the spec needs is present with the right element count. */
export function checkWeights(spec: ArchSpec, weights: WeightMap): void {
  const problems: string[] = [];
  for (const [key, shape] of weightShapes(spec)) {
    const w = weights.get(key);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!w) problems.push(`missing ${key} [${shape.join(",")}]`);
    else if (w.length !== n)
      problems.push(`${key} has ${w.length} values, expected ${n} [${shape.join(",")}]`);
  }
  if (problems.length) throw new Error(`weights do not match the architecture: ${problems.join("; ")}`);
}

/**
 * Writes the ResNet described by `spec` with the given FP32 weights as an ONNX model.
 * Input "input": NHWC float [1, H, W, C] (the log-Mel crop); output: the spec's output name,
 * [1, numClasses] probabilities. TF "same" padding becomes explicit (possibly asymmetric) pads.
 */
export function writeResNetOnnx(
  spec: ArchSpec,
  weights: WeightMap,
  options: OnnxWriteOptions = {},
): Uint8Array {
  checkWeights(spec, weights);
  const c = spec.config;
  const shapes = inferShapes(spec);
  const nodes: INodeProto[] = [];
  const initializers: ITensorProto[] = [];
  /** Spec tensor name -> ONNX tensor name (dropout is an alias). */
  const alias = new Map<string, string>();
  const ref = (n: string): string => alias.get(n) ?? n;
  const node = (
    opType: string,
    name: string,
    input: string[],
    output: string[],
    attribute: IAttributeProto[] = [],
  ) => nodes.push({ opType, name, input, output, attribute });

  // NHWC -> NCHW. With one channel this is a pure reshape (no data movement).
  const nchw = `${spec.input}.nchw`;
  if (c.inChannels === 1) {
    initializers.push(int64Tensor(`${nchw}.shape`, [1, 1, c.inputHeight, c.inputWidth]));
    node("Reshape", nchw, [spec.input, `${nchw}.shape`], [nchw]);
  } else {
    node("Transpose", nchw, [spec.input], [nchw], [ints("perm", [0, 3, 1, 2])]);
  }
  alias.set(spec.input, nchw);

  for (const l of spec.layers) {
    switch (l.op) {
      case "conv":
      case "maxpool": {
        const [h, w, cin] = shapes.get(l.input) as [number, number, number];
        const k = l.op === "conv" ? l.kernel : l.pool;
        const ph = padding1d(l.padding, h, k[0], l.stride[0]);
        const pw = padding1d(l.padding, w, k[1], l.stride[1]);
        const attrs = [
          ints("kernel_shape", [k[0], k[1]]),
          ints("strides", [l.stride[0], l.stride[1]]),
          ints("pads", [ph.before, pw.before, ph.after, pw.after]),
        ];
        if (l.op === "maxpool") {
          // Padded cells never win the max in ONNX MaxPool: TF "same" pooling semantics.
          node("MaxPool", l.name, [ref(l.input)], [l.name], attrs);
          break;
        }
        const wt = weights.get(`${l.name}.weight`)!;
        initializers.push(
          floatTensor(
            `${l.name}.weight`,
            [l.filters, cin, k[0], k[1]],
            hwioToOihw(wt, k[0], k[1], cin, l.filters),
          ),
          floatTensor(`${l.name}.bias`, [l.filters], weights.get(`${l.name}.bias`)!),
        );
        attrs.push(ints("dilations", [1, 1]), int("group", 1));
        const convOut = l.relu ? `${l.name}.preact` : l.name;
        node(
          "Conv",
          `${l.name}.conv`,
          [ref(l.input), `${l.name}.weight`, `${l.name}.bias`],
          [convOut],
          attrs,
        );
        if (l.relu) node("Relu", `${l.name}.relu`, [convOut], [l.name]);
        break;
      }
      case "add": {
        const sum = l.relu ? `${l.name}.sum` : l.name;
        node("Add", l.name, [ref(l.inputs[0]), ref(l.inputs[1])], [sum]);
        if (l.relu) node("Relu", `${l.name}.relu`, [sum], [l.name]);
        break;
      }
      case "gap":
        node("GlobalAveragePool", `${l.name}.pool`, [ref(l.input)], [`${l.name}.nc11`]);
        node("Flatten", l.name, [`${l.name}.nc11`], [l.name], [int("axis", 1)]);
        break;
      case "dropout":
        alias.set(l.name, ref(l.input)); // identity at inference
        break;
      case "dense":
        initializers.push(
          floatTensor(
            `${l.name}.weight`,
            [shapes.get(l.input)![0]!, l.units],
            weights.get(`${l.name}.weight`)!,
          ),
          floatTensor(`${l.name}.bias`, [l.units], weights.get(`${l.name}.bias`)!),
        );
        node(
          "Gemm",
          l.name,
          [ref(l.input), `${l.name}.weight`, `${l.name}.bias`],
          [l.name],
          [int("transA", 0), int("transB", 0)],
        );
        break;
      case "softmax":
        node("Softmax", l.name, [ref(l.input)], [l.name], [int("axis", 1)]);
        break;
    }
  }

  const outputs: IValueInfoProto[] = [valueInfo(ref(spec.output), [1, c.numClasses])];
  for (const name of options.extraOutputs ?? []) {
    const s = shapes.get(name);
    if (!s) throw new Error(`extra output "${name}" is not a layer of the spec`);
    const dims = s.length === 3 ? [1, s[2]!, s[0]!, s[1]!] : [1, ...s];
    outputs.push(valueInfo(ref(name), dims));
  }
  const metadata: Record<string, string> = { arch: JSON.stringify(c), ...options.metadata };
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "edge-audio",
    producerVersion: "0.1.0",
    modelVersion: 1,
    docString: `ResNet-${c.depth} width ${c.width}, ${c.numClasses} classes, input NHWC [1,${c.inputHeight},${c.inputWidth},${c.inChannels}]`,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.graphName ?? `resnet${c.depth}`,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(spec.input, [1, c.inputHeight, c.inputWidth, c.inChannels])],
      output: outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
