/**
 * The plan's data: kernel call records, weight loads, tensor placements and the memory map,
 * and the symbolic form of a call record that the lowering pass produces before any address
 * is known.
 */
import type { RelaxedKernelExports } from "../gen/kernels.js";
import type { KernelExports } from "../wasm.js";

export const ALIGN = 64;
export const align = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

/** What every kernel call record has: the layer it belongs to, and whether one thread runs it whole. */
export interface StepBase {
  layer: string;
  single: boolean;
}

/**
 * One kernel invocation; every thread runs its own slice of it (`single`: thread 0 runs all
 * of it). The lowering of every op and precision produces these.
 */
export type OpRecord =
  | (StepBase & {
      kind: "gemm";
      a: number;
      as: number;
    } & GemmFields)
  | (StepBase & {
      kind: "igemm";
      ks: number;
      ind: number;
    } & GemmFields)
  | (StepBase & {
      kind: "maxpool";
      oh: number;
      x: number;
      y: number;
    } & WindowFields)
  | (StepBase & {
      /** Winograd input transform: x -> V[E][T][C], F(2x2,3x3) (E = 16) or F(4x4,3x3) (E = 36). */
      kind: "wino_in";
      outTile: WinogradTile;
      ih: number;
      iw: number;
      c: number;
      tw: number;
      tiles: number;
      x: number;
      v: number;
      vstride: number;
    })
  | (StepBase & {
      /** E GEMMs M_e = V_e U_e, one per Winograd position e (E = 16 or 36). */
      kind: "bgemm";
      batch: number;
      M: number;
      N: number;
      K: number;
      a: number;
      as: number;
      astride: number;
      w: number;
      wstride: number;
      c: number;
      cs: number;
      cstride: number;
    })
  | (StepBase & {
      /** Winograd output transform + bias (+ReLU): M[E][T][C] -> y, in outTile x outTile tiles. */
      kind: "wino_out";
      outTile: WinogradTile;
      oh: number;
      ow: number;
      c: number;
      tw: number;
      tiles: number;
      m: number;
      mstride: number;
      bias: number;
      y: number;
      relu: number;
    })
  | (StepBase & { kind: "add"; n: number; a: number; b: number; y: number; relu: number })
  | (StepBase & {
      /** f32 activations x f16 weights (widened per cache block into per-thread scratch). */
      kind: "f16igemm";
      ks: number;
      ind: number;
    } & GemmFields &
      ScratchFields)
  | (StepBase & {
      /**
       * The 16 GEMMs M_e = V_e U_e of a Winograd F(2x2,3x3) layer with f16 weights: U_e
       * transformed from the f16 panels per block of panels into per-thread scratch.
       */
      kind: "f16wino_gemm";
      M: number;
      N: number;
      K: number;
      v: number;
      vstride: number;
      w: number;
      m: number;
      mstride: number;
    } & ScratchFields)
  | (StepBase & {
      /**
       * int8 -> i16 im2col rows (a - zx, zero padding) from the convolution geometry:
       * [M][kh * kw * kc2], or [M][kh * kw rounded to even] when `merge` (one input channel).
       */
      kind: "qim2col";
    } & Im2colFields & {
        qp: number;
        merge: number;
      })
  | (StepBase & {
      /** i16 x int8 -> int32 GEMM on (tile-interleaved) im2col16 rows, float requantization epilogue. */
      kind: "qgemm";
      ks: number;
      a: number;
    } & GemmFields &
      QEpilogueFields)
  | (StepBase & {
      /**
       * 7-bit im2col rows (relaxed SIMD): input bytes in [0, 127] (zero point 0), zero padding,
       * each row qs8_rdot_row_bytes(kh, kw, c) bytes.
       */
      kind: "rim2col";
    } & Im2colFields)
  | (StepBase & {
      /**
       * int8 weights x 7-bit activations -> int32 with relaxed_dot_i8x16_i7x16_add_s, then the
       * qgemm epilogue (same parameter block, ReLU and fused residual): rows at a + m * as.
       */
      kind: "rgemm";
      a: number;
      as: number;
    } & GemmFields &
      QEpilogueFields)
  | (StepBase & {
      /**
       * INT8 Winograd input transform: int8 x -> i16 V[E][T][kc2], F(2x2,3x3) (cols 2, E = 16)
       * or F(2x3,3x3) (cols 3, E = 20).
       */
      kind: "qwino_in";
      ih: number;
      iw: number;
      c: number;
      cols: number;
      tw: number;
      tiles: number;
      x: number;
      v: number;
      vstride: number;
      qp: number;
    })
  | (StepBase & {
      /**
       * Per panel of 8 output channels: weight transform into scratch, 16 (cols 3: 20) int32
       * GEMMs into scratch, then the output transform + qs8 epilogue into y (fused residual as
       * in qgemm).
       */
      kind: "qwino_gemm";
      cols: number;
      M: number;
      N: number;
      K: number;
      v: number;
      vstride: number;
      w: number;
      oh: number;
      ow: number;
      tw: number;
      y: number;
      relu: number;
    } & ScratchFields &
      QEpilogueFields)
  | (StepBase & { kind: "quant"; n: number; x: number; y: number; qp: number })
  | (StepBase & { kind: "dequant"; n: number; x: number; y: number; qp: number })
  | (StepBase & {
      kind: "dynparams";
      n: number;
      x: number;
      qp: number;
      pad: number;
      padBytes: number;
    })
  | (StepBase & {
      kind: "qadd";
      n: number;
      a: number;
      b: number;
      y: number;
      qa: number;
      qb: number;
      qy: number;
      relu: number;
    })
  | (StepBase & {
      kind: "qmaxpool";
      oh: number;
      x: number;
      y: number;
    } & WindowFields)
  | (StepBase & { kind: "qgap"; hw: number; c: number; x: number; y: number; qp: number })
  | (StepBase & { kind: "gap"; hw: number; c: number; x: number; y: number })
  | (StepBase & { kind: "softmax"; n: number; x: number; y: number });

/**
 * The fields of an im2col call: output rows M of an oh x ow output (ow given), the convolution
 * geometry over an ih x iw x c input x, and the rows a.
 */
/** An M x N x K GEMM into c (row stride cs bytes) with weights w, optionally ReLU'd. */
export interface GemmFields {
  M: number;
  N: number;
  K: number;
  w: number;
  c: number;
  cs: number;
  relu: number;
}

/** The int8 epilogue: output parameter block, and the fused residual add's block (0: none) and address - c. */
export interface QEpilogueFields {
  qp: number;
  rq: number;
  rd: number;
}

/** Per-thread scratch: thread t uses scratch + t * scratchStride. */
export interface ScratchFields {
  scratch: number;
  scratchStride: number;
}

/** A kh x kw window with strides and top/left padding over an ih x iw x c input, ow outputs a row. */
export interface WindowFields {
  ih: number;
  iw: number;
  c: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

/** The im2col rows of M windows of x, written at a. */
export interface Im2colFields extends WindowFields {
  M: number;
  x: number;
  a: number;
}

/** Weight tensors to load: raw [k, n] f32 matrix + bias, packed at `dst`. */
export interface WeightLoad {
  layer: string;
  weight: string;
  bias: string;
  /** Expected shapes in the file. */
  weightShape: number[];
  biasShape: number[];
  k: number;
  n: number;
  dst: number;
  packedBytes: number;
  /**
   * Winograd F(2x2,3x3) or F(4x4,3x3). f32: 16 or 36 packed matrices [cin x cout] of panelBytes
   * each; f16 (F(2x2,3x3) only): the f16 panels of the direct layout (panelBytes in all),
   * transformed per block at run time. Then the bias, cout f32, at dst + biasOffset.
   */
  winograd?: { cin: number; cout: number; panelBytes: number; biasOffset: number; outTile: WinogradTile };
  /**
   * Stored weight type: f32, f16 (widened in the kernel), i8 (qs8 GEMM; kc channels x ks taps) or
   * i4 (two 4-bit weights per byte along the output channels, unpacked to the i8 layout at load).
   */
  dtype: "f32" | "f16" | "i8" | "i4";
  kc: number;
  ks: number;
  /** int8 panels ordered by channel pair, then tap (the int8 Winograd layers; qs8_pack_weights). */
  pairMajor?: boolean;
  /** int8 panels of the relaxed-SIMD GEMM (qs8_rdot_pack_weights over k = ks * kc rows). */
  rdot?: boolean;
}

/** Per-layer precision of a quantized model (see docs/format.md, "Quantized models"). */
export type Precision = "f32" | "f16" | "dynamic" | "int8" | "int4";

/** Affine INT8 parameters of an activation tensor: real = scale * (q - zeroPoint). */
export interface ActQuant {
  scale: number;
  zeroPoint: number;
}

/** A 32-byte quantization parameter block the host writes once at load. */
export interface ParamBlock {
  addr: number;
  scale: number;
  zeroPoint: number;
  /** For a qs8 GEMM: output int8 with these parameters (absent: f32 output). */
  out?: ActQuant;
}

/** Element type of an activation tensor in wasm memory (sizes: format.ts DTYPE_BYTES). */
export type TensorDtype = "f32" | "i8" | "i16" | "i32";

/**
 * INT8 3x3 convolutions run as Winograd F(2x2,3x3) from this many tiles up: below it, the
 * per-call weight transform costs more than the multiplications it saves.
 */
export const QWINO_MIN_TILES = 4;

export interface TensorPlacement {
  name: string;
  shape: number[];
  bytes: number;
  /** Absolute byte address in wasm memory. */
  addr: number;
  /** First op that writes it (-1: the graph input) and last op that reads it. */
  def: number;
  lastUse: number;
  /** Name of the tensor whose memory it shares (dropout, in-place add). */
  aliasOf?: string;
  /**
   * Element type in memory: f32, int8 with its parameters, or the int8 layers' internal i16
   * (im2col rows, Winograd inputs) and i32 (Winograd products).
   */
  dtype: TensorDtype;
  quant?: ActQuant;
}

export interface IndirectionBuffer {
  addr: number;
  /** Pointers to write: for each output pixel and tap, an input address or the zero buffer. */
  build(view: Uint32Array): void;
}

export interface Plan {
  ops: OpRecord[];
  /** Barrier after op i (all threads) before op i+1. */
  barrierAfter: boolean[];
  weights: WeightLoad[];
  tensors: Map<string, TensorPlacement>;
  indirection: IndirectionBuffer[];
  input: TensorPlacement;
  output: TensorPlacement;
  /** Memory map. */
  controlAddr: number;
  zeroAddr: number;
  zeroBytes: number;
  arenaAddr: number;
  arenaBytes: number;
  /** Sum of the live activation bytes at the worst op (a lower bound for any arena). */
  peakLiveBytes: number;
  /** Largest input(s) + output bytes of a single op. */
  largestOpBytes: number;
  indirectionBytes: number;
  weightsAddr: number;
  weightsBytes: number;
  /** Scratch for raw tensors during loading (inside the arena region, which is idle then). */
  scratchAddr: number;
  scratchBytes: number;
  totalBytes: number;
  /** Quantization parameter blocks and padding vectors (filled with a zero point) to write at load. */
  paramBlocks: ParamBlock[];
  pads: { addr: number; bytes: number; value: number }[];
  /** Per-layer precision actually used. */
  precision: Map<string, Precision>;
  macs: number;
  params: number;
  tile: number;
}

/** Output tile side of an f32 Winograd layer: F(2x2,3x3) or F(4x4,3x3). */
export type WinogradTile = 2 | 4;
/** How the planner picks it: per layer shape (`winogradTileFor`), or one for every layer. */
export type WinogradTileChoice = "auto" | "2x2" | "4x4";

export interface PlanOptions {
  /** Activation tensors kept alive to the end (readable after run). */
  keep?: string[];
  tile: number;
  /** First free byte of the wasm memory (the module's heap base). */
  heapBase: number;
  /** Run 3x3 stride-1 "same" convolutions with Winograd (default true). */
  winograd?: boolean;
  /**
   * Run the f16 layers' 3x3 stride-1 "same" convolutions with Winograd F(2x2,3x3) (default true;
   * only when `winograd` is on too); false keeps them on the direct f16 IGEMM.
   */
  f16Winograd?: boolean;
  /** Output tile of the f32 Winograd layers: one for all (`"2x2"`, default; `"4x4"`), or per layer (`"auto"`). */
  f32WinogradTile?: WinogradTileChoice;
  /** Threads that will run the plan (per-thread scratch of f16 layers). Default 1. */
  threads?: number;
  /** Precision per layer (conv, dense: f32/f16/dynamic/int8; add, maxpool, gap: f32/int8). Default f32. */
  precision?: ReadonlyMap<string, Precision>;
  /** INT8 parameters of activation tensors (static int8 layers need their inputs' and outputs'). */
  activations?: ReadonlyMap<string, ActQuant>;
  /** The kernel module, whose size functions define the layouts it reads (packed panels, scratch). */
  kernel: KernelLayout;
  /**
   * Input bits of int8 layers (`quant.inputBits`): 7 for a layer whose input is a ReLU output
   * quantized to [0, 127]. Such layers run on the relaxed-SIMD GEMM when `relaxed` is given.
   */
  inputBits?: ReadonlyMap<string, 7 | 8>;
  /** The relaxed-SIMD kernel module's layout sizes: set only when its self-check passed. */
  relaxed?: RelaxedLayout;
}

/** The relaxed-SIMD exports that give the sizes of its layouts (packed panels, im2col rows). */
export type RelaxedLayout = Pick<RelaxedKernelExports, "qs8_rdot_panel_bytes" | "qs8_rdot_row_bytes">;

/** The kernel exports that give the sizes of the memory layouts the kernels define. */
export type KernelLayout = Pick<
  KernelExports,
  "qs8_panel_bytes" | "qs8_wino_scratch_bytes" | "f16_wino_scratch_bytes"
>;

/**
 * An address (or a size) of a call record that only the memory map knows: a tensor's, a
 * parameter block's or padding vector's, a packed weight's (plus an offset), an indirection
 * buffer's, the per-thread scratch of f16 or int8 Winograd layers and its stride, or the
 * distance between two tensors (a fused residual relative to the output, modulo 2^32).
 */
export type AddrRef =
  | { tensor: string }
  | { block: string }
  | { weight: number; offset: number }
  | { indirection: number }
  | { scratch: ScratchKind }
  | { scratchStride: ScratchKind }
  | { distance: [from: string, to: string] };

/**
 * The per-thread scratch areas: widened (or Winograd-transformed) f16 weight blocks, int8
 * Winograd panels and products.
 */
export type ScratchKind = "f16" | "qwino";

type Symbolic<T> = { [K in keyof T]: T[K] extends number ? number | AddrRef : T[K] };

/** A call record whose addresses are still references. */
export type OpTemplate = OpRecord extends infer R ? (R extends OpRecord ? Symbolic<R> : never) : never;

/** The geometry of a convolution (or of a dense layer: a 1x1 convolution on a 1x1 map). */
export interface ConvGeometry {
  h: number;
  w: number;
  cin: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

/**
 * An indirection buffer to fill at load: for each output pixel and tap, the address of the f32
 * input pixel, or of the zero buffer where the tap falls into the padding.
 */
export interface IndirectionSpec {
  input: string;
  geometry: ConvGeometry;
}

/** One step of the lowered graph: a kernel call, or (op null) an alias of its only input. */
export interface LoweredNode {
  inputs: string[];
  output: string;
  op: OpTemplate | null;
}

/** Quantization parameter block contents before placement. */
export interface BlockSpec {
  scale: number;
  zeroPoint: number;
  out?: ActQuant;
}

/** The result of lowering: every tensor, kernel call and buffer, without addresses. */
export interface LoweredGraph {
  nodes: LoweredNode[];
  shapes: Map<string, number[]>;
  dtypes: Map<string, TensorDtype>;
  quant: Map<string, ActQuant>;
  /** Weights to load, `dst` still 0. */
  weights: WeightLoad[];
  blocks: Map<string, BlockSpec>;
  pads: Map<string, { bytes: number; value: number }>;
  indirection: IndirectionSpec[];
  /** Bytes of one thread's scratch of each kind. */
  scratchStride: Record<ScratchKind, number>;
  precision: Map<string, Precision>;
  macs: number;
  params: number;
}
