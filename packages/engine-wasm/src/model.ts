/** Host API: load a `.eam` model into wasm memory and run it. */
import * as fs from "node:fs";
import * as os from "node:os";
import type { Worker } from "node:worker_threads";
import { crc32 } from "./crc32.js";
import {
  Barrier,
  buildSteps,
  CTL,
  CTL_STOP,
  type FmaKernels,
  isFmaOp,
  runSteps,
  type Step,
} from "./executor.js";
import {
  EamFormatError,
  type EamGraph,
  type EamHeader,
  type EamSection,
  type JsonObject,
  type Provenance,
  parseHeader,
  readFully,
  readHeaderFd,
  type TensorInfo,
  tensorChecksumError,
  verifyTensorData,
} from "./format.js";
import { parseInputBits } from "./input-bits.js";
import { checkLimits, type ModelCost, modelCost } from "./limits.js";
import { writeParamBlock } from "./param-block.js";
import {
  type ActQuant,
  buildPlan,
  type Plan,
  type Precision,
  type WeightLoad,
  type WinogradTileChoice,
} from "./plan.js";
import {
  fmaStatus,
  instantiateRelaxed,
  type RelaxedKernelExports,
  relaxedKernelModule,
  relaxedSimdStatus,
} from "./relaxed.js";
import {
  createMemory,
  DEFAULT_FMA_TILE,
  DEFAULT_TILE,
  hostHasSimd,
  type Isa,
  instantiate,
  type KernelExports,
  kernelModule,
} from "./wasm.js";

export interface LoadOptions {
  /** Threads (the caller's plus workers). Default: all cores (os.availableParallelism()). */
  threads?: number;
  /** Kernel build: 128-bit SIMD (default where the host has it) or scalar. */
  isa?: Isa;
  /** GEMM tile MR of the MRx8 micro-kernels (1..7). */
  tile?: number;
  /** Activation tensors to keep readable after `run` (see `Model.read`). */
  keep?: string[];
  /**
   * Run 3x3 stride-1 convolutions with Winograd (default true): f32 layers F(2x2,3x3) (2.25x
   * fewer multiplies, 16/9 the memory for their weights) or, on large maps, F(4x4,3x3) (4x fewer,
   * 36/9 the memory; see `f32WinogradTile`); int8 layers the exact integer F(2x3,3x3) or
   * F(2x2,3x3), weights transformed per panel at run time (no extra memory).
   */
  winograd?: boolean;
  /**
   * Output tile of the f32 Winograd layers: `"2x2"` (default) keeps every layer at F(2x2,3x3)
   * (the results and memory FP32 files were written with), `"auto"` picks F(4x4,3x3) per layer
   * where the map is large enough (`winogradTileFor`), `"4x4"` forces F(4x4,3x3).
   */
  f32WinogradTile?: WinogradTileChoice;
  /**
   * Run the layers a file marks as 7-bit input (`quant.inputBits`) on the relaxed-SIMD GEMM
   * (`i32x4.relaxed_dot_i8x16_i7x16_add_s`) when `relaxedSimdStatus()` finds the instruction exact
   * in every compiler tier that will run it (default false: the 128-bit SIMD path, which gives the
   * same bits). Ignored with `isa: "scalar"`; `info().relaxed` says what ran and why.
   */
  relaxedSimd?: boolean;
  /**
   * Run the f32 GEMMs of f32 and f16 layers (direct, indirect and Winograd) on the fused
   * multiply-add kernels (`f32x4.relaxed_madd`, one rounding per step) when `fmaStatus()` finds the
   * instruction fused in every compiler tier that will run it. Default false: the 128-bit SIMD
   * multiply-then-add kernels, whose results are bit-identical to the scalar build's. The FMA
   * results differ from those in the last bits (and agree with the float64 reference at least as
   * closely); they are bit-identical across thread counts. Ignored with `isa: "scalar"`;
   * `info().fma` says how many layers ran FMA and why.
   */
  fma?: boolean;
  /** GEMM tile MR of the FMA micro-kernels (1..7; default DEFAULT_FMA_TILE), used with `fma`. */
  fmaTile?: number;
  /**
   * Run the 3x3 stride-1 convolutions of f16 layers with Winograd F(2x2,3x3) (default true, with
   * `winograd`): the f16 weights stay as stored and are transformed per block of output channels
   * into per-thread scratch at run time (no transformed copy, a few hundred KiB of scratch per
   * thread). false keeps the direct f16 IGEMM, which gives the probabilities f16 files gave before
   * f16 Winograd existed.
   */
  f16Winograd?: boolean;
  /** How errors while running name the model (default: the file's path, or "the model" for bytes). */
  name?: string;
  /**
   * Largest memory the model may need, in bytes: its wasm memory (weights, activations,
   * indirection, scratch) plus the input crop. Default 1 GiB (ResNet-152 FP32 needs 352 MB).
   */
  maxMemoryBytes?: number;
  /**
   * Largest work per crop, in multiply-accumulate equivalents (docs in src/limits.ts), including
   * the Mel front-end the file declares. Default 5e10 (ResNet-152 on a 128x130 crop: 4.1e9).
   */
  maxWorkPerCrop?: number;
  /**
   * Lowest address of the model's wasm memory layout (default and least: the kernel module's
   * heap base). The WASI plan file (src/wasi-run.ts) plans above the WASI module's own memory.
   */
  heapBase?: number;
}

export interface ModelInfo {
  ops: { total: number; byKind: Record<string, number> };
  layers: number;
  params: number;
  macs: number;
  /** Work of one crop in multiply-accumulate equivalents (network and Mel front-end; see maxWorkPerCrop). */
  workPerCrop: number;
  /** Part of workPerCrop spent in the Mel front-end declared by the file (0 without one). */
  melWorkPerCrop: number;
  /** Bytes of the model file (or buffer). */
  fileBytes: number;
  /** Bytes of packed weights in wasm memory. */
  weightBytes: number;
  /** Activation arena, and the lower bounds it is compared with. */
  arenaBytes: number;
  peakLiveBytes: number;
  largestOpBytes: number;
  indirectionBytes: number;
  /** Whole wasm memory. */
  memoryBytes: number;
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
  labels: string[];
  mel: JsonObject | undefined;
  arch: unknown;
  provenance: Provenance;
  formatVersion: string;
  threads: number;
  isa: Isa;
  tile: number;
  /** Whether 3x3 stride-1 convolutions run as Winograd. */
  winograd: boolean;
  /** f32 Winograd layers run as F(4x4,3x3) (the others as F(2x2,3x3)). */
  winogradF4Layers: number;
  /** f16 layers run as Winograd F(2x2,3x3) (weights transformed per block at run time). */
  winogradF16Layers: number;
  /** `quant.mode` of the file ("fp32" when absent). */
  quantMode: string;
  /** Number of layers (conv, dense, add, maxpool, gap) run in each precision. */
  precision: Record<string, number>;
  loadMs: number;
  /**
   * Layers with 7-bit input (`quant.inputBits`), how many run on the relaxed-SIMD GEMM, and why
   * (the self-check's verdict, or why it was not asked).
   */
  relaxed: { sevenBitLayers: number; relaxedLayers: number; reason: string };
  /**
   * Layers with f32 GEMMs (f32 and f16 conv and dense layers), how many run on the fused
   * multiply-add kernels, their tile (null when none does), and why (the fusion check's verdict,
   * or why it was not asked).
   */
  fma: { gemmLayers: number; fmaLayers: number; tile: number | null; reason: string };
}

/** Reads `nbytes` of tensor data at file/buffer offset `pos` into wasm memory at `dst`. */
type Source = { name: string; size: number; read(dst: Uint8Array, pos: number): void; close(): void };

function fileSource(path: string): Source & { fd: number } {
  const fd = fs.openSync(path, "r");
  return {
    name: path,
    fd,
    size: fs.fstatSync(fd).size,
    read: (dst, pos) => readFully(fd, dst, pos),
    close: () => fs.closeSync(fd),
  };
}

function bytesSource(b: Uint8Array): Source {
  return {
    name: "the model",
    size: b.length,
    read: (dst, pos) => {
      if (pos + dst.length > b.length) throw new Error("read past the end of the buffer");
      dst.set(b.subarray(pos, pos + dst.length));
    },
    close: () => {},
  };
}

export class Model {
  private disposed = false;
  /** Set when a worker thread has exited or a barrier timed out: the model cannot run again. */
  private failure: Error | null = null;
  private readonly steps: Step[];
  private readonly barrier: Barrier | null;
  private readonly ctl: Int32Array;
  private readonly ctlBase: number;
  private readonly f32: Float32Array;

  private constructor(
    readonly header: EamHeader,
    readonly plan: Plan,
    private readonly kernels: KernelExports,
    readonly memory: WebAssembly.Memory,
    private readonly workers: Worker[],
    relaxedKernels: RelaxedKernelExports | undefined,
    private readonly opts: {
      threads: number;
      isa: Isa;
      tile: number;
      fileBytes: number;
      loadMs: number;
      name: string;
      cost: ModelCost;
      relaxed: ModelInfo["relaxed"];
      fma: ModelInfo["fma"];
    },
    fmaKernels: FmaKernels | undefined,
  ) {
    this.ctl = new Int32Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
    this.ctlBase = plan.controlAddr >>> 2;
    this.steps = buildSteps(kernels, plan.ops, opts.tile, 0, opts.threads, relaxedKernels, fmaKernels);
    workers.forEach((w, i) => {
      const fail = (why: string) => {
        if (!this.disposed && !this.failure)
          this.failure = new Error(
            `engine worker thread ${i + 1} ${why}; the model cannot run any more: load it again`,
          );
      };
      w.on("exit", (code) => fail(`exited (code ${code})`));
      w.on("error", (e) => fail(`failed: ${e instanceof Error ? e.message : String(e)}`));
    });
    this.barrier = opts.threads > 1 ? new Barrier(this.ctl, this.ctlBase, opts.threads) : null;
  }

  /** @internal */
  static async create(src: Source, options: LoadOptions): Promise<Model> {
    const t0 = performance.now();
    const threads = Math.max(1, Math.floor(options.threads ?? os.availableParallelism()));
    const isa: Isa = options.isa ?? (hostHasSimd() ? "wasmsimd" : "scalar");
    const tile = options.tile ?? DEFAULT_TILE;
    if (!Number.isInteger(tile) || tile < 1 || tile > 7) throw new Error(`tile must be 1..7, got ${tile}`);
    const fmaTile = options.fmaTile ?? DEFAULT_FMA_TILE;
    if (!Number.isInteger(fmaTile) || fmaTile < 1 || fmaTile > 7)
      throw new Error(`fmaTile must be 1..7, got ${fmaTile}`);
    let header: EamHeader;
    try {
      header = readHeader(src);
    } catch (e) {
      src.close();
      throw e;
    }
    const module = kernelModule(isa);
    let memory: WebAssembly.Memory;
    let kernels: KernelExports;
    let relaxedKernels: RelaxedKernelExports | undefined;
    let plan: Plan;
    let cost: ModelCost;
    let relaxed: RelaxedChoice;
    let fma: FmaChoice;
    try {
      // The heap base is a property of the module; a one-page probe memory gives it.
      const probe = instantiate(module, createMemory(1 << 16));
      const q = asFormatError("metadata", () => quantConfig(header));
      relaxed = relaxedChoice(q.inputBits, isa, options.relaxedSimd ?? false);
      fma = fmaChoice(isa, options.fma ?? false);
      plan = asFormatError("graph", () =>
        buildPlan(header.graph, {
          keep: options.keep,
          tile,
          heapBase: Math.max(probe.heap_base(), options.heapBase ?? 0),
          winograd: options.winograd ?? true,
          f32WinogradTile: options.f32WinogradTile,
          f16Winograd: options.f16Winograd ?? true,
          threads,
          precision: q.precision,
          activations: q.activations,
          inputBits: q.inputBits,
          relaxed: relaxed.module ? instantiateRelaxed(relaxed.module, createMemory(1 << 16)) : undefined,
          kernel: probe,
        }),
      );
      const planned = plan;
      cost = modelCost(plan, header.mel);
      checkLimits(plan, cost, options);
      asFormatError("graph", () => checkOutput(header, planned));
      asFormatError("tensors", () => checkTensors(header, planned));
      // the tensors the graph does not use are verified like the rest (the used ones as they load)
      verifyTensorData(header, unusedTensors(header, plan), src.read);
      memory = createMemory(plan.totalBytes);
      kernels = instantiate(module, memory);
      const relaxedModule = relaxed.module ?? fma.module;
      relaxedKernels = relaxedModule ? instantiateRelaxed(relaxedModule, memory) : undefined;
      loadWeights(src, header, plan, kernels, memory, relaxedKernels);
    } finally {
      src.close();
    }
    const u32 = new Uint32Array(memory.buffer);
    for (const ind of plan.indirection) ind.build(u32);
    writeQuantParams(plan, memory);
    const workers: Worker[] = [];
    try {
      // loaded only when needed: a single-threaded model does without the module
      const { Worker } = threads > 1 ? await import("node:worker_threads") : { Worker: null };
      for (let tid = 1; tid < threads && Worker; tid++) {
        const w = new Worker(new URL("./worker.js", import.meta.url), {
          workerData: {
            module,
            memory,
            ops: plan.ops,
            barrierAfter: plan.barrierAfter,
            tile,
            tid,
            threads,
            controlAddr: plan.controlAddr,
            relaxedModule: relaxed.module ?? fma.module,
            fmaTile: fma.module ? fmaTile : null,
          },
        });
        workers.push(w);
      }
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", () => resolve());
              w.once("error", reject);
            }),
        ),
      );
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw e;
    }
    for (const w of workers) w.unref();
    const loadMs = performance.now() - t0;
    const relaxedLayers = plan.ops.filter((op) => op.kind === "rgemm").length;
    const gemmLayers = new Set(plan.ops.filter(isFmaOp).map((op) => op.layer)).size;
    const fmaKernels = fma.module && relaxedKernels ? { rk: relaxedKernels, tile: fmaTile } : undefined;
    return new Model(
      header,
      plan,
      kernels,
      memory,
      workers,
      relaxedKernels,
      {
        threads,
        isa,
        tile,
        fileBytes: src.size,
        loadMs,
        name: options.name ?? src.name,
        cost,
        relaxed: { sevenBitLayers: relaxed.sevenBitLayers, relaxedLayers, reason: relaxed.reason },
        fma: {
          gemmLayers,
          fmaLayers: fmaKernels ? gemmLayers : 0,
          tile: fmaKernels ? fmaTile : null,
          reason: fma.reason,
        },
      },
      fmaKernels,
    );
  }

  /** Input element count (H * W * C). */
  get inputSize(): number {
    return this.plan.input.shape.reduce((a, b) => a * b, 1);
  }

  /**
   * Runs the model on one crop: `input` in NHWC order without batch, i.e. for a log-Mel crop
   * with C = 1, `data[m * nFrames + t]`. Returns a new Float32Array (the softmax output).
   * `profile.stepMs` (length `plan.ops.length`): each op's wall time on the main thread, barrier
   * wait included, is added to its entry; the results are the same as without it.
   */
  run(input: Float32Array, profile?: { stepMs: Float64Array }): Float32Array {
    if (this.disposed) throw new Error("model is disposed");
    if (this.failure) throw this.failure;
    if (input.length !== this.inputSize)
      throw new Error(
        `input has ${input.length} values, the model expects ${this.inputSize} ([${this.plan.input.shape}])`,
      );
    const bad = firstNonFinite(input);
    if (bad >= 0) throw new Error(`input value ${bad} is ${input[bad]}; the input must be finite`);
    if (profile && profile.stepMs.length !== this.steps.length)
      throw new RangeError(`profile.stepMs needs ${this.steps.length} entries (one per op)`);
    this.f32.set(input, this.plan.input.addr >>> 2);
    const ctl = this.ctl;
    const b = this.ctlBase;
    Atomics.store(ctl, b + CTL.ERROR, 0);
    if (this.workers.length > 0) {
      Atomics.add(ctl, b + CTL.RUN, 1);
      Atomics.notify(ctl, b + CTL.RUN);
    }
    if (this.failure) throw this.failure;
    let err: unknown;
    try {
      err = runSteps(this.steps, this.plan.barrierAfter, this.barrier, profile?.stepMs);
    } catch (e) {
      // a barrier gave up waiting: a worker stopped in the middle of the run
      this.failure = e instanceof Error ? e : new Error(String(e));
      throw this.failure;
    }
    if (err !== undefined) throw err;
    if (Atomics.load(ctl, b + CTL.ERROR) !== 0)
      throw new Error("a worker thread failed while running the model");
    const o = this.plan.output;
    const probs = this.f32.slice(o.addr >>> 2, (o.addr >>> 2) + o.bytes / 4);
    const nan = firstNonFinite(probs);
    if (nan >= 0)
      throw new Error(
        `${this.opts.name}: the output is not finite (${probs[nan]} for class ${nan}); the model's weights or biases hold NaN or infinite values`,
      );
    return probs;
  }

  /** Reads an activation tensor kept with the `keep` load option (after `run`). */
  read(name: string): Float32Array {
    const t = this.plan.tensors.get(name);
    if (!t) throw new Error(`no tensor named ${name}`);
    if (t.dtype === "i8") {
      // Dequantized: real = scale * (q - zeroPoint), computed as the engine's dequantize op does.
      const q = new Int8Array(this.memory.buffer, t.addr, t.bytes);
      const s = Math.fround(t.quant!.scale);
      const z = t.quant!.zeroPoint;
      return Float32Array.from(q, (v) => Math.fround((v - z) * s));
    }
    return this.f32.slice(t.addr >>> 2, (t.addr >>> 2) + t.bytes / 4);
  }

  info(): ModelInfo {
    const p = this.plan;
    const byKind: Record<string, number> = {};
    for (const l of this.header.graph.layers) byKind[l.op] = (byKind[l.op] ?? 0) + 1;
    return {
      ops: { total: p.ops.length, byKind },
      layers: this.header.graph.layers.length,
      params: p.params,
      macs: p.macs,
      workPerCrop: this.opts.cost.workPerCrop,
      melWorkPerCrop: this.opts.cost.melWorkPerCrop,
      fileBytes: this.opts.fileBytes,
      weightBytes: p.weightsBytes,
      arenaBytes: p.arenaBytes,
      peakLiveBytes: p.peakLiveBytes,
      largestOpBytes: p.largestOpBytes,
      indirectionBytes: p.indirectionBytes,
      memoryBytes: p.totalBytes,
      input: { name: p.input.name, shape: p.input.shape },
      output: { name: p.output.name, shape: p.output.shape },
      labels: this.header.labels,
      mel: this.header.mel,
      arch: this.header.arch,
      provenance: this.header.provenance,
      formatVersion: `${this.header.versionMajor}.${this.header.versionMinor}`,
      threads: this.opts.threads,
      isa: this.opts.isa,
      tile: this.opts.tile,
      winograd: p.weights.some((w) => w.winograd !== undefined),
      winogradF4Layers: p.weights.filter((w) => w.winograd?.outTile === 4).length,
      winogradF16Layers: p.weights.filter((w) => w.winograd && w.dtype === "f16").length,
      quantMode: String(this.header.metadata.get("quant.mode") ?? "fp32"),
      precision: [...p.precision.values()].reduce<Record<string, number>>((a, x) => {
        a[x] = (a[x] ?? 0) + 1;
        return a;
      }, {}),
      loadMs: this.opts.loadMs,
      relaxed: this.opts.relaxed,
      fma: this.opts.fma,
    };
  }

  get graph(): EamGraph {
    return this.header.graph;
  }

  /** Stops the worker threads; the model cannot run afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, this.ctlBase + CTL.RUN, CTL_STOP);
    Atomics.notify(this.ctl, this.ctlBase + CTL.RUN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** @internal for kernel tests and benchmarks */
  get kernelExports(): KernelExports {
    return this.kernels;
  }
}

function readHeader(src: Source): EamHeader {
  if ("fd" in src) return readHeaderFd((src as { fd: number }).fd);
  const s = src as Source;
  const b = new Uint8Array(Math.min(s.size, 64));
  s.read(b, 0);
  // parseHeader checks the declared lengths against the size before reading further.
  const dv = new DataView(b.buffer);
  const hl = b.length >= 32 ? Number(dv.getBigUint64(24, true)) : 64;
  if (hl > s.size) return parseHeader(b, s.size); // raises the precise error
  const h = new Uint8Array(hl);
  s.read(h, 0);
  return parseHeader(h, s.size);
}

/** Index of the first NaN or infinite value, or -1. */
function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/**
 * The output must mean something: a softmax over a vector of class scores, one per label, so
 * that what is printed is a probability for each named class.
 */
function checkOutput(h: EamHeader, plan: Plan): void {
  const g = h.graph;
  const out = g.layers.find((l) => l.name === g.output);
  if (out?.op !== "softmax")
    throw new Error(
      `output ${g.output} is ${out ? `a ${out.op} layer` : "the graph input"}, not a softmax: a classifier's output must be the softmax of its class scores`,
    );
  const shape = plan.output.shape;
  if (shape.length !== 1)
    throw new Error(
      `output ${g.output} is a softmax over a [${shape}] tensor, not over a vector of class scores`,
    );
  const classes = shape[0]!;
  if (classes < 2) throw new Error(`output ${g.output} has ${classes} class; a classifier needs at least 2`);
  if (h.labels.length !== classes)
    throw new Error(
      `the file has ${h.labels.length} labels (eam.labels) but its output has ${classes} classes; every class needs a label`,
    );
  const first = new Map<string, number>();
  for (const [i, l] of h.labels.entries()) {
    const j = first.get(l);
    if (j !== undefined) throw new Error(`label ${JSON.stringify(l)} names both class ${j} and class ${i}`);
    first.set(l, i);
  }
}

/** Tensors of the file that no layer of the plan reads. */
function unusedTensors(h: EamHeader, plan: Plan): TensorInfo[] {
  const used = new Set(
    plan.weights.flatMap((w) => [w.weight, w.bias, ...(w.dtype === "i4" ? [`${w.layer}.weight_scale`] : [])]),
  );
  return h.tensors.filter((t) => !used.has(t.name));
}

/** Checks every weight tensor the plan needs: present, f32, right shape. */
function checkTensors(h: EamHeader, plan: Plan): void {
  const byName = new Map(h.tensors.map((t) => [t.name, t]));
  const get = (name: string, shape: number[], dtype: string): TensorInfo => {
    const t = byName.get(name);
    if (!t) throw new Error(`model: tensor ${name} is missing`);
    if (t.dtype !== dtype)
      throw new Error(
        `model: tensor ${name} is ${t.dtype}; its layer's precision (quant.layers) needs ${dtype}`,
      );
    if (t.shape.join() !== shape.join())
      throw new Error(`model: tensor ${name} has shape [${t.shape}], the graph needs [${shape}]`);
    return t;
  };
  for (const w of plan.weights) {
    const t = get(w.weight, w.weightShape, w.dtype === "i4" ? "u8" : w.dtype);
    get(w.bias, w.biasShape, "f32");
    if (w.dtype === "i4") {
      const s = get(`${w.layer}.weight_scale`, [w.n], "f32");
      if (s.quant) throw new Error(`model: tensor ${s.name} must be plain f32 scales`);
    }
    if (w.dtype === "i8") {
      const q = t.quant;
      const last = w.weightShape.length - 1;
      if (!q || !(q.axis === null ? q.scales.length === 1 : q.axis === last && q.scales.length === w.n))
        throw new Error(
          `model: int8 tensor ${w.weight} needs one scale per tensor or per output channel (axis ${last})`,
        );
      if (q.zeroPoints.some((z) => z !== 0))
        throw new Error(`model: int8 weights ${w.weight} must be symmetric (zero points 0)`);
      for (const s of q.scales) {
        const bad = scaleProblem(s);
        if (bad) throw new Error(`model: tensor ${w.weight} has scale ${s}, ${bad}`);
      }
    }
  }
}

/**
 * Runs a consistency check of the file's contents and reports what it finds wrong as an
 * EamFormatError naming the section. Only plain Errors are converted: errors about the caller's
 * options (RangeError) and format errors that already name their section pass through.
 */
function asFormatError<T>(section: EamSection, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error && e.constructor === Error) throw new EamFormatError(section, e.message);
    throw e;
  }
}

/** Bytes of load scratch one weight needs: raw tensor, bias, scales (and the i4 unpacked copy). */
function scratchExtent(w: WeightLoad, byName: Map<string, TensorInfo>): number {
  const a64 = (n: number) => Math.ceil(n / 64) * 64;
  const wt = byName.get(w.weight)!;
  const bt = byName.get(w.bias)!;
  const head = a64(wt.nbytes) + a64(bt.nbytes);
  if (w.dtype === "i4") return head + a64(byName.get(`${w.layer}.weight_scale`)!.nbytes) + w.k * w.n;
  if (w.dtype === "i8") return head + w.n * 4;
  return head;
}

/**
 * Where each weight's raw tensor is read before it is packed, in the order the weights are
 * loaded (highest destination first). The plan's scratch area starts at the arena and may run
 * past its end, to the largest raw tensor; pages past the arena would then be touched for loading
 * only and stay resident for the life of the model. Instead a tensor that does not fit in the
 * arena is read into the weight area below its own destination, which holds the weights still
 * to be loaded and is written later anyway. The plan's scratch area is the last resort.
 */
export function scratchPlacement(
  plan: Pick<Plan, "weights" | "arenaAddr" | "arenaBytes" | "scratchAddr">,
  tensors: TensorInfo[],
): { order: number[]; addr: number[]; extent: number[] } {
  const ws = plan.weights;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const extents = ws.map((w) => scratchExtent(w, byName));
  const weightsAddr = ws.reduce((m, w) => Math.min(m, w.dst), Number.POSITIVE_INFINITY);
  const order = ws.map((_, i) => i).sort((a, b) => ws[b]!.dst - ws[a]!.dst);
  const addr: number[] = new Array(ws.length);
  for (const i of order) {
    const need = extents[i]!;
    if (need <= plan.arenaBytes) addr[i] = plan.arenaAddr;
    else if (need <= ws[i]!.dst - weightsAddr) addr[i] = weightsAddr;
    else addr[i] = plan.scratchAddr;
  }
  return { order, addr, extent: extents };
}

/**
 * Reads each weight tensor straight from the file into a scratch area of wasm memory, verifies
 * its checksum there, and packs it into its final place. No copy of the whole file is made, and
 * no page of wasm memory is touched that the model does not use afterwards (see
 * scratchPlacement).
 */
function loadWeights(
  src: Source,
  h: EamHeader,
  plan: Plan,
  k: KernelExports,
  memory: WebAssembly.Memory,
  rk: RelaxedKernelExports | undefined,
): void {
  const byName = new Map(h.tensors.map((t) => [t.name, t]));
  const u8 = new Uint8Array(memory.buffer);
  const readTensor = (t: TensorInfo, dst: number): void => {
    const view = u8.subarray(dst, dst + t.nbytes);
    src.read(view, h.dataOffset + t.offset);
    const c = crc32(view);
    if (c !== t.crc32) throw tensorChecksumError(t, c);
  };
  // The zero buffer (padding taps, zero biases of the Winograd matrices) starts cleared.
  u8.fill(0, plan.zeroAddr, plan.zeroAddr + plan.zeroBytes);
  const { order, addr, extent: extents } = scratchPlacement(plan, h.tensors);
  // End of the weight area used as scratch so far: destinations below it are cleared before
  // packing, since packers may leave padding bytes unwritten (and Winograd needs zeroed memory).
  let dirtyEnd = 0;
  let arenaUsed = 0;
  for (const i of order) {
    const w = plan.weights[i]!;
    const wt = byName.get(w.weight)!;
    const bt = byName.get(w.bias)!;
    const wAddr = addr[i]!;
    if (wAddr === plan.arenaAddr || wAddr === plan.scratchAddr)
      arenaUsed = Math.max(arenaUsed, wAddr - plan.arenaAddr + extents[i]!);
    else dirtyEnd = Math.max(dirtyEnd, wAddr + extents[i]!);
    if (w.dst < dirtyEnd) u8.fill(0, w.dst, Math.min(dirtyEnd, w.dst + Math.ceil(w.packedBytes / 64) * 64));
    const bAddr = wAddr + Math.ceil(wt.nbytes / 64) * 64;
    readTensor(wt, wAddr);
    readTensor(bt, bAddr);
    const wg = w.winograd;
    if (w.dtype === "i4") {
      // Unpack the 4-bit weights (two's complement, low nibble = even channel) into the i8
      // layout [k][n] after the packed bytes, then pack for the qs8 GEMM like an i8 tensor.
      const st = byName.get(`${w.layer}.weight_scale`)!;
      const sAddr = bAddr + Math.ceil(bt.nbytes / 64) * 64;
      readTensor(st, sAddr);
      checkScales(st, new Float32Array(memory.buffer, sAddr, w.n));
      const qAddr = sAddr + Math.ceil(st.nbytes / 64) * 64;
      k.qs8_unpack_int4(w.k, w.n, wAddr, qAddr);
      packQs8(w, qAddr, sAddr, bAddr, k, rk);
    } else if (w.dtype === "f16") {
      k.f16_pack_weights(w.k, w.n, wAddr, bAddr, w.dst);
      // Winograd: the output transform adds the bias, read as one row of cout f32.
      if (wg) u8.copyWithin(w.dst + wg.biasOffset, bAddr, bAddr + bt.nbytes);
    } else if (w.dtype === "i8") {
      const sAddr = bAddr + Math.ceil(bt.nbytes / 64) * 64;
      const q = wt.quant!;
      const f32 = new Float32Array(memory.buffer, sAddr, w.n);
      if (q.scales.length === 1) f32.fill(q.scales[0]!);
      else f32.set(q.scales);
      packQs8(w, wAddr, sAddr, bAddr, k, rk);
    } else if (wg) {
      // Transformed and packed in one pass into the (zeroed) destination.
      if (wg.outTile === 4) k.f32_wino4_pack_weights(wg.cin, wg.cout, wAddr, w.dst);
      else k.f32_wino_pack_weights(wg.cin, wg.cout, wAddr, w.dst);
      u8.copyWithin(w.dst + wg.biasOffset, bAddr, bAddr + bt.nbytes);
    } else {
      k.f32_pack_weights(w.k, w.n, wAddr, bAddr, w.dst);
    }
  }
  u8.fill(0, plan.arenaAddr, plan.arenaAddr + arenaUsed);
}

/** Packs an int8 weight matrix [k][n] for its layer's GEMM: the relaxed one's panels or the 16-bit one's. */
function packQs8(
  w: WeightLoad,
  src: number,
  scales: number,
  bias: number,
  k: KernelExports,
  rk: RelaxedKernelExports | undefined,
): void {
  if (!w.rdot) k.qs8_pack_weights(w.kc, w.ks, w.n, src, scales, bias, w.dst, w.pairMajor ? 1 : 0);
  else if (rk) rk.qs8_rdot_pack_weights(w.k, w.n, src, scales, bias, w.dst);
  else throw new Error(`layer ${w.layer}: relaxed-SIMD weights without the relaxed module`);
}

/** Whether a model's 7-bit layers run on the relaxed-SIMD GEMM, and why. */
interface RelaxedChoice {
  module: WebAssembly.Module | null;
  sevenBitLayers: number;
  reason: string;
}

/**
 * The relaxed module for a plan, or why there is none. The self-check (which sets V8 flags) runs
 * only when the caller asks for relaxed SIMD and the file has 7-bit layers.
 */
function relaxedChoice(inputBits: ReadonlyMap<string, 7 | 8>, isa: Isa, wanted: boolean): RelaxedChoice {
  const sevenBitLayers = [...inputBits.values()].filter((b) => b === 7).length;
  const none = (reason: string): RelaxedChoice => ({ module: null, sevenBitLayers, reason });
  if (sevenBitLayers === 0) return none("the file has no layer with 7-bit input (quant.inputBits)");
  if (!wanted)
    return none("relaxed SIMD not requested (relaxedSimd option); 7-bit layers run on 128-bit SIMD");
  if (isa !== "wasmsimd") return none(`relaxed SIMD needs the wasmsimd build, not ${isa}`);
  const status = relaxedSimdStatus();
  if (!status.usable)
    return none(`relaxed SIMD not usable: ${status.reason}; 7-bit layers run on 128-bit SIMD`);
  return { module: relaxedKernelModule(), sevenBitLayers, reason: `relaxed SIMD: ${status.reason}` };
}

/** The relaxed module when a model's f32 GEMMs run on its fused multiply-add kernels, and why. */
interface FmaChoice {
  module: WebAssembly.Module | null;
  reason: string;
}

/** The FMA kernels' module, or why there is none; the check (which sets V8 flags) runs only when asked. */
function fmaChoice(isa: Isa, wanted: boolean): FmaChoice {
  const none = (reason: string): FmaChoice => ({ module: null, reason });
  if (!wanted) return none("fused multiply-add not requested (fma option); f32 GEMMs run on 128-bit SIMD");
  if (isa !== "wasmsimd") return none(`fused multiply-add needs the wasmsimd build, not ${isa}`);
  const status = fmaStatus();
  if (!status.usable)
    return none(`fused multiply-add not usable: ${status.reason}; f32 GEMMs run on 128-bit SIMD`);
  return { module: relaxedKernelModule(), reason: status.reason };
}

/**
 * Per-layer precision and activation parameters of a quantized file: `quant.layers` and
 * `quant.activations` when present (docs/format.md, "Quantized models"); otherwise from the weight
 * dtypes (f16 weights: f16 layer; i8 weights: dynamic layer). Keyed by names from the file, so
 * held in Maps: a layer called `constructor` or `__proto__` is a name like any other.
 */
export function quantConfig(h: EamHeader): {
  precision: Map<string, Precision>;
  activations: Map<string, ActQuant>;
  inputBits: Map<string, 7 | 8>;
} {
  const meta = h.metadata.get("quant.layers");
  const precision = new Map<string, Precision>();
  const ok = new Set(["f32", "f16", "dynamic", "int8", "int4"]);
  if (meta !== undefined) {
    if (typeof meta !== "object" || meta === null || Array.isArray(meta))
      throw new Error("model: quant.layers must be a JSON object");
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== "string" || !ok.has(v))
        throw new Error(
          `model: quant.layers.${k} is ${JSON.stringify(v)}; expected f32, f16, dynamic, int8 or int4`,
        );
      precision.set(k, v as Precision);
    }
  } else {
    const dt = new Map(h.tensors.map((t) => [t.name, t.dtype]));
    for (const l of h.graph.layers) {
      if (l.op !== "conv" && l.op !== "dense") continue;
      const d = dt.get(`${l.name}.weight`);
      if (d === "f16") precision.set(l.name, "f16");
      else if (d === "i8") precision.set(l.name, "dynamic");
    }
  }
  const activations = new Map<string, ActQuant>();
  const a = h.metadata.get("quant.activations");
  if (a !== undefined) {
    if (typeof a !== "object" || a === null || Array.isArray(a))
      throw new Error("model: quant.activations must be a JSON object");
    for (const [k, v] of Object.entries(a as Record<string, unknown>)) {
      const { scale: s, zeroPoint: z } = ownFields(v, ["scale", "zeroPoint"]);
      if (typeof s !== "number" || !Number.isInteger(z) || (z as number) < -128 || (z as number) > 127)
        throw new Error(
          `model: quant.activations.${k} needs a number scale and an integer zeroPoint in [-128, 127]`,
        );
      const bad = scaleProblem(s);
      if (bad) throw new Error(`model: quant.activations.${k} has scale ${s}, ${bad}`);
      activations.set(k, { scale: s, zeroPoint: z as number });
    }
  }
  const inputBits = parseInputBits(h.metadata.get("quant.inputBits"), h.graph, precision);
  return { precision, activations, inputBits };
}

/** The named own fields of a JSON value (inherited members such as `constructor` are not fields). */
function ownFields(v: unknown, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (typeof v === "object" && v !== null)
    for (const k of keys) if (Object.hasOwn(v, k)) out[k] = (v as Record<string, unknown>)[k];
  return out;
}

/** Refuses a tensor of weight scales (the 4-bit layers' `<layer>.weight_scale`) holding an unusable one. */
function checkScales(t: TensorInfo, scales: Float32Array): void {
  for (const [c, v] of scales.entries()) {
    const bad = scaleProblem(v);
    if (bad)
      throw new EamFormatError("data", `model: tensor ${t.name} has scale ${v} (channel ${c}), ${bad}`);
  }
}

/** Smallest positive normal float32 (2^-126): below it 1 / scale overflows float32. */
const F32_MIN_NORMAL = 2 ** -126;

/**
 * Why a quantization scale cannot be used, judged in float32 as the kernels use it (the scale
 * and its reciprocal must be finite and non-zero there), or null when it can.
 */
export function scaleProblem(s: number): string | null {
  const f = Math.fround(s);
  if (Number.isNaN(f)) return "which is not a number";
  if (!(f > 0)) return f === 0 && s !== 0 ? "which is 0 in float32" : "which is not positive";
  if (!Number.isFinite(f)) return "which is infinite in float32";
  if (f < F32_MIN_NORMAL) return "whose reciprocal overflows float32 (the smallest usable scale is 1.2e-38)";
  return null;
}

/** Writes the quantization parameter blocks and padding vectors of a plan (see assembly/quant.ts). */
function writeQuantParams(plan: Plan, memory: WebAssembly.Memory): void {
  const dv = new DataView(memory.buffer);
  const u8 = new Uint8Array(memory.buffer);
  for (const b of plan.paramBlocks) writeParamBlock(dv, b.addr, b.scale, b.zeroPoint, b.out);
  for (const p of plan.pads) u8.fill(p.value & 0xff, p.addr, p.addr + p.bytes);
}

/** Loads a model file. */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  return Model.create(fileSource(path), options);
}

/** Loads a model from the bytes of a `.eam` file. */
export async function loadModelFromBytes(bytes: Uint8Array, options: LoadOptions = {}): Promise<Model> {
  return Model.create(bytesSource(bytes), options);
}
