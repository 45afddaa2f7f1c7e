import { type ArchSpec, weightShapes } from "@edge-audio/engine-wasm";
import { Rng } from "./random.js";

export type WeightMap = Map<string, Float32Array>;

export interface RandomWeightOptions {
  seed?: number;
  /** Scale of the last convolution of every residual branch (keeps the residual stream bounded). */
  branchScale?: number;
  /** Biases are uniform in [-biasScale, biasScale]. */
  biasScale?: number;
  /** Standard deviation multiplier of the dense head (sharper or flatter probabilities). */
  headGain?: number;
}

/**
 * Deterministic random FP32 weights for a spec, in the export layout (conv HWIO with batch-norm
 * folded, dense [in, out]). Convs followed by ReLU get He scaling (std sqrt(2 / fanIn)), convs
 * without ReLU get sqrt(1 / fanIn), and the last conv of each residual branch is further scaled
 * by `branchScale`, so activations stay in range through ResNet-152.
 */
export function randomResNetWeights(spec: ArchSpec, options: RandomWeightOptions = {}): WeightMap {
  const { seed = 1, branchScale = 0.2, biasScale = 0.01, headGain = 4 } = options;
  const rng = new Rng(seed);
  const shapes = weightShapes(spec);
  const branchEnds = new Set<string>();
  for (const l of spec.layers) if (l.op === "add") branchEnds.add(l.inputs[0]);
  const out: WeightMap = new Map();
  for (const l of spec.layers) {
    if (l.op !== "conv" && l.op !== "dense") continue;
    const wShape = shapes.get(`${l.name}.weight`)!;
    const bShape = shapes.get(`${l.name}.bias`)!;
    const fanIn = l.op === "conv" ? wShape[0]! * wShape[1]! * wShape[2]! : wShape[0]!;
    let std: number;
    if (l.op === "dense") std = headGain / Math.sqrt(fanIn);
    else std = Math.sqrt((l.relu ? 2 : 1) / fanIn) * (branchEnds.has(l.name) ? branchScale : 1);
    const w = new Float32Array(wShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
    const b = new Float32Array(bShape[0]!);
    for (let i = 0; i < b.length; i++) b[i] = rng.uniform(-biasScale, biasScale);
    out.set(`${l.name}.weight`, w);
    out.set(`${l.name}.bias`, b);
  }
  return out;
}

/** A deterministic pseudo log-Mel crop (NHWC [1, H, W, C] flattened), roughly unit variance. */
export function randomCrop(h: number, w: number, c = 1, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(h * w * c);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}
