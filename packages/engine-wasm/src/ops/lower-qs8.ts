/**
 * int8 (qs8) weights: static or dynamic int8 input, then Winograd F(2x3,3x3) / F(2x2,3x3) where
 * it pays, else im2col rows and the qs8 GEMM (the relaxed-SIMD GEMM for layers with 7-bit
 * input, when the plan has the relaxed module); the epilogue requantizes (or writes f32).
 */
import { align, type OpTemplate, QWINO_MIN_TILES, type RelaxedLayout } from "../plan/types.js";
import {
  actOf,
  asF32,
  asI8,
  block,
  emit,
  isWinograd3x3,
  type Lowering,
  type LowLayer,
  need,
  product,
  setOutput,
  tensor,
  tensorBlock,
  weightAt,
} from "./lowering.js";

/**
 * A byte stride for 16 equally spaced buffers that are read together (the host's layout of the
 * Winograd input V, passed to the kernels): a multiple of 64 that is not a multiple of 512, so
 * that the 16 addresses fall into distinct sets of a 64-set L1 cache.
 */
export function setSpreadStride(bytes: number): number {
  const s = align(bytes);
  return s % 512 === 0 ? s + 64 : s;
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

export function lowerQs8(s: Lowering, layer: LowLayer, dynamic: boolean, wi: number): void {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const kc2 = (g.cin + 1) & ~1;
  s.weights[wi]!.packedBytes = Math.ceil(cout / 8) * s.opts.kernel.qs8_panel_bytes(g.cin, ks);
  const gk = `g:${name}`;
  let x: string;
  if (dynamic) x = quantizeDynamic(s, layer, gk);
  else {
    x = asI8(s, layer.input, name);
    const qx = s.quant.get(x)!;
    if (s.opts.inputBits?.get(name) === 7 && qx.zeroPoint !== 0)
      throw new Error(
        `int8 layer ${name} has 7-bit input (quant.inputBits), but its input ${layer.input} has zero point ${qx.zeroPoint}; 7-bit input needs zero point 0 (values in [0, 127])`,
      );
    s.blocks.set(gk, { scale: qx.scale, zeroPoint: qx.zeroPoint, out: single ? undefined : actOf(s, name) });
  }
  const out = s.blocks.get(gk)!.out;
  setOutput(s, name, single ? [cout] : [g.oh, g.ow, cout], out);
  if (out) s.qpKey.set(name, tensorBlock(s, name, out));
  const form = isWinograd3x3(g) && (s.opts.winograd ?? true) ? qwinoForm(g.oh, g.ow, kc2) : undefined;
  const relaxed = !dynamic && s.opts.inputBits?.get(name) === 7 ? s.opts.relaxed : undefined;
  const node = form
    ? lowerQwino(s, layer, x, gk, wi, kc2, form)
    : relaxed
      ? lowerRdot(s, layer, x, gk, wi, relaxed)
      : lowerQim2col(s, layer, x, gk, wi, kc2);
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
  const scratch = s.opts.kernel.qs8_wino_scratch_bytes(g.cin, T, cols);
  s.scratchStride.qwino = Math.max(s.scratchStride.qwino, align(scratch));
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

/** The geometry fields of an im2col call of M output rows from tensor x into rows a. */
function im2colFields(g: LowLayer["g"], M: number, x: string, a: string) {
  const { h: ih, w: iw, cin: c, ow, kh, kw, sh, sw, pt, pl } = g;
  return { M, ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x: tensor(x), a: tensor(a) };
}

/**
 * The fields a qs8 GEMM call (16-bit or relaxed) shares: the layer's M x N output with its
 * parameter block, ReLU, weights, and no fused residual yet (add.ts may fuse one).
 */
function gemmOutputFields(s: Lowering, layer: LowLayer, gk: string, wi: number) {
  const { name, g, cout, single } = layer;
  const out = s.blocks.get(gk)!.out;
  return {
    layer: name,
    M: g.oh * g.ow,
    N: cout,
    w: weightAt(wi),
    c: tensor(name),
    cs: cout * (out ? 1 : 4),
    relu: layer.relu,
    qp: block(gk),
    rq: 0,
    rd: 0,
    single,
  };
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
    wl.packedBytes = Math.ceil(cout / 8) * s.opts.kernel.qs8_panel_bytes(ks, 1);
  }
  const K16 = merge ? (ks + 1) & ~1 : ks * kc2;
  const aName = `${name}#im2col16`;
  // whole tiles of 4 rows, interleaved (assembly/quant.ts a4_off)
  s.shapes.set(aName, [Math.ceil(M / 4) * 4, K16]);
  s.dtypes.set(aName, "i16");
  const im2col: OpTemplate = {
    kind: "qim2col",
    layer: name,
    ...im2colFields(g, M, x, aName),
    qp: block(gk),
    merge,
    single,
  };
  emit(s, im2col, [x], aName);
  const gemm: OpTemplate = {
    kind: "qgemm",
    K: wl.kc,
    ks: wl.ks,
    a: tensor(aName),
    ...gemmOutputFields(s, layer, gk, wi),
  };
  return emit(s, gemm, [aName], name);
}

/**
 * Whether the relaxed GEMM reads a layer's NHWC input in place: a 1x1, stride-1 convolution
 * without padding whose channels are a multiple of 4 (each row's 4-byte groups stay in its pixel).
 */
export function rdotReadsInPlace(g: LowLayer["g"]): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.cin % 4 === 0;
}

/**
 * 7-bit input (bytes in [0, 127], zero point 0) on the relaxed-SIMD GEMM: the input read in
 * place (rdotReadsInPlace) or through 7-bit im2col rows, and the qs8 epilogue of lowerQim2col.
 */
function lowerRdot(
  s: Lowering,
  layer: LowLayer,
  x: string,
  gk: string,
  wi: number,
  relaxed: RelaxedLayout,
): number {
  const { name, g, cout, single } = layer;
  const M = g.oh * g.ow;
  const wl = s.weights[wi]!;
  wl.rdot = true;
  wl.packedBytes = Math.ceil(cout / 8) * relaxed.qs8_rdot_panel_bytes(wl.k);
  let a = x;
  let as = g.cin;
  if (!rdotReadsInPlace(g)) {
    as = relaxed.qs8_rdot_row_bytes(g.kh, g.kw, g.cin);
    a = `${name}#im2col7`;
    s.shapes.set(a, [M, as]);
    s.dtypes.set(a, "i8");
    const im2col: OpTemplate = { kind: "rim2col", layer: name, ...im2colFields(g, M, x, a), single };
    emit(s, im2col, [x], a);
  }
  const gemm: OpTemplate = {
    kind: "rgemm",
    K: wl.k,
    a: tensor(a),
    as,
    ...gemmOutputFields(s, layer, gk, wi),
  };
  return emit(s, gemm, [a], name);
}
