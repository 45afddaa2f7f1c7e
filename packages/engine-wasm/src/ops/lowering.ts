/**
 * The state of the lowering pass and the helpers every op's lowering uses: emitting a call,
 * converting a tensor between f32 and int8, weight loads, indirection buffers, output tensors.
 */
import type {
  ActQuant,
  AddrRef,
  ConvGeometry,
  LoweredGraph,
  OpTemplate,
  PlanOptions,
  Precision,
  WeightLoad,
} from "../plan/types.js";

/** Lowering state: the graph being built, and what later layers need to know of earlier ones. */
export interface Lowering extends LoweredGraph {
  opts: PlanOptions;
  /** Tensor -> key of its parameter block. */
  qpKey: Map<string, string>;
  /** Dropout (and fused add) outputs -> the tensor they alias, to find calibrated parameters. */
  dropoutOf: Map<string, string>;
  /** Readers of each tensor in the graph (plus the output and kept tensors). */
  uses: Map<string, number>;
  /** Int8 conv outputs whose op can take a residual add into its epilogue. */
  fusable: Map<string, { node: number; gk: string }>;
}

export const tensor = (name: string): AddrRef => ({ tensor: name });
export const block = (key: string): AddrRef => ({ block: key });
export const weightAt = (index: number, offset = 0): AddrRef => ({ weight: index, offset });
export const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);
export const isInt8 = (p: Precision): boolean => p === "int8" || p === "int4";

/** A 3x3, stride 1, "same" (padding 1 on every side) convolution: the Winograd F(2x2,3x3) case. */
export function isWinograd3x3(g: ConvGeometry): boolean {
  return (
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.pt === 1 &&
    g.pl === 1 &&
    g.oh === g.h &&
    g.ow === g.w
  );
}

export function need(s: Lowering, n: string): number[] {
  const shape = s.shapes.get(n);
  if (!shape) throw new Error(`graph: tensor ${n} used before it is defined`);
  return shape;
}

/** Appends a kernel call; returns its node index. */
export function emit(s: Lowering, op: OpTemplate, inputs: string[], output: string): number {
  s.nodes.push({ inputs, output, op });
  return s.nodes.length - 1;
}

/** Calibrated parameters of a tensor, looked up through dropout aliases. */
export function actOf(s: Lowering, n: string): ActQuant | undefined {
  let r: string | undefined = n;
  while (r !== undefined) {
    const a = s.opts.activations?.get(r);
    if (a) return a;
    r = s.dropoutOf.get(r);
  }
  return undefined;
}

export function tensorBlock(s: Lowering, n: string, q: ActQuant): string {
  const key = `t:${n}`;
  if (!s.blocks.has(key)) s.blocks.set(key, { scale: q.scale, zeroPoint: q.zeroPoint });
  return key;
}

/** The tensor as f32 (a dequantize op when it is int8). */
export function asF32(s: Lowering, n: string): string {
  if (s.dtypes.get(n) === "f32") return n;
  const key = `${n}#f32`;
  if (s.shapes.has(key)) return key;
  s.shapes.set(key, need(s, n));
  s.dtypes.set(key, "f32");
  const op: OpTemplate = {
    kind: "dequant",
    layer: key,
    n: product(need(s, n)),
    x: tensor(n),
    y: tensor(key),
    qp: block(s.qpKey.get(n)!),
    single: false,
  };
  emit(s, op, [n], key);
  return key;
}

/** The tensor as int8 with its calibrated parameters (a quantize op when it is f32). */
export function asI8(s: Lowering, n: string, user: string): string {
  if (s.dtypes.get(n) === "i8") return n;
  const q = actOf(s, n);
  if (!q)
    throw new Error(
      `int8 layer ${user}: activation ${n} has no quantization parameters (quant.activations); quantize the model again with calibration`,
    );
  const key = `${n}#i8`;
  if (s.shapes.has(key)) return key;
  s.shapes.set(key, need(s, n));
  s.dtypes.set(key, "i8");
  s.quant.set(key, q);
  const qk = tensorBlock(s, n, q);
  s.qpKey.set(key, qk);
  const op: OpTemplate = {
    kind: "quant",
    layer: key,
    n: product(need(s, n)),
    x: tensor(n),
    y: tensor(key),
    qp: block(qk),
    single: false,
  };
  emit(s, op, [n], key);
  return key;
}

/** Registers an indirection buffer for a convolution of an f32 input; returns its reference. */
export function addIndirection(s: Lowering, input: string, geometry: ConvGeometry): AddrRef {
  s.indirection.push({ input, geometry });
  return { indirection: s.indirection.length - 1 };
}

/** Adds a weight load; returns its index. */
export function addWeights(s: Lowering, w: Omit<WeightLoad, "weight" | "bias" | "dst">): number {
  s.weights.push({ weight: `${w.layer}.weight`, bias: `${w.layer}.bias`, dst: 0, ...w });
  return s.weights.length - 1;
}

/** Sets a layer's output tensor: its shape, element type and (int8) parameters. */
export function setOutput(s: Lowering, name: string, shape: number[], q?: ActQuant): void {
  s.shapes.set(name, shape);
  if (q) {
    s.dtypes.set(name, "i8");
    s.quant.set(name, q);
  } else s.dtypes.set(name, "f32");
}

/** What a low-precision conv or dense layer computes. */
export interface LowLayer {
  name: string;
  input: string;
  g: ConvGeometry;
  cout: number;
  relu: number;
  /** Dense layer: one output pixel, single-threaded calls. */
  single: boolean;
}
