/**
 * Kernel micro-benchmarks of the engine: the wasm SIMD peak (register-only multiply-add loop),
 * square GEMMs, and every distinct convolution shape of ResNet-152 on a 1x128x130 crop, each in
 * GFLOP/s and as a fraction of the peak measured in the same run.
 */
import {
  createMemory,
  createRandomModel,
  encodeModel,
  GEMM_TILES,
  type Isa,
  instantiate,
  type KernelExports,
  kernelModule,
  loadModelFromBytes,
  randomCrop,
  splitRange,
} from "@edge-audio/engine-wasm";

/** Median-of-runs timing: repeats `fn` for at least `minMs`, `rounds` times; returns the best round's ms per call. */
export function timeIt(fn: () => void, minMs = 200, rounds = 3): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      fn();
      n++;
      t = performance.now();
    } while (t - t0 < minMs);
    best = Math.min(best, (t - t0) / n);
  }
  return best;
}

/** GFLOP/s of the register-only multiply-add loop (12 independent f32x4 chains; 4 for scalar). */
export function measurePeak(k: KernelExports, isa: Isa): number {
  const iters = 2_000_000;
  const ms = timeIt(() => k.f32_peak(iters, 1.0), 300, 5);
  const flopsPerIter = isa === "wasmsimd" ? 12 * 2 * 4 : 4 * 2;
  return (flopsPerIter * iters) / ms / 1e6;
}

export interface GemmResult {
  name: string;
  M: number;
  N: number;
  K: number;
  gflops: number;
  ofPeak: number;
}

export function benchSquareGemms(
  isa: Isa,
  peak: number,
  sizes = [64, 128, 256, 512],
  tiles = [...GEMM_TILES],
): GemmResult[] {
  const mem = createMemory(96 << 20);
  const k = instantiate(kernelModule(isa), mem);
  const f32 = new Float32Array(mem.buffer);
  const out: GemmResult[] = [];
  for (const s of sizes) {
    const [M, N, K] = [s, s, s];
    const A = 1 << 20;
    const S = A + M * K * 4 + 4096;
    const W = S + K * N * 4 + 4096;
    const C = W + (K + 1) * N * 4 + 4096;
    for (let i = 0; i < M * K; i++) f32[A / 4 + i] = Math.sin(i);
    for (let i = 0; i < K * N; i++) f32[S / 4 + i] = Math.cos(i);
    k.f32_pack_weights(K, N, S, S, W);
    for (const tile of tiles) {
      const ms = timeIt(() => k.f32_gemm_run(tile, 0, M, 0, N, K, A, K * 4, W, C, N * 4, 0), 150, 3);
      const gflops = (2 * M * N * K) / ms / 1e6;
      out.push({ name: `f32-gemm-${tile}x8-${isa}`, M, N, K, gflops, ofPeak: gflops / peak });
    }
  }
  return out;
}

export interface ConvShapeResult {
  kernel: string;
  layers: string[];
  /** Output H x W, Cin -> Cout, kernel, stride. */
  shape: string;
  macs: number;
  ms: number;
  gflops: number;
  ofPeak: number;
  /** Share of all conv time in one forward pass (ms * count). */
  totalMs: number;
}

/** Times every distinct conv shape of a ResNet on one thread, through the planned kernel calls. */
export async function benchConvShapes(
  depth: 18 | 34 | 50 | 101 | 152,
  isa: Isa,
  peak: number,
  tile?: number,
): Promise<ConvShapeResult[]> {
  const c = createRandomModel({ depth }, 1);
  const model = await loadModelFromBytes(encodeModel(c), { threads: 1, isa, tile });
  model.run(randomCrop(model.inputSize));
  const k = model.kernelExports;
  const t = model.info().tile;
  const convs = new Map(c.graph.layers.filter((l) => l.op === "conv").map((l) => [l.name, l]));
  const groups = new Map<
    string,
    { ops: typeof model.plan.ops; layers: string[]; shape: string; macs: number }
  >();
  for (const op of model.plan.ops) {
    if (op.kind !== "gemm" && op.kind !== "igemm") continue;
    const l = convs.get(op.layer);
    if (!l) continue;
    const ks = op.kind === "igemm" ? op.ks : 1;
    const [oh, ow] = model.plan.tensors.get(op.layer)!.shape as [number, number];
    const shape = `${oh}x${ow} ${op.K}->${op.N} k${l.kernel[0]}x${l.kernel[1]} s${l.stride[0]}`;
    const key = `${op.kind} ${shape}`;
    const g = groups.get(key) ?? { ops: [], layers: [], shape, macs: op.M * op.N * op.K * ks };
    g.ops.push(op);
    g.layers.push(op.layer);
    groups.set(key, g);
  }
  const results: ConvShapeResult[] = [];
  for (const [key, g] of groups) {
    const op = g.ops[0]!;
    if (op.kind !== "gemm" && op.kind !== "igemm") continue;
    const [m0, m1] = splitRange(op.M, 1, 0, t);
    const call =
      op.kind === "gemm"
        ? () => k.f32_gemm_run(t, m0, m1, 0, op.N, op.K, op.a, op.as, op.w, op.c, op.cs, op.relu)
        : () => k.f32_igemm_run(t, m0, m1, 0, op.N, op.K, op.ks, op.ind, op.w, op.c, op.cs, op.relu);
    const ms = timeIt(call, 60, 3);
    const gflops = (2 * g.macs) / ms / 1e6;
    results.push({
      kernel: `f32-${key.split(" ")[0]}-${t}x8-${isa}`,
      layers: g.layers,
      shape: g.shape,
      macs: g.macs,
      ms,
      gflops,
      ofPeak: gflops / peak,
      totalMs: ms * g.layers.length,
    });
  }
  await model.dispose();
  return results;
}
