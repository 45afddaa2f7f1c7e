// The qs8 GEMM epilogue, shared by the 16-bit GEMM (quant.ts) and the relaxed-SIMD GEMM
// (relaxed.ts): f32 scale and bias per output channel, the fused residual, ReLU, and f32 or
// requantized int8 stores, so that both give bit-identical outputs from the same int32
// accumulators. Not re-exported by the engine entry files (every export of a kernel module is
// in the kernel manifest).
import { QP_SCALE, QP_ZERO_POINT } from "./gen/layout";
/** clamp(nearest(t) + zp) to int8 for t already multiplied by 1/scale (t clamped to +-32768 first). */
// @ts-ignore: decorator
@inline export function qround1(t: f32, zp: i32): i32 {
  t = max<f32>(t, -32768);
  t = min<f32>(t, 32767);
  let q = <i32>nearest<f32>(t) + zp;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}
// @ts-ignore: decorator
@inline export function requant1(v: f32, inv: f32, zp: i32): i32 {
  return qround1(v * inv, zp);
}

/** i32x4.splat of MAGIC's bits minus the zero point, the second operand of qround4. */
// @ts-ignore: decorator
@inline export function qround_bias(zp: v128): v128 {
  return i32x4.sub(i32x4.splat(0x4b400000), zp);
}
/**
 * nearest(t) + zp as int32 lanes (before the saturating narrows to int8), t clamped to +-32768
 * first: adding MAGIC = 1.5 * 2^23 rounds to an integer (ties to even, as nearest) and leaves
 * it in the low bits of the float's bit pattern, exact for |t| < 2^22, so two operations replace
 * a nearest and a saturating truncation with the same result. zb = qround_bias(zp).
 */
// @ts-ignore: decorator
@inline export function qround4(t: v128, zb: v128): v128 {
  // pmax/pmin: one instruction each (f32x4.max/min add NaN and signed-zero handling).
  t = f32x4.pmax(f32x4.splat(-32768), t);
  t = f32x4.pmin(f32x4.splat(32767), t);
  return i32x4.sub(f32x4.add(t, f32x4.splat(12582912)), zb);
}
// @ts-ignore: decorator
@inline export function requant4(v: v128, inv: v128, zp: v128): v128 {
  return qround4(f32x4.mul(v, inv), qround_bias(zp));
}

/** Stores one row of 8 (nc) f32 results (mode 0) or int8 (mode 1, already times 1/scale; zb = qround_bias(zy)). */
// @ts-ignore: decorator
@inline export function store_row(c: usize, vl: v128, vh: v128, nc: i32, mode: i32, zb: v128): void {
  if (mode == 0) {
    if (nc >= 8) {
      v128.store(c, vl);
      v128.store(c, vh, 16);
    } else {
      for (let j = 0; j < nc; j++) {
        const v = j < 4 ? vl : vh;
        const l = j & 3;
        store<f32>(c + (<usize>j << 2), l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3));
      }
    }
  } else {
    const q16 = i16x8.narrow_i32x4_s(qround4(vl, zb), qround4(vh, zb));
    const q8 = i8x16.narrow_i16x8_s(q16, q16);
    if (nc >= 8) v128.store64_lane(c, q8, 0);
    else {
      let u = i64x2.extract_lane(q8, 0);
      for (let j = 0; j < nc; j++) {
        store<i8>(c + <usize>j, <i8>u);
        u >>= 8;
      }
    }
  }
}

// Output modes of the 16-bit GEMM: 0 f32, 1 int8 (requantized), 2 raw int32 accumulators.

// @ts-ignore: decorator
@inline export function epi4(acc: v128, sc: v128, bi: v128, relu: i32): v128 {
  let v = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), sc), bi);
  if (relu) v = f32x4.pmax(f32x4.splat(0), v);
  return v;
}

/**
 * Epilogue with a fused residual: sc * acc + bias + sr * (r - zr) (+ReLU) for 4 columns from
 * `first`, r the int8 residual row at p (only the row's nc columns are read).
 */
// @ts-ignore: decorator
@inline export function res_epi4(acc: v128, sc: v128, bi: v128, p: usize, sr: v128, zr: v128, relu: i32, first: i32, nc: i32): v128 {
  let r: v128;
  if (nc >= 8) r = v128.load32_zero(p + <usize>first);
  else {
    r = i32x4.splat(0);
    if (first < nc) r = i8x16.replace_lane(r, 0, load<i8>(p + <usize>first));
    if (first + 1 < nc) r = i8x16.replace_lane(r, 1, load<i8>(p + <usize>first + 1));
    if (first + 2 < nc) r = i8x16.replace_lane(r, 2, load<i8>(p + <usize>first + 2));
    if (first + 3 < nc) r = i8x16.replace_lane(r, 3, load<i8>(p + <usize>first + 3));
  }
  const r32 = i32x4.sub(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(r)), zr);
  let v = f32x4.add(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), sc), bi), f32x4.mul(f32x4.convert_i32x4_s(r32), sr));
  if (relu) v = f32x4.pmax(f32x4.splat(0), v);
  return v;
}

/**
 * Epilogue of one 4x8 tile for modes 0 and 1 (kept out of the micro-kernel so that the kernel's
 * code stays small): sx * scale * acc + bias, the fused residual when rq is set, ReLU, then f32
 * or requantized int8 stores of the tile's mr rows and nc columns. For int8 output the factor
 * 1/scale of the output is folded into the scales, the biases and the residual's scale once per
 * tile (f = 1/scale, 1 for f32 output), so each value needs no multiplication of its own for it.
 */
export function q16_epilogue(
  mr: i32, nc: i32, a0l: v128, a0h: v128, a1l: v128, a1h: v128, a2l: v128, a2h: v128, a3l: v128, a3h: v128,
  c: usize, cs: usize, hdr: usize, relu: i32, mode: i32, sx: f32, inv: f32, zy: i32, rq: usize, rd: usize,
): void {
  const f: f32 = mode == 1 ? inv : 1;
  const vsx = f32x4.splat(sx), vf = f32x4.splat(f);
  const scl = f32x4.mul(f32x4.mul(vsx, v128.load(hdr)), vf), sch = f32x4.mul(f32x4.mul(vsx, v128.load(hdr, 16)), vf);
  const bil = f32x4.mul(v128.load(hdr, 32), vf), bih = f32x4.mul(v128.load(hdr, 48), vf);
  const zb = qround_bias(i32x4.splat(zy));
  const vsr = f32x4.splat(rq ? load<f32>(rq, QP_SCALE) * f : 0), vzr = i32x4.splat(rq ? load<i32>(rq, QP_ZERO_POINT) : 0);
  if (nc >= 8) {
    // Full panels: the rows inline, with the partial-panel paths folded away.
    epi_row_body(a0l, a0h, c, 8, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 1) epi_row_body(a1l, a1h, c + cs, 8, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 2) epi_row_body(a2l, a2h, c + 2 * cs, 8, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 3) epi_row_body(a3l, a3h, c + 3 * cs, 8, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
  } else {
    // The last panel of a layer whose channels are not a multiple of 8: one call per row keeps
    // the code (and V8's compile-time memory) small.
    epi_row(a0l, a0h, c, nc, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 1) epi_row(a1l, a1h, c + cs, nc, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 2) epi_row(a2l, a2h, c + 2 * cs, nc, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
    if (mr > 3) epi_row(a3l, a3h, c + 3 * cs, nc, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
  }
}

export function epi_row(
  al: v128, ah: v128, cr: usize, nc: i32, scl: v128, sch: v128, bil: v128, bih: v128, relu: i32, mode: i32, zb: v128,
  rq: usize, rd: usize, vsr: v128, vzr: v128,
): void {
  epi_row_body(al, ah, cr, nc, scl, sch, bil, bih, relu, mode, zb, rq, rd, vsr, vzr);
}

// @ts-ignore: decorator
@inline export function epi_row_body(
  al: v128, ah: v128, cr: usize, nc: i32, scl: v128, sch: v128, bil: v128, bih: v128, relu: i32, mode: i32, zb: v128,
  rq: usize, rd: usize, vsr: v128, vzr: v128,
): void {
  let vl: v128, vh: v128;
  if (rq) {
    vl = res_epi4(al, scl, bil, cr + rd, vsr, vzr, relu, 0, nc);
    vh = res_epi4(ah, sch, bih, cr + rd, vsr, vzr, relu, 4, nc);
  } else {
    vl = epi4(al, scl, bil, relu);
    vh = epi4(ah, sch, bih, relu);
  }
  store_row(cr, vl, vh, nc, mode, zb);
}
