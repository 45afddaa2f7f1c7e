/**
 * Lowering: graph layers -> kernel calls with symbolic addresses, per layer precision (f32, f16,
 * dynamic, int8), with the tensors they read and write, the weights to load, the quantization
 * parameter blocks, the indirection buffers and the per-thread scratch they need. Pure: it
 * reads the graph and options, and returns a new LoweredGraph.
 */
import { type LayerSpec, padding1d } from "../arch.js";
import type { EamGraph } from "../format.js";
import {
  type ActQuant,
  type AddrRef,
  align,
  type ConvGeometry,
  type LoweredGraph,
  type OpTemplate,
  type PlanOptions,
  type Precision,
  QWINO_MIN_TILES,
  type WeightLoad,
} from "./types.js";

/** Lowering state: the graph being built, and what later layers need to know of earlier ones. */
interface Lowering extends LoweredGraph {
  opts: PlanOptions;
  /** Tensor -> key of its parameter block. */
  qpKey: Map<string, string>;
  /** Dropout (and fused add) outputs -> the tensor they alias, to find calibrated parameters. */
  dropoutOf: Map<string, string>;
  /** Readers of each tensor in the graph (plus the output and kept tensors). */
  uses: Map<string, number>;
  /** Int8 conv outputs whose op can take a residual add into its epilogue. */
  fusable: Map<string, { node: number; gk: string }>;
}

const tensor = (name: string): AddrRef => ({ tensor: name });
const block = (key: string): AddrRef => ({ block: key });
const weightAt = (index: number, offset = 0): AddrRef => ({ weight: index, offset });
const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const isInt8 = (p: Precision): boolean => p === "int8" || p === "int4";

/**
 * A byte stride for 16 equally spaced buffers that are read together: a multiple of 64 that is
 * not a multiple of 512, so that the 16 addresses fall into distinct sets of a 64-set L1 cache.
 * `exact` mirrors the kernel's rule for its weight scratch (only + 64 on a multiple of 512).
 */
export function setSpreadStride(bytes: number, exact = false): number {
  const s = exact ? bytes : align(bytes);
  return s % 512 === 0 ? s + 64 : s;
}

/** Per-thread scratch of qs8_wino_gemm_run (assembly/quant.ts: qs8_wino_scratch_bytes). */
export function qwinoScratchBytes(kc2: number, tiles: number, cols: number): number {
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
function isWinograd3x3(g: ConvGeometry): boolean {
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

function need(s: Lowering, n: string): number[] {
  const shape = s.shapes.get(n);
  if (!shape) throw new Error(`graph: tensor ${n} used before it is defined`);
  return shape;
}

/** Appends a kernel call; returns its node index. */
function emit(s: Lowering, op: OpTemplate, inputs: string[], output: string): number {
  s.nodes.push({ inputs, output, op });
  return s.nodes.length - 1;
}

/** Calibrated parameters of a tensor, looked up through dropout aliases. */
function actOf(s: Lowering, n: string): ActQuant | undefined {
  let r: string | undefined = n;
  while (r !== undefined) {
    const a = s.opts.activations?.get(r);
    if (a) return a;
    r = s.dropoutOf.get(r);
  }
  return undefined;
}

function tensorBlock(s: Lowering, n: string, q: ActQuant): string {
  const key = `t:${n}`;
  if (!s.blocks.has(key)) s.blocks.set(key, { scale: q.scale, zeroPoint: q.zeroPoint });
  return key;
}

/** The tensor as f32 (a dequantize op when it is int8). */
function asF32(s: Lowering, n: string): string {
  if (s.dtypes.get(n) === "f32") return n;
  const key = `${n}#f32`;
  if (s.shapes.has(key)) return key;
  s.shapes.set(key, need(s, n));
  s.dtypes.set(key, "f32");
  const op: OpTemplate = {
    kind: "dequant",
    layer: key,
    n: product(need(s, n)),
    x: tensor(n),
    y: tensor(key),
    qp: block(s.qpKey.get(n)!),
    single: false,
  };
  emit(s, op, [n], key);
  return key;
}

/** The tensor as int8 with its calibrated parameters (a quantize op when it is f32). */
function asI8(s: Lowering, n: string, user: string): string {
  if (s.dtypes.get(n) === "i8") return n;
  const q = actOf(s, n);
  if (!q)
    throw new Error(
      `int8 layer ${user}: activation ${n} has no quantization parameters (quant.activations); quantize the model again with calibration`,
    );
  const key = `${n}#i8`;
  if (s.shapes.has(key)) return key;
  s.shapes.set(key, need(s, n));
  s.dtypes.set(key, "i8");
  s.quant.set(key, q);
  const qk = tensorBlock(s, n, q);
  s.qpKey.set(key, qk);
  const op: OpTemplate = {
    kind: "quant",
    layer: key,
    n: product(need(s, n)),
    x: tensor(n),
    y: tensor(key),
    qp: block(qk),
    single: false,
  };
  emit(s, op, [n], key);
  return key;
}

/** Registers an indirection buffer for a convolution of an f32 input; returns its reference. */
function addIndirection(s: Lowering, input: string, geometry: ConvGeometry): AddrRef {
  s.indirection.push({ input, geometry });
  return { indirection: s.indirection.length - 1 };
}

/** Adds a weight load; returns its index. */
function addWeights(s: Lowering, w: Omit<WeightLoad, "weight" | "bias" | "dst">): number {
  s.weights.push({ weight: `${w.layer}.weight`, bias: `${w.layer}.bias`, dst: 0, ...w });
  return s.weights.length - 1;
}

/** Sets a layer's output tensor: its shape, element type and (int8) parameters. */
function setOutput(s: Lowering, name: string, shape: number[], q?: ActQuant): void {
  s.shapes.set(name, shape);
  if (q) {
    s.dtypes.set(name, "i8");
    s.quant.set(name, q);
  } else s.dtypes.set(name, "f32");
}

// ---- conv, f32

function convGeometry(s: Lowering, l: Extract<LayerSpec, { op: "conv" }>): ConvGeometry {
  const [h, w, cin] = need(s, l.input) as [number, number, number];
  if (s.shapes.get(l.input)!.length !== 3) throw new Error(`conv ${l.name}: input must be HWC`);
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const ph = padding1d(l.padding, h, kh, sh);
  const pw = padding1d(l.padding, w, kw, sw);
  if (ph.out < 1 || pw.out < 1) throw new Error(`conv ${l.name}: empty output`);
  return { h, w, cin, oh: ph.out, ow: pw.out, kh, kw, sh, sw, pt: ph.before, pl: pw.before };
}

function lowerConvF32(s: Lowering, l: Extract<LayerSpec, { op: "conv" }>, g: ConvGeometry): void {
  const input = asF32(s, l.input);
  const cout = l.filters;
  const name = l.name;
  setOutput(s, name, [g.oh, g.ow, cout]);
  const K = g.kh * g.kw * g.cin;
  const wi = addWeights(s, {
    layer: name,
    weightShape: [g.kh, g.kw, g.cin, cout],
    biasShape: [cout],
    k: K,
    n: cout,
    packedBytes: Math.ceil(cout / 8) * (K + 1) * 32,
    dtype: "f32",
    kc: g.cin,
    ks: g.kh * g.kw,
  });
  s.macs += g.oh * g.ow * cout * K;
  s.params += K * cout + cout;
  const relu = l.relu ? 1 : 0;
  if ((s.opts.winograd ?? true) && isWinograd3x3(g)) {
    lowerWinogradF32(s, name, input, g, cout, relu, wi);
    return;
  }
  const M = g.oh * g.ow;
  const common = { layer: name, M, N: cout, K: g.cin, w: weightAt(wi), c: tensor(name), cs: cout * 4 };
  const op: OpTemplate =
    g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1
      ? { kind: "gemm", ...common, a: tensor(input), as: g.cin * 4, relu, single: false }
      : {
          kind: "igemm",
          ...common,
          ks: g.kh * g.kw,
          ind: addIndirection(s, input, g),
          relu,
          single: false,
        };
  emit(s, op, [input], name);
}

/** f32 Winograd F(2x2,3x3): input transform, 16 GEMMs, output transform. */
function lowerWinogradF32(
  s: Lowering,
  name: string,
  input: string,
  g: ConvGeometry,
  cout: number,
  relu: number,
  wi: number,
): void {
  const { cin, oh, ow } = g;
  const tw = Math.ceil(ow / 2);
  const T = Math.ceil(oh / 2) * tw;
  const panelBytes = Math.ceil(cout / 8) * (cin + 1) * 32;
  const wl = s.weights[wi]!;
  wl.packedBytes = 16 * panelBytes + align(cout * 4);
  wl.winograd = { cin, cout, panelBytes, biasOffset: 16 * panelBytes };
  const vName = `${name}#winograd.V`;
  const mName = `${name}#winograd.M`;
  s.shapes.set(vName, [16, T, cin]);
  s.shapes.set(mName, [16, T, cout]);
  const vstride = T * cin * 4;
  const mstride = T * cout * 4;
  emit(
    s,
    {
      kind: "wino_in",
      layer: name,
      ih: g.h,
      iw: g.w,
      c: cin,
      tw,
      tiles: T,
      x: tensor(input),
      v: tensor(vName),
      vstride,
      single: false,
    },
    [input],
    vName,
  );
  emit(
    s,
    {
      kind: "bgemm",
      layer: name,
      batch: 16,
      M: T,
      N: cout,
      K: cin,
      a: tensor(vName),
      as: cin * 4,
      astride: vstride,
      w: weightAt(wi),
      wstride: panelBytes,
      c: tensor(mName),
      cs: cout * 4,
      cstride: mstride,
      single: false,
    },
    [vName],
    mName,
  );
  emit(
    s,
    {
      kind: "wino_out",
      layer: name,
      oh,
      ow,
      c: cout,
      tw,
      tiles: T,
      m: tensor(mName),
      mstride,
      bias: weightAt(wi, 16 * panelBytes),
      y: tensor(name),
      relu,
      single: false,
    },
    [mName],
    name,
  );
}

// ---- conv and dense, f16 / dynamic / int8

/** What a low-precision conv or dense layer computes. */
interface LowLayer {
  name: string;
  input: string;
  g: ConvGeometry;
  cout: number;
  relu: number;
  /** Dense layer: one output pixel, single-threaded calls. */
  single: boolean;
}

/**
 * A conv or dense layer in f16, dynamic or int8 precision (all through indirection buffers;
 * a 1x1 convolution or the dense layer has one tap per output pixel).
 */
function lowerLowPrecision(
  s: Lowering,
  layer: LowLayer,
  p: "f16" | "dynamic" | "int8" | "int4",
  weightShape: number[],
): void {
  const { name, g, cout } = layer;
  const ks = g.kh * g.kw;
  const K = ks * g.cin;
  const wi = addWeights(s, {
    layer: name,
    weightShape: p === "int4" ? [...weightShape.slice(0, -1), Math.ceil(cout / 2)] : weightShape,
    biasShape: [cout],
    k: K,
    n: cout,
    packedBytes: 0,
    dtype: p === "f16" ? "f16" : p === "int4" ? "i4" : "i8",
    kc: g.cin,
    ks,
  });
  s.macs += g.oh * g.ow * cout * K;
  s.params += K * cout + cout;
  if (p === "f16") lowerF16(s, layer, wi);
  else lowerQs8(s, layer, p === "dynamic", wi);
}

function lowerF16(s: Lowering, layer: LowLayer, wi: number): void {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const K = ks * g.cin;
  const x = asF32(s, layer.input);
  s.weights[wi]!.packedBytes = Math.ceil(cout / 8) * (32 + K * 16);
  const panel32 = (K + 1) * 32;
  const blockPanels = Math.min(Math.ceil(cout / 8), Math.max(1, Math.floor(131072 / panel32)));
  s.scratchStride.f16 = Math.max(s.scratchStride.f16, align(blockPanels * panel32));
  const ind = addIndirection(s, x, g);
  setOutput(s, name, single ? [cout] : [g.oh, g.ow, cout]);
  const op: OpTemplate = {
    kind: "f16igemm",
    layer: name,
    M: g.oh * g.ow,
    N: cout,
    K: g.cin,
    ks,
    ind,
    w: weightAt(wi),
    c: tensor(name),
    cs: cout * 4,
    relu: layer.relu,
    scratch: { scratch: "f16" },
    scratchStride: { scratchStride: "f16" },
    single,
  };
  emit(s, op, [x], name);
}

/** Dynamic int8 input: per-run parameters from the f32 input's range, then quantize. */
function quantizeDynamic(s: Lowering, layer: LowLayer, gk: string): string {
  const { name, g } = layer;
  const pk = `p:${name}`;
  const xf = asF32(s, layer.input);
  s.blocks.set(gk, { scale: 1, zeroPoint: 0 });
  s.pads.set(pk, { bytes: align(g.cin + 16), value: 0 });
  const x = `${name}#xq`;
  s.shapes.set(x, need(s, xf));
  s.dtypes.set(x, "i8");
  const n = product(need(s, xf));
  const dyn = `${name}#dyn`;
  const params: OpTemplate = {
    kind: "dynparams",
    layer: name,
    n,
    x: tensor(xf),
    qp: block(gk),
    pad: block(pk),
    padBytes: align(g.cin + 16),
    single: true,
  };
  emit(s, params, [xf], dyn);
  s.shapes.set(dyn, [0]);
  s.dtypes.set(dyn, "f32");
  emit(
    s,
    { kind: "quant", layer: name, n, x: tensor(xf), y: tensor(x), qp: block(gk), single: false },
    [xf, dyn],
    x,
  );
  return x;
}

function lowerQs8(s: Lowering, layer: LowLayer, dynamic: boolean, wi: number): void {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const kc2 = (g.cin + 1) & ~1;
  s.weights[wi]!.packedBytes = Math.ceil(cout / 8) * (64 + ks * kc2 * 8);
  const gk = `g:${name}`;
  let x: string;
  if (dynamic) x = quantizeDynamic(s, layer, gk);
  else {
    x = asI8(s, layer.input, name);
    const qx = s.quant.get(x)!;
    s.blocks.set(gk, { scale: qx.scale, zeroPoint: qx.zeroPoint, out: single ? undefined : actOf(s, name) });
  }
  const out = s.blocks.get(gk)!.out;
  setOutput(s, name, single ? [cout] : [g.oh, g.ow, cout], out);
  if (out) s.qpKey.set(name, tensorBlock(s, name, out));
  const form = isWinograd3x3(g) && (s.opts.winograd ?? true) ? qwinoForm(g.oh, g.ow, kc2) : undefined;
  const node = form ? lowerQwino(s, layer, x, gk, wi, kc2, form) : lowerQim2col(s, layer, x, gk, wi, kc2);
  if (out && !layer.relu && !single) s.fusable.set(name, { node, gk });
}

/** INT8 Winograd: input transform into V, then per-panel weight transform, GEMMs and output. */
function lowerQwino(
  s: Lowering,
  layer: LowLayer,
  x: string,
  gk: string,
  wi: number,
  kc2: number,
  form: { cols: number; tw: number; tiles: number },
): number {
  const { name, g, cout } = layer;
  const { cols, tw, tiles: T } = form;
  s.weights[wi]!.pairMajor = true;
  const vName = `${name}#winograd.V16`;
  // The matrices of V are read together: a stride that spreads them over the cache sets.
  // Rows are stored in whole tiles of 4 (interleaved, assembly/quant.ts a4_off).
  const vstride = setSpreadStride(Math.ceil(T / 4) * 4 * kc2 * 2);
  s.shapes.set(vName, [cols === 3 ? 20 : 16, vstride / 2]);
  s.dtypes.set(vName, "i16");
  s.scratchStride.qwino = Math.max(s.scratchStride.qwino, align(qwinoScratchBytes(kc2, T, cols)));
  const input: OpTemplate = {
    kind: "qwino_in",
    layer: name,
    ih: g.h,
    iw: g.w,
    c: g.cin,
    cols,
    tw,
    tiles: T,
    x: tensor(x),
    v: tensor(vName),
    vstride,
    qp: block(gk),
    single: false,
  };
  emit(s, input, [x], vName);
  const gemm: OpTemplate = {
    kind: "qwino_gemm",
    layer: name,
    cols,
    M: T,
    N: cout,
    K: g.cin,
    v: tensor(vName),
    vstride,
    w: weightAt(wi),
    scratch: { scratch: "qwino" },
    scratchStride: { scratchStride: "qwino" },
    oh: g.oh,
    ow: g.ow,
    tw,
    y: tensor(name),
    relu: layer.relu,
    qp: block(gk),
    rq: 0,
    rd: 0,
    single: false,
  };
  return emit(s, gemm, [vName], name);
}

/** INT8 im2col rows (i16) and the qs8 GEMM on them. */
function lowerQim2col(s: Lowering, layer: LowLayer, x: string, gk: string, wi: number, kc2: number): number {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const M = g.oh * g.ow;
  const wl = s.weights[wi]!;
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
  s.shapes.set(aName, [Math.ceil(M / 4) * 4, K16]);
  s.dtypes.set(aName, "i16");
  const { h: ih, w: iw, cin, ow, kh, kw, sh, sw, pt, pl } = g;
  const im2col: OpTemplate = {
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
    x: tensor(x),
    a: tensor(aName),
    qp: block(gk),
    merge,
    single,
  };
  emit(s, im2col, [x], aName);
  const out = s.blocks.get(gk)!.out;
  const gemm: OpTemplate = {
    kind: "qgemm",
    layer: name,
    M,
    N: cout,
    K: wl.kc,
    ks: wl.ks,
    a: tensor(aName),
    w: weightAt(wi),
    c: tensor(name),
    cs: cout * (out ? 1 : 4),
    relu: layer.relu,
    qp: block(gk),
    rq: 0,
    rd: 0,
    single,
  };
  return emit(s, gemm, [aName], name);
}

// ---- the other layers

function lowerConv(s: Lowering, l: Extract<LayerSpec, { op: "conv" }>, p: Precision): void {
  const g = convGeometry(s, l);
  s.precision.set(l.name, p);
  if (p === "f32") {
    lowerConvF32(s, l, g);
    return;
  }
  const layer = { name: l.name, input: l.input, g, cout: l.filters, relu: l.relu ? 1 : 0, single: false };
  lowerLowPrecision(s, layer, p, [g.kh, g.kw, g.cin, l.filters]);
}

function lowerMaxpool(s: Lowering, l: Extract<LayerSpec, { op: "maxpool" }>, p: Precision): void {
  const [h, w, c] = need(s, l.input) as [number, number, number];
  if (s.shapes.get(l.input)!.length !== 3)
    throw new Error(`maxpool ${l.name}: input must be HWC, got [${s.shapes.get(l.input)}]`);
  const [kh, kw] = l.pool;
  const [sh, sw] = l.stride;
  const ph = padding1d(l.padding, h, kh, sh);
  const pw = padding1d(l.padding, w, kw, sw);
  s.shapes.set(l.name, [ph.out, pw.out, c]);
  const name = l.name;
  const q = isInt8(p);
  s.precision.set(name, q ? "int8" : "f32");
  const input = q ? asI8(s, l.input, name) : asF32(s, l.input);
  if (q) {
    s.dtypes.set(name, "i8");
    s.quant.set(name, s.quant.get(input)!);
    s.qpKey.set(name, s.qpKey.get(input)!);
  } else s.dtypes.set(name, "f32");
  const op: OpTemplate = {
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
    x: tensor(input),
    y: tensor(name),
    single: false,
  };
  emit(s, op, [input], name);
}

/**
 * Residual add fused into the epilogue of the int8 conv that produces one input, when that conv
 * has no other reader and the other input is already int8 (and exists before the conv runs).
 * Returns whether it fused.
 */
function fuseResidualAdd(s: Lowering, l: Extract<LayerSpec, { op: "add" }>, qy: ActQuant): boolean {
  const name = l.name;
  const fuse = [0, 1]
    .map((i) => ({ t: l.inputs[i]!, r: l.inputs[1 - i]! }))
    .find(
      ({ t, r }) =>
        s.fusable.has(t) &&
        s.uses.get(t) === 1 &&
        t !== r &&
        s.dtypes.get(r) === "i8" &&
        s.qpKey.has(r) &&
        s.nodes.findIndex((n) => n.output === r) < s.fusable.get(t)!.node,
    );
  if (!fuse) return false;
  const { t, r } = fuse;
  const f = s.fusable.get(t)!;
  s.fusable.delete(t);
  s.blocks.get(f.gk)!.out = qy;
  const producer = s.nodes[f.node]!;
  const op = producer.op as Extract<OpTemplate, { kind: "qgemm" | "qwino_gemm" }>;
  producer.op = { ...op, relu: l.relu ? 1 : 0, rq: block(s.qpKey.get(r)!), rd: { distance: [r, t] } };
  producer.inputs.push(r);
  // t now holds the sum, quantized with the add's parameters.
  s.quant.set(t, qy);
  s.blocks.set(`t:${t}`, { scale: qy.scale, zeroPoint: qy.zeroPoint });
  s.qpKey.set(t, `t:${t}`);
  s.dtypes.set(name, "i8");
  s.quant.set(name, qy);
  s.qpKey.set(name, s.qpKey.get(t)!);
  s.dropoutOf.set(name, t);
  s.nodes.push({ inputs: [t], output: name, op: null });
  return true;
}

function lowerAdd(s: Lowering, l: Extract<LayerSpec, { op: "add" }>, p: Precision): void {
  const a = need(s, l.inputs[0]);
  const b = need(s, l.inputs[1]);
  if (a.join() !== b.join()) throw new Error(`add ${l.name}: shapes [${a}] and [${b}] differ`);
  s.shapes.set(l.name, a);
  const n = product(a);
  const name = l.name;
  const relu = l.relu ? 1 : 0;
  if (!isInt8(p)) {
    s.precision.set(name, "f32");
    const ia = asF32(s, l.inputs[0]);
    const ib = asF32(s, l.inputs[1]);
    s.dtypes.set(name, "f32");
    const op: OpTemplate = {
      kind: "add",
      layer: name,
      n,
      a: tensor(ia),
      b: tensor(ib),
      y: tensor(name),
      relu,
      single: false,
    };
    emit(s, op, [ia, ib], name);
    return;
  }
  s.precision.set(name, "int8");
  const qy = actOf(s, name);
  if (!qy)
    throw new Error(
      `int8 layer ${name}: its output has no quantization parameters (quant.activations); quantize the model again with calibration`,
    );
  if (fuseResidualAdd(s, l, qy)) return;
  const ia = asI8(s, l.inputs[0], name);
  const ib = asI8(s, l.inputs[1], name);
  s.dtypes.set(name, "i8");
  s.quant.set(name, qy);
  const ky = tensorBlock(s, name, qy);
  s.qpKey.set(name, ky);
  const op: OpTemplate = {
    kind: "qadd",
    layer: name,
    n,
    a: tensor(ia),
    b: tensor(ib),
    y: tensor(name),
    qa: block(s.qpKey.get(ia)!),
    qb: block(s.qpKey.get(ib)!),
    qy: block(ky),
    relu,
    single: false,
  };
  emit(s, op, [ia, ib], name);
}

function lowerGap(s: Lowering, l: Extract<LayerSpec, { op: "gap" }>, p: Precision): void {
  const shape = need(s, l.input);
  if (shape.length !== 3) throw new Error(`gap ${l.name}: input must be HWC`);
  s.shapes.set(l.name, [shape[2]!]);
  s.dtypes.set(l.name, "f32");
  const name = l.name;
  const q = isInt8(p);
  s.precision.set(name, q ? "int8" : "f32");
  const input = q ? asI8(s, l.input, name) : asF32(s, l.input);
  const common = { layer: name, hw: shape[0]! * shape[1]!, c: shape[2]!, x: tensor(input), y: tensor(name) };
  const op: OpTemplate = q
    ? { kind: "qgap", ...common, qp: block(s.qpKey.get(input)!), single: true }
    : { kind: "gap", ...common, single: true };
  emit(s, op, [input], name);
}

function lowerDropout(s: Lowering, l: Extract<LayerSpec, { op: "dropout" }>): void {
  s.shapes.set(l.name, need(s, l.input));
  s.dropoutOf.set(l.name, l.input);
  s.dtypes.set(l.name, s.dtypes.get(l.input)!);
  if (s.quant.has(l.input)) s.quant.set(l.name, s.quant.get(l.input)!);
  if (s.qpKey.has(l.input)) s.qpKey.set(l.name, s.qpKey.get(l.input)!);
  s.nodes.push({ inputs: [l.input], output: l.name, op: null });
}

function lowerDense(s: Lowering, l: Extract<LayerSpec, { op: "dense" }>, p: Precision): void {
  const cin = product(need(s, l.input));
  s.precision.set(l.name, p);
  if (p !== "f32") {
    const g = { h: 1, w: 1, cin, oh: 1, ow: 1, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0 };
    lowerLowPrecision(s, { name: l.name, input: l.input, g, cout: l.units, relu: 0, single: true }, p, [
      cin,
      l.units,
    ]);
    return;
  }
  const input = asF32(s, l.input);
  setOutput(s, l.name, [l.units]);
  const wi = addWeights(s, {
    layer: l.name,
    weightShape: [cin, l.units],
    biasShape: [l.units],
    k: cin,
    n: l.units,
    packedBytes: Math.ceil(l.units / 8) * (cin + 1) * 32,
    dtype: "f32",
    kc: cin,
    ks: 1,
  });
  s.macs += cin * l.units;
  s.params += cin * l.units + l.units;
  const op: OpTemplate = {
    kind: "gemm",
    layer: l.name,
    M: 1,
    N: l.units,
    K: cin,
    a: tensor(input),
    as: cin * 4,
    w: weightAt(wi),
    c: tensor(l.name),
    cs: l.units * 4,
    relu: 0,
    single: true,
  };
  emit(s, op, [input], l.name);
}

function lowerSoftmax(s: Lowering, l: Extract<LayerSpec, { op: "softmax" }>): void {
  const shape = need(s, l.input);
  s.shapes.set(l.name, shape);
  s.dtypes.set(l.name, "f32");
  const input = asF32(s, l.input);
  const op: OpTemplate = {
    kind: "softmax",
    layer: l.name,
    n: product(shape),
    x: tensor(input),
    y: tensor(l.name),
    single: true,
  };
  emit(s, op, [input], l.name);
}

type Op = LayerSpec["op"];
type LowerFn<K extends Op> = (s: Lowering, l: Extract<LayerSpec, { op: K }>, p: Precision) => void;

/** The lowering of each graph op. */
const LOWER: { [K in Op]: LowerFn<K> } = {
  conv: lowerConv,
  maxpool: lowerMaxpool,
  add: lowerAdd,
  gap: lowerGap,
  dropout: lowerDropout,
  dense: lowerDense,
  softmax: lowerSoftmax,
};

function lowerLayer(s: Lowering, l: LayerSpec): void {
  if (!Object.hasOwn(LOWER, l.op)) throw new Error(`unsupported op ${l.op}`);
  const lower = LOWER[l.op] as LowerFn<Op>;
  lower(s, l, s.opts.precision?.get(l.name) ?? "f32");
}

/** Readers of every tensor: layer inputs, the graph output and the kept tensors. */
function countUses(graph: EamGraph, keep: readonly string[]): Map<string, number> {
  const uses = new Map<string, number>();
  const use = (n: string) => uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const l of graph.layers) {
    if (l.op === "add") for (const i of l.inputs) use(i);
    else use(l.input);
  }
  use(graph.output);
  for (const k of keep) use(k);
  return uses;
}

/** Lowers every layer of the graph, in order. */
export function lowerGraph(graph: EamGraph, opts: PlanOptions): LoweredGraph {
  const s: Lowering = {
    nodes: [],
    shapes: new Map([[graph.input, graph.inputShape]]),
    dtypes: new Map([[graph.input, "f32"]]),
    quant: new Map(),
    weights: [],
    blocks: new Map(),
    pads: new Map(),
    indirection: [],
    scratchStride: { f16: 0, qwino: 0 },
    precision: new Map(),
    macs: 0,
    params: 0,
    opts,
    qpKey: new Map(),
    dropoutOf: new Map(),
    uses: countUses(graph, opts.keep ?? []),
    fusable: new Map(),
  };
  for (const l of graph.layers) {
    lowerLayer(s, l);
    checkOutputShape(l, s.shapes);
  }
  need(s, graph.output);
  const { opts: _o, qpKey: _q, dropoutOf: _d, uses: _u, fusable: _f, ...lowered } = s;
  return lowered;
}
