/** gap: global average pooling, HWC -> C. */
import type { OpTemplate, Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import { asF32, asI8, block, emit, isInt8, type Lowering, need, tensor } from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

function lowerGap(s: Lowering, l: LayerOf<"gap">, p: Precision): void {
  const shape = need(s, l.input);
  s.shapes.set(l.name, gap.outputShape(l, [shape]));
  s.dtypes.set(l.name, "f32");
  const name = l.name;
  const q = isInt8(p);
  s.precision.set(name, q ? "int8" : "f32");
  const input = q ? asI8(s, l.input, name) : asF32(s, l.input);
  const common = { layer: name, hw: shape[0]! * shape[1]!, c: shape[2]!, x: tensor(input), y: tensor(name) };
  const op: OpTemplate = q
    ? { kind: "qgap", ...common, qp: block(s.qpKey.get(input)!), single: true }
    : { kind: "gap", ...common, single: true };
  emit(s, op, [input], name);
}

export function refGap(x: RefTensor): RefTensor {
  const [h, w, c] = x.shape as [number, number, number];
  const y = new Float64Array(c);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) y[ch] += x.data[p * c + ch]!;
  for (let ch = 0; ch < c; ch++) y[ch] /= h * w;
  return { shape: [c], data: y };
}

export const gap: OpDef<"gap"> = {
  validate() {},
  outputShape(l, [x]) {
    if (x!.length !== 3) throw new Error(`gap ${l.name}: input must be HWC`);
    return [x![2]!];
  },
  lower: lowerGap,
  reference: (_l, [x]) => refGap(x!),
};
