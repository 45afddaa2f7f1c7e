/**
 * Float64 reference of a whole graph, through each op's reference in the registry (src/ops:
 * NHWC, HWIO weights, TensorFlow padding). Straightforward loops, written for clarity; the
 * kernels are tested against these.
 */
import type { EamGraph, TensorData } from "./format.js";
import { isKnownOp, layerInputs, opDef } from "./ops/index.js";

export { refAdd } from "./ops/add.js";
export { refConv2d } from "./ops/conv.js";
export { refDense } from "./ops/dense.js";
export { refGap } from "./ops/gap.js";
export { refMaxPool } from "./ops/maxpool.js";
export { refSoftmax } from "./ops/softmax.js";
export {
  clampI8,
  type QuantConvCase,
  refDynamicParams,
  refQuantAdd,
  refQuantConv,
  refQuantGap,
  refQuantize,
  roundHalfEven,
} from "./quant-reference.js";

export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

/** Runs a whole graph in float64; returns every tensor (or only `keep` ones plus the output). */
export function refRunGraph(
  graph: EamGraph,
  weights: (name: string) => TensorData,
  input: ArrayLike<number>,
  keep?: string[],
): Map<string, RefTensor> {
  const env = new Map<string, RefTensor>();
  env.set(graph.input, { shape: graph.inputShape, data: Float64Array.from(input) });
  // Free tensors after their last use unless kept.
  const lastUse = new Map<string, number>();
  graph.layers.forEach((l, i) => {
    for (const x of layerInputs(l)) lastUse.set(x, i);
  });
  const kept = new Set(keep ?? []);
  graph.layers.forEach((l, i) => {
    const get = (n: string): RefTensor => env.get(n)!;
    if (!isKnownOp(l.op)) throw new Error(`unsupported op ${(l as { op: string }).op}`);
    const y = opDef(l.op).reference(l, layerInputs(l).map(get), weights);
    env.set(l.name, y);
    if (keep) {
      for (const x of layerInputs(l)) {
        if (lastUse.get(x) === i && !kept.has(x) && x !== graph.output) env.delete(x);
      }
    }
  });
  return env;
}

/** Normalized mean squared error sum((a-b)^2) / sum(b^2) of `a` against the reference `b`. */
export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`nmse: lengths ${a.length} and ${b.length} differ`);
  let e = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    e += d * d;
    r += b[i]! * b[i]!;
  }
  if (r === 0) return e === 0 ? 0 : Number.POSITIVE_INFINITY;
  return e / r;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
