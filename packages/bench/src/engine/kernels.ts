/**
 * Kernel micro-benchmarks of the engine: the wasm SIMD peak (register-only multiply-add loop),
 * square GEMMs, and every distinct convolution shape of ResNet-152 on a 1x128x130 crop, each in
 * GFLOP/s and as a fraction of the peak measured in the same run.
 */
import {
  buildSteps,
  createMemory,
  createRandomModel,
  encodeModel,
  GEMM_TILES,
  type Isa,
  instantiate,
  type KernelExports,
  kernelModule,
  loadModelFromBytes,
  type ModelContents,
  randomCrop,
  toF16Array,
  type WinogradTileChoice,
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
export function measurePeak(k: KernelExports, isa: Isa, minMs = 300, rounds = 5): number {
  const iters = 1_000_000;
  const ms = timeIt(() => k.f32_peak(iters, 1.0), minMs, rounds);
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
  /** Peak used for ofPeak (measured right before this kernel). */
  peak: number;
}

/**
 * The operands of a square s x s x s f32 GEMM in wasm memory: A (sin(i)) at 1 MiB, the packed
 * weights W (cos(i), biases from the same values) and the output C after them.
 */
export function placeSquareGemm(
  k: KernelExports,
  mem: ReturnType<typeof createMemory>,
  s: number,
): { A: number; W: number; C: number } {
  const f32 = new Float32Array(mem.buffer);
  const A = 1 << 20;
  const S = A + s * s * 4 + 4096;
  const W = S + s * s * 4 + 4096;
  const C = W + (s + 1) * s * 4 + 4096;
  for (let i = 0; i < s * s; i++) f32[A / 4 + i] = Math.sin(i);
  for (let i = 0; i < s * s; i++) f32[S / 4 + i] = Math.cos(i);
  k.f32_pack_weights(s, s, S, S, W);
  return { A, W, C };
}

export function benchSquareGemms(
  isa: Isa,
  peak: number,
  sizes = [64, 128, 256, 512],
  tiles = [...GEMM_TILES],
): GemmResult[] {
  const mem = createMemory(96 << 20);
  const k = instantiate(kernelModule(isa), mem);
  const out: GemmResult[] = [];
  for (const s of sizes) {
    const [M, N, K] = [s, s, s];
    const { A, W, C } = placeSquareGemm(k, mem, s);
    for (const tile of tiles) {
      // The cores are shared with other work: the peak is measured again right before each
      // kernel, and the higher of that and the run's peak is the reference.
      const p = Math.max(peak, measurePeak(k, isa, 60, 3));
      const ms = timeIt(() => k.f32_gemm_run(tile, 0, M, 0, N, K, A, K * 4, W, C, N * 4, 0), 150, 3);
      const gflops = (2 * M * N * K) / ms / 1e6;
      out.push({ name: `f32-gemm-${tile}x8-${isa}`, M, N, K, gflops, ofPeak: gflops / p, peak: p });
    }
  }
  return out;
}

/** The model with its conv and dense weights rounded to f16, as the quantizer's fp16 mode writes them. */
export function withF16Weights(c: ModelContents): ModelContents {
  return {
    ...c,
    tensors: c.tensors.map((t) =>
      t.name.endsWith(".weight")
        ? { ...t, dtype: "f16" as const, data: toF16Array(t.data as Float32Array) }
        : t,
    ),
  };
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
  /** Peak used for ofPeak (measured right before this shape). */
  peak: number;
}

/**
 * Times every distinct conv shape of a ResNet on one thread, through the planned kernel calls
 * (for a Winograd layer: input transform, 16 GEMMs, output transform). GFLOP/s are counted
 * on the direct convolution's 2 * MACs, so Winograd layers can exceed the GEMM peak.
 */
export async function benchConvShapes(
  depth: 18 | 34 | 50 | 101 | 152,
  isa: Isa,
  peak: number,
  opts: {
    tile?: number;
    winograd?: boolean;
    f32WinogradTile?: WinogradTileChoice;
    /** Conv and dense weights rounded to f16 (f16 layers), run with or without f16 Winograd. */
    f16?: boolean;
    f16Winograd?: boolean;
  } = {},
): Promise<ConvShapeResult[]> {
  const c = createRandomModel({ depth }, 1);
  const file = opts.f16 ? withF16Weights(c) : c;
  const model = await loadModelFromBytes(encodeModel(file), {
    threads: 1,
    isa,
    tile: opts.tile,
    winograd: opts.winograd,
    f32WinogradTile: opts.f32WinogradTile,
    f16Winograd: opts.f16Winograd,
  });
  model.run(randomCrop(model.inputSize));
  const k = model.kernelExports;
  const t = model.info().tile;
  const convs = new Map(c.graph.layers.filter((l) => l.op === "conv").map((l) => [l.name, l]));
  const steps = buildSteps(k, model.plan.ops, t, 0, 1);
  // Steps of each conv layer, in order.
  const byLayer = new Map<string, { kinds: string[]; calls: (() => void)[] }>();
  model.plan.ops.forEach((op, i) => {
    if (!convs.has(op.layer)) return;
    const e = byLayer.get(op.layer) ?? { kinds: [], calls: [] };
    // A Winograd layer is named by its output tile: wino3x3 (F(2x2,3x3)), wino4x4-3x3 (F(4x4,3x3)).
    e.kinds.push(op.kind === "wino_in" && op.outTile === 4 ? "wino4x4-3x3" : op.kind);
    e.calls.push(steps[i]!);
    byLayer.set(op.layer, e);
  });
  const groups = new Map<
    string,
    { kernel: string; layers: string[]; shape: string; macs: number; calls: (() => void)[] }
  >();
  for (const [layer, e] of byLayer) {
    const l = convs.get(layer)!;
    if (l.op !== "conv") continue;
    const [oh, ow, cout] = model.plan.tensors.get(layer)!.shape as [number, number, number];
    const cin = c.tensors.find((x) => x.name === `${layer}.weight`)!.shape[2]!;
    const shape = `${oh}x${ow} ${cin}->${cout} k${l.kernel[0]}x${l.kernel[1]} s${l.stride[0]}`;
    const fam = e.kinds.includes("wino4x4-3x3")
      ? "wino4x4-3x3"
      : e.kinds.includes("bgemm")
        ? "wino3x3"
        : e.kinds.includes("f16wino_gemm")
          ? "f16w-wino3x3"
          : e.kinds[0]!;
    const key = `${fam} ${shape}`;
    const g = groups.get(key) ?? {
      kernel: `f32-${fam}-${t}x8-${isa}`,
      layers: [],
      shape,
      macs: oh * ow * cout * cin * l.kernel[0] * l.kernel[1],
      calls: e.calls,
    };
    g.layers.push(layer);
    groups.set(key, g);
  }
  const results: ConvShapeResult[] = [];
  for (const g of groups.values()) {
    // The cores are shared with other work: peak measured again right before each shape.
    const p = Math.max(peak, measurePeak(k, isa, 60, 3));
    const ms = timeIt(
      () => {
        for (const f of g.calls) f();
      },
      60,
      3,
    );
    const gflops = (2 * g.macs) / ms / 1e6;
    results.push({
      kernel: g.kernel,
      layers: g.layers,
      shape: g.shape,
      macs: g.macs,
      ms,
      gflops,
      ofPeak: gflops / p,
      peak: p,
      totalMs: ms * g.layers.length,
    });
  }
  await model.dispose();
  return results;
}
