/**
 * Compiles a graph into a static execution plan: shapes, a memory map of the shared wasm
 * memory (packed weights, indirection buffers, one activation arena reused by liveness), and
 * one kernel call record per op.
 */
import { type LayerSpec, padding1d } from "./arch.js";
import type { EamGraph } from "./format.js";

export const ALIGN = 64;
const align = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

/** One kernel invocation; every thread runs its own slice of it. */
export type OpRecord =
  | {
      kind: "gemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      a: number;
      as: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      single: boolean;
    }
  | {
      kind: "igemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      ks: number;
      ind: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      single: boolean;
    }
  | {
      kind: "maxpool";
      layer: string;
      ih: number;
      iw: number;
      c: number;
      oh: number;
      ow: number;
      kh: number;
      kw: number;
      sh: number;
      sw: number;
      pt: number;
      pl: number;
      x: number;
      y: number;
      single: boolean;
    }
  | {
      /** Winograd F(2x2,3x3) input transform: x -> V[16][T][C]. */
      kind: "wino_in";
      layer: string;
      ih: number;
      iw: number;
      c: number;
      tw: number;
      tiles: number;
      x: number;
      v: number;
      vstride: number;
      single: boolean;
    }
  | {
      /** 16 GEMMs M_e = V_e U_e, one per Winograd position e. */
      kind: "bgemm";
      layer: string;
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
      single: boolean;
    }
  | {
      /** Winograd output transform + bias (+ReLU): M[16][T][C] -> y. */
      kind: "wino_out";
      layer: string;
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
      single: boolean;
    }
  | { kind: "add"; layer: string; n: number; a: number; b: number; y: number; relu: number; single: boolean }
  | {
      /** f32 activations x f16 weights (widened per cache block into per-thread scratch). */
      kind: "f16igemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      ks: number;
      ind: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      scratch: number;
      scratchStride: number;
      single: boolean;
    }
  | {
      /**
       * int8 -> i16 im2col rows (a - zx, zero padding) from the convolution geometry:
       * [M][kh * kw * kc2], or [M][kh * kw rounded to even] when `merge` (one input channel).
       */
      kind: "qim2col";
      layer: string;
      M: number;
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
      x: number;
      a: number;
      qp: number;
      merge: number;
      single: boolean;
    }
  | {
      /** i16 x int8 -> int32 GEMM on (tile-interleaved) im2col16 rows, float requantization epilogue. */
      kind: "qgemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      ks: number;
      a: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      qp: number;
      /** Fused residual add: parameter block of the int8 residual (0: none), its address - c. */
      rq: number;
      rd: number;
      single: boolean;
    }
  | {
      /**
       * INT8 Winograd input transform: int8 x -> i16 V[E][T][kc2], F(2x2,3x3) (cols 2, E = 16)
       * or F(2x3,3x3) (cols 3, E = 20).
       */
      kind: "qwino_in";
      layer: string;
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
      single: boolean;
    }
  | {
      /**
       * Per panel of 8 output channels: weight transform into scratch, 16 (cols 3: 20) int32
       * GEMMs into scratch, then the output transform + qs8 epilogue into y (fused residual as
       * in qgemm).
       */
      kind: "qwino_gemm";
      layer: string;
      cols: number;
      M: number;
      N: number;
      K: number;
      v: number;
      vstride: number;
      w: number;
      scratch: number;
      scratchStride: number;
      oh: number;
      ow: number;
      tw: number;
      y: number;
      relu: number;
      qp: number;
      rq: number;
      rd: number;
      single: boolean;
    }
  | { kind: "quant"; layer: string; n: number; x: number; y: number; qp: number; single: boolean }
  | { kind: "dequant"; layer: string; n: number; x: number; y: number; qp: number; single: boolean }
  | {
      kind: "dynparams";
      layer: string;
      n: number;
      x: number;
      qp: number;
      pad: number;
      padBytes: number;
      single: boolean;
    }
  | {
      kind: "qadd";
      layer: string;
      n: number;
      a: number;
      b: number;
      y: number;
      qa: number;
      qb: number;
      qy: number;
      relu: number;
      single: boolean;
    }
  | {
      kind: "qmaxpool";
      layer: string;
      ih: number;
      iw: number;
      c: number;
      oh: number;
      ow: number;
      kh: number;
      kw: number;
      sh: number;
      sw: number;
      pt: number;
      pl: number;
      x: number;
      y: number;
      single: boolean;
    }
  | { kind: "qgap"; layer: string; hw: number; c: number; x: number; y: number; qp: number; single: boolean }
  | { kind: "gap"; layer: string; hw: number; c: number; x: number; y: number; single: boolean }
  | { kind: "softmax"; layer: string; n: number; x: number; y: number; single: boolean };

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
  /** Winograd F(2x2,3x3): 16 packed matrices [cin x cout] then the bias at dst + biasOffset. */
  winograd?: { cin: number; cout: number; panelBytes: number; biasOffset: number };
  /**
   * Stored weight type: f32, f16 (widened in the kernel), i8 (qs8 GEMM; kc channels x ks taps) or
   * i4 (two 4-bit weights per byte along the output channels, unpacked to the i8 layout at load).
   */
  dtype: "f32" | "f16" | "i8" | "i4";
  kc: number;
  ks: number;
  /** int8 panels ordered by channel pair, then tap (the int8 Winograd layers; qs8_pack_weights). */
  pairMajor?: boolean;
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

export type TensorDtype = "f32" | "i8" | "i16" | "i32";
const DTYPE_BYTES: Record<TensorDtype, number> = { f32: 4, i8: 1, i16: 2, i32: 4 };

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

export interface PlanOptions {
  /** Activation tensors kept alive to the end (readable after run). */
  keep?: string[];
  tile: number;
  /** First free byte of the wasm memory (the module's heap base). */
  heapBase: number;
  /** Run 3x3 stride-1 "same" convolutions with Winograd F(2x2,3x3) (default true). */
  winograd?: boolean;
  /** Threads that will run the plan (per-thread scratch of f16 layers). Default 1. */
  threads?: number;
  /** Precision per layer (conv, dense: f32/f16/dynamic/int8; add, maxpool, gap: f32/int8). Default f32. */
  precision?: ReadonlyMap<string, Precision>;
  /** INT8 parameters of activation tensors (static int8 layers need their inputs' and outputs'). */
  activations?: ReadonlyMap<string, ActQuant>;
}

interface Node {
  layer: string;
  kind: OpRecord["kind"] | "dropout";
  inputs: string[];
  output: string;
}

/**
 * A byte stride for 16 equally spaced buffers that are read together: a multiple of 64 that is
 * not a multiple of 512, so that the 16 addresses fall into distinct sets of a 64-set L1 cache.
 * `exact` mirrors the kernel's rule for its weight scratch (only + 64 on a multiple of 512).
 */
function setSpreadStride(bytes: number, exact = false): number {
  const s = exact ? bytes : align(bytes);
  return s % 512 === 0 ? s + 64 : s;
}

/** Per-thread scratch of qs8_wino_gemm_run (assembly/quant.ts: qs8_wino_scratch_bytes). */
function qwinoScratchBytes(kc2: number, tiles: number, cols: number): number {
  return (
    (cols === 3 ? 5 : 16) * setSpreadStride((kc2 / 2) * 32, true) +
    (cols === 3 ? 20 : 16) * setSpreadStride(tiles * 32, true)
  );
}

/**
 * The int8 Winograd form of a 3x3 "same" convolution with an oh x ow output and kc2 input
 * channels (rounded up to even), or none: F(2x3,3x3) (20 products per 2x3 tile) where it needs
 * fewer multiplications than F(2x2,3x3) (16 per 2x2 tile) and its int32 bound holds, else
 * F(2x2,3x3); none below QWINO_MIN_TILES tiles or when even F(2x2)'s bound fails.
 */
export function qwinoForm(
  oh: number,
  ow: number,
  kc2: number,
): { cols: number; tw: number; tiles: number } | undefined {
  const th = Math.ceil(oh / 2);
  const f22 = { cols: 2, tw: Math.ceil(ow / 2), tiles: th * Math.ceil(ow / 2) };
  const f23 = { cols: 3, tw: Math.ceil(ow / 3), tiles: th * Math.ceil(ow / 3) };
  // The exact int32 bounds: 9 * kc2 * 255 * 127 * (4 or 12) < 2^31.
  const form = kc2 <= 600 && 20 * f23.tiles < 16 * f22.tiles ? f23 : kc2 <= 1800 ? f22 : undefined;
  return form && form.tiles >= QWINO_MIN_TILES ? form : undefined;
}

/** A 3x3, stride 1, "same" (padding 1 on every side) convolution: the Winograd F(2x2,3x3) case. */
function isWinograd3x3(g: {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
}): boolean {
  return (
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.pt === 1 &&
    g.pl === 1 &&
    g.oh === g.h &&
    g.ow === g.w
  );
}

/** Every dimension of a layer's output must be a positive integer (no empty or negative shape runs). */
function checkOutputShape(l: LayerSpec, shapes: Map<string, number[]>): void {
  const out = shapes.get(l.name)!;
  if (out.every((d) => Number.isInteger(d) && d >= 1)) return;
  const input = l.op === "add" ? l.inputs[0] : l.input;
  throw new Error(`${l.op} ${l.name}: empty output shape [${out}] from input [${shapes.get(input)}]`);
}

export function buildPlan(graph: EamGraph, opts: PlanOptions): Plan {
  const shapes = new Map<string, number[]>([[graph.input, graph.inputShape]]);
  const need = (n: string): number[] => {
    const s = shapes.get(n);
    if (!s) throw new Error(`graph: tensor ${n} used before it is defined`);
    return s;
  };
  const nodes: Node[] = [];
  const weights: WeightLoad[] = [];
  let macs = 0;
  let params = 0;
  // Op parameters resolved after placement.
  const pending: ((addr: (n: string) => number) => OpRecord)[] = [];
  const indirectionSpecs: {
    ops: number;
    bytes: number;
    fill: (addr: (n: string) => number, v: Uint32Array, base: number, zero: number) => void;
  }[] = [];

  let f16Stride = 0;
  let f16Addr = 0;
  let qwStride = 0;
  let qwAddr = 0;
  /** Int8 conv outputs whose op can take a residual add into its epilogue. */
  const fusable = new Map<string, { pending: number; node: number; gk: string }>();
  const uses = new Map<string, number>();
  const use = (n: string) => uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const l of graph.layers) {
    if (l.op === "add") for (const i of l.inputs) use(i);
    else use(l.input);
  }
  use(graph.output);
  for (const k of opts.keep ?? []) use(k);
  const prec = opts.precision ?? new Map<string, Precision>();
  const acts = opts.activations ?? new Map<string, ActQuant>();
  const dtypes = new Map<string, TensorDtype>([[graph.input, "f32"]]);
  const tquant = new Map<string, ActQuant>();
  /** Tensor -> key of its parameter block. */
  const qpKey = new Map<string, string>();
  const blocks = new Map<string, { scale: number; zeroPoint: number; out?: ActQuant }>();
  const padSpecs = new Map<string, { bytes: number; value: number }>();
  const dropoutOf = new Map<string, string>();
  const actOf = (n: string): ActQuant | undefined => {
    let r: string | undefined = n;
    while (r !== undefined) {
      const a = acts.get(r);
      if (a) return a;
      r = dropoutOf.get(r);
    }
    return undefined;
  };
  const tensorBlock = (n: string, q: ActQuant): string => {
    const key = `t:${n}`;
    if (!blocks.has(key)) blocks.set(key, { scale: q.scale, zeroPoint: q.zeroPoint });
    return key;
  };
  const elems = (n: string): number => need(n).reduce((a, b) => a * b, 1);
  let addrOfKey: (k: string) => number = () => 0;
  const precisionUsed = new Map<string, Precision>();
  /** The tensor as f32 (a dequantize op when it is int8). */
  const asF32 = (n: string): string => {
    if (dtypes.get(n) === "f32") return n;
    const key = `${n}#f32`;
    if (shapes.has(key)) return key;
    shapes.set(key, need(n));
    dtypes.set(key, "f32");
    const count = elems(n);
    const qk = qpKey.get(n)!;
    pending.push((addr) => ({
      kind: "dequant",
      layer: key,
      n: count,
      x: addr(n),
      y: addr(key),
      qp: addrOfKey(qk),
      single: false,
    }));
    nodes.push({ layer: key, kind: "dequant", inputs: [n], output: key });
    return key;
  };
  /** The tensor as int8 with its calibrated parameters (a quantize op when it is f32). */
  const asI8 = (n: string, user: string): string => {
    if (dtypes.get(n) === "i8") return n;
    const q = actOf(n);
    if (!q)
      throw new Error(
        `int8 layer ${user}: activation ${n} has no quantization parameters (quant.activations); quantize the model again with calibration`,
      );
    const key = `${n}#i8`;
    if (shapes.has(key)) return key;
    shapes.set(key, need(n));
    dtypes.set(key, "i8");
    tquant.set(key, q);
    const qk = tensorBlock(n, q);
    qpKey.set(key, qk);
    const count = elems(n);
    pending.push((addr) => ({
      kind: "quant",
      layer: key,
      n: count,
      x: addr(n),
      y: addr(key),
      qp: addrOfKey(qk),
      single: false,
    }));
    nodes.push({ layer: key, kind: "quant", inputs: [n], output: key });
    return key;
  };
  /** Indirection buffer: for each output pixel and tap, the address of the input pixel or of `zeroKey`'s buffer. */
  const addIndirection = (
    input: string,
    g: {
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
    },
    elemBytes: number,
    padKey: string | null,
  ): number => {
    const idx = indirectionSpecs.length;
    indirectionSpecs.push({
      ops: pending.length,
      bytes: g.oh * g.ow * g.kh * g.kw * 4,
      fill: (addr, v, base, zero) => {
        const x = addr(input);
        const z = padKey ? addrOfKey(padKey) : zero;
        let o = base >>> 2;
        for (let oy = 0; oy < g.oh; oy++)
          for (let ox = 0; ox < g.ow; ox++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.pt + ky;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pl + kx;
                v[o++] =
                  iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x + (iy * g.w + ix) * g.cin * elemBytes : z;
              }
            }
      },
    });
    return idx;
  };
  /**
   * A conv or dense layer in f16, dynamic or int8 precision (all through indirection buffers;
   * a 1x1 convolution or the dense layer has one tap per output pixel).
   */
  const lowPrecisionLayer = (
    name: string,
    input: string,
    p: "f16" | "dynamic" | "int8" | "int4",
    g: {
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
    },
    cout: number,
    relu: number,
    weightShape: number[],
    single: boolean,
  ): void => {
    const ks = g.kh * g.kw;
    const K = ks * g.cin;
    const M = g.oh * g.ow;
    const wl: WeightLoad = {
      layer: name,
      weight: `${name}.weight`,
      bias: `${name}.bias`,
      weightShape,
      biasShape: [cout],
      k: K,
      n: cout,
      dst: 0,
      packedBytes: 0,
      dtype: p === "f16" ? "f16" : p === "int4" ? "i4" : "i8",
      kc: g.cin,
      ks,
    };
    if (p === "int4") wl.weightShape = [...weightShape.slice(0, -1), Math.ceil(cout / 2)];
    weights.push(wl);
    macs += M * cout * K;
    params += K * cout + cout;
    if (p === "f16") {
      const x = asF32(input);
      wl.packedBytes = Math.ceil(cout / 8) * (32 + K * 16);
      const panel32 = (K + 1) * 32;
      const blockPanels = Math.min(Math.ceil(cout / 8), Math.max(1, Math.floor(131072 / panel32)));
      f16Stride = Math.max(f16Stride, align(blockPanels * panel32));
      const idx = addIndirection(x, g, 4, null);
      pending.push(() => ({
        kind: "f16igemm",
        layer: name,
        M,
        N: cout,
        K: g.cin,
        ks,
        ind: indAddrs[idx]!,
        w: wl.dst,
        c: 0,
        cs: cout * 4,
        relu,
        scratch: f16Addr,
        scratchStride: f16Stride,
        single,
      }));
      patchC(name);
      shapes.set(name, single ? [cout] : [g.oh, g.ow, cout]);
      dtypes.set(name, "f32");
      nodes.push({ layer: name, kind: "f16igemm", inputs: [x], output: name });
      return;
    }
    const kc2 = (g.cin + 1) & ~1;
    wl.packedBytes = Math.ceil(cout / 8) * (64 + ks * kc2 * 8);
    const gk = `g:${name}`;
    const pk = `p:${name}`;
    let x: string;
    if (p === "dynamic") {
      const xf = asF32(input);
      blocks.set(gk, { scale: 1, zeroPoint: 0 });
      padSpecs.set(pk, { bytes: align(g.cin + 16), value: 0 });
      x = `${name}#xq`;
      shapes.set(x, need(xf));
      dtypes.set(x, "i8");
      const count = elems(xf);
      const cin = g.cin;
      pending.push((addr) => ({
        kind: "dynparams",
        layer: name,
        n: count,
        x: addr(xf),
        qp: addrOfKey(gk),
        pad: addrOfKey(pk),
        padBytes: align(cin + 16),
        single: true,
      }));
      nodes.push({ layer: name, kind: "dynparams", inputs: [xf], output: `${name}#dyn` });
      shapes.set(`${name}#dyn`, [0]);
      dtypes.set(`${name}#dyn`, "f32");
      pending.push((addr) => ({
        kind: "quant",
        layer: name,
        n: count,
        x: addr(xf),
        y: addr(x),
        qp: addrOfKey(gk),
        single: false,
      }));
      nodes.push({ layer: name, kind: "quant", inputs: [xf, `${name}#dyn`], output: x });
    } else {
      x = asI8(input, name);
      const qx = tquant.get(x)!;
      const qy = actOf(name);
      blocks.set(gk, { scale: qx.scale, zeroPoint: qx.zeroPoint, out: single ? undefined : qy });
    }
    const out = blocks.get(gk)!.out;
    shapes.set(name, single ? [cout] : [g.oh, g.ow, cout]);
    if (out) {
      dtypes.set(name, "i8");
      tquant.set(name, out);
      qpKey.set(name, tensorBlock(name, out));
    } else dtypes.set(name, "f32");
    const form = isWinograd3x3(g) && (opts.winograd ?? true) ? qwinoForm(g.oh, g.ow, kc2) : undefined;
    if (form) {
      const { cols, tw, tiles: T } = form;
      wl.pairMajor = true;
      const E = cols === 3 ? 20 : 16;
      const vName = `${name}#winograd.V16`;
      // The matrices of V are read together: a stride that spreads them over the cache sets.
      // Rows are stored in whole tiles of 4 (interleaved, assembly/quant.ts a4_off).
      const vstride = setSpreadStride(Math.ceil(T / 4) * 4 * kc2 * 2);
      shapes.set(vName, [E, vstride / 2]);
      dtypes.set(vName, "i16");
      qwStride = Math.max(qwStride, align(qwinoScratchBytes(kc2, T, cols)));
      const { h, w: iw, cin, oh, ow } = g;
      pending.push((addr) => ({
        kind: "qwino_in",
        layer: name,
        ih: h,
        iw,
        c: cin,
        cols,
        tw,
        tiles: T,
        x: addr(x),
        v: addr(vName),
        vstride,
        qp: addrOfKey(gk),
        single: false,
      }));
      nodes.push({ layer: name, kind: "qwino_in", inputs: [x], output: vName });
      pending.push((addr) => ({
        kind: "qwino_gemm",
        layer: name,
        cols,
        M: T,
        N: cout,
        K: cin,
        v: addr(vName),
        vstride,
        w: wl.dst,
        scratch: qwAddr,
        scratchStride: qwStride,
        oh,
        ow,
        tw,
        y: addr(name),
        relu,
        qp: addrOfKey(gk),
        rq: 0,
        rd: 0,
        single: false,
      }));
      nodes.push({ layer: name, kind: "qwino_gemm", inputs: [vName], output: name });
      if (out && !relu) fusable.set(name, { pending: pending.length - 1, node: nodes.length - 1, gk });
      return;
    }
    // One input channel (the stem): the taps become the GEMM's channels, packed without the
    // per-tap padding to an even channel count (K = 50 instead of 98 for a 7x7 kernel).
    const merge = g.cin === 1 && ks > 1 ? 1 : 0;
    if (merge) {
      wl.kc = ks;
      wl.ks = 1;
      wl.packedBytes = Math.ceil(cout / 8) * (64 + ((ks + 1) & ~1) * 8);
    }
    const K16 = merge ? (ks + 1) & ~1 : ks * kc2;
    const aName = `${name}#im2col16`;
    // whole tiles of 4 rows, interleaved (assembly/quant.ts a4_off)
    shapes.set(aName, [Math.ceil(M / 4) * 4, K16]);
    dtypes.set(aName, "i16");
    const { h: ih, w: iw, cin, ow, kh, kw, sh, sw, pt, pl } = g;
    pending.push((addr) => ({
      kind: "qim2col",
      layer: name,
      M,
      ih,
      iw,
      c: cin,
      ow,
      kh,
      kw,
      sh,
      sw,
      pt,
      pl,
      x: addr(x),
      a: addr(aName),
      qp: addrOfKey(gk),
      merge,
      single,
    }));
    nodes.push({ layer: name, kind: "qim2col", inputs: [x], output: aName });
    pending.push((addr) => ({
      kind: "qgemm",
      layer: name,
      M,
      N: cout,
      K: wl.kc,
      ks: wl.ks,
      a: addr(aName),
      w: wl.dst,
      c: addr(name),
      cs: cout * (out ? 1 : 4),
      relu,
      qp: addrOfKey(gk),
      rq: 0,
      rd: 0,
      single,
    }));
    nodes.push({ layer: name, kind: "qgemm", inputs: [aName], output: name });
    if (out && !relu && !single)
      fusable.set(name, { pending: pending.length - 1, node: nodes.length - 1, gk });
  };
  /** The last pending op writes tensor `name`: resolve its output address after placement. */
  function patchC(name: string): void {
    const f = pending.pop()!;
    pending.push((addr) => ({ ...f(addr), c: addr(name) }) as OpRecord);
  }

  for (const l of graph.layers) {
    const p: Precision = prec.get(l.name) ?? "f32";
    switch (l.op) {
      case "conv": {
        const [h, w, cin] = need(l.input) as [number, number, number];
        if (shapes.get(l.input)!.length !== 3) throw new Error(`conv ${l.name}: input must be HWC`);
        const [kh, kw] = l.kernel;
        const [sh, sw] = l.stride;
        const ph = padding1d(l.padding, h, kh, sh);
        const pw = padding1d(l.padding, w, kw, sw);
        const oh = ph.out;
        const ow = pw.out;
        const cout = l.filters;
        if (oh < 1 || ow < 1) throw new Error(`conv ${l.name}: empty output`);
        precisionUsed.set(l.name, p);
        if (p !== "f32") {
          lowPrecisionLayer(
            l.name,
            l.input,
            p,
            { h, w, cin, oh, ow, kh, kw, sh, sw, pt: ph.before, pl: pw.before },
            cout,
            l.relu ? 1 : 0,
            [kh, kw, cin, cout],
            false,
          );
          break;
        }
        const input = asF32(l.input);
        shapes.set(l.name, [oh, ow, cout]);
        dtypes.set(l.name, "f32");
        const K = kh * kw * cin;
        const packedBytes = Math.ceil(cout / 8) * (K + 1) * 32;
        weights.push({
          layer: l.name,
          weight: `${l.name}.weight`,
          bias: `${l.name}.bias`,
          weightShape: [kh, kw, cin, cout],
          biasShape: [cout],
          k: K,
          n: cout,
          dst: 0,
          packedBytes,
          dtype: "f32",
          kc: cin,
          ks: kh * kw,
        });
        macs += oh * ow * cout * K;
        params += K * cout + cout;
        const wi = weights.length - 1;
        const M = oh * ow;
        const relu = l.relu ? 1 : 0;
        const name = l.name;
        const wino =
          (opts.winograd ?? true) &&
          isWinograd3x3({ kh, kw, sh, sw, pt: ph.before, pl: pw.before, h, w, oh, ow });
        if (wino) {
          const th = Math.ceil(oh / 2);
          const tw = Math.ceil(ow / 2);
          const T = th * tw;
          const panelBytes = Math.ceil(cout / 8) * (cin + 1) * 32;
          const wl = weights[wi]!;
          wl.packedBytes = 16 * panelBytes + align(cout * 4);
          wl.winograd = { cin, cout, panelBytes, biasOffset: 16 * panelBytes };
          macs += 0; // counted as the direct convolution above
          const vName = `${name}#winograd.V`;
          const mName = `${name}#winograd.M`;
          shapes.set(vName, [16, T, cin]);
          shapes.set(mName, [16, T, cout]);
          pending.push((addr) => ({
            kind: "wino_in",
            layer: name,
            ih: h,
            iw: w,
            c: cin,
            tw,
            tiles: T,
            x: addr(input),
            v: addr(vName),
            vstride: T * cin * 4,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "wino_in", inputs: [input], output: vName });
          pending.push((addr) => ({
            kind: "bgemm",
            layer: name,
            batch: 16,
            M: T,
            N: cout,
            K: cin,
            a: addr(vName),
            as: cin * 4,
            astride: T * cin * 4,
            w: weights[wi]!.dst,
            wstride: panelBytes,
            c: addr(mName),
            cs: cout * 4,
            cstride: T * cout * 4,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "bgemm", inputs: [vName], output: mName });
          pending.push((addr) => ({
            kind: "wino_out",
            layer: name,
            oh,
            ow,
            c: cout,
            tw,
            tiles: T,
            m: addr(mName),
            mstride: T * cout * 4,
            bias: weights[wi]!.dst + 16 * panelBytes,
            y: addr(name),
            relu,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "wino_out", inputs: [mName], output: l.name });
          break;
        }
        if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
          pending.push((addr) => ({
            kind: "gemm",
            layer: name,
            M,
            N: cout,
            K: cin,
            a: addr(input),
            as: cin * 4,
            w: weights[wi]!.dst,
            c: addr(name),
            cs: cout * 4,
            relu,
            single: false,
          }));
        } else {
          const ks = kh * kw;
          const idx = indirectionSpecs.length;
          indirectionSpecs.push({
            ops: pending.length,
            bytes: M * ks * 4,
            fill: (addr, v, base, zero) => {
              const x = addr(input);
              let o = base >>> 2;
              for (let oy = 0; oy < oh; oy++) {
                for (let ox = 0; ox < ow; ox++) {
                  for (let ky = 0; ky < kh; ky++) {
                    const iy = oy * sh - ph.before + ky;
                    for (let kx = 0; kx < kw; kx++) {
                      const ix = ox * sw - pw.before + kx;
                      v[o++] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x + (iy * w + ix) * cin * 4 : zero;
                    }
                  }
                }
              }
            },
          });
          pending.push((addr) => ({
            kind: "igemm",
            layer: name,
            M,
            N: cout,
            K: cin,
            ks,
            ind: indAddrs[idx]!,
            w: weights[wi]!.dst,
            c: addr(name),
            cs: cout * 4,
            relu,
            single: false,
          }));
        }
        nodes.push({ layer: l.name, kind: "gemm", inputs: [input], output: l.name });
        break;
      }
      case "maxpool": {
        const [h, w, c] = need(l.input) as [number, number, number];
        if (shapes.get(l.input)!.length !== 3)
          throw new Error(`maxpool ${l.name}: input must be HWC, got [${shapes.get(l.input)}]`);
        const [kh, kw] = l.pool;
        const [sh, sw] = l.stride;
        const ph = padding1d(l.padding, h, kh, sh);
        const pw = padding1d(l.padding, w, kw, sw);
        shapes.set(l.name, [ph.out, pw.out, c]);
        const name = l.name;
        const q = p === "int8" || p === "int4";
        precisionUsed.set(name, q ? "int8" : "f32");
        const input = q ? asI8(l.input, name) : asF32(l.input);
        if (q) {
          dtypes.set(name, "i8");
          tquant.set(name, tquant.get(input)!);
          qpKey.set(name, qpKey.get(input)!);
        } else dtypes.set(name, "f32");
        pending.push((addr) => ({
          kind: q ? "qmaxpool" : "maxpool",
          layer: name,
          ih: h,
          iw: w,
          c,
          oh: ph.out,
          ow: pw.out,
          kh,
          kw,
          sh,
          sw,
          pt: ph.before,
          pl: pw.before,
          x: addr(input),
          y: addr(name),
          single: false,
        }));
        nodes.push({ layer: l.name, kind: q ? "qmaxpool" : "maxpool", inputs: [input], output: l.name });
        break;
      }
      case "add": {
        const a = need(l.inputs[0]);
        const b = need(l.inputs[1]);
        if (a.join() !== b.join()) throw new Error(`add ${l.name}: shapes [${a}] and [${b}] differ`);
        shapes.set(l.name, a);
        const n = a.reduce((x, y) => x * y, 1);
        const name = l.name;
        const relu = l.relu ? 1 : 0;
        if (p === "int8" || p === "int4") {
          precisionUsed.set(name, "int8");
          const qy = actOf(name);
          if (!qy)
            throw new Error(
              `int8 layer ${name}: its output has no quantization parameters (quant.activations); quantize the model again with calibration`,
            );
          // Residual add fused into the epilogue of the int8 conv that produces one input, when
          // that conv has no other reader and the other input is already int8.
          const fuse = [0, 1]
            .map((i) => ({ t: l.inputs[i]!, r: l.inputs[1 - i]! }))
            .find(
              ({ t, r }) =>
                fusable.has(t) &&
                uses.get(t) === 1 &&
                t !== r &&
                dtypes.get(r) === "i8" &&
                qpKey.has(r) &&
                // the residual must exist before the conv runs
                nodes.findIndex((n) => n.output === r) < fusable.get(t)!.node,
            );
          if (fuse) {
            const f = fusable.get(fuse.t)!;
            fusable.delete(fuse.t);
            const kr = qpKey.get(fuse.r)!;
            const t = fuse.t;
            const r = fuse.r;
            blocks.get(f.gk)!.out = qy;
            const producer = pending[f.pending]!;
            pending[f.pending] = (addr) => {
              const op = producer(addr) as Extract<OpRecord, { kind: "qgemm" | "qwino_gemm" }>;
              return { ...op, relu, rq: addrOfKey(kr), rd: (addr(r) - addr(t)) >>> 0 };
            };
            nodes[f.node]!.inputs.push(r);
            // t now holds the sum, quantized with the add's parameters.
            tquant.set(t, qy);
            blocks.set(`t:${t}`, { scale: qy.scale, zeroPoint: qy.zeroPoint });
            qpKey.set(t, `t:${t}`);
            dtypes.set(name, "i8");
            tquant.set(name, qy);
            qpKey.set(name, qpKey.get(t)!);
            dropoutOf.set(name, t);
            nodes.push({ layer: l.name, kind: "dropout", inputs: [t], output: l.name });
            break;
          }
          const ia = asI8(l.inputs[0], name);
          const ib = asI8(l.inputs[1], name);
          dtypes.set(name, "i8");
          tquant.set(name, qy);
          const ky = tensorBlock(name, qy);
          qpKey.set(name, ky);
          const ka = qpKey.get(ia)!;
          const kb = qpKey.get(ib)!;
          pending.push((addr) => ({
            kind: "qadd",
            layer: name,
            n,
            a: addr(ia),
            b: addr(ib),
            y: addr(name),
            qa: addrOfKey(ka),
            qb: addrOfKey(kb),
            qy: addrOfKey(ky),
            relu,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "qadd", inputs: [ia, ib], output: l.name });
          break;
        }
        precisionUsed.set(name, "f32");
        const ia = asF32(l.inputs[0]);
        const ib = asF32(l.inputs[1]);
        dtypes.set(name, "f32");
        pending.push((addr) => ({
          kind: "add",
          layer: name,
          n,
          a: addr(ia),
          b: addr(ib),
          y: addr(name),
          relu,
          single: false,
        }));
        nodes.push({ layer: l.name, kind: "add", inputs: [ia, ib], output: l.name });
        break;
      }
      case "gap": {
        const s = need(l.input);
        if (s.length !== 3) throw new Error(`gap ${l.name}: input must be HWC`);
        shapes.set(l.name, [s[2]!]);
        dtypes.set(l.name, "f32");
        const name = l.name;
        const q = p === "int8" || p === "int4";
        precisionUsed.set(name, q ? "int8" : "f32");
        const input = q ? asI8(l.input, name) : asF32(l.input);
        if (q) {
          const k = qpKey.get(input)!;
          pending.push((addr) => ({
            kind: "qgap",
            layer: name,
            hw: s[0]! * s[1]!,
            c: s[2]!,
            x: addr(input),
            y: addr(name),
            qp: addrOfKey(k),
            single: true,
          }));
        } else {
          pending.push((addr) => ({
            kind: "gap",
            layer: name,
            hw: s[0]! * s[1]!,
            c: s[2]!,
            x: addr(input),
            y: addr(name),
            single: true,
          }));
        }
        nodes.push({ layer: l.name, kind: q ? "qgap" : "gap", inputs: [input], output: l.name });
        break;
      }
      case "dropout": {
        shapes.set(l.name, need(l.input));
        dropoutOf.set(l.name, l.input);
        dtypes.set(l.name, dtypes.get(l.input)!);
        if (tquant.has(l.input)) tquant.set(l.name, tquant.get(l.input)!);
        if (qpKey.has(l.input)) qpKey.set(l.name, qpKey.get(l.input)!);
        nodes.push({ layer: l.name, kind: "dropout", inputs: [l.input], output: l.name });
        break;
      }
      case "dense": {
        const s = need(l.input);
        const cin = s.reduce((x, y) => x * y, 1);
        precisionUsed.set(l.name, p);
        if (p !== "f32") {
          lowPrecisionLayer(
            l.name,
            l.input,
            p,
            { h: 1, w: 1, cin, oh: 1, ow: 1, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0 },
            l.units,
            0,
            [cin, l.units],
            true,
          );
          break;
        }
        const input = asF32(l.input);
        shapes.set(l.name, [l.units]);
        dtypes.set(l.name, "f32");
        weights.push({
          layer: l.name,
          weight: `${l.name}.weight`,
          bias: `${l.name}.bias`,
          weightShape: [cin, l.units],
          biasShape: [l.units],
          k: cin,
          n: l.units,
          dst: 0,
          packedBytes: Math.ceil(l.units / 8) * (cin + 1) * 32,
          dtype: "f32",
          kc: cin,
          ks: 1,
        });
        macs += cin * l.units;
        params += cin * l.units + l.units;
        const wi = weights.length - 1;
        const name = l.name;
        const units = l.units;
        pending.push((addr) => ({
          kind: "gemm",
          layer: name,
          M: 1,
          N: units,
          K: cin,
          a: addr(input),
          as: cin * 4,
          w: weights[wi]!.dst,
          c: addr(name),
          cs: units * 4,
          relu: 0,
          single: true,
        }));
        nodes.push({ layer: l.name, kind: "gemm", inputs: [input], output: l.name });
        break;
      }
      case "softmax": {
        const s = need(l.input);
        shapes.set(l.name, s);
        dtypes.set(l.name, "f32");
        const n = s.reduce((x, y) => x * y, 1);
        const name = l.name;
        const input = asF32(l.input);
        pending.push((addr) => ({
          kind: "softmax",
          layer: name,
          n,
          x: addr(input),
          y: addr(name),
          single: true,
        }));
        nodes.push({ layer: l.name, kind: "softmax", inputs: [input], output: l.name });
        break;
      }
      default:
        throw new Error(`unsupported op ${(l as { op: string }).op}`);
    }
    checkOutputShape(l, shapes);
  }
  need(graph.output);

  // ---- Liveness. Op index = index into `nodes` without dropout; dropout aliases its input.
  const canon = new Map<string, string>(); // tensor -> the tensor whose memory it uses
  const root = (n: string): string => {
    let r = n;
    while (canon.has(r)) r = canon.get(r)!;
    return r;
  };
  const keep = new Set(opts.keep ?? []);
  for (const k of keep) if (!shapes.has(k)) throw new RangeError(`keep: no tensor named ${k}`);
  const tensors = new Map<string, TensorPlacement>();
  const bytesOf = (n: string): number =>
    shapes.get(n)!.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtypes.get(n) ?? "f32"];
  if (dtypes.get(graph.output) !== "f32") throw new Error(`graph output ${graph.output} must be f32`);
  tensors.set(graph.input, {
    name: graph.input,
    shape: shapes.get(graph.input)!,
    bytes: bytesOf(graph.input),
    addr: 0,
    def: -1,
    lastUse: -1,
    dtype: "f32",
  });
  let opIndex = 0;
  const opOfNode: number[] = [];
  for (const nd of nodes) {
    if (nd.kind === "dropout") {
      canon.set(nd.output, nd.inputs[0]!);
      opOfNode.push(-1);
      continue;
    }
    for (const i of nd.inputs) {
      const t = tensors.get(root(i))!;
      t.lastUse = Math.max(t.lastUse, opIndex);
    }
    // In-place add: the output takes the memory of its first input when that input dies here.
    if (nd.kind === "add") {
      const ra = root(nd.inputs[0]!);
      const ta = tensors.get(ra)!;
      const aliveLater = nodes.slice(nodes.indexOf(nd) + 1).some((x) => x.inputs.some((i) => root(i) === ra));
      if (ra !== root(graph.input) && !keep.has(ra) && !aliveLater && ra !== root(nd.inputs[1]!)) {
        canon.set(nd.output, ra);
        ta.lastUse = opIndex;
        opOfNode.push(opIndex++);
        continue;
      }
    }
    tensors.set(nd.output, {
      name: nd.output,
      shape: shapes.get(nd.output)!,
      bytes: bytesOf(nd.output),
      addr: 0,
      def: opIndex,
      lastUse: opIndex,
      dtype: dtypes.get(nd.output) ?? "f32",
      quant: tquant.get(nd.output),
    });
    opOfNode.push(opIndex++);
  }
  const nOps = opIndex;
  // Uses after the in-place extension (a later reader of an aliased name).
  for (const [i, nd] of nodes.entries()) {
    if (nd.kind === "dropout") continue;
    for (const inp of nd.inputs) {
      const t = tensors.get(root(inp))!;
      t.lastUse = Math.max(t.lastUse, opOfNode[i]!);
    }
  }
  tensors.get(root(graph.output))!.lastUse = nOps;
  for (const k of keep) tensors.get(root(k))!.lastUse = nOps;

  // ---- Greedy placement: each tensor at the lowest offset that does not overlap a tensor live
  // at the same time. Several visiting orders are tried (largest first, longest-lived first,
  // execution order); the smallest arena wins.
  const all = [...tensors.values()];
  const orders = [
    [...all].sort((a, b) => b.bytes - a.bytes || a.def - b.def),
    [...all].sort((a, b) => b.lastUse - b.def - (a.lastUse - a.def) || b.bytes - a.bytes),
    [...all].sort((a, b) => a.def - b.def || b.bytes - a.bytes),
    [...all].sort((a, b) => b.bytes * (b.lastUse - b.def + 1) - a.bytes * (a.lastUse - a.def + 1)),
  ];
  let arenaBytes = Number.POSITIVE_INFINITY;
  let rel = new Map<string, number>();
  for (const list of orders) {
    const placed: { off: number; size: number; def: number; last: number }[] = [];
    let top = 0;
    const r = new Map<string, number>();
    for (const t of list) {
      const size = align(t.bytes);
      const conflicts = placed
        .filter((p) => p.def <= t.lastUse && t.def <= p.last)
        .sort((a, b) => a.off - b.off);
      let off = 0;
      for (const c of conflicts) {
        if (off + size <= c.off) break;
        off = Math.max(off, c.off + c.size);
      }
      placed.push({ off, size, def: t.def, last: t.lastUse });
      r.set(t.name, off);
      top = Math.max(top, off + size);
    }
    if (top < arenaBytes) {
      arenaBytes = top;
      rel = r;
    }
  }
  let peakLiveBytes = 0;
  for (let i = -1; i <= nOps; i++) {
    let s = 0;
    for (const t of tensors.values()) if (t.def <= i && i <= t.lastUse) s += align(t.bytes);
    peakLiveBytes = Math.max(peakLiveBytes, s);
  }
  let largestOpBytes = 0;
  for (const nd of nodes) {
    if (nd.kind === "dropout") continue;
    const set = new Set([...nd.inputs, nd.output].map(root));
    let s = 0;
    for (const n of set) s += align(tensors.get(n)!.bytes);
    largestOpBytes = Math.max(largestOpBytes, s);
  }

  // ---- Memory map.
  let cur = align(opts.heapBase, 64);
  const controlAddr = cur;
  cur += 64;
  let zeroBytes = 64;
  for (const l of graph.layers) {
    if (l.op === "conv") zeroBytes = Math.max(zeroBytes, shapes.get(l.input)![2]! * 4, l.filters * 4);
  }
  zeroBytes = align(zeroBytes);
  const zeroAddr = cur;
  cur += zeroBytes;
  const keyAddr = new Map<string, number>();
  const paramBlocks: ParamBlock[] = [];
  for (const [key, b] of blocks) {
    keyAddr.set(key, cur);
    paramBlocks.push({ addr: cur, scale: b.scale, zeroPoint: b.zeroPoint, out: b.out });
    cur += 64;
  }
  const pads: Plan["pads"] = [];
  for (const [key, b] of padSpecs) {
    keyAddr.set(key, cur);
    pads.push({ addr: cur, bytes: b.bytes, value: b.value });
    cur += align(b.bytes);
  }
  addrOfKey = (k: string): number => {
    const a = keyAddr.get(k);
    if (a === undefined) throw new Error(`plan: no parameter block ${k}`);
    return a;
  };
  const indAddrs: number[] = [];
  const indirectionBytes = indirectionSpecs.reduce((s, x) => s + align(x.bytes), 0);
  for (const spec of indirectionSpecs) {
    indAddrs.push(cur);
    cur += align(spec.bytes);
  }
  const weightsAddr = cur;
  for (const w of weights) {
    w.dst = cur;
    cur += align(w.packedBytes);
  }
  const weightsBytes = cur - weightsAddr;
  f16Addr = cur;
  cur += f16Stride * Math.max(1, opts.threads ?? 1);
  qwAddr = cur;
  cur += qwStride * Math.max(1, opts.threads ?? 1);
  const arenaAddr = cur;
  let maxRaw = 0;
  for (const w of weights) {
    // Raw tensor as stored (f32, f16, i8, or packed 4-bit plus its unpacked i8 copy), bias, scales.
    const raw =
      w.dtype === "f32"
        ? align(w.k * w.n * 4)
        : w.dtype === "f16"
          ? align(w.k * w.n * 2)
          : w.dtype === "i8"
            ? align(w.k * w.n)
            : align(w.k * Math.ceil(w.n / 2)) + align(w.k * w.n);
    maxRaw = Math.max(maxRaw, raw + 3 * align(w.n * 4) + ALIGN);
  }
  const scratchBytes = maxRaw;
  const scratchAddr = arenaAddr;
  cur += Math.max(arenaBytes, scratchBytes);
  const totalBytes = align(cur, 65536);

  for (const t of tensors.values()) t.addr = arenaAddr + rel.get(t.name)!;
  const addr = (n: string): number => tensors.get(root(n))!.addr;
  const ops = pending.map((f) => f(addr));
  const indirection: IndirectionBuffer[] = indirectionSpecs.map((s, i) => ({
    addr: indAddrs[i]!,
    build: (view: Uint32Array) => s.fill(addr, view, indAddrs[i]!, zeroAddr),
  }));
  // Aliased names resolve to their root placement.
  for (const [n, r] of canon) {
    if (!tensors.has(n)) {
      const t = tensors.get(root(r))!;
      tensors.set(n, { ...t, name: n, shape: shapes.get(n)!, aliasOf: t.name });
    }
  }
  const barrierAfter = ops.map((op, i) => {
    const next = ops[i + 1];
    if (!next) return !op.single;
    return !(op.single && next.single);
  });
  return {
    ops,
    barrierAfter,
    weights,
    tensors,
    indirection,
    input: tensors.get(graph.input)!,
    output: tensors.get(graph.output)!,
    controlAddr,
    zeroAddr,
    zeroBytes,
    arenaAddr,
    arenaBytes,
    peakLiveBytes,
    largestOpBytes,
    indirectionBytes,
    weightsAddr,
    weightsBytes,
    scratchAddr,
    scratchBytes,
    totalBytes,
    paramBlocks,
    pads,
    precision: precisionUsed,
    macs,
    params,
    tile: opts.tile,
  };
}
