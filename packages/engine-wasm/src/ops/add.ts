/** add: elementwise sum of two tensors of one shape, optional ReLU; int8 fuses into a conv's epilogue. */
import type { ActQuant, OpTemplate, Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import {
  actOf,
  asF32,
  asI8,
  block,
  emit,
  isInt8,
  type Lowering,
  need,
  product,
  tensor,
  tensorBlock,
} from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

/**
 * Residual add fused into the epilogue of the int8 conv that produces one input, when that conv
 * has no other reader and the other input is already int8 (and exists before the conv runs).
 * Returns whether it fused.
 */
function fuseResidualAdd(s: Lowering, l: LayerOf<"add">, qy: ActQuant): boolean {
  const name = l.name;
  const fuse = [0, 1]
    .map((i) => ({ t: l.inputs[i]!, r: l.inputs[1 - i]! }))
    .find(
      ({ t, r }) =>
        s.fusable.has(t) &&
        s.uses.get(t) === 1 &&
        t !== r &&
        s.dtypes.get(r) === "i8" &&
        s.qpKey.has(r) &&
        s.nodes.findIndex((n) => n.output === r) < s.fusable.get(t)!.node,
    );
  if (!fuse) return false;
  const { t, r } = fuse;
  const f = s.fusable.get(t)!;
  s.fusable.delete(t);
  s.blocks.get(f.gk)!.out = qy;
  const producer = s.nodes[f.node]!;
  const op = producer.op as Extract<OpTemplate, { kind: "qgemm" | "qwino_gemm" | "rgemm" }>;
  producer.op = { ...op, relu: l.relu ? 1 : 0, rq: block(s.qpKey.get(r)!), rd: { distance: [r, t] } };
  producer.inputs.push(r);
  // t now holds the sum, quantized with the add's parameters.
  s.quant.set(t, qy);
  s.blocks.set(`t:${t}`, { scale: qy.scale, zeroPoint: qy.zeroPoint });
  s.qpKey.set(t, `t:${t}`);
  s.dtypes.set(name, "i8");
  s.quant.set(name, qy);
  s.qpKey.set(name, s.qpKey.get(t)!);
  s.dropoutOf.set(name, t);
  s.nodes.push({ inputs: [t], output: name, op: null });
  return true;
}

function lowerAdd(s: Lowering, l: LayerOf<"add">, p: Precision): void {
  const a = add.outputShape(l, [need(s, l.inputs[0]), need(s, l.inputs[1])]);
  s.shapes.set(l.name, a);
  const n = product(a);
  const name = l.name;
  const relu = l.relu ? 1 : 0;
  if (!isInt8(p)) {
    s.precision.set(name, "f32");
    const ia = asF32(s, l.inputs[0]);
    const ib = asF32(s, l.inputs[1]);
    s.dtypes.set(name, "f32");
    const op: OpTemplate = {
      kind: "add",
      layer: name,
      n,
      a: tensor(ia),
      b: tensor(ib),
      y: tensor(name),
      relu,
      single: false,
    };
    emit(s, op, [ia, ib], name);
    return;
  }
  s.precision.set(name, "int8");
  const qy = actOf(s, name);
  if (!qy)
    throw new Error(
      `int8 layer ${name}: its output has no quantization parameters (quant.activations); quantize the model again with calibration`,
    );
  if (fuseResidualAdd(s, l, qy)) return;
  const ia = asI8(s, l.inputs[0], name);
  const ib = asI8(s, l.inputs[1], name);
  s.dtypes.set(name, "i8");
  s.quant.set(name, qy);
  const ky = tensorBlock(s, name, qy);
  s.qpKey.set(name, ky);
  const op: OpTemplate = {
    kind: "qadd",
    layer: name,
    n,
    a: tensor(ia),
    b: tensor(ib),
    y: tensor(name),
    qa: block(s.qpKey.get(ia)!),
    qb: block(s.qpKey.get(ib)!),
    qy: block(ky),
    relu,
    single: false,
  };
  emit(s, op, [ia, ib], name);
}

export function refAdd(a: RefTensor, b: RefTensor, relu: boolean): RefTensor {
  const y = new Float64Array(a.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = a.data[i]! + b.data[i]!;
    y[i] = relu ? Math.max(0, v) : v;
  }
  return { shape: a.shape, data: y };
}

export const add: OpDef<"add"> = {
  validate(c) {
    c.flag("relu");
  },
  outputShape(l, [a, b]) {
    if (a!.join() !== b!.join()) throw new Error(`add ${l.name}: shapes [${a}] and [${b}] differ`);
    return a!;
  },
  lower: lowerAdd,
  reference: (l, [a, b]) => refAdd(a!, b!, l.relu),
};
