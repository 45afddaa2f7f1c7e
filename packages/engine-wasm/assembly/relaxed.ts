// The relaxed-SIMD kernel module (build/engine-relaxed.wasm): kernels built on
// i32x4.relaxed_dot_i8x16_i7x16_add_s, 16 int8 products per instruction against
// i32x4.dot_i16x8_s's 8. The instruction's result is exact only when every byte of its second
// operand is in [0, 127] (7-bit); beyond that it is implementation-defined. It also has engines
// that get it wrong in one compiler tier (Node 20's Liftoff on x64), so the host compiles this
// module only after src/relaxed.ts has checked the instruction in every tier it will run
// (relaxed_dot_check) and never calls it otherwise. It also holds the f32 GEMMs with fused
// multiply-adds (f32x4.relaxed_madd; end of this file), used only when the same self-check found
// that instruction fused in every tier (relaxed_fma_check). Built with `--enable relaxed-simd` on
// the engine's imported shared memory.
import { QP_OUT_INV_SCALE, QP_OUT_MODE, QP_OUT_ZERO_POINT, QP_SCALE } from "./gen/layout";
import { store_panel_header } from "./inline";
import { q16_epilogue } from "./qs8-epilogue";

/**
 * acc = c; for each of `blocks` 16-byte blocks i: acc = relaxed_dot_add(a[i], b[i], acc);
 * out = acc. a: signed bytes, b: bytes in [0, 127], c and out: 4 x i32. The host's self-check
 * compares it with the exact integer result.
 */
export function relaxed_dot_check(a: usize, b: usize, c: usize, out: usize, blocks: i32): void {
  let acc = v128.load(c);
  for (let i = 0; i < blocks; i++) {
    const off = <usize>i << 4;
    acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(a + off), v128.load(b + off), acc);
  }
  v128.store(out, acc);
}

/**
 * Register-only i32x4.relaxed_dot_i8x16_i7x16_add_s loop over 10 independent accumulators:
 * 10 * 16 * 2 * iters integer operations (16 products and 16 additions per instruction), the
 * relaxed counterpart of qs8_peak. Returns the wrapping sum of the four lanes of the sum of the
 * accumulators, so that a test can check the loop's integer result exactly.
 */
export function qs8_relaxed_peak(iters: i32, seed: i32): i32 {
  const x = i8x16.splat(<i8>seed);
  const b0 = i8x16.splat(<i8>((seed + 1) & 127)), b1 = i8x16.splat(<i8>((seed + 2) & 127));
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
  for (let i = 0; i < iters; i++) {
    a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b0, a0); a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b1, a1);
    a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b0, a2); a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b1, a3);
    a4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b0, a4); a5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b1, a5);
    a6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b0, a6); a7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b1, a7);
    a8 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b0, a8); a9 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, b1, a9);
  }
  const s = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)));
  const t = i32x4.add(s, i32x4.add(a8, a9));
  return i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3);
}

// ---------------------------------------------------------------------------------------------
// qs8-rdot-4x8c4: int8 weights x 7-bit activations -> int32, 16 products per instruction.
// The weights are the first (signed) operand, the activations the second, so every activation
// byte must be in [0, 127]: post-ReLU activations quantized as unsigned 7-bit (zero point 0). A
// row of activations is read as it is stored (K bytes at a + m * as, K a multiple of 4), so a
// stride-1 1x1 convolution over an NHWC tensor needs no im2col.

/** Bytes of one packed rdot panel: scale and bias (8 f32 each), then ceil(k / 4) blocks of 32 bytes. */
export function qs8_rdot_panel_bytes(k: i32): i32 {
  return 64 + ((k + 3) >> 2) * 32;
}

/**
 * Packs int8 weights [k][n] with per-column scales (f32 [n]) and f32 biases into panels of 8
 * columns: scale f32[8], bias f32[8], then per group of 4 rows (k, .., k+3) 32 bytes: columns
 * 0-3 then 4-7, each column's 4 weights in k order (the lanes of relaxed_dot_i8x16_i7x16_add_s).
 * Rows past k and columns past n are zero.
 */
export function qs8_rdot_pack_weights(k: i32, n: i32, src: usize, scales: usize, bias: usize, dst: usize): void {
  const panels = (n + 7) >> 3;
  const k4 = (k + 3) >> 2;
  const pb = <usize>qs8_rdot_panel_bytes(k);
  for (let p = 0; p < panels; p++) {
    const d = dst + <usize>p * pb;
    store_panel_header(d, p << 3, n, scales, bias);
    for (let q = 0; q < k4; q++) {
      const o = d + 64 + (<usize>q << 5);
      for (let j = 0; j < 8; j++) {
        const col = (p << 3) + j;
        for (let t = 0; t < 4; t++) {
          const row = (q << 2) + t;
          const v: i8 = col < n && row < k ? load<i8>(src + <usize>row * <usize>n + <usize>col) : 0;
          store<i8>(o + (<usize>j << 2) + <usize>t, v);
        }
      }
    }
  }
}

/** Stores the first nc (< 8) int32 lanes of a row's two accumulators. */
function store_partial(c: usize, lo: v128, hi: v128, nc: i32): void {
  for (let j = 0; j < nc; j++) {
    const v = j < 4 ? i32x4.extract_lane(lo, 0) : i32x4.extract_lane(hi, 0);
    store<i32>(c + (<usize>j << 2), v);
    if (j < 4) lo = i8x16.shuffle(lo, lo, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
    else hi = i8x16.shuffle(hi, hi, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
  }
}

// @ts-ignore: decorator
@inline function store_acc(c: usize, lo: v128, hi: v128, nc: i32): void {
  if (nc >= 8) {
    v128.store(c, lo);
    v128.store(c, hi, 16);
  } else store_partial(c, lo, hi, nc);
}

/**
 * One panel (nc <= 8 columns) of up to 4 rows (rows past mr repeat the last row's pointer and
 * are not stored): acc[r][j] = sum over k of a[r][k] * w[k][j], stored raw (mode 2) or through
 * the qs8 GEMM epilogue (modes 0 and 1, qs8-epilogue.ts) with the panel header at hdr, exactly
 * as qs8_gemm16_run stores the same accumulators.
 */
// @ts-ignore: decorator
@inline function rdot_panel(
  mr: i32, nc: i32, k4: i32, a: usize, as: usize, hdr: usize, c: usize, cs: usize,
  relu: i32, mode: i32, sx: f32, inv: f32, zy: i32, rq: usize, rd: usize,
): void {
  const p0 = a;
  const p1 = mr > 1 ? p0 + as : p0;
  const p2 = mr > 2 ? p1 + as : p1;
  const p3 = mr > 3 ? p2 + as : p2;
  let a0l = i32x4.splat(0), a0h = a0l, a1l = a0l, a1h = a0l, a2l = a0l, a2h = a0l, a3l = a0l, a3h = a0l;
  let wp = hdr + 64;
  for (let q = 0; q < k4; q++) {
    const o = <usize>q << 2;
    const wl = v128.load(wp);
    const wh = v128.load(wp, 16);
    wp += 32;
    const x0 = v128.load32_splat(p0 + o);
    a0l = i32x4.relaxed_dot_i8x16_i7x16_add_s(wl, x0, a0l);
    a0h = i32x4.relaxed_dot_i8x16_i7x16_add_s(wh, x0, a0h);
    const x1 = v128.load32_splat(p1 + o);
    a1l = i32x4.relaxed_dot_i8x16_i7x16_add_s(wl, x1, a1l);
    a1h = i32x4.relaxed_dot_i8x16_i7x16_add_s(wh, x1, a1h);
    const x2 = v128.load32_splat(p2 + o);
    a2l = i32x4.relaxed_dot_i8x16_i7x16_add_s(wl, x2, a2l);
    a2h = i32x4.relaxed_dot_i8x16_i7x16_add_s(wh, x2, a2h);
    const x3 = v128.load32_splat(p3 + o);
    a3l = i32x4.relaxed_dot_i8x16_i7x16_add_s(wl, x3, a3l);
    a3h = i32x4.relaxed_dot_i8x16_i7x16_add_s(wh, x3, a3h);
  }
  if (mode == 2) {
    if (mr > 3) store_acc(c + 3 * cs, a3l, a3h, nc);
    if (mr > 2) store_acc(c + 2 * cs, a2l, a2h, nc);
    if (mr > 1) store_acc(c + cs, a1l, a1h, nc);
    store_acc(c, a0l, a0h, nc);
  } else q16_epilogue(mr, nc, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, c, cs, hdr, relu, mode, sx, inv, zy, rq, rd);
}

/**
 * qs8-rdot-4x8c4 driver: C rows [m0, m1) in groups of 4, columns [n0, n1) (n0 a multiple of 8),
 * from 7-bit activation rows (row m at a + m * as) and the panels of qs8_rdot_pack_weights(k).
 * The parameter block qp is the 16-bit GEMM's (input scale; output mode 0 f32, 1 int8, 2 raw
 * int32 accumulators; output 1/scale and zero point), and so are relu and the fused residual
 * (rq, rd): for the same weights and activations x with zero point 0 the output is
 * qs8_gemm16_run's, bit for bit. Each row is read in groups of 4 bytes, ceil(k / 4) * 4 bytes:
 * the bytes past k meet zero weights but must be in [0, 127] too (the zero padding of
 * qs8_rdot_im2col rows, or the next channels of an NHWC row).
 */
export function qs8_rdot_gemm_run(
  m0: i32, m1: i32, n0: i32, n1: i32, k: i32, a: usize, as: usize, w: usize, c: usize, cs: usize,
  relu: i32, qp: usize, rq: usize, rd: usize,
): void {
  const k4 = (k + 3) >> 2;
  const pb = <usize>qs8_rdot_panel_bytes(k);
  const sx = load<f32>(qp, QP_SCALE);
  const mode = load<i32>(qp, QP_OUT_MODE);
  const inv = load<f32>(qp, QP_OUT_INV_SCALE);
  const zy = load<i32>(qp, QP_OUT_ZERO_POINT);
  const outBytes: usize = mode == 1 ? 1 : 4; // int8 output, else f32 (0) or raw int32 (2)
  // Blocks of columns whose panels fit in 128 KiB, as the 16-bit GEMM.
  let nb = <i32>(<usize>131072 / pb) * 8;
  if (nb < 8) nb = 8;
  for (let nbs = n0; nbs < n1; nbs += nb) {
    const ne = min(nbs + nb, n1);
    for (let m = m0; m < m1; m += 4) {
      const rows = min(4, m1 - m);
      const am = a + <usize>m * as;
      const cm = c + <usize>m * cs;
      for (let n = nbs; n < ne; n += 8) {
        const wp = w + <usize>(n >> 3) * pb;
        rdot_panel(rows, min(8, ne - n), k4, am, as, wp, cm + <usize>n * outBytes, cs, relu, mode, sx, inv, zy, rq, rd);
      }
    }
  }
}

/** Bytes of one qs8_rdot_im2col row: kh * kw * c rounded up to a multiple of 4. */
export function qs8_rdot_row_bytes(kh: i32, kw: i32, c: i32): i32 {
  return (kh * kw * c + 3) & ~3;
}

/**
 * 7-bit im2col rows for output rows [m0, m1) of an oh x ow output (row m = oy * ow + ox) over
 * kh x kw taps of an NHWC input ih x iw x c whose bytes are in [0, 127] (zero point 0): row m at
 * a + m * qs8_rdot_row_bytes(kh, kw, c) holds per tap the c input bytes (0 for taps outside the
 * image: real zero padding), then zeros up to the row's end.
 */
export function qs8_rdot_im2col(
  m0: i32, m1: i32, ih: i32, iw: i32, c: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, a: usize,
): void {
  const rb = <usize>qs8_rdot_row_bytes(kh, kw, c);
  const used = <usize>(kh * kw * c);
  const cb = <usize>c;
  for (let m = m0; m < m1; m++) {
    const oy = m / ow;
    const ox = m - oy * ow;
    const row = a + <usize>m * rb;
    let d = row;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx;
        if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) memory.copy(d, x + <usize>(iy * iw + ix) * cb, cb);
        else memory.fill(d, 0, cb);
        d += cb;
      }
    }
    if (rb > used) memory.fill(row + used, 0, rb - used);
  }
}

// ---------------------------------------------------------------------------------------------
// f32 fused multiply-add (f32x4.relaxed_madd): the f32 GEMM, IGEMM and f16-weight GEMM drivers
// of the 128-bit SIMD module compiled again here, where their micro-kernels' multiply-add is
// f32x4.relaxed_madd (scripts/gen-gemm.mjs, ASC_FEATURE_RELAXED_SIMD). The instruction may round
// once (fused) or twice: the host uses these kernels only after relaxed_fma_check found it fused
// in every tier it will run, so their results do not depend on the tier or the thread count.

/** out[i] = a[i] * b[i] + c[i] with f32x4.relaxed_madd, for n vectors of 4 f32 (the host's self-check). */
export function relaxed_fma_check(a: usize, b: usize, c: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 4;
    v128.store(out + off, f32x4.relaxed_madd(v128.load(a + off), v128.load(b + off), v128.load(c + off)));
  }
}

// The 12-chain peak loop and the drivers, exported under their own names (the 128-bit SIMD
// module exports the mul+add ones).
export { f32_peak as f32_fma_peak } from "./common";
export { f32_gemm_run as f32_fma_gemm_run } from "./gen/f32-gemm-wasmsimd";
export { f32_igemm_run as f32_fma_igemm_run } from "./gen/f32-igemm-wasmsimd";
export { f32_f16w_igemm_run as f32_f16w_fma_igemm_run, f32_f16w_wino_gemm_run as f32_f16w_fma_wino_gemm_run } from "./quant";
