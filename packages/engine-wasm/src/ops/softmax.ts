/** softmax over the whole (flattened) tensor. */
import type { OpTemplate } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import { asF32, emit, type Lowering, need, product, tensor } from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

function lowerSoftmax(s: Lowering, l: LayerOf<"softmax">): void {
  const shape = need(s, l.input);
  s.shapes.set(l.name, shape);
  s.dtypes.set(l.name, "f32");
  const input = asF32(s, l.input);
  const op: OpTemplate = {
    kind: "softmax",
    layer: l.name,
    n: product(shape),
    x: tensor(input),
    y: tensor(l.name),
    single: true,
  };
  emit(s, op, [input], l.name);
}

export function refSoftmax(x: RefTensor): RefTensor {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of x.data) m = Math.max(m, v);
  const y = new Float64Array(x.data.length);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] = Math.exp(x.data[i]! - m);
  for (let i = 0; i < y.length; i++) y[i]! /= s;
  return { shape: x.shape, data: y };
}

export const softmax: OpDef<"softmax"> = {
  validate() {},
  outputShape: (_l, [x]) => x!,
  lower: lowerSoftmax,
  reference: (_l, [x]) => refSoftmax(x!),
};
