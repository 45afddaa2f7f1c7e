// Kernels shared by the SIMD and the scalar build. `ASC_FEATURE_SIMD` is a compile-time
// constant: the SIMD build compiles the v128 branches, the scalar build the other ones, which
// perform the same operations in the same order (so both give bit-identical results).

import { wino_patch_mask, wino_weights1, wino_weights4 } from "./inline";

export function heap_base(): usize {
  return __heap_base;
}

export function simd_enabled(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

/**
 * Packs a row-major [k, n] weight matrix (HWIO conv weights flattened to k = kh*kw*cin, or a
 * dense [in, out] matrix) and its bias into panels of 8 columns: for each panel, 8 biases then
 * k rows of 8 weights. Columns past n are zero. dst needs ceil(n/8) * (k+1) * 32 bytes.
 */
export function f32_pack_weights(k: i32, n: i32, src: usize, bias: usize, dst: usize): void {
  const panels = (n + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const col0 = p << 3;
    const full = col0 + 8 <= n;
    for (let j = 0; j < 8; j++) {
      const col = col0 + j;
      store<f32>(dst, col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
      dst += 4;
    }
    let s = src + (<usize>col0 << 2);
    const rowBytes = <usize>n << 2;
    for (let kk = 0; kk < k; kk++) {
      if (full) {
        if (ASC_FEATURE_SIMD) {
          v128.store(dst, v128.load(s));
          v128.store(dst, v128.load(s, 16), 16);
        } else {
          store<u64>(dst, load<u64>(s));
          store<u64>(dst, load<u64>(s, 8), 8);
          store<u64>(dst, load<u64>(s, 16), 16);
          store<u64>(dst, load<u64>(s, 24), 24);
        }
      } else {
        for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), col0 + j < n ? load<f32>(s + (<usize>j << 2)) : 0);
      }
      dst += 32;
      s += rowBytes;
    }
  }
}

/** y[i] = a[i] + b[i] (then max(0, .) when relu) for i in [i0, i1). */
export function f32_vadd(i0: i32, i1: i32, a: usize, b: usize, y: usize, relu: i32): void {
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      let v = f32x4.add(v128.load(a + o), v128.load(b + o));
      if (relu) v = f32x4.pmax(zero, v);
      v128.store(y + o, v);
    }
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    let v = load<f32>(a + o) + load<f32>(b + o);
    if (relu) v = select<f32>(v, 0, v > 0);
    store<f32>(y + o, v);
  }
}

/**
 * Max pooling, NHWC, for output pixels [p0, p1) (pixel = oy * ow + ox). Window positions in the
 * padding do not take part (TensorFlow "same" semantics).
 */
export function f32_maxpool(
  ih: i32, iw: i32, c: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  x: usize, y: usize, p0: i32, p1: i32,
): void {
  const rowBytes = <usize>c << 2;
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
      for (; ch + 4 <= c; ch += 4) {
        let v = f32x4.splat(-Infinity);
        for (let ky = ky0; ky < ky1; ky++) {
          for (let kx = kx0; kx < kx1; kx++) {
            const src = x + (<usize>((ys + ky) * iw + xs + kx) * rowBytes) + (<usize>ch << 2);
            v = f32x4.max(v, v128.load(src));
          }
        }
        v128.store(out + (<usize>ch << 2), v);
      }
    }
    for (; ch < c; ch++) {
      let v: f32 = -Infinity;
      for (let ky = ky0; ky < ky1; ky++) {
        for (let kx = kx0; kx < kx1; kx++) {
          v = max<f32>(v, load<f32>(x + (<usize>((ys + ky) * iw + xs + kx) * rowBytes) + (<usize>ch << 2)));
        }
      }
      store<f32>(out + (<usize>ch << 2), v);
    }
  }
}

/** Global average pooling over hw pixels for channels [c0, c1): y[ch] = sum_p x[p, ch] / hw. */
export function f32_gap(hw: i32, c: i32, x: usize, y: usize, c0: i32, c1: i32): void {
  const rowBytes = <usize>c << 2;
  const n = <f32>hw;
  let ch = c0;
  if (ASC_FEATURE_SIMD) {
    const vn = f32x4.splat(n);
    for (; ch + 4 <= c1; ch += 4) {
      let s = f32x4.splat(0);
      let src = x + (<usize>ch << 2);
      for (let p = 0; p < hw; p++) {
        s = f32x4.add(s, v128.load(src));
        src += rowBytes;
      }
      v128.store(y + (<usize>ch << 2), f32x4.div(s, vn));
    }
  }
  for (; ch < c1; ch++) {
    let s: f32 = 0;
    let src = x + (<usize>ch << 2);
    for (let p = 0; p < hw; p++) {
      s += load<f32>(src);
      src += rowBytes;
    }
    store<f32>(y + (<usize>ch << 2), s / n);
  }
}

// exp(x) for x <= 0 (softmax after subtracting the maximum): x = n ln2 + r, |r| <= ln2/2,
// degree-6 polynomial for e^r, times 2^n built in the exponent bits. Inputs below -87.3 give 0
// through the clamp producing 2^-126 * e^r ~ 1e-38 (negligible against the maximum's 1).
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504;
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;

// @ts-ignore: decorator
@inline function expf_scalar(x: f32): f32 {
  x = max<f32>(x, -87.3);
  const n = nearest<f32>(x * LOG2E);
  const r = x - n * LN2_HI - n * LN2_LO;
  let p: f32 = 1.3888889e-3;
  p = p * r + 8.3333333e-3;
  p = p * r + 4.1666667e-2;
  p = p * r + 1.6666667e-1;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const scale = reinterpret<f32>((<i32>n + 127) << 23);
  return p * scale;
}

/** Softmax over n values: y = exp(x - max) / sum. */
export function f32_softmax(n: i32, x: usize, y: usize): void {
  let m: f32 = -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vm = f32x4.splat(-Infinity);
    for (; i + 4 <= n; i += 4) vm = f32x4.max(vm, v128.load(x + (<usize>i << 2)));
    m = max<f32>(max<f32>(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max<f32>(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  }
  for (; i < n; i++) m = max<f32>(m, load<f32>(x + (<usize>i << 2)));
  i = 0;
  if (ASC_FEATURE_SIMD) {
    const vmax = f32x4.splat(m);
    for (; i + 4 <= n; i += 4) {
      let v = f32x4.sub(v128.load(x + (<usize>i << 2)), vmax);
      v = f32x4.max(v, f32x4.splat(-87.3));
      const nn = f32x4.nearest(f32x4.mul(v, f32x4.splat(LOG2E)));
      const r = f32x4.sub(f32x4.sub(v, f32x4.mul(nn, f32x4.splat(LN2_HI))), f32x4.mul(nn, f32x4.splat(LN2_LO)));
      let p = f32x4.splat(1.3888889e-3);
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3333333e-3));
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1666667e-2));
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666667e-1));
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
      p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
      const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(nn), i32x4.splat(127)), 23);
      v128.store(y + (<usize>i << 2), f32x4.mul(p, scale));
    }
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), expf_scalar(load<f32>(x + (<usize>i << 2)) - m));
  // Sum in index order (same order in both builds), then scale.
  let s: f32 = 0;
  for (let j = 0; j < n; j++) s += load<f32>(y + (<usize>j << 2));
  const inv: f32 = 1 / s;
  for (let j = 0; j < n; j++) store<f32>(y + (<usize>j << 2), load<f32>(y + (<usize>j << 2)) * inv);
}

/**
 * a * b + c for the peak loop: a multiply then an add, or in the relaxed-SIMD build (where the
 * loop is exported as f32_fma_peak) f32x4.relaxed_madd.
 */
// @ts-ignore: decorator
@inline function peak_step(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Register-only multiply-add loop: 4 * 2 * 12 * iters flops (SIMD) used to measure the peak; in
 * the relaxed-SIMD build, fused multiply-adds (f32_fma_peak).
 */
export function f32_peak(iters: i32, seed: f32): f32 {
  if (ASC_FEATURE_SIMD) {
    const b = f32x4.splat(0.999999);
    const cst = f32x4.splat(seed);
    let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
    let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
    let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
    for (let i = 0; i < iters; i++) {
      a0 = peak_step(a0, b, cst); a1 = peak_step(a1, b, cst);
      a2 = peak_step(a2, b, cst); a3 = peak_step(a3, b, cst);
      a4 = peak_step(a4, b, cst); a5 = peak_step(a5, b, cst);
      a6 = peak_step(a6, b, cst); a7 = peak_step(a7, b, cst);
      a8 = peak_step(a8, b, cst); a9 = peak_step(a9, b, cst);
      a10 = peak_step(a10, b, cst); a11 = peak_step(a11, b, cst);
    }
    const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
    const t = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
    return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
  } else {
    let a0 = seed, a1 = seed + 1, a2 = seed + 2, a3 = seed + 3;
    const b: f32 = 0.999999;
    for (let i = 0; i < iters; i++) {
      a0 = a0 * b + seed; a1 = a1 * b + seed; a2 = a2 * b + seed; a3 = a3 * b + seed;
    }
    return a0 + a1 + a2 + a3;
  }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2x2, 3x3) for 3x3 stride-1 "same" convolutions: the output is cut into 2x2 tiles,
// each computed from a 4x4 input patch. Per tile and channel, V = B^T d B (input transform),
// then for each of the 16 positions e a GEMM M_e = V_e U_e with U = G g G^T (weights transformed
// at load), then Y = A^T M A (output transform) + bias (+ReLU). 16 multiplies per 4 outputs
// instead of 36. Both builds perform the same operations in the same order.

/**
 * Transforms the weights of a 3x3 conv, HWIO [3][3][cin][cout], into the 16 Winograd matrices
 * U_e [cin][cout] (U = G g G^T per input/output channel pair) and writes them straight in the
 * packed GEMM layout: matrix e at dst + e * panelBytes, panels of 8 columns with a zero bias
 * row. dst must be zeroed beforehand (padding columns of the last panel stay zero).
 */
export function f32_wino_pack_weights(cin: i32, cout: i32, src: usize, dst: usize): void {
  const plane = <usize>cin * <usize>cout * 4;
  const panelStride = (<usize>cin + 1) * 32;
  const panelBytes = <usize>((cout + 7) >> 3) * panelStride;
  for (let ci = 0; ci < cin; ci++) {
    let co = 0;
    if (ASC_FEATURE_SIMD) {
      for (; co + 4 <= cout; co += 4) {
        const s = src + (<usize>ci * <usize>cout + <usize>co) * 4;
        const g00 = v128.load(s), g01 = v128.load(s + plane), g02 = v128.load(s + 2 * plane);
        const g10 = v128.load(s + 3 * plane), g11 = v128.load(s + 4 * plane), g12 = v128.load(s + 5 * plane);
        const g20 = v128.load(s + 6 * plane), g21 = v128.load(s + 7 * plane), g22 = v128.load(s + 8 * plane);
        const d = dst + <usize>(co >> 3) * panelStride + 32 + <usize>ci * 32 + (<usize>(co & 7) << 2);
        wino_weights4(d, panelBytes, g00, g01, g02, g10, g11, g12, g20, g21, g22);
      }
    }
    for (; co < cout; co++) {
      const s = src + (<usize>ci * <usize>cout + <usize>co) * 4;
      const g00 = load<f32>(s), g01 = load<f32>(s + plane), g02 = load<f32>(s + 2 * plane);
      const g10 = load<f32>(s + 3 * plane), g11 = load<f32>(s + 4 * plane), g12 = load<f32>(s + 5 * plane);
      const g20 = load<f32>(s + 6 * plane), g21 = load<f32>(s + 7 * plane), g22 = load<f32>(s + 8 * plane);
      const d = dst + <usize>(co >> 3) * panelStride + 32 + <usize>ci * 32 + (<usize>(co & 7) << 2);
      wino_weights1(d, panelBytes, g00, g01, g02, g10, g11, g12, g20, g21, g22);
    }
  }
}

/**
 * Input transform for tiles [t0, t1): tile t = ty * tw + tx reads the 4x4 patch at
 * (2ty - 1, 2tx - 1) (zeros outside) and writes V[e][t][ch] at v + e * vstride + (t * c + ch) * 4.
 */
export function f32_wino_input(ih: i32, iw: i32, c: i32, tw: i32, x: usize, v: usize, vstride: usize, t0: i32, t1: i32): void {
  const rowBytes = <usize>c << 2;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const y0 = 2 * ty - 1;
    const x0 = 2 * tx - 1;
    const mask = wino_patch_mask(y0, x0, ih, iw, 4);
    // Address of pixel (0, 0) of the patch; only used with in-image offsets.
    const p = <usize>(<i32>x + (y0 * iw + x0) * <i32>rowBytes);
    const rs = <usize>iw * rowBytes;
    const out = v + <usize>t * rowBytes;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      for (; ch + 4 <= c; ch += 4) {
        const o = <usize>ch << 2;
        const z = f32x4.splat(0);
        const d00 = ld4(p, rs, rowBytes, mask, 0, o, z), d01 = ld4(p, rs, rowBytes, mask, 1, o, z), d02 = ld4(p, rs, rowBytes, mask, 2, o, z), d03 = ld4(p, rs, rowBytes, mask, 3, o, z);
        const d10 = ld4(p, rs, rowBytes, mask, 4, o, z), d11 = ld4(p, rs, rowBytes, mask, 5, o, z), d12 = ld4(p, rs, rowBytes, mask, 6, o, z), d13 = ld4(p, rs, rowBytes, mask, 7, o, z);
        const d20 = ld4(p, rs, rowBytes, mask, 8, o, z), d21 = ld4(p, rs, rowBytes, mask, 9, o, z), d22 = ld4(p, rs, rowBytes, mask, 10, o, z), d23 = ld4(p, rs, rowBytes, mask, 11, o, z);
        const d30 = ld4(p, rs, rowBytes, mask, 12, o, z), d31 = ld4(p, rs, rowBytes, mask, 13, o, z), d32 = ld4(p, rs, rowBytes, mask, 14, o, z), d33 = ld4(p, rs, rowBytes, mask, 15, o, z);
        // B^T d (rows)
        const a0 = f32x4.sub(d00, d20), a1 = f32x4.sub(d01, d21), a2 = f32x4.sub(d02, d22), a3 = f32x4.sub(d03, d23);
        const b0 = f32x4.add(d10, d20), b1 = f32x4.add(d11, d21), b2 = f32x4.add(d12, d22), b3 = f32x4.add(d13, d23);
        const c0 = f32x4.sub(d20, d10), c1 = f32x4.sub(d21, d11), c2 = f32x4.sub(d22, d12), c3 = f32x4.sub(d23, d13);
        const e0 = f32x4.sub(d10, d30), e1 = f32x4.sub(d11, d31), e2 = f32x4.sub(d12, d32), e3 = f32x4.sub(d13, d33);
        // (.) B (columns)
        st4(out, vstride, 0, o, a0, a1, a2, a3);
        st4(out, vstride, 1, o, b0, b1, b2, b3);
        st4(out, vstride, 2, o, c0, c1, c2, c3);
        st4(out, vstride, 3, o, e0, e1, e2, e3);
      }
    }
    for (; ch < c; ch++) {
      const o = <usize>ch << 2;
      const d00 = ld1(p, rs, rowBytes, mask, 0, o), d01 = ld1(p, rs, rowBytes, mask, 1, o), d02 = ld1(p, rs, rowBytes, mask, 2, o), d03 = ld1(p, rs, rowBytes, mask, 3, o);
      const d10 = ld1(p, rs, rowBytes, mask, 4, o), d11 = ld1(p, rs, rowBytes, mask, 5, o), d12 = ld1(p, rs, rowBytes, mask, 6, o), d13 = ld1(p, rs, rowBytes, mask, 7, o);
      const d20 = ld1(p, rs, rowBytes, mask, 8, o), d21 = ld1(p, rs, rowBytes, mask, 9, o), d22 = ld1(p, rs, rowBytes, mask, 10, o), d23 = ld1(p, rs, rowBytes, mask, 11, o);
      const d30 = ld1(p, rs, rowBytes, mask, 12, o), d31 = ld1(p, rs, rowBytes, mask, 13, o), d32 = ld1(p, rs, rowBytes, mask, 14, o), d33 = ld1(p, rs, rowBytes, mask, 15, o);
      const a0 = d00 - d20, a1 = d01 - d21, a2 = d02 - d22, a3 = d03 - d23;
      const b0 = d10 + d20, b1 = d11 + d21, b2 = d12 + d22, b3 = d13 + d23;
      const c0 = d20 - d10, c1 = d21 - d11, c2 = d22 - d12, c3 = d23 - d13;
      const e0 = d10 - d30, e1 = d11 - d31, e2 = d12 - d32, e3 = d13 - d33;
      st1(out, vstride, 0, o, a0, a1, a2, a3);
      st1(out, vstride, 1, o, b0, b1, b2, b3);
      st1(out, vstride, 2, o, c0, c1, c2, c3);
      st1(out, vstride, 3, o, e0, e1, e2, e3);
    }
  }
}

// @ts-ignore: decorator
@inline function ld4(p: usize, rs: usize, rb: usize, mask: i32, k: i32, o: usize, z: v128): v128 {
  return mask & (1 << k) ? v128.load(p + <usize>(k >> 2) * rs + <usize>(k & 3) * rb + o) : z;
}
// @ts-ignore: decorator
@inline function ld1(p: usize, rs: usize, rb: usize, mask: i32, k: i32, o: usize): f32 {
  return mask & (1 << k) ? load<f32>(p + <usize>(k >> 2) * rs + <usize>(k & 3) * rb + o) : <f32>0;
}
// Row r of B^T d times B: [r0 - r2, r1 + r2, r2 - r1, r1 - r3] into V[4 * row + j].
// @ts-ignore: decorator
@inline function st4(out: usize, vstride: usize, row: usize, o: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  v128.store(out + (row * 4 + 0) * vstride + o, f32x4.sub(r0, r2));
  v128.store(out + (row * 4 + 1) * vstride + o, f32x4.add(r1, r2));
  v128.store(out + (row * 4 + 2) * vstride + o, f32x4.sub(r2, r1));
  v128.store(out + (row * 4 + 3) * vstride + o, f32x4.sub(r1, r3));
}
// @ts-ignore: decorator
@inline function st1(out: usize, vstride: usize, row: usize, o: usize, r0: f32, r1: f32, r2: f32, r3: f32): void {
  store<f32>(out + (row * 4 + 0) * vstride + o, r0 - r2);
  store<f32>(out + (row * 4 + 1) * vstride + o, r1 + r2);
  store<f32>(out + (row * 4 + 2) * vstride + o, r2 - r1);
  store<f32>(out + (row * 4 + 3) * vstride + o, r1 - r3);
}

/**
 * Output transform for tiles [t0, t1): reads M[e][t][ch] at m + e * mstride + (t * c + ch) * 4,
 * writes the 2x2 outputs Y = A^T M A + bias (+ReLU) of the tile that fall inside oh x ow.
 */
export function f32_wino_output(oh: i32, ow: i32, c: i32, tw: i32, m: usize, mstride: usize, bias: usize, y: usize, relu: i32, t0: i32, t1: i32): void {
  const rowBytes = <usize>c << 2;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const oy = 2 * ty, ox = 2 * tx;
    const mi = m + <usize>t * rowBytes;
    const has01 = ox + 1 < ow, has10 = oy + 1 < oh;
    const y00 = y + <usize>(oy * ow + ox) * rowBytes;
    const y01 = y00 + rowBytes;
    const y10 = y00 + <usize>ow * rowBytes;
    const y11 = y10 + rowBytes;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; ch + 4 <= c; ch += 4) {
        const o = <usize>ch << 2;
        const m00 = v128.load(mi + 0 * mstride + o), m01 = v128.load(mi + 1 * mstride + o), m02 = v128.load(mi + 2 * mstride + o), m03 = v128.load(mi + 3 * mstride + o);
        const m10 = v128.load(mi + 4 * mstride + o), m11 = v128.load(mi + 5 * mstride + o), m12 = v128.load(mi + 6 * mstride + o), m13 = v128.load(mi + 7 * mstride + o);
        const m20 = v128.load(mi + 8 * mstride + o), m21 = v128.load(mi + 9 * mstride + o), m22 = v128.load(mi + 10 * mstride + o), m23 = v128.load(mi + 11 * mstride + o);
        const m30 = v128.load(mi + 12 * mstride + o), m31 = v128.load(mi + 13 * mstride + o), m32 = v128.load(mi + 14 * mstride + o), m33 = v128.load(mi + 15 * mstride + o);
        // A^T M (rows): r0 = m0 + m1 + m2, r1 = m1 - m2 - m3
        const r00 = f32x4.add(f32x4.add(m00, m10), m20), r01 = f32x4.add(f32x4.add(m01, m11), m21);
        const r02 = f32x4.add(f32x4.add(m02, m12), m22), r03 = f32x4.add(f32x4.add(m03, m13), m23);
        const r10 = f32x4.sub(f32x4.sub(m10, m20), m30), r11 = f32x4.sub(f32x4.sub(m11, m21), m31);
        const r12 = f32x4.sub(f32x4.sub(m12, m22), m32), r13 = f32x4.sub(f32x4.sub(m13, m23), m33);
        const b = v128.load(bias + o);
        let v00 = f32x4.add(f32x4.add(f32x4.add(r00, r01), r02), b);
        let v01 = f32x4.add(f32x4.sub(f32x4.sub(r01, r02), r03), b);
        let v10 = f32x4.add(f32x4.add(f32x4.add(r10, r11), r12), b);
        let v11 = f32x4.add(f32x4.sub(f32x4.sub(r11, r12), r13), b);
        if (relu) {
          v00 = f32x4.pmax(zero, v00); v01 = f32x4.pmax(zero, v01); v10 = f32x4.pmax(zero, v10); v11 = f32x4.pmax(zero, v11);
        }
        v128.store(y00 + o, v00);
        if (has01) v128.store(y01 + o, v01);
        if (has10) {
          v128.store(y10 + o, v10);
          if (has01) v128.store(y11 + o, v11);
        }
      }
    }
    for (; ch < c; ch++) {
      const o = <usize>ch << 2;
      const m00 = load<f32>(mi + 0 * mstride + o), m01 = load<f32>(mi + 1 * mstride + o), m02 = load<f32>(mi + 2 * mstride + o), m03 = load<f32>(mi + 3 * mstride + o);
      const m10 = load<f32>(mi + 4 * mstride + o), m11 = load<f32>(mi + 5 * mstride + o), m12 = load<f32>(mi + 6 * mstride + o), m13 = load<f32>(mi + 7 * mstride + o);
      const m20 = load<f32>(mi + 8 * mstride + o), m21 = load<f32>(mi + 9 * mstride + o), m22 = load<f32>(mi + 10 * mstride + o), m23 = load<f32>(mi + 11 * mstride + o);
      const m30 = load<f32>(mi + 12 * mstride + o), m31 = load<f32>(mi + 13 * mstride + o), m32 = load<f32>(mi + 14 * mstride + o), m33 = load<f32>(mi + 15 * mstride + o);
      const r00 = m00 + m10 + m20, r01 = m01 + m11 + m21, r02 = m02 + m12 + m22, r03 = m03 + m13 + m23;
      const r10 = m10 - m20 - m30, r11 = m11 - m21 - m31, r12 = m12 - m22 - m32, r13 = m13 - m23 - m33;
      const b = load<f32>(bias + o);
      let v00 = r00 + r01 + r02 + b;
      let v01 = r01 - r02 - r03 + b;
      let v10 = r10 + r11 + r12 + b;
      let v11 = r11 - r12 - r13 + b;
      if (relu) {
        v00 = select<f32>(v00, 0, v00 > 0); v01 = select<f32>(v01, 0, v01 > 0);
        v10 = select<f32>(v10, 0, v10 > 0); v11 = select<f32>(v11, 0, v11 > 0);
      }
      store<f32>(y00 + o, v00);
      if (has01) store<f32>(y01 + o, v01);
      if (has10) {
        store<f32>(y10 + o, v10);
        if (has01) store<f32>(y11 + o, v11);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3): 4x4 output tiles from 6x6 input patches, 36 GEMMs per layer, 2.25
// multiplies per output instead of F(2x2)'s 4 (and the direct 9). Points 0, +-1, +-2, inf:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Its rounding error is larger than F(2x2)'s (the transforms scale by up to 8 and 1/24), see the
// bounds in the README. The weight transform runs in float64 (one rounding per element, the same
// code in both builds); the input and output transforms perform the same f32 operations in the
// same order in both builds.

/**
 * Transforms the weights of a 3x3 conv, HWIO [3][3][cin][cout], into the 36 F(4x4,3x3) matrices
 * U_e [cin][cout] (U = G g G^T, in float64, rounded once) in the packed GEMM layout: matrix
 * e = 6i + j at dst + e * panelBytes, panels of 8 columns after a zero bias row. dst must be
 * zeroed beforehand (padding columns of the last panel stay zero).
 */
export function f32_wino4_pack_weights(cin: i32, cout: i32, src: usize, dst: usize): void {
  const plane = <usize>cin * <usize>cout * 4;
  const panelStride = (<usize>cin + 1) * 32;
  const panelBytes = <usize>((cout + 7) >> 3) * panelStride;
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const s = src + (<usize>ci * <usize>cout + <usize>co) * 4;
      const d = dst + <usize>(co >> 3) * panelStride + 32 + <usize>ci * 32 + (<usize>(co & 7) << 2);
      // t = G g: for each of the 3 kernel columns b, the 6 values G[i][.] . g[.][b]
      for (let i = 0; i < 6; i++) {
        const t0 = g6(i, load<f32>(s), load<f32>(s + 3 * plane), load<f32>(s + 6 * plane));
        const t1 = g6(i, load<f32>(s + plane), load<f32>(s + 4 * plane), load<f32>(s + 7 * plane));
        const t2 = g6(i, load<f32>(s + 2 * plane), load<f32>(s + 5 * plane), load<f32>(s + 8 * plane));
        for (let j = 0; j < 6; j++) store<f32>(d + <usize>(6 * i + j) * panelBytes, <f32>g6(j, t0, t1, t2));
      }
    }
  }
}

/** Row i of G times (a, b, c), in float64. */
// @ts-ignore: decorator
@inline function g6(i: i32, a: f64, b: f64, c: f64): f64 {
  if (i == 0) return a / 4;
  if (i == 1) return -(a + b + c) / 6;
  if (i == 2) return -(a - b + c) / 6;
  if (i == 3) return (a + 2 * b + 4 * c) / 24;
  if (i == 4) return (a - 2 * b + 4 * c) / 24;
  return c;
}

/** Bits i of the 6 patch rows (or columns) starting at p0 that lie inside [0, n). */
// @ts-ignore: decorator
@inline function wino6_mask(p0: i32, n: i32): i32 {
  let mask = 0;
  for (let i = 0; i < 6; i++) if (p0 + i >= 0 && p0 + i < n) mask |= 1 << i;
  return mask;
}

/**
 * F(4x4,3x3) input transform for tiles [t0, t1): tile t = ty * tw + tx reads the 6x6 patch at
 * (4ty - 1, 4tx - 1) (zeros outside) and writes V[e][t][ch] at v + e * vstride + (t * c + ch) * 4.
 * Two passes through V: d B row by row into V, then B^T (.) column by column in place.
 */
export function f32_wino4_input(ih: i32, iw: i32, c: i32, tw: i32, x: usize, v: usize, vstride: usize, t0: i32, t1: i32): void {
  const rowBytes = <usize>c << 2;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const y0 = 4 * ty - 1;
    const x0 = 4 * tx - 1;
    const rm = wino6_mask(y0, ih);
    const cm = wino6_mask(x0, iw);
    const out = v + <usize>t * rowBytes;
    for (let i = 0; i < 6; i++) {
      const ok = (rm >> i) & 1;
      // Address of patch pixel (i, 0); only used with in-image offsets.
      const p = <usize>(<i32>x + ((y0 + i) * iw + x0) * <i32>rowBytes);
      const o6 = out + <usize>(6 * i) * vstride;
      let ch = 0;
      if (ASC_FEATURE_SIMD) {
        const z = f32x4.splat(0);
        for (; ch + 4 <= c; ch += 4) {
          const o = <usize>ch << 2;
          bt6v(o6 + o, vstride,
            ld6v(p, rowBytes, ok, cm, 0, o, z), ld6v(p, rowBytes, ok, cm, 1, o, z), ld6v(p, rowBytes, ok, cm, 2, o, z),
            ld6v(p, rowBytes, ok, cm, 3, o, z), ld6v(p, rowBytes, ok, cm, 4, o, z), ld6v(p, rowBytes, ok, cm, 5, o, z));
        }
      }
      for (; ch < c; ch++) {
        const o = <usize>ch << 2;
        bt6s(o6 + o, vstride,
          ld6s(p, rowBytes, ok, cm, 0, o), ld6s(p, rowBytes, ok, cm, 1, o), ld6s(p, rowBytes, ok, cm, 2, o),
          ld6s(p, rowBytes, ok, cm, 3, o), ld6s(p, rowBytes, ok, cm, 4, o), ld6s(p, rowBytes, ok, cm, 5, o));
      }
    }
    const s6 = <usize>6 * vstride;
    for (let j = 0; j < 6; j++) {
      const col = out + <usize>j * vstride;
      let ch = 0;
      if (ASC_FEATURE_SIMD) {
        for (; ch + 4 <= c; ch += 4) {
          const q = col + (<usize>ch << 2);
          bt6v(q, s6, v128.load(q), v128.load(q + s6), v128.load(q + 2 * s6),
            v128.load(q + 3 * s6), v128.load(q + 4 * s6), v128.load(q + 5 * s6));
        }
      }
      for (; ch < c; ch++) {
        const q = col + (<usize>ch << 2);
        bt6s(q, s6, load<f32>(q), load<f32>(q + s6), load<f32>(q + 2 * s6),
          load<f32>(q + 3 * s6), load<f32>(q + 4 * s6), load<f32>(q + 5 * s6));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function ld6v(p: usize, rb: usize, ok: i32, cm: i32, j: i32, o: usize, z: v128): v128 {
  return ok & (cm >> j) ? v128.load(p + <usize>j * rb + o) : z;
}
// @ts-ignore: decorator
@inline function ld6s(p: usize, rb: usize, ok: i32, cm: i32, j: i32, o: usize): f32 {
  return ok & (cm >> j) ? load<f32>(p + <usize>j * rb + o) : <f32>0;
}

// B^T d of six values, stored at out + k * step:
// [4(d0 - d2) + (d4 - d2), (d3 + d4) - 4(d1 + d2), (d4 - d3) + 4(d1 - d2),
//  (d4 - d2) + 2(d3 - d1), (d4 - d2) - 2(d3 - d1), 4(d1 - d3) + (d5 - d3)]
// @ts-ignore: decorator
@inline function bt6v(out: usize, step: usize, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): void {
  const four = f32x4.splat(4), two = f32x4.splat(2);
  const a = f32x4.sub(d4, d2);
  const e = f32x4.mul(f32x4.sub(d3, d1), two);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.sub(d0, d2), four), a));
  v128.store(out + step, f32x4.sub(f32x4.add(d3, d4), f32x4.mul(f32x4.add(d1, d2), four)));
  v128.store(out + 2 * step, f32x4.add(f32x4.sub(d4, d3), f32x4.mul(f32x4.sub(d1, d2), four)));
  v128.store(out + 3 * step, f32x4.add(a, e));
  v128.store(out + 4 * step, f32x4.sub(a, e));
  v128.store(out + 5 * step, f32x4.add(f32x4.mul(f32x4.sub(d1, d3), four), f32x4.sub(d5, d3)));
}
// @ts-ignore: decorator
@inline function bt6s(out: usize, step: usize, d0: f32, d1: f32, d2: f32, d3: f32, d4: f32, d5: f32): void {
  const four: f32 = 4, two: f32 = 2;
  const a = d4 - d2;
  const e = (d3 - d1) * two;
  store<f32>(out, (d0 - d2) * four + a);
  store<f32>(out + step, (d3 + d4) - (d1 + d2) * four);
  store<f32>(out + 2 * step, (d4 - d3) + (d1 - d2) * four);
  store<f32>(out + 3 * step, a + e);
  store<f32>(out + 4 * step, a - e);
  store<f32>(out + 5 * step, (d1 - d3) * four + (d5 - d3));
}

// Row r of A^T times six values: [m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + 2(m3 - m4),
// (m1 + m2) + 4(m3 + m4), ((m1 - m2) + 8(m3 - m4)) + m5].
// @ts-ignore: decorator
@inline function at6v(r: i32, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128): v128 {
  if (r == 0) return f32x4.add(f32x4.add(m0, f32x4.add(m1, m2)), f32x4.add(m3, m4));
  if (r == 1) return f32x4.add(f32x4.sub(m1, m2), f32x4.mul(f32x4.sub(m3, m4), f32x4.splat(2)));
  if (r == 2) return f32x4.add(f32x4.add(m1, m2), f32x4.mul(f32x4.add(m3, m4), f32x4.splat(4)));
  return f32x4.add(f32x4.add(f32x4.sub(m1, m2), f32x4.mul(f32x4.sub(m3, m4), f32x4.splat(8))), m5);
}
// @ts-ignore: decorator
@inline function at6s(r: i32, m0: f32, m1: f32, m2: f32, m3: f32, m4: f32, m5: f32): f32 {
  if (r == 0) return (m0 + (m1 + m2)) + (m3 + m4);
  if (r == 1) return (m1 - m2) + (m3 - m4) * <f32>2;
  if (r == 2) return (m1 + m2) + (m3 + m4) * <f32>4;
  return ((m1 - m2) + (m3 - m4) * <f32>8) + m5;
}
/** Row r of A^T applied down column j of the tile's M (M[6i + j] at mi + (6i + j) * mstride + o). */
// @ts-ignore: decorator
@inline function atColv(r: i32, mi: usize, ms: usize, j: i32, o: usize): v128 {
  const q = mi + <usize>j * ms + o, s6 = <usize>6 * ms;
  return at6v(r, v128.load(q), v128.load(q + s6), v128.load(q + 2 * s6), v128.load(q + 3 * s6), v128.load(q + 4 * s6), v128.load(q + 5 * s6));
}
// @ts-ignore: decorator
@inline function atCols(r: i32, mi: usize, ms: usize, j: i32, o: usize): f32 {
  const q = mi + <usize>j * ms + o, s6 = <usize>6 * ms;
  return at6s(r, load<f32>(q), load<f32>(q + s6), load<f32>(q + 2 * s6), load<f32>(q + 3 * s6), load<f32>(q + 4 * s6), load<f32>(q + 5 * s6));
}

/**
 * F(4x4,3x3) output transform for tiles [t0, t1): reads M[e][t][ch] at m + e * mstride +
 * (t * c + ch) * 4, writes the 4x4 outputs Y = A^T M A + bias (+ReLU) of the tile that fall
 * inside oh x ow, one output row at a time.
 */
export function f32_wino4_output(oh: i32, ow: i32, c: i32, tw: i32, m: usize, mstride: usize, bias: usize, y: usize, relu: i32, t0: i32, t1: i32): void {
  const rowBytes = <usize>c << 2;
  for (let t = t0; t < t1; t++) {
    const ty = t / tw;
    const tx = t - ty * tw;
    const oy = 4 * ty, ox = 4 * tx;
    const nr = min(4, oh - oy), nc = min(4, ow - ox);
    const mi = m + <usize>t * rowBytes;
    for (let r = 0; r < nr; r++) {
      const yr = y + <usize>((oy + r) * ow + ox) * rowBytes;
      let ch = 0;
      if (ASC_FEATURE_SIMD) {
        const zero = f32x4.splat(0);
        for (; ch + 4 <= c; ch += 4) {
          const o = <usize>ch << 2;
          const q0 = atColv(r, mi, mstride, 0, o), q1 = atColv(r, mi, mstride, 1, o), q2 = atColv(r, mi, mstride, 2, o);
          const q3 = atColv(r, mi, mstride, 3, o), q4 = atColv(r, mi, mstride, 4, o), q5 = atColv(r, mi, mstride, 5, o);
          const b = v128.load(bias + o);
          for (let k = 0; k < nc; k++) {
            let val = f32x4.add(at6v(k, q0, q1, q2, q3, q4, q5), b);
            if (relu) val = f32x4.pmax(zero, val);
            v128.store(yr + <usize>k * rowBytes + o, val);
          }
        }
      }
      for (; ch < c; ch++) {
        const o = <usize>ch << 2;
        const q0 = atCols(r, mi, mstride, 0, o), q1 = atCols(r, mi, mstride, 1, o), q2 = atCols(r, mi, mstride, 2, o);
        const q3 = atCols(r, mi, mstride, 3, o), q4 = atCols(r, mi, mstride, 4, o), q5 = atCols(r, mi, mstride, 5, o);
        const b = load<f32>(bias + o);
        for (let k = 0; k < nc; k++) {
          let val = at6s(k, q0, q1, q2, q3, q4, q5) + b;
          if (relu) val = select<f32>(val, 0, val > 0);
          store<f32>(yr + <usize>k * rowBytes + o, val);
        }
      }
    }
  }
}
