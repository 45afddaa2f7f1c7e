// Kernels for quantized layers: f16-weight GEMM (f32 activations, IEEE half weights widened a
// cache block at a time inside the GEMM), qs8 GEMM (int8 x int8 -> int32 through i16x8
// widening and i32x4.dot_i16x8_s, float requantization epilogue with fused ReLU), quantize /
// dequantize / dynamic range, int8 add with rescaling, int8 max pool and int8 global average
// pool. SIMD and scalar branches do the same operations in the same order: integer parts are
// exact, float parts use the same f32 operations, so both builds give bit-identical results.
import { f32_igemm_run as igemm_simd } from "./gen/gemm-wasmsimd";
import { f32_igemm_run as igemm_scalar } from "./gen/gemm-scalar";

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

/** Widens `panels` packed f16 panels of k rows into the f32 packed layout at dst. */
export function f16_widen_panels(panels: i32, k: i32, src: usize, dst: usize): void {
  for (let p = 0; p < panels; p++) {
    memory.copy(dst, src, 32);
    src += 32;
    dst += 32;
    if (ASC_FEATURE_SIMD) {
      const m7 = i32x4.splat(0x7fff);
      const m8 = i32x4.splat(0x8000);
      const mul = i32x4.splat(0x77800000);
      for (let kk = 0; kk < k; kk++) {
        const h = v128.load(src);
        const lo = i32x4.extend_low_i16x8_u(h);
        const hi = i32x4.extend_high_i16x8_u(h);
        const flo = f32x4.mul(i32x4.shl(v128.and(lo, m7), 13), mul);
        const fhi = f32x4.mul(i32x4.shl(v128.and(hi, m7), 13), mul);
        v128.store(dst, v128.or(flo, i32x4.shl(v128.and(lo, m8), 16)));
        v128.store(dst, v128.or(fhi, i32x4.shl(v128.and(hi, m8), 16)), 16);
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

// ---------------------------------------------------------------------------------------------
// qs8: signed 8-bit activations (affine, per tensor) and weights (symmetric, per output channel)

// Quantization parameter block (qp), 32 bytes: scale f32, zero point i32, 1/scale f32, and for
// a GEMM's output: output mode i32 at 12 (0: f32 output, 1: int8 output), then the output's
// 1/scale f32 at 16 and zero point i32 at 20.

/** Bytes of one packed qs8 panel: colsum, scale, bias (8 each), then ks * kc2 / 2 pairs of 16 bytes. */
export function qs8_panel_bytes(kc: i32, ks: i32): i32 {
  return 96 + ks * ((kc + 1) & ~1) * 8;
}

/**
 * Packs int8 weights [ks][kc][n] with per-column scales (f32 [n]) and f32 biases into panels of
 * 8 columns: colsum i32[8] (sum of the column's weights), scale f32[8], bias f32[8], then for
 * each tap and each pair of input channels 16 bytes (column j: k, k+1 at bytes 2j, 2j+1).
 * Channels are padded to an even count and columns to a multiple of 8 with zeros.
 */
export function qs8_pack_weights(kc: i32, ks: i32, n: i32, src: usize, scales: usize, bias: usize, dst: usize): void {
  const kc2 = (kc + 1) & ~1;
  const panels = (n + 7) >> 3;
  const pb = <usize>qs8_panel_bytes(kc, ks);
  for (let p = 0; p < panels; p++) {
    const d = dst + <usize>p * pb;
    for (let j = 0; j < 8; j++) {
      const col = (p << 3) + j;
      let sum = 0;
      if (col < n) for (let k = 0; k < ks * kc; k++) sum += <i32>load<i8>(src + <usize>k * <usize>n + <usize>col);
      store<i32>(d + (<usize>j << 2), sum);
      store<f32>(d + 32 + (<usize>j << 2), col < n ? load<f32>(scales + (<usize>col << 2)) : 0);
      store<f32>(d + 64 + (<usize>j << 2), col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    let o = d + 96;
    for (let t = 0; t < ks; t++) {
      for (let k = 0; k < kc2; k += 2) {
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
        o += 16;
      }
    }
  }
}

// @ts-ignore: decorator
@inline function requant1(v: f32, inv: f32, zp: i32): i32 {
  let t = v * inv;
  t = max<f32>(t, -32768);
  t = min<f32>(t, 32767);
  let q = <i32>nearest<f32>(t) + zp;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}

// @ts-ignore: decorator
@inline function requant4(v: v128, inv: v128, zp: v128): v128 {
  let t = f32x4.mul(v, inv);
  t = f32x4.max(t, f32x4.splat(-32768));
  t = f32x4.min(t, f32x4.splat(32767));
  return i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(t)), zp);
}

// @ts-ignore: decorator
@inline function epi_store4(acc: v128, cs4: v128, sc: v128, bi: v128, zx: v128, relu: i32): v128 {
  let v = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(acc, i32x4.mul(zx, cs4))), sc), bi);
  if (relu) v = f32x4.pmax(f32x4.splat(0), v);
  return v;
}

// @ts-ignore: decorator
@inline function store_row(c: usize, vl: v128, vh: v128, nc: i32, mode: i32, inv: v128, zy: v128): void {
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
    const q16 = i16x8.narrow_i32x4_s(requant4(vl, inv, zy), requant4(vh, inv, zy));
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

/**
 * qs8-igemm-4x8c2: up to 4 rows (mr) x nc columns of C = requant(sx * sw[n] * (sum_k (a-zx) w)
 * + bias[n]), A rows through an indirection buffer (ks pointers per row, each to kc int8
 * channels; channel pairs are read two bytes at a time, so one byte past the last channel is
 * read and multiplied by a zero weight). Output f32 (mode 0) or int8 (mode 1) with stride cs.
 */
export function qs8_igemm_4x8c2(
  mr: i32, nc: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize, relu: i32, qp: usize, outBytes: i32,
): void {
  const kp = (kc + 1) >> 1;
  const pb = <usize>qs8_panel_bytes(kc, ks);
  const sx = load<f32>(qp);
  const zx = load<i32>(qp, 4);
  const mode = load<i32>(qp, 12);
  const inv = load<f32>(qp, 16);
  const zy = load<i32>(qp, 20);
  const rs: usize = <usize>ks << 2;
  const i0 = ind;
  const i1 = mr > 1 ? ind + rs : i0;
  const i2 = mr > 2 ? ind + 2 * rs : i1;
  const i3 = mr > 3 ? ind + 3 * rs : i2;
  const c0 = c;
  const c1 = mr > 1 ? c0 + cs : c0;
  const c2 = mr > 2 ? c1 + cs : c1;
  const c3 = mr > 3 ? c2 + cs : c2;
  let col: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vzx = i32x4.splat(zx);
    const vsx = f32x4.splat(sx);
    const vinv = f32x4.splat(inv);
    const vzy = i32x4.splat(zy);
    while (nc > 0) {
      let a0l = i32x4.splat(0), a0h = a0l, a1l = a0l, a1h = a0l, a2l = a0l, a2h = a0l, a3l = a0l, a3h = a0l;
      let wp = w + 96;
      for (let t = 0; t < ks; t++) {
        const to = <usize>t << 2;
        let p0: usize = load<u32>(i0 + to), p1: usize = load<u32>(i1 + to);
        let p2: usize = load<u32>(i2 + to), p3: usize = load<u32>(i3 + to);
        for (let j = 0; j < kp; j++) {
          const b = v128.load(wp);
          wp += 16;
          const bl = i16x8.extend_low_i8x16_s(b);
          const bh = i16x8.extend_high_i8x16_s(b);
          const x0 = i16x8.extend_low_i8x16_s(v128.load16_splat(p0));
          a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(x0, bl));
          a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(x0, bh));
          const x1 = i16x8.extend_low_i8x16_s(v128.load16_splat(p1));
          a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(x1, bl));
          a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(x1, bh));
          const x2 = i16x8.extend_low_i8x16_s(v128.load16_splat(p2));
          a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(x2, bl));
          a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(x2, bh));
          const x3 = i16x8.extend_low_i8x16_s(v128.load16_splat(p3));
          a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(x3, bl));
          a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(x3, bh));
          p0 += 2;
          p1 += 2;
          p2 += 2;
          p3 += 2;
        }
      }
      const csl = v128.load(w), csh = v128.load(w, 16);
      const scl = f32x4.mul(vsx, v128.load(w, 32)), sch = f32x4.mul(vsx, v128.load(w, 48));
      const bil = v128.load(w, 64), bih = v128.load(w, 80);
      const n = min(nc, 8);
      const off = col * <usize>outBytes;
      store_row(c3 + off, epi_store4(a3l, csl, scl, bil, vzx, relu), epi_store4(a3h, csh, sch, bih, vzx, relu), n, mode, vinv, vzy);
      store_row(c2 + off, epi_store4(a2l, csl, scl, bil, vzx, relu), epi_store4(a2h, csh, sch, bih, vzx, relu), n, mode, vinv, vzy);
      store_row(c1 + off, epi_store4(a1l, csl, scl, bil, vzx, relu), epi_store4(a1h, csh, sch, bih, vzx, relu), n, mode, vinv, vzy);
      store_row(c0 + off, epi_store4(a0l, csl, scl, bil, vzx, relu), epi_store4(a0h, csh, sch, bih, vzx, relu), n, mode, vinv, vzy);
      w += pb;
      col += 8;
      nc -= 8;
    }
  } else {
    while (nc > 0) {
      const n = min(nc, 8);
      for (let r = 3; r >= 0; r--) {
        const ir = r == 0 ? i0 : r == 1 ? i1 : r == 2 ? i2 : i3;
        const cr = (r == 0 ? c0 : r == 1 ? c1 : r == 2 ? c2 : c3) + col * <usize>outBytes;
        for (let jj = 0; jj < n; jj++) {
          let acc = 0;
          let q = w + 96 + (<usize>jj << 1);
          for (let t = 0; t < ks; t++) {
            let p: usize = load<u32>(ir + (<usize>t << 2));
            for (let j = 0; j < kp; j++) {
              acc += <i32>load<i8>(p) * <i32>load<i8>(q) + <i32>load<i8>(p, 1) * <i32>load<i8>(q, 1);
              p += 2;
              q += 16;
            }
          }
          const o = <usize>jj << 2;
          const a = acc - zx * load<i32>(w + o);
          const sc = sx * load<f32>(w + 32 + o);
          let v = <f32>a * sc + load<f32>(w + 64 + o);
          if (relu) v = select<f32>(v, 0, v > 0);
          if (mode == 0) store<f32>(cr + o, v);
          else store<i8>(cr + <usize>jj, <i8>requant1(v, inv, zy));
        }
      }
      w += pb;
      col += 8;
      nc -= 8;
    }
  }
}

/** Driver over a rectangle of the output: rows [m0, m1) in groups of 4, columns [n0, n1). */
export function qs8_igemm_run(
  m0: i32, m1: i32, n0: i32, n1: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize, relu: i32, qp: usize,
): void {
  const pb = <usize>qs8_panel_bytes(kc, ks);
  const outBytes = load<i32>(qp, 12) == 0 ? 4 : 1;
  let nb = <i32>(<usize>131072 / pb) * 8;
  if (nb < 8) nb = 8;
  for (let nbs = n0; nbs < n1; nbs += nb) {
    const nc = min(nb, n1 - nbs);
    const wp = w + <usize>(nbs >> 3) * pb;
    for (let m = m0; m < m1; m += 4) {
      const rows = min(4, m1 - m);
      qs8_igemm_4x8c2(rows, nc, kc, ks, ind + <usize>m * (<usize>ks << 2), wp, c + <usize>m * cs + <usize>nbs * <usize>outBytes, cs, relu, qp, outBytes);
    }
  }
}

/** q = clamp(nearest(x * (1/scale)) + zp) for i in [i0, i1); qp as above. */
export function qs8_quantize(i0: i32, i1: i32, x: usize, y: usize, qp: usize): void {
  const inv = load<f32>(qp, 8);
  const zp = load<i32>(qp, 4);
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
  const s = load<f32>(qp);
  const zp = load<i32>(qp, 4);
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
  store<f32>(qp, s);
  store<i32>(qp, zp, 4);
  store<f32>(qp, <f32>1 / s, 8);
  memory.fill(pad, <u8>zp, <usize>padBytes);
}

/** Int8 add with rescaling: y = requant_y(sa (a - za) + sb (b - zb)) (+ReLU) for i in [i0, i1). */
export function qs8_add(i0: i32, i1: i32, a: usize, b: usize, y: usize, qa: usize, qb: usize, qy: usize, relu: i32): void {
  const sa = load<f32>(qa), za = load<i32>(qa, 4);
  const sb = load<f32>(qb), zb = load<i32>(qb, 4);
  const inv = load<f32>(qy, 8), zy = load<i32>(qy, 4);
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
  const s = load<f32>(qp);
  const zp = load<i32>(qp, 4);
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
