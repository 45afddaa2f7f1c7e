// Kernels shared by the SIMD and the scalar build. `ASC_FEATURE_SIMD` is a compile-time
// constant: the SIMD build compiles the v128 branches, the scalar build the other ones, which
// perform the same operations in the same order (so both give bit-identical results).

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

/** Register-only multiply-add loop: 4 * 2 * 12 * iters flops (SIMD) used to measure the peak. */
export function f32_peak(iters: i32, seed: f32): f32 {
  if (ASC_FEATURE_SIMD) {
    const b = f32x4.splat(0.999999);
    const cst = f32x4.splat(seed);
    let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
    let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
    let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
    for (let i = 0; i < iters; i++) {
      a0 = f32x4.add(f32x4.mul(a0, b), cst); a1 = f32x4.add(f32x4.mul(a1, b), cst);
      a2 = f32x4.add(f32x4.mul(a2, b), cst); a3 = f32x4.add(f32x4.mul(a3, b), cst);
      a4 = f32x4.add(f32x4.mul(a4, b), cst); a5 = f32x4.add(f32x4.mul(a5, b), cst);
      a6 = f32x4.add(f32x4.mul(a6, b), cst); a7 = f32x4.add(f32x4.mul(a7, b), cst);
      a8 = f32x4.add(f32x4.mul(a8, b), cst); a9 = f32x4.add(f32x4.mul(a9, b), cst);
      a10 = f32x4.add(f32x4.mul(a10, b), cst); a11 = f32x4.add(f32x4.mul(a11, b), cst);
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
