/** dense: the flattened input times a [in, units] matrix plus bias. */
import type { OpTemplate, Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import { lowerLowPrecision } from "./lower-lowp.js";
import {
  addWeights,
  asF32,
  emit,
  type Lowering,
  need,
  product,
  setOutput,
  tensor,
  weightAt,
} from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

function lowerDense(s: Lowering, l: LayerOf<"dense">, p: Precision): void {
  const cin = product(need(s, l.input));
  s.precision.set(l.name, p);
  if (p !== "f32") {
    const g = { h: 1, w: 1, cin, oh: 1, ow: 1, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0 };
    lowerLowPrecision(s, { name: l.name, input: l.input, g, cout: l.units, relu: 0, single: true }, p, [
      cin,
      l.units,
    ]);
    return;
  }
  const input = asF32(s, l.input);
  setOutput(s, l.name, [l.units]);
  const wi = addWeights(s, {
    layer: l.name,
    weightShape: [cin, l.units],
    biasShape: [l.units],
    k: cin,
    n: l.units,
    packedBytes: Math.ceil(l.units / 8) * (cin + 1) * 32,
    dtype: "f32",
    kc: cin,
    ks: 1,
  });
  s.macs += cin * l.units;
  s.params += cin * l.units + l.units;
  const op: OpTemplate = {
    kind: "gemm",
    layer: l.name,
    M: 1,
    N: l.units,
    K: cin,
    a: tensor(input),
    as: cin * 4,
    w: weightAt(wi),
    c: tensor(l.name),
    cs: l.units * 4,
    relu: 0,
    single: true,
  };
  emit(s, op, [input], l.name);
}

export function refDense(x: RefTensor, w: ArrayLike<number>, b: ArrayLike<number>, units: number): RefTensor {
  const n = x.data.length;
  const y = new Float64Array(units);
  for (let j = 0; j < units; j++) y[j] = b[j]!;
  for (let i = 0; i < n; i++) {
    const xv = x.data[i]!;
    for (let j = 0; j < units; j++) y[j] += xv * w[i * units + j]!;
  }
  return { shape: [units], data: y };
}

export const dense: OpDef<"dense"> = {
  validate(c) {
    c.count("units");
  },
  outputShape: (l) => [l.units],
  lower: lowerDense,
  reference: (l, [x], weights) =>
    refDense(x!, weights(`${l.name}.weight`), weights(`${l.name}.bias`), l.units),
};
