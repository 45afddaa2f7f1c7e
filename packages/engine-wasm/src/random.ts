/** Seeded random-weight models of any depth and width, so tests and benchmarks need no training. */
import { type ArchConfig, defaultArchConfig, resnetSpec, weightShapes } from "./arch.js";
import { graphFromArch, type ModelContents, writeModel } from "./format.js";

/** Small, fast, seedable PRNG (mulberry32). Returns uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with uniform values of standard deviation `std`. */
export function fillUniform(out: Float32Array, std: number, rand: () => number): Float32Array {
  const a = std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 2 - 1) * a;
  return out;
}

/**
 * Builds a model with random weights: He-scaled convolutions (the last convolution of each
 * residual branch scaled down, as a folded batch-norm with small gamma would be, so activations
 * stay bounded through deep networks), small random biases, Glorot-scaled dense head.
 * The same config and seed always give the same bytes (except the provenance date).
 */
export function createRandomModel(config: Partial<ArchConfig> = {}, seed = 1): ModelContents {
  const arch = defaultArchConfig(config);
  const spec = resnetSpec(arch);
  const rand = mulberry32(seed);
  const tensors: ModelContents["tensors"] = [];
  const residualLast = new Set<string>();
  for (const l of spec.layers) if (l.op === "add") residualLast.add(`${l.inputs[0]}.weight`);
  // Smaller residual branches in deeper networks keep the activation scale similar across depths.
  const residualScale = 0.3 * Math.sqrt(8 / residualLast.size);
  for (const [name, shape] of weightShapes(spec)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith(".bias")) {
      fillUniform(data, 0.05, rand);
    } else if (shape.length === 4) {
      const fanIn = shape[0]! * shape[1]! * shape[2]!;
      fillUniform(data, Math.sqrt(2 / fanIn) * (residualLast.has(name) ? residualScale : 1), rand);
    } else {
      fillUniform(data, Math.sqrt(2 / (shape[0]! + shape[1]!)) * 2, rand);
    }
    tensors.push({ name, dtype: "f32", shape, data });
  }
  return {
    graph: graphFromArch(spec),
    arch,
    tensors,
    labels: Array.from({ length: arch.numClasses }, (_, i) => `class${i}`),
    provenance: {
      architecture: `resnet${arch.depth}`,
      trainingData: "none (random weights)",
      notes: `random weights, seed ${seed}`,
      tools: { "@edge-audio/engine-wasm": "0.1.0" },
    },
  };
}

/** Writes a random-weight model straight to a `.eam` file. */
export function writeRandomModel(
  path: string,
  config: Partial<ArchConfig> = {},
  seed = 1,
): { bytes: number } {
  return writeModel(path, createRandomModel(config, seed));
}

/** A deterministic pseudo log-Mel crop (values roughly in [-1, 1]) for tests and benchmarks. */
export function randomCrop(n: number, seed = 7): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rand() * 2 - 1;
  return x;
}
