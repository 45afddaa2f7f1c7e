/**
 * Kernel micro-benchmarks through benchmark.js: the wasm SIMD multiply-add peak, square FP32 GEMMs
 * per tile, and every kernel family of the engine per dtype (FP32 direct/Winograd/GEMM, FP16-weight
 * IGEMM, dynamic and static QS8 IGEMM, quantize, int8 add/pool/GAP) as planned for a real ResNet on
 * a 1x128x130 crop. Convolution families report GFLOP/s (2 x MACs of the direct convolution per
 * second; GOP/s for integer kernels) and their fraction of the peak measured in the same run.
 * Families the engine or quantizer cannot provide are listed as not available with the reason.
 * Where relaxed SIMD passes its self-checks: the relaxed int8 dot-product peak and GEMM, and the
 * f32 fused multiply-add (f32x4.relaxed_madd) peak and square GEMMs per tile against it.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  buildSteps,
  createMemory,
  createRandomModel,
  defaultArchConfig,
  type FmaStatus,
  fmaStatus,
  GEMM_TILES,
  instantiate,
  instantiateRelaxed,
  kernelModule,
  loadModel,
  type RelaxedSimdStatus,
  randomCrop,
  relaxedKernelModule,
  relaxedSimdStatus,
  resnetSpec,
  writeModel,
  writeParamBlock,
} from "@edge-audio/engine-wasm";
import { placeSquareGemm } from "./kernels.js";

const require = createRequire(import.meta.url);
interface BenchTarget {
  name: string;
  hz: number;
  stats: { rme: number; mean: number; sample: number[] };
}
interface BenchSuite {
  add(name: string, fn: () => void, opts?: object): BenchSuite;
  on(event: string, fn: (e: { target: BenchTarget }) => void): BenchSuite;
  run(opts?: object): BenchSuite;
}
const Benchmark = require("benchmark") as { Suite: new (name: string) => BenchSuite };

export interface KernelRow {
  /** XNNPACK-style name: dtype-family-tile-isa. */
  kernel: string;
  dtype: "f32" | "f16w" | "qs8" | "qs8-dyn";
  /** What was timed (shape or the layers of one forward pass). */
  what: string;
  unavailable: string | null;
  msPerCall: number | null;
  rmePct: number | null;
  samples: number | null;
  /** 2 x MACs per call (null for kernels without multiply-adds). */
  ops: number | null;
  /** GFLOP/s (float) or GOP/s (integer). */
  gops: number | null;
  /**
   * gops over this run's peak of the same kind: the f32 multiply-add peak for float kernels, the
   * i32x4.dot_i16x8_s + add peak for integer (qs8) kernels.
   */
  ofPeak: number | null;
}

export interface KernelReport {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  depth: number;
  /** GFLOP/s of the register-only f32x4 multiply-add loop (benchmark.js mean). */
  peakGflops: number;
  /** GOP/s of the register-only i32x4.dot_i16x8_s + add loop (qs8_peak); null if not exported. */
  peakGopsInt: number | null;
  /**
   * GOP/s of the register-only i32x4.relaxed_dot_i8x16_i7x16_add_s loop (qs8_relaxed_peak), 16
   * products and 16 additions per instruction; null when the relaxed self-check did not pass.
   */
  peakGopsRelaxed: number | null;
  /** The relaxed-SIMD self-check of this process (run after every other measurement). */
  relaxed: RelaxedSimdStatus;
  /**
   * GFLOP/s of the register-only f32x4.relaxed_madd loop (f32_fma_peak, 12 chains, as the
   * multiply-add peak); null when the fusion check did not pass.
   */
  peakGflopsFma: number | null;
  /** The fusion check of f32x4.relaxed_madd (same compilations as the relaxed self-check). */
  fma: FmaStatus;
  rows: KernelRow[];
}

/** Family of a planned op kind, per model variant. */
const FAMILIES: Record<
  string,
  { kinds: string[]; kernel: string; dtype: KernelRow["dtype"]; flops: boolean }[]
> = {
  fp32: [
    { kinds: ["igemm"], kernel: "f32-igemm-{t}x8-wasmsimd", dtype: "f32", flops: true },
    {
      kinds: ["wino_in", "bgemm", "wino_out"],
      kernel: "f32-wino3x3-{t}x8-wasmsimd",
      dtype: "f32",
      flops: true,
    },
    { kinds: ["gemm"], kernel: "f32-gemm-{t}x8-wasmsimd (1x1 convs, dense)", dtype: "f32", flops: true },
    { kinds: ["add"], kernel: "f32-vadd-wasmsimd", dtype: "f32", flops: false },
    { kinds: ["maxpool"], kernel: "f32-maxpool-wasmsimd", dtype: "f32", flops: false },
    { kinds: ["gap"], kernel: "f32-gap-wasmsimd", dtype: "f32", flops: false },
  ],
  fp16: [{ kinds: ["f16igemm"], kernel: "f32-f16w-igemm-{t}x8-wasmsimd", dtype: "f16w", flops: true }],
  dynamic: [
    {
      kinds: ["qim2col", "qgemm"],
      kernel: "qs8-gemm16-4x8c2-wasmsimd (dynamic; im2col16 + GEMM)",
      dtype: "qs8-dyn",
      flops: true,
    },
    {
      kinds: ["qwino_in", "qwino_gemm"],
      kernel: "qs8-wino3x3-4x8c2-wasmsimd (dynamic)",
      dtype: "qs8-dyn",
      flops: true,
    },
    {
      kinds: ["dynparams", "quant"],
      kernel: "qs8-dynamic-quantize-wasmsimd",
      dtype: "qs8-dyn",
      flops: false,
    },
  ],
  int8: [
    {
      kinds: ["qim2col", "qgemm"],
      kernel: "qs8-gemm16-4x8c2-wasmsimd (im2col16 + GEMM, fused residual adds)",
      dtype: "qs8",
      flops: true,
    },
    {
      kinds: ["qwino_in", "qwino_gemm"],
      kernel: "qs8-wino3x3-4x8c2-wasmsimd",
      dtype: "qs8",
      flops: true,
    },
    { kinds: ["quant"], kernel: "qs8-quantize-wasmsimd", dtype: "qs8", flops: false },
    { kinds: ["qadd"], kernel: "qs8-vadd-wasmsimd (adds not fused into a conv)", dtype: "qs8", flops: false },
    { kinds: ["qmaxpool"], kernel: "qs8-maxpool-wasmsimd", dtype: "qs8", flops: false },
    { kinds: ["qgap"], kernel: "qs8-gap-wasmsimd", dtype: "qs8", flops: false },
  ],
};

/** Exports the engine's kernel module needs for each variant's families. */
const NEEDS: Record<string, string[]> = {
  fp32: ["f32_igemm_run", "f32_gemm_run", "f32_wino_input"],
  fp16: ["f16_pack_weights", "f32_f16w_igemm_run"],
  dynamic: ["qs8_dynamic_params", "qs8_gemm16_run", "qs8_wino_gemm_run"],
  int8: ["qs8_quantize", "qs8_gemm16_run", "qs8_wino_gemm_run", "qs8_add"],
};

function bench(cases: { name: string; fn: () => void }[], maxTime: number): Map<string, BenchTarget> {
  const out = new Map<string, BenchTarget>();
  const s = new Benchmark.Suite("kernels");
  for (const c of cases) s.add(c.name, c.fn, { maxTime, minSamples: 5 });
  s.on("cycle", (e) => out.set(e.target.name, e.target));
  s.run({ async: false });
  return out;
}

export interface KernelSuiteOptions {
  depth?: number;
  quick?: boolean;
  variants?: string[];
  log?: (s: string) => void;
}

export async function runKernelSuite(opts: KernelSuiteOptions = {}): Promise<KernelReport> {
  const depth = opts.depth ?? 152;
  const quick = opts.quick ?? false;
  const maxTime = quick ? 0.25 : 1.5;
  const variants = opts.variants ?? ["fp32", "fp16", "dynamic", "int8"];
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const loadAvgStart = loadavg();
  const mod = kernelModule("wasmsimd");
  const wasm = (
    globalThis as unknown as { WebAssembly: { Module: { exports(m: unknown): { name: string }[] } } }
  ).WebAssembly;
  const exported = new Set(wasm.Module.exports(mod).map((e) => e.name));
  const mem = createMemory(96 << 20);
  const k = instantiate(mod, mem);

  // Peak: 12 independent f32x4 multiply-add chains, 1e6 iterations per call.
  const iters = 1_000_000;
  // Other processes share the cores: the peak is the fastest sample of two measurements (before
  // and after the kernels), so fractions of it are conservative.
  const peakOnce = () => {
    const t = bench([{ name: "peak", fn: () => k.f32_peak(iters, 1.0) }], maxTime).get("peak")!;
    return (12 * 2 * 4 * iters) / Math.min(...t.stats.sample) / 1e9;
  };
  let peakGflops = peakOnce();
  log(`wasm SIMD f32 multiply-add peak (before): ${peakGflops.toFixed(1)} GFLOP/s`);
  // Integer peak: 10 independent dot_i16x8_s + add chains (16 operations each).
  const intPeakOnce = (): number | null => {
    if (!exported.has("qs8_peak")) return null;
    const t = bench([{ name: "qs8peak", fn: () => k.qs8_peak(iters, 3) }], maxTime).get("qs8peak")!;
    return (10 * 16 * iters) / Math.min(...t.stats.sample) / 1e9;
  };
  let peakGopsInt = intPeakOnce();
  if (peakGopsInt !== null) log(`wasm SIMD int8 dot-product peak (before): ${peakGopsInt.toFixed(1)} GOP/s`);
  const isInt = (d: KernelRow["dtype"]) => d === "qs8" || d === "qs8-dyn";
  const peakFor = (d: KernelRow["dtype"]) => (isInt(d) && peakGopsInt !== null ? peakGopsInt : peakGflops);
  const rows: KernelRow[] = [];
  const row = (r: Omit<KernelRow, "gops" | "ofPeak">): KernelRow => {
    const gops = r.ops !== null && r.msPerCall !== null ? r.ops / r.msPerCall / 1e6 : null;
    return { ...r, gops, ofPeak: gops === null ? null : gops / peakFor(r.dtype) };
  };

  // Square FP32 GEMM per tile.
  const square = squareGemm(k, mem, quick);
  rows.push(...square.rows("f32-gemm-{t}x8-wasmsimd", k.f32_gemm_run, maxTime).map(row));

  // Kernel families as planned for the model, one variant at a time.
  const arch = { depth: depth as 152, inputHeight: 128, inputWidth: 130 };
  const spec = resnetSpec(defaultArchConfig(arch));
  const contents = createRandomModel(arch, 1);
  const shapes = new Map(contents.tensors.map((t) => [t.name, t.shape]));
  const dir = join(tmpdir(), `edge-audio-kernels-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const fp32Path = join(dir, "fp32.eam");
  writeModel(fp32Path, contents);
  let quantize: ((m: string, mode: string, o: object) => Promise<{ out: string }>) | string;
  try {
    const name = "@edge-audio/quantizer";
    quantize = ((await import(name)) as { quantizeModel: typeof quantize }).quantizeModel;
    if (typeof quantize !== "function") quantize = "the quantizer exports no quantizeModel";
  } catch (e) {
    quantize = `the quantizer does not load: ${e instanceof Error ? e.message.split("\n")[0] : e}`;
  }
  const crop = randomCrop(128 * 130, 3);
  try {
    for (const v of variants) {
      const fams = FAMILIES[v] ?? [];
      const missing = (NEEDS[v] ?? []).filter((n) => !exported.has(n));
      const na = (why: string) => {
        for (const f of fams)
          rows.push(
            row({
              kernel: f.kernel.replace("{t}", "N"),
              dtype: f.dtype,
              what: `ResNet-${depth} ${v}`,
              unavailable: why,
              msPerCall: null,
              rmePct: null,
              samples: null,
              ops: null,
            }),
          );
      };
      if (missing.length > 0) {
        na(`the engine's kernel module does not export ${missing.join(", ")}`);
        continue;
      }
      let path = fp32Path;
      if (v !== "fp32") {
        if (typeof quantize === "string") {
          na(quantize);
          continue;
        }
        try {
          path = (
            await quantize(fp32Path, v, {
              out: join(dir, `${v}.eam`),
              crops: [randomCrop(128 * 130, 11), randomCrop(128 * 130, 12)],
            })
          ).out;
        } catch (e) {
          na(`quantizer: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
          continue;
        }
      }
      log(`ResNet-${depth} ${v}: kernel families`);
      const model = await loadModel(path, { threads: 1 });
      try {
        model.run(crop);
        const t = model.info().tile;
        const steps = buildSteps(model.kernelExports, model.plan.ops, t, 0, 1);
        const cases: { name: string; fn: () => void; fam: (typeof fams)[number]; layers: Set<string> }[] = [];
        for (const fam of fams) {
          const calls: (() => void)[] = [];
          const layers = new Set<string>();
          model.plan.ops.forEach((op, i) => {
            if (fam.kinds.includes(op.kind)) {
              calls.push(steps[i]!);
              layers.add(op.layer);
            }
          });
          if (calls.length === 0) continue;
          cases.push({
            name: fam.kernel,
            fn: () => {
              for (const c of calls) c();
            },
            fam,
            layers,
          });
        }
        const res = bench(cases, maxTime);
        for (const c of cases) {
          const b = res.get(c.name)!;
          let macs = 0;
          if (c.fam.flops)
            for (const l of c.layers) {
              const layer = spec.layers.find((x) => x.name === l);
              const w = shapes.get(`${l}.weight`);
              const outShape = model.plan.tensors.get(l)?.shape;
              if (layer?.op === "conv" && w && outShape)
                macs += outShape[0]! * outShape[1]! * outShape[2]! * w[0]! * w[1]! * w[2]!;
              else if (layer?.op === "dense" && w) macs += w[0]! * w[1]!;
            }
          rows.push(
            row({
              kernel: c.fam.kernel.replace("{t}", String(t)),
              dtype: c.fam.dtype,
              what: `ResNet-${depth} ${v}: ${c.layers.size} layer${c.layers.size === 1 ? "" : "s"}, one pass`,
              unavailable: null,
              msPerCall: b.stats.mean * 1000,
              rmePct: b.stats.rme,
              samples: b.stats.sample.length,
              ops: c.fam.flops ? 2 * macs : null,
            }),
          );
        }
      } finally {
        await model.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  peakGflops = Math.max(peakGflops, peakOnce());
  const intAfter = intPeakOnce();
  if (intAfter !== null) peakGopsInt = Math.max(peakGopsInt ?? 0, intAfter);
  for (const r of rows) r.ofPeak = r.gops === null ? null : r.gops / peakFor(r.dtype);
  // Last: the self-check may turn V8's Liftoff off for the rest of the process.
  const relaxed = relaxedSimdStatus();
  const peakGopsRelaxed = relaxedPeak(mem, iters, maxTime);
  if (peakGopsRelaxed !== null) {
    log(`wasm relaxed-SIMD int8 dot-product peak: ${peakGopsRelaxed.toFixed(1)} GOP/s`);
    const gemms = onePointGemms(spec, arch.inputHeight, arch.inputWidth, quick);
    rows.push(...relaxedGemmRows(k, mem, gemms, maxTime, peakGopsRelaxed, peakGopsInt));
  }
  const fma = fmaStatus();
  const peakGflopsFma = fma.usable ? fmaPeak(mem, iters, maxTime) : null;
  if (peakGflopsFma !== null) {
    log(`wasm relaxed-SIMD f32 fused multiply-add peak: ${peakGflopsFma.toFixed(1)} GFLOP/s`);
    const rk = instantiateRelaxed(relaxedKernelModule()!, mem);
    for (const r of square.rows("f32-fma-gemm-{t}x8-wasmrelaxed", rk.f32_fma_gemm_run, maxTime)) {
      const x = row(r);
      rows.push({ ...x, ofPeak: x.gops === null ? null : x.gops / peakGflopsFma });
    }
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAvgStart,
    loadAvgEnd: loadavg(),
    depth,
    peakGflops,
    peakGopsInt,
    peakGopsRelaxed,
    relaxed,
    peakGflopsFma,
    fma,
    rows,
  };
}

/**
 * A square s x s x s f32 GEMM (A, packed weights and C in `mem`), timed per tile for a GEMM
 * driver with f32_gemm_run's arguments (the 128-bit or the fused multiply-add one).
 */
function squareGemm(k: ReturnType<typeof instantiate>, mem: ReturnType<typeof createMemory>, quick: boolean) {
  const s = quick ? 128 : 256;
  const { A, W, C } = placeSquareGemm(k, mem, s);
  const tiles = quick ? [4] : [...GEMM_TILES];
  type Run = typeof k.f32_gemm_run;
  return {
    rows(name: string, run: Run, maxTime: number): Omit<KernelRow, "gops" | "ofPeak">[] {
      const res = bench(
        tiles.map((t) => ({ name: `${t}`, fn: () => run(t, 0, s, 0, s, s, A, s * 4, W, C, s * 4, 0) })),
        maxTime,
      );
      return tiles.map((t) => {
        const b = res.get(`${t}`)!;
        return {
          kernel: name.replace("{t}", String(t)),
          dtype: "f32",
          what: `GEMM ${s}x${s}x${s}`,
          unavailable: null,
          msPerCall: b.stats.mean * 1000,
          rmePct: b.stats.rme,
          samples: b.stats.sample.length,
          ops: 2 * s * s * s,
        };
      });
    },
  };
}

/** GFLOP/s of f32_fma_peak (12 chains of 4-lane fused multiply-adds; best sample of two measurements). */
function fmaPeak(mem: ReturnType<typeof createMemory>, iters: number, maxTime: number): number {
  const k = instantiateRelaxed(relaxedKernelModule()!, mem);
  const once = () => {
    const t = bench([{ name: "fma", fn: () => k.f32_fma_peak(iters, 1.0) }], maxTime).get("fma")!;
    return (12 * 2 * 4 * iters) / Math.min(...t.stats.sample) / 1e9;
  };
  return Math.max(once(), once());
}

/** GOP/s of qs8_relaxed_peak (best sample of two measurements), null without a usable relaxed module. */
function relaxedPeak(mem: ReturnType<typeof createMemory>, iters: number, maxTime: number): number | null {
  const mod = relaxedKernelModule();
  if (mod === null) return null;
  const k = instantiateRelaxed(mod, mem);
  const once = () => {
    const t = bench([{ name: "relaxed", fn: () => k.qs8_relaxed_peak(iters, 3) }], maxTime).get("relaxed")!;
    return (10 * 32 * iters) / Math.min(...t.stats.sample) / 1e9;
  };
  return Math.max(once(), once());
}

/** Distinct (M, K, N) of the stride-1 1x1 convolutions of a ResNet (M = output pixels). */
function onePointGemms(
  spec: ReturnType<typeof resnetSpec>,
  h: number,
  w: number,
  quick: boolean,
): { m: number; k: number; n: number; layers: number }[] {
  const size = new Map<string, [number, number]>([["input", [h, w]]]);
  const channels = new Map<string, number>([["input", 1]]);
  const found = new Map<string, { m: number; k: number; n: number; layers: number }>();
  for (const l of spec.layers) {
    const src = "input" in l ? l.input : l.inputs[0];
    const [ih, iw] = size.get(src) ?? [1, 1];
    const s = "stride" in l ? l.stride : [1, 1];
    size.set(l.name, [Math.ceil(ih / s[0]), Math.ceil(iw / s[1])]);
    const cin = channels.get(src) ?? 1;
    channels.set(l.name, l.op === "conv" ? l.filters : l.op === "dense" ? l.units : cin);
    if (l.op !== "conv" || l.kernel[0] !== 1 || l.kernel[1] !== 1 || s[0] !== 1 || s[1] !== 1) continue;
    const [oh, ow] = size.get(l.name)!;
    const key = `${oh * ow}x${cin}x${l.filters}`;
    const g = found.get(key) ?? { m: oh * ow, k: cin, n: l.filters, layers: 0 };
    g.layers++;
    found.set(key, g);
  }
  const all = [...found.values()];
  return quick ? all.slice(0, 3) : all;
}

/**
 * qs8-rdot-4x8c4 (relaxed, int32 output, activations read in place) against qs8-gemm16-4x8c2
 * (im2col16 widening, then the GEMM with f32 output at scale 1, the closest to raw int32 that
 * its driver gives) on the same shapes; the relaxed rows against the relaxed peak, the 16-bit
 * rows against the dot_i16x8_s peak.
 */
function relaxedGemmRows(
  k: ReturnType<typeof instantiate>,
  mem: ReturnType<typeof createMemory>,
  gemms: { m: number; k: number; n: number; layers: number }[],
  maxTime: number,
  peakRelaxed: number,
  peakInt: number | null,
): KernelRow[] {
  const rk = instantiateRelaxed(relaxedKernelModule()!, mem);
  const u8 = new Uint8Array(mem.buffer);
  const f32 = new Float32Array(mem.buffer);
  const out: KernelRow[] = [];
  for (const g of gemms) {
    const X = 1 << 20;
    const W = X + g.m * g.k + 4096;
    const S = W + g.k * g.n + 4096;
    const P = S + g.n * 8 + 4096;
    const P16 = P + Math.ceil(g.n / 8) * rk.qs8_rdot_panel_bytes(g.k) + 4096;
    const A16 = P16 + Math.ceil(g.n / 8) * k.qs8_panel_bytes(g.k, 1) + 4096;
    const C = A16 + Math.ceil(g.m / 4) * 4 * g.k * 2 + 4096;
    const QP = C + g.m * g.n * 4 + 4096;
    if (QP + 64 > mem.buffer.byteLength) continue;
    for (let i = 0; i < g.m * g.k; i++) u8[X + i] = (i * 37) & 127;
    for (let i = 0; i < g.k * g.n; i++) u8[W + i] = (i * 91) & 255;
    f32.fill(1, S >>> 2, (S >>> 2) + g.n);
    f32.fill(0, (S >>> 2) + g.n, (S >>> 2) + 2 * g.n);
    rk.qs8_rdot_pack_weights(g.k, g.n, W, S, S + 4 * g.n, P);
    k.qs8_pack_weights(g.k, 1, g.n, W, S, S + 4 * g.n, P16, 0);
    writeParamBlock(new DataView(mem.buffer), QP, 1, 0);
    const res = bench(
      [
        {
          name: "rdot",
          fn: () => rk.qs8_rdot_gemm_run(0, g.m, 0, g.n, g.k, X, g.k, P, C, g.n * 4, 0, QP, 0, 0),
        },
        {
          name: "gemm16",
          fn: () => {
            k.qs8_im2col16(0, g.m, g.m, 1, g.k, 1, 1, 1, 1, 1, 0, 0, X, A16, QP, 0);
            k.qs8_gemm16_run(0, g.m, 0, g.n, g.k, 1, A16, P16, C, g.n * 4, 0, QP, 0, 0);
          },
        },
      ],
      maxTime,
    );
    const ops = 2 * g.m * g.k * g.n;
    const what = `GEMM ${g.m}x${g.k}x${g.n} (${g.layers} layer${g.layers === 1 ? "" : "s"})`;
    for (const [name, kernel, peak] of [
      ["rdot", "qs8-rdot-4x8c4-wasmrelaxed (int32 out, no im2col)", peakRelaxed],
      ["gemm16", "qs8-gemm16-4x8c2-wasmsimd (im2col16 + GEMM, f32 out)", peakInt],
    ] as const) {
      const b = res.get(name)!;
      const ms = b.stats.mean * 1000;
      const gops = ops / ms / 1e6;
      out.push({
        kernel,
        dtype: "qs8",
        what,
        unavailable: null,
        msPerCall: ms,
        rmePct: b.stats.rme,
        samples: b.stats.sample.length,
        ops,
        gops,
        ofPeak: peak === null ? null : gops / peak,
      });
    }
  }
  return out;
}

/** The relaxed-SIMD line of the report: its peak, or why it is absent, and the self-check per tier. */
function relaxedLine(r: KernelReport): string {
  const tiers = r.relaxed.tiers.map(
    (t) => `${t.tier} ${t.wrongLanes === 0 ? "exact" : `${t.wrongLanes} wrong lanes of ${4 * t.cases}`}`,
  );
  const check = `self-check: ${r.relaxed.reason}${tiers.length > 0 ? ` (${tiers.join(", ")})` : ""}`;
  if (r.peakGopsRelaxed === null) return `Relaxed-SIMD int8 dot-product peak: not available; ${check}.`;
  return `Relaxed-SIMD int8 dot-product peak (i32x4.relaxed_dot_i8x16_i7x16_add_s) ${r.peakGopsRelaxed.toFixed(1)} GOP/s${r.peakGopsInt === null ? "" : `, ${(r.peakGopsRelaxed / r.peakGopsInt).toFixed(2)}x the dot_i16x8_s peak`}; relaxed SIMD enabled ${r.relaxed.enabledBy === "flag" ? "by --experimental-wasm-relaxed-simd set at run time" : "natively"}, runs ${r.relaxed.runs}; ${check}.`;
}

/** The fused multiply-add line of the report: its peak against the multiply-add peak, or why it is absent. */
function fmaLine(r: KernelReport): string {
  const tiers = r.fma.tiers.map(
    (t) => `${t.tier} ${t.wrongLanes === 0 ? "fused" : `${t.wrongLanes} of ${t.lanes} lanes not fused`}`,
  );
  const check = `fusion check: ${r.fma.reason}${tiers.length > 0 ? ` (${tiers.join(", ")})` : ""}`;
  if (r.peakGflopsFma === null) return `f32 fused multiply-add peak: not available; ${check}.`;
  return `f32 fused multiply-add peak (f32x4.relaxed_madd, 12 chains) ${r.peakGflopsFma.toFixed(1)} GFLOP/s, ${(r.peakGflopsFma / r.peakGflops).toFixed(2)}x the multiply-add peak; the f32-fma-gemm rows are against it; ${check}.`;
}

export function kernelMarkdown(r: KernelReport): string {
  const lines = [
    `wasm SIMD f32 multiply-add peak ${r.peakGflops.toFixed(1)} GFLOP/s${r.peakGopsInt === null ? "" : `, int8 dot-product peak (i32x4.dot_i16x8_s + add) ${r.peakGopsInt.toFixed(1)} GOP/s`}; ${r.cores} x ${r.cpu}, Node ${r.node}, ${r.date}; load average ${r.loadAvgStart[0]!.toFixed(2)} -> ${r.loadAvgEnd[0]!.toFixed(2)}. Float kernels against the f32 peak, integer kernels (GOP/s) against the int8 peak; Winograd rows count the multiply-adds of the direct convolution, so they can exceed 100 %. 1 thread.`,
    "",
    relaxedLine(r),
    "",
    fmaLine(r),
    "",
    "| kernel | dtype | timed | ms per call | +- % | samples | GFLOP/s or GOP/s | of peak |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const x of r.rows) {
    if (x.unavailable) {
      lines.push(`| ${x.kernel} | ${x.dtype} | ${x.what} | **not available: ${x.unavailable}** | | | | |`);
      continue;
    }
    lines.push(
      `| ${x.kernel} | ${x.dtype} | ${x.what} | ${x.msPerCall!.toFixed(3)} | ${x.rmePct!.toFixed(1)} | ${x.samples} | ${x.gops === null ? "-" : x.gops.toFixed(1)} | ${x.ofPeak === null ? "-" : `${(100 * x.ofPeak).toFixed(0)} %`} |`,
    );
  }
  return lines.join("\n");
}

export async function kernelSuite(argv: string[], quick: boolean, out?: string): Promise<void> {
  const di = argv.indexOf("--depth");
  const depth = di >= 0 ? Number(argv[di + 1]) : quick ? 50 : 152;
  const report = await runKernelSuite({ depth, quick });
  const json = resolve(out ?? "results/kernels.json");
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(json.replace(/\.json$/, ".md"), `${kernelMarkdown(report)}\n`);
  process.stdout.write(`${kernelMarkdown(report)}\n`);
}
