// Kernels for quantized layers: f16-weight GEMM (f32 activations, IEEE half weights widened a
// cache block at a time inside the GEMM), qs8 GEMM (int8 x int8 -> int32 through i16x8
// widening and i32x4.dot_i16x8_s, float requantization epilogue with fused ReLU), quantize /
// dequantize / dynamic range, int8 add with rescaling, int8 max pool and int8 global average
// pool. SIMD and scalar branches do the same operations in the same order: integer parts are
// exact, float parts use the same f32 operations, so both builds give bit-identical results.
import { QP_INV_SCALE, QP_OUT_INV_SCALE, QP_OUT_MODE, QP_OUT_ZERO_POINT, QP_SCALE, QP_ZERO_POINT } from "./gen/layout";
import { a4_off, store_panel_header, wino_patch_mask, wino_weights1, wino_weights4 } from "./inline";
import { epi4, epi_row, epi_row_body, q16_epilogue, qround1, qround4, qround_bias, requant1, requant4, res_epi4, store_row } from "./qs8-epilogue";
import { f32_gemm_run as gemm_simd } from "./gen/f32-gemm-wasmsimd";
import { f32_gemm_run as gemm_scalar } from "./gen/f32-gemm-scalar";
import { f32_igemm_run as igemm_simd } from "./gen/f32-igemm-wasmsimd";
import { f32_igemm_run as igemm_scalar } from "./gen/f32-igemm-scalar";

// ---------------------------------------------------------------------------------------------
// f16 weights

/**
 * Packs f16 weights [k, n] (raw binary16 bits) and f32 biases into panels of 8 columns: 8 f32
 * biases, then k rows of 8 halves. Columns past n are zero. dst: ceil(n/8) * (32 + 16k) bytes.
 */
export function f16_pack_weights(k: i32, n: i32, src: usize, bias: usize, dst: usize): void {
  const panels = (n + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const col0 = p << 3;
    for (let j = 0; j < 8; j++) {
      const col = col0 + j;
      store<f32>(dst + (<usize>j << 2), col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    dst += 32;
    let s = src + (<usize>col0 << 1);
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < 8; j++) store<u16>(dst + (<usize>j << 1), col0 + j < n ? load<u16>(s + (<usize>j << 1)) : 0);
      dst += 16;
      s += <usize>n << 1;
    }
  }
}

// @ts-ignore: decorator
@inline function half_to_f32(h: u32): f32 {
  // Magnitude bits moved into the f32 position, times 2^112: exact for normal and subnormal halves.
  const mag = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000);
  return reinterpret<f32>(reinterpret<u32>(mag) | ((h & 0x8000) << 16));
}

/**
 * Four halves (sign-extended in i32 lanes) as f32, the values of half_to_f32: shifted left by 13,
 * the sign lands in bit 31 (bits 28-30, its copies, are cleared) and the magnitude bits in the f32
 * position; times 2^112 (exact) gives the value.
 */
// @ts-ignore: decorator
@inline function halves_to_f32x4(h: v128): v128 {
  const bits = v128.and(i32x4.shl(h, 13), i32x4.splat(<i32>0x8fffe000));
  return f32x4.mul(bits, i32x4.splat(0x77800000));
}

/** Widens `panels` packed f16 panels of k rows into the f32 packed layout at dst. */
export function f16_widen_panels(panels: i32, k: i32, src: usize, dst: usize): void {
  for (let p = 0; p < panels; p++) {
    memory.copy(dst, src, 32);
    src += 32;
    dst += 32;
    if (ASC_FEATURE_SIMD) {
      for (let kk = 0; kk < k; kk++) {
        const h = v128.load(src);
        v128.store(dst, halves_to_f32x4(i32x4.extend_low_i16x8_s(h)));
        v128.store(dst, halves_to_f32x4(i32x4.extend_high_i16x8_s(h)), 16);
        src += 16;
        dst += 32;
      }
    } else {
      for (let kk = 0; kk < k; kk++) {
        for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), half_to_f32(<u32>load<u16>(src + (<usize>j << 1))));
        src += 16;
        dst += 32;
      }
    }
  }
}

/**
 * f32-f16w-igemm: C = A B + bias (+ReLU) with B in f16 panels. Column blocks of about 128 KiB of
 * f32 panels are widened into `scratch` (per thread) and run by the f32 IGEMM micro-kernels, so
 * the result equals the f32 kernels on the widened weights, bit for bit. Scratch needs
 * min(ceil(n/8), max(1, 131072 / ((ks*kc+1)*32))) * (ks*kc+1) * 32 bytes.
 */
export function f32_f16w_igemm_run(
  tile: i32, m0: i32, m1: i32, n0: i32, n1: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize,
  relu: i32, scratch: usize,
): void {
  const K = ks * kc;
  const panel32: usize = (<usize>K + 1) * 32;
  const panel16: usize = 32 + <usize>K * 16;
  let nb = <i32>(<usize>131072 / panel32) * 8;
  if (nb < 8) nb = 8;
  for (let nbs = n0; nbs < n1; nbs += nb) {
    const nc = min(nb, n1 - nbs);
    f16_widen_panels((nc + 7) >> 3, K, w + <usize>(nbs >> 3) * panel16, scratch);
    const cp = c + (<usize>nbs << 2);
    if (ASC_FEATURE_SIMD) igemm_simd(tile, m0, m1, 0, nc, kc, ks, ind, scratch, cp, cs, relu);
    else igemm_scalar(tile, m0, m1, 0, nc, kc, ks, ind, scratch, cp, cs, relu);
  }
}

/**
 * Panels of 8 output channels per block of f32_f16w_wino_gemm_run: its 16 transformed matrices
 * fill about 256 KiB of per-thread scratch (one panel at least).
 */
// @ts-ignore: decorator
@inline function f16_wino_block_panels(cin: i32): i32 {
  return max(1, 16384 / ((cin + 1) * 32));
}

/** Bytes of the per-thread scratch of f32_f16w_wino_gemm_run for n output channels. */
export function f16_wino_scratch_bytes(cin: i32, n: i32): i32 {
  return 16 * min((n + 7) >> 3, f16_wino_block_panels(cin)) * (cin + 1) * 32;
}

/**
 * Winograd F(2x2,3x3) weight transform of `panels` packed f16 panels of a 3x3 conv (9 * cin rows,
 * row (3 ky + kx) * cin + ci) into 16 f32 packed matrices at dst + e * pb: per panel a zero bias
 * row and cin rows of 8 columns. The same operations as f32_wino_pack_weights on the widened
 * weights, so the matrices are bit-identical to its.
 */
function f16_wino_weights(panels: i32, cin: i32, src: usize, dst: usize, pb: usize): void {
  const tap = <usize>cin << 4;
  const panel16: usize = 32 + 9 * tap;
  const panel32 = (<usize>cin + 1) * 32;
  for (let p = 0; p < panels; p++) {
    const sp = src + <usize>p * panel16 + 32;
    const dp = dst + <usize>p * panel32;
    for (let e = 0; e < 16; e++) memory.fill(dp + <usize>e * pb, 0, 32);
    for (let ci = 0; ci < cin; ci++) {
      const s = sp + (<usize>ci << 4);
      const d = dp + 32 + (<usize>ci << 5);
      if (ASC_FEATURE_SIMD) {
        for (let half = 0; half < 2; half++) {
          const o = half * 8;
          const g00 = f16x4_at(s, o), g01 = f16x4_at(s + tap, o), g02 = f16x4_at(s + 2 * tap, o);
          const g10 = f16x4_at(s + 3 * tap, o), g11 = f16x4_at(s + 4 * tap, o), g12 = f16x4_at(s + 5 * tap, o);
          const g20 = f16x4_at(s + 6 * tap, o), g21 = f16x4_at(s + 7 * tap, o), g22 = f16x4_at(s + 8 * tap, o);
          wino_weights4(d + (<usize>half << 4), pb, g00, g01, g02, g10, g11, g12, g20, g21, g22);
        }
      } else {
        for (let j = 0; j < 8; j++) {
          const sj = s + (<usize>j << 1);
          const g00 = f16_at(sj), g01 = f16_at(sj + tap), g02 = f16_at(sj + 2 * tap);
          const g10 = f16_at(sj + 3 * tap), g11 = f16_at(sj + 4 * tap), g12 = f16_at(sj + 5 * tap);
          const g20 = f16_at(sj + 6 * tap), g21 = f16_at(sj + 7 * tap), g22 = f16_at(sj + 8 * tap);
          wino_weights1(d + (<usize>j << 2), pb, g00, g01, g02, g10, g11, g12, g20, g21, g22);
        }
      }
    }
  }
}

/** Four halves at p + o (o in bytes: 0 or 8) as f32x4. */
// @ts-ignore: decorator
@inline function f16x4_at(p: usize, o: i32): v128 {
  return halves_to_f32x4(v128.load16x4_s(p + <usize>o));
}

// @ts-ignore: decorator
@inline function f16_at(p: usize): f32 {
  return half_to_f32(<u32>load<u16>(p));
}

/**
 * f32-f16w-wino: the 16 GEMMs M_e = V_e U_e of a Winograd F(2x2,3x3) layer with f16 weights,
 * rows (tiles) [m0, m1), columns [n0, n1). Per block of f16_wino_block_panels(cin) panels the
 * weights are transformed into `scratch` (per thread; 16 matrices) and run by the f32 GEMM
 * micro-kernels, so the products equal the f32 Winograd layer's on the widened weights, bit for
 * bit. V_e at v + e * vstride (rows of cin f32), M_e at m + e * mstride (rows of cout f32).
 */
export function f32_f16w_wino_gemm_run(
  tile: i32, m0: i32, m1: i32, n0: i32, n1: i32, cin: i32, cout: i32, v: usize, vstride: usize, w: usize,
  m: usize, mstride: usize, scratch: usize,
): void {
  const panel16: usize = 32 + 9 * (<usize>cin << 4);
  const panel32: usize = (<usize>cin + 1) * 32;
  const nb = f16_wino_block_panels(cin) * 8;
  const as: usize = <usize>cin << 2;
  const cs: usize = <usize>cout << 2;
  for (let nbs = n0; nbs < n1; nbs += nb) {
    const nc = min(nb, n1 - nbs);
    const pb = <usize>((nc + 7) >> 3) * panel32;
    f16_wino_weights((nc + 7) >> 3, cin, w + <usize>(nbs >> 3) * panel16, scratch, pb);
    for (let e = 0; e < 16; e++) {
      const a = v + <usize>e * vstride;
      const u = scratch + <usize>e * pb;
      const c = m + <usize>e * mstride + (<usize>nbs << 2);
      if (ASC_FEATURE_SIMD) gemm_simd(tile, m0, m1, 0, nc, cin, a, as, u, c, cs, 0);
      else gemm_scalar(tile, m0, m1, 0, nc, cin, a, as, u, c, cs, 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qs8: signed 8-bit activations (affine, per tensor) and weights (symmetric, per output channel)

// Quantization parameter block (qp): the fields and offsets of gen/layout.ts (QP_*, generated
// with the host's copy from scripts/gen-layout.mjs): scale, zero point, 1/scale, and for a
// GEMM's output the output mode (0: f32 output, 1: int8 output), the output's 1/scale and zero
// point.

/** Bytes of one packed qs8 panel: scale and bias (8 f32 each), then ks * kc2 / 2 pairs of 16 bytes. */
export function qs8_panel_bytes(kc: i32, ks: i32): i32 {
  return 64 + ks * ((kc + 1) & ~1) * 8;
}

/**
 * Unpacks 4-bit weights, two per byte along the n columns of each of `rows` rows (two's
 * complement, even column in the low nibble; a row takes ceil(n / 2) bytes), into int8 [rows][n].
 */
export function qs8_unpack_int4(rows: i32, n: i32, src: usize, dst: usize): void {
  const half = (n + 1) >> 1;
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>half;
    const d = dst + <usize>r * <usize>n;
    for (let c = 0; c < n; c++) {
      const byte = <i32>load<u8>(s + <usize>(c >> 1));
      const nib = c & 1 ? byte >> 4 : byte & 15;
      store<i8>(d + <usize>c, <i8>(nib >= 8 ? nib - 16 : nib));
    }
  }
}

/**
 * Packs int8 weights [ks][kc][n] with per-column scales (f32 [n]) and f32 biases into panels of
 * 8 columns: scale f32[8], bias f32[8], then for each tap and each pair of input channels 16
 * bytes (column j: k, k+1 at bytes 2j, 2j+1). Channels are padded to an even count and columns
 * to a multiple of 8 with zeros. With `pairMajor` (the int8 Winograd layers) the same 16-byte
 * blocks are ordered by pair, then tap: the weight transform then reads one sequential stream
 * (it reads the weights cold, once per run) instead of one per tap.
 */
export function qs8_pack_weights(kc: i32, ks: i32, n: i32, src: usize, scales: usize, bias: usize, dst: usize, pairMajor: i32): void {
  const kc2 = (kc + 1) & ~1;
  const panels = (n + 7) >> 3;
  const pb = <usize>qs8_panel_bytes(kc, ks);
  for (let p = 0; p < panels; p++) {
    const d = dst + <usize>p * pb;
    store_panel_header(d, p << 3, n, scales, bias);
    for (let t = 0; t < ks; t++) {
      for (let k = 0; k < kc2; k += 2) {
        const o = d + 64 + (<usize>(pairMajor ? (k >> 1) * ks + t : t * (kc2 >> 1) + (k >> 1)) << 4);
        for (let j = 0; j < 8; j++) {
          const col = (p << 3) + j;
          let v0: i8 = 0, v1: i8 = 0;
          if (col < n) {
            v0 = load<i8>(src + (<usize>(t * kc + k) * <usize>n) + <usize>col);
            if (k + 1 < kc) v1 = load<i8>(src + (<usize>(t * kc + k + 1) * <usize>n) + <usize>col);
          }
          store<i8>(o + (<usize>j << 1), v0);
          store<i8>(o + (<usize>j << 1) + 1, v1);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qs8 GEMM on 16-bit operands. The activations are widened once, with the zero point taken off
// (im2col16: a - zx as i16), so the GEMM needs no column-sum correction and its inner loop is
// 4 broadcast loads of an (a_k, a_k+1) pair, 2 widening loads of int8 weights and 8
// i32x4.dot_i16x8_s. The same micro-kernel runs the Winograd GEMMs on i16 weights.

// Row tiles of the 16-bit GEMM's activations (im2col16 rows and Winograd V matrices) are stored
// interleaved: for each tile of 4 rows, for each pair of channels, the 4 rows' pairs in 16 bytes
// (row m, pair j at ((m >> 2) * kp + j) * 16 + (m & 3) * 4). The micro-kernel then reads all four
// rows through one pointer at fixed offsets: three fewer address updates per pair in its loop,
// which is bound by how many operations it issues (7-9 % faster). Buffers hold whole tiles.

/** Elements in one im2col16 row: ks taps of kc channels, kc rounded up to even (GEMM view). */
export function qs8_k16(kc: i32, ks: i32): i32 {
  return ks * ((kc + 1) & ~1);
}

/**
 * im2col16 from the convolution geometry, for output rows [m0, m1) of an oh x ow output (row m
 * = oy * ow + ox) over kh x kw taps of an NHWC int8 input ih x iw x c: per tap, c values
 * x - zx as i16 (0 for taps outside the image, i.e. real zero padding) and a 0 for odd c. With
 * `merge` (for c == 1) the taps follow each other without that padding and one 0 ends the row
 * when kh * kw is odd, so the row is the kh * kw taps of a single channel. Rows are stored
 * tile-interleaved (a4_off).
 */
export function qs8_im2col16(
  m0: i32, m1: i32, ih: i32, iw: i32, c: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, a16: usize, qp: usize, merge: i32,
): void {
  const zx = load<i32>(qp, QP_ZERO_POINT);
  const ks = kh * kw;
  const kc2 = (c + 1) & ~1;
  const k16 = merge ? (ks + 1) & ~1 : ks * kc2;
  const kp = k16 >> 1;
  for (let m = m0; m < m1; m++) {
    const oy = m / ow;
    const ox = m - oy * ow;
    const row = a16 + a4_off(m, 0, kp);
    let q = 0; // element index in the row
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky;
      if (ASC_FEATURE_SIMD && merge && kw <= 8) {
        // A row of kw taps inside the image: one 8-byte load, stored as pairs; the extra lanes
        // land on slots of this row that the next row of taps (or the final 0) overwrites.
        const ix0 = ox * sw - pl;
        const odd = q & 1;
        if (iy >= 0 && iy < ih && ix0 >= 0 && ix0 + 8 <= iw && q + 8 + odd <= k16) {
          let v = i16x8.sub(v128.load8x8_s(x + <usize>(iy * iw + ix0)), i16x8.splat(<i16>zx));
          let d = row + (<usize>(q >> 1) << 4);
          if (odd) {
            store<i16>(d, <i16>i16x8.extract_lane_s(v, 0), 2);
            v = i8x16.shuffle(v, v, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1);
            d += 16;
          }
          v128.store32_lane(d, v, 0);
          v128.store32_lane(d, v, 1, 16);
          v128.store32_lane(d, v, 2, 32);
          v128.store32_lane(d, v, 3, 48);
          q += kw;
          continue;
        }
      }
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx;
        const inside = iy >= 0 && iy < ih && ix >= 0 && ix < iw;
        if (merge) {
          store<i16>(row + (<usize>(q >> 1) << 4) + (<usize>(q & 1) << 1), inside ? <i16>(<i32>load<i8>(x + <usize>(iy * iw + ix)) - zx) : 0);
          q++;
          continue;
        }
        // q is even here: a tap starts a pair.
        const d = row + (<usize>(q >> 1) << 4);
        if (inside) {
          const src = x + <usize>(iy * iw + ix) * <usize>c;
          let ch = 0;
          if (ASC_FEATURE_SIMD) {
            const vz = i16x8.splat(<i16>zx);
            for (; ch + 8 <= c; ch += 8) {
              const v = i16x8.sub(v128.load8x8_s(src + <usize>ch), vz);
              const o = d + (<usize>ch << 3);
              v128.store32_lane(o, v, 0);
              v128.store32_lane(o, v, 1, 16);
              v128.store32_lane(o, v, 2, 32);
              v128.store32_lane(o, v, 3, 48);
            }
          }
          for (; ch < c; ch++)
            store<i16>(d + (<usize>(ch >> 1) << 4) + (<usize>(ch & 1) << 1), <i16>(<i32>load<i8>(src + <usize>ch) - zx));
          if (c & 1) store<i16>(d + (<usize>(c >> 1) << 4), 0, 2);
        } else {
          for (let j = 0; j < kc2 >> 1; j++) store<i32>(d + (<usize>j << 4), 0);
        }
        q += kc2;
      }
    }
    if (merge && ks & 1) store<i16>(row + (<usize>(q >> 1) << 4), 0, 2);
  }
}

/**
 * One panel (nc <= 8 columns) of up to 4 rows (mr): acc[r][j] = sum over kp pairs of
 * a16[r][2p] b[2p][j] + a16[r][2p+1] b[2p+1][j], with b int8 pairs of 16 bytes (b16 false) or
 * i16 pairs of 32 bytes (b16 true). Epilogue for modes 0 and 1 with the panel header at hdr
 * (scale f32[8] at 0, bias f32[8] at 32): sx * scale[j] * acc + bias[j] (+ReLU).
 */
// @ts-ignore: decorator
@inline function q16_panel(
  mr: i32, nc: i32, kp: i32, a: usize, b: usize, b16: bool, hdr: usize, c: usize, cs: usize,
  relu: i32, mode: i32, sx: f32, inv: f32, zy: i32, rq: usize, rd: usize,
): void {
  const c0 = c;
  const c1 = mr > 1 ? c0 + cs : c0;
  const c2 = mr > 2 ? c1 + cs : c1;
  const c3 = mr > 3 ? c2 + cs : c2;
  if (ASC_FEATURE_SIMD) {
    let a0l = i32x4.splat(0), a0h = a0l, a1l = a0l, a1h = a0l, a2l = a0l, a2h = a0l, a3l = a0l, a3h = a0l;
    // The tile's 4 rows interleaved (a4_off): rows past mr are padding, computed and not stored.
    let p = a;
    let wp = b;
    for (let j = 0; j < kp; j++) {
      let bl: v128, bh: v128;
      if (b16) {
        bl = v128.load(wp);
        bh = v128.load(wp, 16);
        wp += 32;
      } else {
        bl = v128.load8x8_s(wp);
        bh = v128.load8x8_s(wp, 8);
        wp += 16;
      }
      const x0 = v128.load32_splat(p);
      a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(x0, bl));
      a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(x0, bh));
      const x1 = v128.load32_splat(p, 4);
      a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(x1, bl));
      a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(x1, bh));
      const x2 = v128.load32_splat(p, 8);
      a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(x2, bl));
      a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(x2, bh));
      const x3 = v128.load32_splat(p, 12);
      a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(x3, bl));
      a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(x3, bh));
      p += 16;
    }
    if (mode == 2) {
      // Raw int32 accumulators: the f32 store path moves the same bits.
      const z = i32x4.splat(0);
      store_row(c3, a3l, a3h, nc, 0, z);
      store_row(c2, a2l, a2h, nc, 0, z);
      store_row(c1, a1l, a1h, nc, 0, z);
      store_row(c0, a0l, a0h, nc, 0, z);
    } else q16_epilogue(mr, nc, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, c, cs, hdr, relu, mode, sx, inv, zy, rq, rd);
  } else {
    for (let r = mr - 1; r >= 0; r--) {
      const ar = a + (<usize>r << 2);
      const cr = r == 0 ? c0 : r == 1 ? c1 : r == 2 ? c2 : c3;
      for (let jj = 0; jj < nc; jj++) {
        let acc = 0;
        let p = ar;
        if (b16) {
          let q = b + (<usize>jj << 2);
          for (let j = 0; j < kp; j++) {
            acc += <i32>load<i16>(p) * <i32>load<i16>(q) + <i32>load<i16>(p, 2) * <i32>load<i16>(q, 2);
            p += 16;
            q += 32;
          }
        } else {
          let q = b + (<usize>jj << 1);
          for (let j = 0; j < kp; j++) {
            acc += <i32>load<i16>(p) * <i32>load<i8>(q) + <i32>load<i16>(p, 2) * <i32>load<i8>(q, 1);
            p += 16;
            q += 16;
          }
        }
        const o = <usize>jj << 2;
        if (mode == 2) {
          store<i32>(cr + o, acc);
          continue;
        }
        // As q16_epilogue: 1/scale folded into the factors for int8 output.
        const f: f32 = mode == 1 ? inv : 1;
        let v = <f32>acc * ((sx * load<f32>(hdr + o)) * f) + load<f32>(hdr + 32 + o) * f;
        if (rq) v = v + <f32>(<i32>load<i8>(cr + rd + <usize>jj) - load<i32>(rq, QP_ZERO_POINT)) * (load<f32>(rq, QP_SCALE) * f);
        if (relu) v = select<f32>(v, 0, v > 0);
        if (mode == 0) store<f32>(cr + o, v);
        else store<i8>(cr + <usize>jj, <i8>qround1(v, zy));
      }
    }
  }
}

/**
 * qs8-gemm16-4x8c2 driver: C rows [m0, m1) in groups of 4, columns [n0, n1) (n0 a multiple of
 * 8; m0 a multiple of 4), from tile-interleaved im2col16 rows (a16) and the packed int8 panels of
 * qs8_pack_weights(kc, ks). Output f32 or int8 per the parameter block, row stride cs. With a
 * residual parameter block rq (0: none), the int8 tensor at c + rd (same layout as the output)
 * is added before the ReLU and the requantization (a residual add fused into the epilogue).
 */
export function qs8_gemm16_run(
  m0: i32, m1: i32, n0: i32, n1: i32, kc: i32, ks: i32, a16: usize, w: usize, c: usize, cs: usize,
  relu: i32, qp: usize, rq: usize, rd: usize,
): void {
  const kp = qs8_k16(kc, ks) >> 1;
  const pb = <usize>qs8_panel_bytes(kc, ks);
  const sx = load<f32>(qp, QP_SCALE);
  const mode = load<i32>(qp, QP_OUT_MODE);
  const inv = load<f32>(qp, QP_OUT_INV_SCALE);
  const zy = load<i32>(qp, QP_OUT_ZERO_POINT);
  const outBytes: usize = mode == 1 ? 1 : 4; // int8 output, else f32 (0) or raw int32 (2)
  let nb = <i32>(<usize>131072 / pb) * 8;
  if (nb < 8) nb = 8;
  for (let nbs = n0; nbs < n1; nbs += nb) {
    const ne = min(nbs + nb, n1);
    for (let m = m0; m < m1; m += 4) {
      const rows = min(4, m1 - m);
      const am = a16 + a4_off(m, 0, kp);
      const cm = c + <usize>m * cs;
      for (let n = nbs; n < ne; n += 8) {
        const wp = w + <usize>(n >> 3) * pb;
        q16_panel(rows, min(8, ne - n), kp, am, wp + 64, false, wp, cm + <usize>n * outBytes, cs, relu, mode, sx, inv, zy, rq, rd);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// INT8 Winograd F(2x2,3x3). With V = B^T (x - zx) B in i16 (|V| <= 4 * 255) and the integer
// weights U = (2G) g (2G)^T = 4 G g G^T in i16 (|U| <= 9 * 127), the 16 GEMMs and the output
// transform A^T M A run in wrapping int32 arithmetic and give exactly 4x the int32 sum of the
// direct convolution (which fits in int32 when 9 * kc2 * 255 * 127 * 4 < 2^31), so the result,
// after an exact shift by 2 and the same epilogue, is bit-identical to the direct int8 path.
//
// INT8 Winograd F(2x3,3x3): tiles of 2 output rows by 3 output columns, i.e. F(2,3) down the
// rows and F(3,3) (points 0, 1, -1, 2 and infinity) along them, 20 GEMMs instead of 16 for 1.5x
// the outputs, so 1.2x fewer multiplications than F(2x2,3x3) (and less padding on maps whose
// width is a multiple of 3, such as 33 and 9). Along a row, with r the 5 inputs and g the 3 taps:
//   B3^T r = [2r0 - r1 - 2r2 + r3, -2r1 - r2 + r3, 2r1 - 3r2 + r3, -r1 + r3, 2r1 - r2 - 2r3 + r4]
//   (6 G3) g = [3g0, -3(g0 + g1 + g2), -g0 + g1 - g2, g0 + 2g1 + 4g2, 6g2]
//   A3^T m = [m0 + m1 + m2 + m3, m1 - m2 + 2m3, m1 + m2 + 4m3 + m4]
// and down the rows the B^T, 2G and A^T of F(2x2,3x3). The weight transform is the costly one
// (redone for every panel on every run), so its constant factors move to the input side:
// U[i][j] = (2 G2 g 6 G3^T)[i][j] / (d2[i] d3[j]) and V[i][j] = d2[i] d3[j] (B2^T x B3)[i][j]
// with d2 = [2, 1, 1, 2] and d3 = [3, -3, 1, 1, 3], which leaves each product U V unchanged, so
// along a row of the weights [a, b, c] -> [a, a + b + c, b - a - c, a + 2b + 4c, 2c] and rows
// [g0, g0 + g1 + g2, g0 - g1 + g2, g2] down. |V| <= 4 * 18 * 255 and |U| <= 3 * 7 * 127 stay in
// i16, the output transform gives exactly 12x the direct sum (in int32 when
// 9 * kc2 * 255 * 127 * 12 < 2^31, i.e. kc2 <= 614), and the exact division by 12 is a shift by
// 2 and a multiplication by the inverse of 3 mod 2^32.

/**
 * Input transform for tiles [t0, t1): tile t = ty * tw + tx reads the 4x4 patch at
 * (2ty - 1, 2tx - 1) of int8 x (positions outside the image are zx) and writes
 * V[e][t][ch] = (B^T (x - zx) B)[e] as i16 at v + e * vstride, rows t of kc2 channels (c
 * rounded up to even, the odd slot 0) tile-interleaved (a4_off: channel ch of tile t at
 * a4_off(t, ch >> 1, kc2 / 2) + (ch & 1) * 2). With cols == 3, the F(2x3,3x3) transform of the 4x5 patch
 * at (2ty - 1, 3tx - 1) into 20 matrices V[e], e = 5i + j.
 */
export function qs8_wino_input(ih: i32, iw: i32, c: i32, tw: i32, x: usize, v: usize, vstride: usize, t0: i32, t1: i32, qp: usize, cols: i32): void {
  const zx = load<i32>(qp, QP_ZERO_POINT);
  const kc2 = (c + 1) & ~1;
  const rowBytes = <usize>c;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const y0 = 2 * ty - 1;
    const x0 = cols * tx - 1;
    const mask = wino_patch_mask(y0, x0, ih, iw, cols + 2);
    const p = <usize>(<i32>x + (y0 * iw + x0) * <i32>rowBytes);
    const rs = <usize>iw * rowBytes;
    const out = v + a4_off(t, 0, kc2 >> 1);
    if (cols == 3) wino3_tile_input(p, rs, rowBytes, mask, c, kc2, out, vstride, zx);
    else wino_tile_input(p, rs, rowBytes, mask, c, kc2, out, vstride, zx);
  }
}

/** F(2x2,3x3) input transform of one tile's 4x4 patch (pixel (0, 0) at p, row stride rs, `mask` of the pixels inside). */
function wino_tile_input(p: usize, rs: usize, rowBytes: usize, mask: i32, c: i32, kc2: i32, out: usize, vstride: usize, zx: i32): void {
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    const z = i16x8.splat(<i16>zx);
    for (; ch + 8 <= c; ch += 8) {
      const o = <usize>ch;
      const d00 = qld8(p, rs, rowBytes, mask, 0, o, z), d01 = qld8(p, rs, rowBytes, mask, 1, o, z), d02 = qld8(p, rs, rowBytes, mask, 2, o, z), d03 = qld8(p, rs, rowBytes, mask, 3, o, z);
      const d10 = qld8(p, rs, rowBytes, mask, 4, o, z), d11 = qld8(p, rs, rowBytes, mask, 5, o, z), d12 = qld8(p, rs, rowBytes, mask, 6, o, z), d13 = qld8(p, rs, rowBytes, mask, 7, o, z);
      const d20 = qld8(p, rs, rowBytes, mask, 8, o, z), d21 = qld8(p, rs, rowBytes, mask, 9, o, z), d22 = qld8(p, rs, rowBytes, mask, 10, o, z), d23 = qld8(p, rs, rowBytes, mask, 11, o, z);
      const d30 = qld8(p, rs, rowBytes, mask, 12, o, z), d31 = qld8(p, rs, rowBytes, mask, 13, o, z), d32 = qld8(p, rs, rowBytes, mask, 14, o, z), d33 = qld8(p, rs, rowBytes, mask, 15, o, z);
      const a0 = i16x8.sub(d00, d20), a1 = i16x8.sub(d01, d21), a2 = i16x8.sub(d02, d22), a3 = i16x8.sub(d03, d23);
      const b0 = i16x8.add(d10, d20), b1 = i16x8.add(d11, d21), b2 = i16x8.add(d12, d22), b3 = i16x8.add(d13, d23);
      const c0 = i16x8.sub(d20, d10), c1 = i16x8.sub(d21, d11), c2 = i16x8.sub(d22, d12), c3 = i16x8.sub(d23, d13);
      const e0 = i16x8.sub(d10, d30), e1 = i16x8.sub(d11, d31), e2 = i16x8.sub(d12, d32), e3 = i16x8.sub(d13, d33);
      const so = o << 3; // 4 pairs of 16-byte slots (a4_off)
      qst8(out, vstride, 0, so, a0, a1, a2, a3);
      qst8(out, vstride, 1, so, b0, b1, b2, b3);
      qst8(out, vstride, 2, so, c0, c1, c2, c3);
      qst8(out, vstride, 3, so, e0, e1, e2, e3);
    }
  }
  for (; ch < kc2; ch++) {
    const o = <usize>ch;
    const inside = ch < c ? mask : 0;
    const d00 = qld1(p, rs, rowBytes, inside, 0, o, zx), d01 = qld1(p, rs, rowBytes, inside, 1, o, zx), d02 = qld1(p, rs, rowBytes, inside, 2, o, zx), d03 = qld1(p, rs, rowBytes, inside, 3, o, zx);
    const d10 = qld1(p, rs, rowBytes, inside, 4, o, zx), d11 = qld1(p, rs, rowBytes, inside, 5, o, zx), d12 = qld1(p, rs, rowBytes, inside, 6, o, zx), d13 = qld1(p, rs, rowBytes, inside, 7, o, zx);
    const d20 = qld1(p, rs, rowBytes, inside, 8, o, zx), d21 = qld1(p, rs, rowBytes, inside, 9, o, zx), d22 = qld1(p, rs, rowBytes, inside, 10, o, zx), d23 = qld1(p, rs, rowBytes, inside, 11, o, zx);
    const d30 = qld1(p, rs, rowBytes, inside, 12, o, zx), d31 = qld1(p, rs, rowBytes, inside, 13, o, zx), d32 = qld1(p, rs, rowBytes, inside, 14, o, zx), d33 = qld1(p, rs, rowBytes, inside, 15, o, zx);
    const a0 = d00 - d20, a1 = d01 - d21, a2 = d02 - d22, a3 = d03 - d23;
    const b0 = d10 + d20, b1 = d11 + d21, b2 = d12 + d22, b3 = d13 + d23;
    const c0 = d20 - d10, c1 = d21 - d11, c2 = d22 - d12, c3 = d23 - d13;
    const e0 = d10 - d30, e1 = d11 - d31, e2 = d12 - d32, e3 = d13 - d33;
    const so = (<usize>(ch >> 1) << 4) + (<usize>(ch & 1) << 1);
    qst1(out, vstride, 0, so, a0, a1, a2, a3);
    qst1(out, vstride, 1, so, b0, b1, b2, b3);
    qst1(out, vstride, 2, so, c0, c1, c2, c3);
    qst1(out, vstride, 3, so, e0, e1, e2, e3);
  }
}

// @ts-ignore: decorator
@inline function qld8(p: usize, rs: usize, rb: usize, mask: i32, k: i32, o: usize, z: v128): v128 {
  return mask & (1 << k) ? i16x8.sub(v128.load8x8_s(p + <usize>(k >> 2) * rs + <usize>(k & 3) * rb + o), z) : i16x8.splat(0);
}
// @ts-ignore: decorator
@inline function qld1(p: usize, rs: usize, rb: usize, mask: i32, k: i32, o: usize, zx: i32): i32 {
  return mask & (1 << k) ? <i32>load<i8>(p + <usize>(k >> 2) * rs + <usize>(k & 3) * rb + o) - zx : 0;
}
// Row r of B^T d times B: [r0 - r2, r1 + r2, r2 - r1, r1 - r3] into V[4 * row + j].
// @ts-ignore: decorator
@inline function qst8(out: usize, vstride: usize, row: usize, o: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  st4p(out + (row * 4 + 0) * vstride + o, i16x8.sub(r0, r2));
  st4p(out + (row * 4 + 1) * vstride + o, i16x8.add(r1, r2));
  st4p(out + (row * 4 + 2) * vstride + o, i16x8.sub(r2, r1));
  st4p(out + (row * 4 + 3) * vstride + o, i16x8.sub(r1, r3));
}
// @ts-ignore: decorator
@inline function qst1(out: usize, vstride: usize, row: usize, o: usize, r0: i32, r1: i32, r2: i32, r3: i32): void {
  store<i16>(out + (row * 4 + 0) * vstride + o, <i16>(r0 - r2));
  store<i16>(out + (row * 4 + 1) * vstride + o, <i16>(r1 + r2));
  store<i16>(out + (row * 4 + 2) * vstride + o, <i16>(r2 - r1));
  store<i16>(out + (row * 4 + 3) * vstride + o, <i16>(r1 - r3));
}

/**
 * Weight transform of one packed int8 3x3 panel (pair-major: kp pairs of 9 taps of 16 bytes,
 * data only, i.e. after the 64-byte header): U_e = (2G) g (2G)^T for each pair lane, written as
 * i16 pairs of 32 bytes at u + e * ustride + pair * 32.
 */
export function qs8_wino_weights(kp: i32, g: usize, u: usize, ustride: usize): void {
  const tap: usize = 16;
  for (let j = 0; j < kp; j++) {
    const s = g + <usize>j * 144;
    const d = u + (<usize>j << 5);
    if (ASC_FEATURE_SIMD) {
      const w0 = v128.load(s), w1 = v128.load(s + tap), w2 = v128.load(s + 2 * tap);
      const w3 = v128.load(s + 3 * tap), w4 = v128.load(s + 4 * tap), w5 = v128.load(s + 5 * tap);
      const w6 = v128.load(s + 6 * tap), w7 = v128.load(s + 7 * tap), w8 = v128.load(s + 8 * tap);
      wt8(d, ustride,
        i16x8.extend_low_i8x16_s(w0), i16x8.extend_low_i8x16_s(w1), i16x8.extend_low_i8x16_s(w2),
        i16x8.extend_low_i8x16_s(w3), i16x8.extend_low_i8x16_s(w4), i16x8.extend_low_i8x16_s(w5),
        i16x8.extend_low_i8x16_s(w6), i16x8.extend_low_i8x16_s(w7), i16x8.extend_low_i8x16_s(w8));
      wt8(d + 16, ustride,
        i16x8.extend_high_i8x16_s(w0), i16x8.extend_high_i8x16_s(w1), i16x8.extend_high_i8x16_s(w2),
        i16x8.extend_high_i8x16_s(w3), i16x8.extend_high_i8x16_s(w4), i16x8.extend_high_i8x16_s(w5),
        i16x8.extend_high_i8x16_s(w6), i16x8.extend_high_i8x16_s(w7), i16x8.extend_high_i8x16_s(w8));
    } else {
      for (let l = 0; l < 16; l++) {
        const q = s + <usize>l;
        const g00 = <i32>load<i8>(q), g01 = <i32>load<i8>(q + tap), g02 = <i32>load<i8>(q + 2 * tap);
        const g10 = <i32>load<i8>(q + 3 * tap), g11 = <i32>load<i8>(q + 4 * tap), g12 = <i32>load<i8>(q + 5 * tap);
        const g20 = <i32>load<i8>(q + 6 * tap), g21 = <i32>load<i8>(q + 7 * tap), g22 = <i32>load<i8>(q + 8 * tap);
        const o = d + (<usize>l << 1);
        wt1(o, ustride, 0, g00 << 1, g01 << 1, g02 << 1);
        wt1(o, ustride, 1, g00 + g10 + g20, g01 + g11 + g21, g02 + g12 + g22);
        wt1(o, ustride, 2, g00 - g10 + g20, g01 - g11 + g21, g02 - g12 + g22);
        wt1(o, ustride, 3, g20 << 1, g21 << 1, g22 << 1);
      }
    }
  }
}

// g[ky][kx] at w(3 ky + kx): rows t = (2G) g, then each row [a, b, c] -> [2a, a + b + c, a - b + c, 2c].
// @ts-ignore: decorator
@inline function wt8(d: usize, us: usize, g00: v128, g01: v128, g02: v128, g10: v128, g11: v128, g12: v128, g20: v128, g21: v128, g22: v128): void {
  const s0 = i16x8.add(g00, g20), s1 = i16x8.add(g01, g21), s2 = i16x8.add(g02, g22);
  wrow8(d, us, 0, i16x8.shl(g00, 1), i16x8.shl(g01, 1), i16x8.shl(g02, 1));
  wrow8(d, us, 1, i16x8.add(s0, g10), i16x8.add(s1, g11), i16x8.add(s2, g12));
  wrow8(d, us, 2, i16x8.sub(s0, g10), i16x8.sub(s1, g11), i16x8.sub(s2, g12));
  wrow8(d, us, 3, i16x8.shl(g20, 1), i16x8.shl(g21, 1), i16x8.shl(g22, 1));
}
// @ts-ignore: decorator
@inline function wrow8(d: usize, us: usize, row: usize, a: v128, b: v128, c: v128): void {
  const s = i16x8.add(a, c);
  v128.store(d + (row * 4 + 0) * us, i16x8.shl(a, 1));
  v128.store(d + (row * 4 + 1) * us, i16x8.add(s, b));
  v128.store(d + (row * 4 + 2) * us, i16x8.sub(s, b));
  v128.store(d + (row * 4 + 3) * us, i16x8.shl(c, 1));
}
// @ts-ignore: decorator
@inline function wt1(d: usize, us: usize, row: usize, a: i32, b: i32, c: i32): void {
  store<i16>(d + (row * 4 + 0) * us, <i16>(a << 1));
  store<i16>(d + (row * 4 + 1) * us, <i16>(a + b + c));
  store<i16>(d + (row * 4 + 2) * us, <i16>(a - b + c));
  store<i16>(d + (row * 4 + 3) * us, <i16>(c << 1));
}

/**
 * Byte stride between the 16 transformed weight matrices of one panel: kp pairs of 32 bytes,
 * plus 64 when that is a multiple of 512 (otherwise the 16 matrices map to the same L1 sets).
 */
// @ts-ignore: decorator
@inline function wino_ustride(kp: i32): usize {
  const s = <usize>kp << 5;
  return s & 511 ? s : s + 64;
}

/**
 * Bytes of the per-thread scratch of qs8_wino_gemm_run for `tiles` tiles: the 16 transformed
 * weight matrices of one panel (cols == 3: one row of 5 of the 20), then the int32 products of
 * one panel (16 or 20 matrices, 8 channels per tile).
 */
export function qs8_wino_scratch_bytes(cin: i32, tiles: i32, cols: i32): i32 {
  return (cols == 3 ? 5 : 16) * <i32>wino_ustride(((cin + 1) & ~1) >> 1) + (cols == 3 ? 20 : 16) * <i32>wino_mstride(tiles);
}

/** Byte stride between the 16 product matrices of one panel (tiles rows of 8 int32), spread over L1 sets. */
// @ts-ignore: decorator
@inline function wino_mstride(tiles: i32): usize {
  const s = <usize>tiles << 5;
  return s & 511 ? s : s + 64;
}

/**
 * A 3x3 int8 convolution by Winograd F(2x2,3x3) (cols == 3: F(2x3,3x3), 20 matrices instead of
 * 16 throughout) for tiles [m0, m1) and output channels
 * [n0, n1) (n0 a multiple of 8), one panel of 8 channels at a time: the panel's weights are
 * transformed into `scratch` (qs8_wino_scratch_bytes(cin, m1 - m0) bytes, per thread), the 16
 * GEMMs M_e = V_e U_e (raw int32) go to the rest of the scratch, and the output transform with
 * the qs8 epilogue writes the panel's channels of y right away (only one panel of products is
 * ever held). V: i16 rows of kc2 at v + e * vstride. Output, parameter block and fused residual
 * as in qs8_gemm16_run; y is NHWC oh x ow x cout.
 */
export function qs8_wino_gemm_run(
  m0: i32, m1: i32, n0: i32, n1: i32, cin: i32, v: usize, vstride: usize, w: usize, scratch: usize,
  oh: i32, ow: i32, cout: i32, tw: i32, y: usize, relu: i32, qp: usize, rq: usize, rd: usize, cols: i32,
): void {
  const ne = cols == 3 ? 20 : 16;
  const nu = cols == 3 ? 5 : 16;
  const kp = ((cin + 1) & ~1) >> 1;
  const pb = <usize>qs8_panel_bytes(cin, 9);
  const ustride = wino_ustride(kp);
  const mstride = wino_mstride(m1 - m0);
  const mscr = scratch + <usize>nu * ustride;
  // The output's parameters, for both output transforms: f32 (mode 0) or int8 output, and for
  // int8 1/scale folded into the factors (see q16_epilogue).
  const sx = load<f32>(qp, QP_SCALE);
  const mode = load<i32>(qp, QP_OUT_MODE);
  const zy = load<i32>(qp, QP_OUT_ZERO_POINT);
  const f: f32 = mode == 1 ? load<f32>(qp, QP_OUT_INV_SCALE) : 1;
  const ob: usize = mode == 0 ? 4 : 1;
  const orow = <usize>cout * ob;
  for (let n = n0; n < n1; n += 8) {
    const wp = w + <usize>(n >> 3) * pb;
    const nc = min(8, n1 - n);
    // F(2x3): one row of 5 weight matrices at a time, used while it is still in L1.
    if (cols != 3) qs8_wino_weights(kp, wp + 64, scratch, ustride);
    for (let e = 0; e < ne; e++) {
      const j = cols == 3 ? e % 5 : e;
      if (cols == 3 && j == 0) qs8_wino3_weights(kp, wp + 64, scratch, ustride, e / 5);
      const ve = v + <usize>e * vstride;
      const ue = scratch + <usize>j * ustride;
      const me = mscr + <usize>e * mstride;
      for (let r = m0; r < m1; r += 4)
        q16_panel(min(4, m1 - r), nc, kp, ve + a4_off(r, 0, kp), ue, true, 0, me + <usize>(r - m0) * 32, 32, 0, 2, 0, 0, 0, 0, 0);
    }
    // Rows of the products are indexed by tile: shift the base so that tile t is row t - m0.
    const mt = mscr - <usize>m0 * 32;
    const yn = y + <usize>n * ob;
    if (cols == 3) wino3_out_tiles(oh, ow, orow, nc, tw, mt, mstride, 32, wp, yn, relu, sx, mode, f, zy, m0, m1, rq, rd);
    else wino_out_tiles(oh, ow, orow, nc, tw, mt, mstride, 32, wp, yn, relu, sx, mode, f, zy, m0, m1, rq, rd);
  }
}

/**
 * Output transform for tiles [t0, t1) and channels [0, nch) of y (which points at the first
 * channel; rows of cout channels): Y = A^T M A on int32 M[e][t][ch] (m + e * mstride + t * mrow
 * + ch * 4), exactly 4x the direct convolution's sum, shifted back by 2, then the qs8 epilogue
 * with the scales and biases of the panel header at hdr (channel ch at hdr + 4 ch; nch <= 8) into
 * y (NHWC, orow bytes per pixel; f32 output for mode 0, else int8 with zero point zy), factors
 * sx and f as set up by qs8_wino_gemm_run. A residual (rq, rd) is fused as in qs8_gemm16_run.
 */
function wino_out_tiles(
  oh: i32, ow: i32, orow: usize, nch: i32, tw: i32, m: usize, mstride: usize, mrow: usize, hdr0: usize, y: usize, relu: i32,
  sx: f32, mode: i32, f: f32, zy: i32, t0: i32, t1: i32, rq: usize, rd: usize): void {
  const ob: usize = mode == 0 ? 4 : 1;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const oy = 2 * ty, ox = 2 * tx;
    const mi = m + <usize>t * mrow;
    const has01 = ox + 1 < ow, has10 = oy + 1 < oh;
    const y00 = y + <usize>(oy * ow + ox) * orow;
    const y01 = y00 + orow;
    const y10 = y00 + <usize>ow * orow;
    const y11 = y10 + orow;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      const vsx = f32x4.splat(sx), vf = f32x4.splat(f), vzy = qround_bias(i32x4.splat(zy));
      const vsr = f32x4.splat(rq ? load<f32>(rq, QP_SCALE) * f : 0), vzr = i32x4.splat(rq ? load<i32>(rq, QP_ZERO_POINT) : 0);
      for (; ch + 4 <= nch; ch += 4) {
        const o = <usize>ch << 2;
        const m00 = v128.load(mi + 0 * mstride + o), m01 = v128.load(mi + 1 * mstride + o), m02 = v128.load(mi + 2 * mstride + o), m03 = v128.load(mi + 3 * mstride + o);
        const m10 = v128.load(mi + 4 * mstride + o), m11 = v128.load(mi + 5 * mstride + o), m12 = v128.load(mi + 6 * mstride + o), m13 = v128.load(mi + 7 * mstride + o);
        const m20 = v128.load(mi + 8 * mstride + o), m21 = v128.load(mi + 9 * mstride + o), m22 = v128.load(mi + 10 * mstride + o), m23 = v128.load(mi + 11 * mstride + o);
        const m30 = v128.load(mi + 12 * mstride + o), m31 = v128.load(mi + 13 * mstride + o), m32 = v128.load(mi + 14 * mstride + o), m33 = v128.load(mi + 15 * mstride + o);
        const r00 = i32x4.add(i32x4.add(m00, m10), m20), r01 = i32x4.add(i32x4.add(m01, m11), m21);
        const r02 = i32x4.add(i32x4.add(m02, m12), m22), r03 = i32x4.add(i32x4.add(m03, m13), m23);
        const r10 = i32x4.sub(i32x4.sub(m10, m20), m30), r11 = i32x4.sub(i32x4.sub(m11, m21), m31);
        const r12 = i32x4.sub(i32x4.sub(m12, m22), m32), r13 = i32x4.sub(i32x4.sub(m13, m23), m33);
        const hdr = hdr0 + (<usize>ch << 2);
        const sc = f32x4.mul(f32x4.mul(vsx, v128.load(hdr)), vf);
        const bi = f32x4.mul(v128.load(hdr, 32), vf);
        const oo = <usize>ch * ob;
        const q00 = i32x4.shr_s(i32x4.add(i32x4.add(r00, r01), r02), 2);
        const q01 = i32x4.shr_s(i32x4.sub(i32x4.sub(r01, r02), r03), 2);
        const q10 = i32x4.shr_s(i32x4.add(i32x4.add(r10, r11), r12), 2);
        const q11 = i32x4.shr_s(i32x4.sub(i32x4.sub(r11, r12), r13), 2);
        qout4(y00 + oo, q00, sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        if (has01) qout4(y01 + oo, q01, sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        if (has10) {
          qout4(y10 + oo, q10, sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
          if (has01) qout4(y11 + oo, q11, sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        }
      }
    }
    for (; ch < nch; ch++) {
      const o = <usize>ch << 2;
      const m00 = load<i32>(mi + 0 * mstride + o), m01 = load<i32>(mi + 1 * mstride + o), m02 = load<i32>(mi + 2 * mstride + o), m03 = load<i32>(mi + 3 * mstride + o);
      const m10 = load<i32>(mi + 4 * mstride + o), m11 = load<i32>(mi + 5 * mstride + o), m12 = load<i32>(mi + 6 * mstride + o), m13 = load<i32>(mi + 7 * mstride + o);
      const m20 = load<i32>(mi + 8 * mstride + o), m21 = load<i32>(mi + 9 * mstride + o), m22 = load<i32>(mi + 10 * mstride + o), m23 = load<i32>(mi + 11 * mstride + o);
      const m30 = load<i32>(mi + 12 * mstride + o), m31 = load<i32>(mi + 13 * mstride + o), m32 = load<i32>(mi + 14 * mstride + o), m33 = load<i32>(mi + 15 * mstride + o);
      const r00 = m00 + m10 + m20, r01 = m01 + m11 + m21, r02 = m02 + m12 + m22, r03 = m03 + m13 + m23;
      const r10 = m10 - m20 - m30, r11 = m11 - m21 - m31, r12 = m12 - m22 - m32, r13 = m13 - m23 - m33;
      const hdr = hdr0 + (<usize>ch << 2);
      const sc = (sx * load<f32>(hdr)) * f;
      const bi = load<f32>(hdr, 32) * f;
      const oo = <usize>ch * ob;
      store1(y00 + oo, (r00 + r01 + r02) >> 2, sc, bi, relu, mode, f, zy, rq, rd);
      if (has01) store1(y01 + oo, (r01 - r02 - r03) >> 2, sc, bi, relu, mode, f, zy, rq, rd);
      if (has10) {
        store1(y10 + oo, (r10 + r11 + r12) >> 2, sc, bi, relu, mode, f, zy, rq, rd);
        if (has01) store1(y11 + oo, (r11 - r12 - r13) >> 2, sc, bi, relu, mode, f, zy, rq, rd);
      }
    }
  }
}

/**
 * Output transform of F(2x3,3x3) for tiles [t0, t1) and channels [0, nch): as wino_out_tiles,
 * with 20 product matrices (e = 5i + j) and 2x3 output tiles; Y = A2^T M A3 is 12x the direct
 * sum, divided exactly by a shift by 2 and the inverse of 3 mod 2^32.
 */
function wino3_out_tiles(
  oh: i32, ow: i32, orow: usize, nch: i32, tw: i32, m: usize, mstride: usize, mrow: usize, hdr0: usize, y: usize, relu: i32,
  sx: f32, mode: i32, f: f32, zy: i32, t0: i32, t1: i32, rq: usize, rd: usize): void {
  const ob: usize = mode == 0 ? 4 : 1;
  const inv3 = <i32>0xaaaaaaab;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const oy = 2 * ty, ox = 3 * tx;
    const mi = m + <usize>t * mrow;
    const has1 = ox + 1 < ow, has2 = ox + 2 < ow, hasr = oy + 1 < oh;
    const y00 = y + <usize>(oy * ow + ox) * orow;
    const y10 = y00 + <usize>ow * orow;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      const vsx = f32x4.splat(sx), vf = f32x4.splat(f), vzy = qround_bias(i32x4.splat(zy)), v3 = i32x4.splat(inv3);
      const vsr = f32x4.splat(rq ? load<f32>(rq, QP_SCALE) * f : 0), vzr = i32x4.splat(rq ? load<i32>(rq, QP_ZERO_POINT) : 0);
      for (; ch + 4 <= nch; ch += 4) {
        const o = <usize>ch << 2;
        // A2^T down the rows, one column j of the 4x5 products at a time: a_j, b_j.
        const a0 = wcol_a(mi + o, mstride, 0), b0 = wcol_b(mi + o, mstride, 0);
        const a1 = wcol_a(mi + o, mstride, 1), b1 = wcol_b(mi + o, mstride, 1);
        const a2 = wcol_a(mi + o, mstride, 2), b2 = wcol_b(mi + o, mstride, 2);
        const a3 = wcol_a(mi + o, mstride, 3), b3 = wcol_b(mi + o, mstride, 3);
        const a4 = wcol_a(mi + o, mstride, 4), b4 = wcol_b(mi + o, mstride, 4);
        const hdr = hdr0 + (<usize>ch << 2);
        const sc = f32x4.mul(f32x4.mul(vsx, v128.load(hdr)), vf);
        const bi = f32x4.mul(v128.load(hdr, 32), vf);
        const oo = <usize>ch * ob;
        // A3^T along the rows, then / 12.
        const s12a = i32x4.add(a1, a2), s12b = i32x4.add(b1, b2);
        qout4(y00 + oo, div12(i32x4.add(i32x4.add(a0, s12a), a3), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        if (has1) qout4(y00 + orow + oo, div12(i32x4.add(i32x4.sub(a1, a2), i32x4.shl(a3, 1)), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        if (has2) qout4(y00 + 2 * orow + oo, div12(i32x4.add(i32x4.add(s12a, i32x4.shl(a3, 2)), a4), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        if (hasr) {
          qout4(y10 + oo, div12(i32x4.add(i32x4.add(b0, s12b), b3), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
          if (has1) qout4(y10 + orow + oo, div12(i32x4.add(i32x4.sub(b1, b2), i32x4.shl(b3, 1)), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
          if (has2) qout4(y10 + 2 * orow + oo, div12(i32x4.add(i32x4.add(s12b, i32x4.shl(b3, 2)), b4), v3), sc, bi, relu, mode, vzy, rq, vsr, vzr, rd);
        }
      }
    }
    for (; ch < nch; ch++) {
      const p = mi + (<usize>ch << 2);
      const a0 = wcol_a1(p, mstride, 0), b0 = wcol_b1(p, mstride, 0);
      const a1 = wcol_a1(p, mstride, 1), b1 = wcol_b1(p, mstride, 1);
      const a2 = wcol_a1(p, mstride, 2), b2 = wcol_b1(p, mstride, 2);
      const a3 = wcol_a1(p, mstride, 3), b3 = wcol_b1(p, mstride, 3);
      const a4 = wcol_a1(p, mstride, 4), b4 = wcol_b1(p, mstride, 4);
      const hdr = hdr0 + (<usize>ch << 2);
      const sc = (sx * load<f32>(hdr)) * f;
      const bi = load<f32>(hdr, 32) * f;
      const oo = <usize>ch * ob;
      store1(y00 + oo, ((a0 + a1 + a2 + a3) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
      if (has1) store1(y00 + orow + oo, ((a1 - a2 + (a3 << 1)) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
      if (has2) store1(y00 + 2 * orow + oo, ((a1 + a2 + (a3 << 2) + a4) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
      if (hasr) {
        store1(y10 + oo, ((b0 + b1 + b2 + b3) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
        if (has1) store1(y10 + orow + oo, ((b1 - b2 + (b3 << 1)) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
        if (has2) store1(y10 + 2 * orow + oo, ((b1 + b2 + (b3 << 2) + b4) >> 2) * inv3, sc, bi, relu, mode, f, zy, rq, rd);
      }
    }
  }
}

// Rows of A2^T over column j of the 4x5 int32 products at p (matrix e = 5i + j):
// a = m0j + m1j + m2j, b = m1j - m2j - m3j.
// @ts-ignore: decorator
@inline function wcol_a(p: usize, ms: usize, j: usize): v128 {
  return i32x4.add(i32x4.add(v128.load(p + j * ms), v128.load(p + (5 + j) * ms)), v128.load(p + (10 + j) * ms));
}
// @ts-ignore: decorator
@inline function wcol_b(p: usize, ms: usize, j: usize): v128 {
  return i32x4.sub(i32x4.sub(v128.load(p + (5 + j) * ms), v128.load(p + (10 + j) * ms)), v128.load(p + (15 + j) * ms));
}
// @ts-ignore: decorator
@inline function wcol_a1(p: usize, ms: usize, j: usize): i32 {
  return load<i32>(p + j * ms) + load<i32>(p + (5 + j) * ms) + load<i32>(p + (10 + j) * ms);
}
// @ts-ignore: decorator
@inline function wcol_b1(p: usize, ms: usize, j: usize): i32 {
  return load<i32>(p + (5 + j) * ms) - load<i32>(p + (10 + j) * ms) - load<i32>(p + (15 + j) * ms);
}
/** Exact division of an int32 multiple of 12: shift by 2, then times the inverse of 3 mod 2^32. */
// @ts-ignore: decorator
@inline function div12(v: v128, inv3: v128): v128 {
  return i32x4.mul(i32x4.shr_s(v, 2), inv3);
}

/**
 * Epilogue and store of 4 output channels of one Winograd output pixel (fused residual when rq
 * is set), factors as in q16_epilogue, zb = qround_bias(zy).
 */
// @ts-ignore: decorator
@inline function qout4(p: usize, q: v128, sc: v128, bi: v128, relu: i32, mode: i32, zb: v128, rq: usize, sr: v128, zr: v128, rd: usize): void {
  store4(p, rq ? res_epi4(q, sc, bi, p + rd, sr, zr, relu, 0, 8) : epi4(q, sc, bi, relu), mode, zb);
}

/**
 * F(2x3,3x3) input transform of one tile's 4x5 patch (pixel (0, 0) at p; see qs8_wino_input):
 * rows by B2^T = [d0 - d2, d1 + d2, d2 - d1, d1 - d3], then each row r by B3^T, scaled by d2
 * and d3 (see above), into V[5i + j].
 */
function wino3_tile_input(p: usize, rs: usize, rowBytes: usize, mask: i32, c: i32, kc2: i32, out: usize, vstride: usize, zx: i32): void {
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    const z = i16x8.splat(<i16>zx);
    for (; ch + 8 <= c; ch += 8) {
      const o = <usize>ch;
      const so = o << 3; // 4 pairs of 16-byte slots (a4_off)
      for (let i = 0; i < 4; i++) {
        // Row i of B2^T d, one column at a time, then d3 B3^T along it (d2: rows 0 and 3 twice).
        const ia = i == 2 ? 2 : i == 0 ? 0 : 1, ib = i == 0 ? 2 : i == 1 ? 2 : i == 2 ? 1 : 3, add = i == 1;
        const r0 = w3row8(p, rs, rowBytes, mask, ia, ib, add, 0, o, z), r1 = w3row8(p, rs, rowBytes, mask, ia, ib, add, 1, o, z);
        const r2 = w3row8(p, rs, rowBytes, mask, ia, ib, add, 2, o, z), r3 = w3row8(p, rs, rowBytes, mask, ia, ib, add, 3, o, z);
        const r4 = w3row8(p, rs, rowBytes, mask, ia, ib, add, 4, o, z);
        const q = out + <usize>(5 * i) * vstride + so;
        const sh = i == 0 || i == 3 ? 1 : 0;
        const t31 = i16x8.sub(r3, r1), d12 = i16x8.sub(r1, r2);
        st4p(q, i16x8.shl(times3(i16x8.add(i16x8.shl(i16x8.sub(r0, r2), 1), t31)), sh));
        st4p(q + vstride, i16x8.shl(times3(i16x8.sub(i16x8.add(r1, r2), t31)), sh));
        st4p(q + 2 * vstride, i16x8.shl(i16x8.add(t31, times3(d12)), sh));
        st4p(q + 3 * vstride, i16x8.shl(t31, sh));
        st4p(q + 4 * vstride, i16x8.shl(times3(i16x8.sub(i16x8.sub(r4, r2), i16x8.shl(t31, 1))), sh));
      }
    }
  }
  for (; ch < kc2; ch++) {
    const o = <usize>ch;
    const inside = ch < c ? mask : 0;
    const so = (<usize>(ch >> 1) << 4) + (<usize>(ch & 1) << 1);
    for (let i = 0; i < 4; i++) {
      // Row i of B2^T d, as 5 values, then B3^T.
      const r0 = wrow1(p, rs, rowBytes, inside, i, 0, o, zx), r1 = wrow1(p, rs, rowBytes, inside, i, 1, o, zx);
      const r2 = wrow1(p, rs, rowBytes, inside, i, 2, o, zx), r3 = wrow1(p, rs, rowBytes, inside, i, 3, o, zx);
      const r4 = wrow1(p, rs, rowBytes, inside, i, 4, o, zx);
      const q = out + <usize>(5 * i) * vstride + so;
      const sh = i == 0 || i == 3 ? 1 : 0;
      const t31 = r3 - r1, d12 = r1 - r2;
      store<i16>(q, <i16>((3 * (((r0 - r2) << 1) + t31)) << sh));
      store<i16>(q + vstride, <i16>((3 * (r1 + r2 - t31)) << sh));
      store<i16>(q + 2 * vstride, <i16>((t31 + 3 * d12) << sh));
      store<i16>(q + 3 * vstride, <i16>(t31 << sh));
      store<i16>(q + 4 * vstride, <i16>((3 * (r4 - r2 - (t31 << 1))) << sh));
    }
  }
}

/**
 * Element j of row i of B2^T d for 8 channels of the 4x5 patch: d[ia] + d[ib] (add) or
 * d[ia] - d[ib], rows [0 - 2, 1 + 2, 2 - 1, 1 - 3].
 */
// @ts-ignore: decorator
@inline function w3row8(p: usize, rs: usize, rb: usize, mask: i32, ia: i32, ib: i32, add: bool, j: i32, o: usize, z: v128): v128 {
  const a = qld8p(p, rs, rb, mask, ia, j, o, z), b = qld8p(p, rs, rb, mask, ib, j, o, z);
  return add ? i16x8.add(a, b) : i16x8.sub(a, b);
}
/** 8 i16 (4 channel pairs) into 4 consecutive pair slots of a tile-interleaved buffer (a4_off). */
// @ts-ignore: decorator
@inline function st4p(d: usize, v: v128): void {
  v128.store32_lane(d, v, 0);
  v128.store32_lane(d, v, 1, 16);
  v128.store32_lane(d, v, 2, 32);
  v128.store32_lane(d, v, 3, 48);
}
// @ts-ignore: decorator
@inline function times3(v: v128): v128 {
  return i16x8.add(v, i16x8.shl(v, 1));
}
// @ts-ignore: decorator
@inline function qld8p(p: usize, rs: usize, rb: usize, mask: i32, i: i32, j: i32, o: usize, z: v128): v128 {
  return mask & (1 << (5 * i + j)) ? i16x8.sub(v128.load8x8_s(p + <usize>i * rs + <usize>j * rb + o), z) : i16x8.splat(0);
}
// @ts-ignore: decorator
@inline function qld1p(p: usize, rs: usize, rb: usize, mask: i32, i: i32, j: i32, o: usize, zx: i32): i32 {
  return mask & (1 << (5 * i + j)) ? <i32>load<i8>(p + <usize>i * rs + <usize>j * rb + o) - zx : 0;
}
/** Element j of row i of B2^T d for the 4x5 patch (scalar). */
// @ts-ignore: decorator
@inline function wrow1(p: usize, rs: usize, rb: usize, mask: i32, i: i32, j: i32, o: usize, zx: i32): i32 {
  const d0 = qld1p(p, rs, rb, mask, 0, j, o, zx), d1 = qld1p(p, rs, rb, mask, 1, j, o, zx);
  const d2 = qld1p(p, rs, rb, mask, 2, j, o, zx), d3 = qld1p(p, rs, rb, mask, 3, j, o, zx);
  return i == 0 ? d0 - d2 : i == 1 ? d1 + d2 : i == 2 ? d2 - d1 : d1 - d3;
}

/**
 * Weight transform of F(2x3,3x3), row i of the 20 matrices, for one packed int8 3x3 panel (as
 * qs8_wino_weights): U_(5i+j) = ((2 G2) g (6 G3)^T)[i][j] / (d2[i] d3[j]) (see above) for j < 5,
 * as i16 pairs of 32 bytes at u + j * ustride + pair * 32.
 */
export function qs8_wino3_weights(kp: i32, g: usize, u: usize, ustride: usize, i: i32): void {
  const tap: usize = 16;
  if (ASC_FEATURE_SIMD) {
    // Widening loads of only the taps row i needs; rows 0 and 3 are taps 0-2 and 6-8 as they are.
    if (i == 0 || i == 3) {
      const t0 = g + (i == 3 ? 6 * tap : 0);
      for (let j = 0; j < kp; j++) {
        const s = t0 + <usize>j * 144;
        const d = u + (<usize>j << 5);
        wt3r8(d, ustride, v128.load8x8_s(s), v128.load8x8_s(s + tap), v128.load8x8_s(s + 2 * tap));
        wt3r8(d + 16, ustride, v128.load8x8_s(s, 8), v128.load8x8_s(s + tap, 8), v128.load8x8_s(s + 2 * tap, 8));
      }
    } else {
      for (let j = 0; j < kp; j++) {
        const s = g + <usize>j * 144;
        const d = u + (<usize>j << 5);
        wt3m8(d, ustride, i, s, tap, 0);
        wt3m8(d + 16, ustride, i, s, tap, 8);
      }
    }
    return;
  }
  for (let j = 0; j < kp; j++) {
    const s = g + <usize>j * 144;
    const d = u + (<usize>j << 5);
    for (let l = 0; l < 16; l++) {
      const q = s + <usize>l;
      const g00 = <i32>load<i8>(q), g01 = <i32>load<i8>(q + tap), g02 = <i32>load<i8>(q + 2 * tap);
      const g10 = <i32>load<i8>(q + 3 * tap), g11 = <i32>load<i8>(q + 4 * tap), g12 = <i32>load<i8>(q + 5 * tap);
      const g20 = <i32>load<i8>(q + 6 * tap), g21 = <i32>load<i8>(q + 7 * tap), g22 = <i32>load<i8>(q + 8 * tap);
      const o = d + (<usize>l << 1);
      if (i == 0) wt3r1(o, ustride, g00, g01, g02);
      else if (i == 1) wt3r1(o, ustride, g00 + g10 + g20, g01 + g11 + g21, g02 + g12 + g22);
      else if (i == 2) wt3r1(o, ustride, g00 - g10 + g20, g01 - g11 + g21, g02 - g12 + g22);
      else wt3r1(o, ustride, g20, g21, g22);
    }
  }
}

// Rows 1 and 2 down the kernel, g0 + g1 + g2 or g0 - g1 + g2 for each of the 3 columns (8 lanes
// at byte h of each tap's 16), then along the row; each row [a, b, c] ->
// [a, a + b + c, b - a - c, a + 2b + 4c, 2c] (wt3r8).
// @ts-ignore: decorator
@inline function wt3m8(d: usize, us: usize, i: i32, s: usize, tap: usize, h: usize): void {
  const s0 = i16x8.add(v128.load8x8_s(s + h), v128.load8x8_s(s + 6 * tap + h));
  const s1 = i16x8.add(v128.load8x8_s(s + tap + h), v128.load8x8_s(s + 7 * tap + h));
  const s2 = i16x8.add(v128.load8x8_s(s + 2 * tap + h), v128.load8x8_s(s + 8 * tap + h));
  const m0 = v128.load8x8_s(s + 3 * tap + h), m1 = v128.load8x8_s(s + 4 * tap + h), m2 = v128.load8x8_s(s + 5 * tap + h);
  if (i == 1) wt3r8(d, us, i16x8.add(s0, m0), i16x8.add(s1, m1), i16x8.add(s2, m2));
  else wt3r8(d, us, i16x8.sub(s0, m0), i16x8.sub(s1, m1), i16x8.sub(s2, m2));
}
// @ts-ignore: decorator
@inline function wt3r8(d: usize, us: usize, a: v128, b: v128, c: v128): void {
  const ac = i16x8.add(a, c);
  const c2 = i16x8.add(c, c);
  const t = i16x8.add(b, c2);
  v128.store(d, a);
  v128.store(d + us, i16x8.add(ac, b));
  v128.store(d + 2 * us, i16x8.sub(b, ac));
  v128.store(d + 3 * us, i16x8.add(a, i16x8.add(t, t)));
  v128.store(d + 4 * us, c2);
}
// @ts-ignore: decorator
@inline function wt3r1(d: usize, us: usize, a: i32, b: i32, c: i32): void {
  store<i16>(d, <i16>a);
  store<i16>(d + us, <i16>(a + b + c));
  store<i16>(d + 2 * us, <i16>(b - a - c));
  store<i16>(d + 3 * us, <i16>(a + 2 * b + 4 * c));
  store<i16>(d + 4 * us, <i16>(2 * c));
}

// @ts-ignore: decorator
@inline function store4(p: usize, v: v128, mode: i32, zb: v128): void {
  if (mode == 0) v128.store(p, v);
  else {
    const q = qround4(v, zb);
    const q16 = i16x8.narrow_i32x4_s(q, q);
    v128.store32_lane(p, i8x16.narrow_i16x8_s(q16, q16), 0);
  }
}
// @ts-ignore: decorator
@inline function store1(p: usize, acc: i32, sc: f32, bi: f32, relu: i32, mode: i32, f: f32, zy: i32, rq: usize, rd: usize): void {
  let v = <f32>acc * sc + bi;
  if (rq) v = v + <f32>(<i32>load<i8>(p + rd) - load<i32>(rq, QP_ZERO_POINT)) * (load<f32>(rq, QP_SCALE) * f);
  if (relu) v = select<f32>(v, 0, v > 0);
  if (mode == 0) store<f32>(p, v);
  else store<i8>(p, <i8>qround1(v, zy));
}

/** q = clamp(nearest(x * (1/scale)) + zp) for i in [i0, i1); qp as above. */
export function qs8_quantize(i0: i32, i1: i32, x: usize, y: usize, qp: usize): void {
  const inv = load<f32>(qp, QP_INV_SCALE);
  const zp = load<i32>(qp, QP_ZERO_POINT);
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    const vinv = f32x4.splat(inv), vzp = i32x4.splat(zp);
    for (; i + 8 <= i1; i += 8) {
      const a = requant4(v128.load(x + (<usize>i << 2)), vinv, vzp);
      const b = requant4(v128.load(x + (<usize>i << 2), 16), vinv, vzp);
      const q16 = i16x8.narrow_i32x4_s(a, b);
      v128.store64_lane(y + <usize>i, i8x16.narrow_i16x8_s(q16, q16), 0);
    }
  }
  for (; i < i1; i++) store<i8>(y + <usize>i, <i8>requant1(load<f32>(x + (<usize>i << 2)), inv, zp));
}

/** y = scale * (q - zp) for i in [i0, i1). */
export function qs8_dequantize(i0: i32, i1: i32, x: usize, y: usize, qp: usize): void {
  const s = load<f32>(qp, QP_SCALE);
  const zp = load<i32>(qp, QP_ZERO_POINT);
  for (let i = i0; i < i1; i++) store<f32>(y + (<usize>i << 2), <f32>(<i32>load<i8>(x + <usize>i) - zp) * s);
}

/**
 * Dynamic quantization parameters of an f32 tensor: range [min(lo,0), max(hi,0)] mapped onto
 * [-128, 127]; writes scale, zero point and 1/scale at qp, and fills `pad` (padding taps of the
 * next convolution) with the zero point.
 */
export function qs8_dynamic_params(n: i32, x: usize, qp: usize, pad: usize, padBytes: i32): void {
  let lo: f32 = 0, hi: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vlo = f32x4.splat(0), vhi = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      vlo = f32x4.min(vlo, v);
      vhi = f32x4.max(vhi, v);
    }
    lo = min<f32>(min<f32>(f32x4.extract_lane(vlo, 0), f32x4.extract_lane(vlo, 1)), min<f32>(f32x4.extract_lane(vlo, 2), f32x4.extract_lane(vlo, 3)));
    hi = max<f32>(max<f32>(f32x4.extract_lane(vhi, 0), f32x4.extract_lane(vhi, 1)), max<f32>(f32x4.extract_lane(vhi, 2), f32x4.extract_lane(vhi, 3)));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    lo = min<f32>(lo, v);
    hi = max<f32>(hi, v);
  }
  let s: f32 = (hi - lo) / 255;
  let zp = 0;
  if (!(s > 0)) s = 1;
  else {
    const z = nearest<f32>(<f32>-128 - lo / s);
    zp = z < -128 ? -128 : z > 127 ? 127 : <i32>z;
  }
  store<f32>(qp, s, QP_SCALE);
  store<i32>(qp, zp, QP_ZERO_POINT);
  store<f32>(qp, <f32>1 / s, QP_INV_SCALE);
  memory.fill(pad, <u8>zp, <usize>padBytes);
}

/** Int8 add with rescaling: y = requant_y(sa (a - za) + sb (b - zb)) (+ReLU) for i in [i0, i1). */
export function qs8_add(i0: i32, i1: i32, a: usize, b: usize, y: usize, qa: usize, qb: usize, qy: usize, relu: i32): void {
  const sa = load<f32>(qa, QP_SCALE), za = load<i32>(qa, QP_ZERO_POINT);
  const sb = load<f32>(qb, QP_SCALE), zb = load<i32>(qb, QP_ZERO_POINT);
  const inv = load<f32>(qy, QP_INV_SCALE), zy = load<i32>(qy, QP_ZERO_POINT);
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    const vsa = f32x4.splat(sa), vza = i32x4.splat(za), vsb = f32x4.splat(sb), vzb = i32x4.splat(zb);
    const vinv = f32x4.splat(inv), vzy = i32x4.splat(zy);
    const zero = f32x4.splat(0);
    for (; i + 8 <= i1; i += 8) {
      const qa8 = i16x8.extend_low_i8x16_s(v128.load64_zero(a + <usize>i));
      const qb8 = i16x8.extend_low_i8x16_s(v128.load64_zero(b + <usize>i));
      let vl = f32x4.add(
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(qa8), vza)), vsa),
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(qb8), vzb)), vsb),
      );
      let vh = f32x4.add(
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(qa8), vza)), vsa),
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(qb8), vzb)), vsb),
      );
      if (relu) {
        vl = f32x4.pmax(zero, vl);
        vh = f32x4.pmax(zero, vh);
      }
      const q16 = i16x8.narrow_i32x4_s(requant4(vl, vinv, vzy), requant4(vh, vinv, vzy));
      v128.store64_lane(y + <usize>i, i8x16.narrow_i16x8_s(q16, q16), 0);
    }
  }
  for (; i < i1; i++) {
    let v = <f32>(<i32>load<i8>(a + <usize>i) - za) * sa + <f32>(<i32>load<i8>(b + <usize>i) - zb) * sb;
    if (relu) v = select<f32>(v, 0, v > 0);
    store<i8>(y + <usize>i, <i8>requant1(v, inv, zy));
  }
}

/** Int8 max pooling (same parameters in and out), NHWC, output pixels [p0, p1). */
export function qs8_maxpool(
  ih: i32, iw: i32, c: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  x: usize, y: usize, p0: i32, p1: i32,
): void {
  const rowBytes = <usize>c;
  for (let p = p0; p < p1; p++) {
    const oy = p / ow;
    const ox = p - oy * ow;
    const ys = oy * sh - padTop;
    const xs = ox * sw - padLeft;
    const ky0 = max(0, -ys), ky1 = min(kh, ih - ys);
    const kx0 = max(0, -xs), kx1 = min(kw, iw - xs);
    const out = y + <usize>p * rowBytes;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      for (; ch + 16 <= c; ch += 16) {
        let v = i8x16.splat(-128);
        for (let ky = ky0; ky < ky1; ky++)
          for (let kx = kx0; kx < kx1; kx++)
            v = i8x16.max_s(v, v128.load(x + <usize>((ys + ky) * iw + xs + kx) * rowBytes + <usize>ch));
        v128.store(out + <usize>ch, v);
      }
    }
    for (; ch < c; ch++) {
      let v: i32 = -128;
      for (let ky = ky0; ky < ky1; ky++)
        for (let kx = kx0; kx < kx1; kx++)
          v = max<i32>(v, <i32>load<i8>(x + <usize>((ys + ky) * iw + xs + kx) * rowBytes + <usize>ch));
      store<i8>(out + <usize>ch, <i8>v);
    }
  }
}

/** Int8 global average pooling to f32: y[ch] = scale * (sum_p q - hw * zp) / hw, channels [c0, c1). */
export function qs8_gap(hw: i32, c: i32, x: usize, y: usize, c0: i32, c1: i32, qp: usize): void {
  const s = load<f32>(qp, QP_SCALE);
  const zp = load<i32>(qp, QP_ZERO_POINT);
  const n = <f32>hw;
  for (let ch = c0; ch < c1; ch++) {
    let sum = 0;
    let p = x + <usize>ch;
    for (let i = 0; i < hw; i++) {
      sum += <i32>load<i8>(p);
      p += <usize>c;
    }
    store<f32>(y + (<usize>ch << 2), (<f32>(sum - hw * zp) * s) / n);
  }
}

/**
 * Register-only i32x4.dot_i16x8_s + i32x4.add loop over 10 independent accumulators:
 * 10 * 8 * 2 * iters integer operations (SIMD), the int8 counterpart of f32_peak.
 */
export function qs8_peak(iters: i32, seed: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    const x = i16x8.splat(<i16>seed);
    const b0 = i16x8.splat(<i16>(seed + 1)), b1 = i16x8.splat(<i16>(seed + 2));
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    for (let i = 0; i < iters; i++) {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, b0)); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, b1));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, b0)); a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, b1));
      a4 = i32x4.add(a4, i32x4.dot_i16x8_s(x, b0)); a5 = i32x4.add(a5, i32x4.dot_i16x8_s(x, b1));
      a6 = i32x4.add(a6, i32x4.dot_i16x8_s(x, b0)); a7 = i32x4.add(a7, i32x4.dot_i16x8_s(x, b1));
      a8 = i32x4.add(a8, i32x4.dot_i16x8_s(x, b0)); a9 = i32x4.add(a9, i32x4.dot_i16x8_s(x, b1));
    }
    const s = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)));
    const t = i32x4.add(s, i32x4.add(a8, a9));
    return i32x4.extract_lane(t, 0) ^ i32x4.extract_lane(t, 3);
  } else {
    let a0 = seed, a1 = seed + 1, a2 = seed + 2, a3 = seed + 3;
    for (let i = 0; i < iters; i++) {
      a0 += a0 * seed; a1 += a1 * seed; a2 += a2 * seed; a3 += a3 * seed;
    }
    return a0 ^ a1 ^ a2 ^ a3;
  }
}
