import { type ArchSpec, graphFromArch, inferShapes, refRunGraph } from "@edge-audio/engine-wasm";
import type { WeightMap } from "./weights.js";

/**
 * Float64 forward pass of a ResNet spec: the engine's reference of every op (`refRunGraph`), the
 * yardstick against which exported models (ONNX here) are checked. Returns every tensor by layer
 * name (conv/pool/add as NHWC [H, W, C], gap/dense/softmax as [C]).
 */
export function referenceForward(
  spec: ArchSpec,
  weights: WeightMap,
  crop: ArrayLike<number>,
): Map<string, Float64Array> {
  const inShape = inferShapes(spec).get(spec.input)!;
  if (crop.length !== inShape[0]! * inShape[1]! * inShape[2]!)
    throw new Error(`crop has ${crop.length} values, expected ${inShape.join("x")}`);
  const weight = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing`);
    return w;
  };
  const all = refRunGraph(graphFromArch(spec), weight, crop, [spec.input, ...spec.layers.map((l) => l.name)]);
  return new Map([...all].map(([name, t]) => [name, t.data]));
}
