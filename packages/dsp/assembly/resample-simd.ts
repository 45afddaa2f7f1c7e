// Polyphase FIR resampling kernels, 128-bit SIMD.
//
// Output j sits at input time base_j + ph_j / up (ph_j < up); its taps are the `taps` input
// samples from x + base_j (the host's buffer starts at the first tap of base 0). Rows of the
// coefficient bank hold `taps` f32 (a multiple of 8), one row per phase. Successive outputs move
// by down / up input samples: base += dq and ph += dr, carrying into base when ph reaches up.
//
// Each dot product keeps two f32x4 partial sums (taps 8k + 0..3 and 8k + 4..7) and adds them as
// (l0 + l1) + (l2 + l3) of their lane sums; resample-scalar.ts performs the same operations in the
// same order, so both builds give bit-identical output.

@inline
function laneSum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

@inline
function dot(xp: usize, cp: usize, taps: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  for (let k = 0; k < taps; k += 8) {
    const o = <usize>k << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp + o), v128.load(cp + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp + o, 16), v128.load(cp + o, 16)));
  }
  return laneSum(f32x4.add(a0, a1));
}

// Four dot products with one coefficient row, inputs at x, x + step, x + 2 step, x + 3 step
// bytes: each coefficient load serves four outputs. Every output is summed exactly as dot() does.
@inline
function dot4(xp: usize, step: usize, cp: usize, taps: i32, out: usize, outStep: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  const xb = xp + step;
  const xc = xb + step;
  const xd = xc + step;
  for (let k = 0; k < taps; k += 8) {
    const o = <usize>k << 2;
    const w0 = v128.load(cp + o);
    const w1 = v128.load(cp + o, 16);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp + o), w0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp + o, 16), w1));
    b0 = f32x4.add(b0, f32x4.mul(v128.load(xb + o), w0));
    b1 = f32x4.add(b1, f32x4.mul(v128.load(xb + o, 16), w1));
    c0 = f32x4.add(c0, f32x4.mul(v128.load(xc + o), w0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load(xc + o, 16), w1));
    d0 = f32x4.add(d0, f32x4.mul(v128.load(xd + o), w0));
    d1 = f32x4.add(d1, f32x4.mul(v128.load(xd + o, 16), w1));
  }
  store<f32>(out, laneSum(f32x4.add(a0, a1)));
  store<f32>(out + outStep, laneSum(f32x4.add(b0, b1)));
  store<f32>(out + 2 * outStep, laneSum(f32x4.add(c0, c1)));
  store<f32>(out + 3 * outStep, laneSum(f32x4.add(d0, d1)));
}

// Exact polyphase: one bank row per phase (up rows). Outputs j, j + up, j + 2 up, j + 3 up share a
// phase and sit `down` input samples apart, so whole groups of 4 up outputs go phase by phase
// through dot4; the rest one by one.
export function polyphase(
  x: usize,
  out: usize,
  nOut: i32,
  base: i32,
  ph: i32,
  coef: usize,
  taps: i32,
  up: i32,
  dq: i32,
  dr: i32,
): void {
  const row = <usize>taps << 2;
  const group = 4 * up;
  const down = <usize>(dq * up + dr);
  let j = 0;
  for (; j + group <= nOut; j += group) {
    // phase by phase through the group; (base, ph) walks its first up outputs
    for (let r = 0; r < up; r++) {
      dot4(x + (<usize>base << 2), down << 2, coef + <usize>ph * row, taps, out + (<usize>(j + r) << 2), <usize>up << 2);
      base += dq;
      ph += dr;
      if (ph >= up) {
        ph -= up;
        base++;
      }
    }
    // the group's other 3 up outputs, already written: skip them
    base += 3 * <i32>down;
  }
  for (; j < nOut; j++) {
    store<f32>(out + (<usize>j << 2), dot(x + (<usize>base << 2), coef + <usize>ph * row, taps));
    base += dq;
    ph += dr;
    if (ph >= up) {
      ph -= up;
      base++;
    }
  }
}

// Interpolated polyphase, for ratios with too many phases: the bank holds P + 1 rows for the
// fractions 0, 1/P, ... 1, and an output at fraction ph / up blends the two nearest rows' dot
// products linearly.
export function polyphaseInterp(
  x: usize,
  out: usize,
  nOut: i32,
  base: i32,
  ph: i32,
  coef: usize,
  taps: i32,
  up: i32,
  dq: i32,
  dr: i32,
  rows: i32,
): void {
  const row = <usize>taps << 2;
  const p64 = <i64>(rows - 1);
  const up64 = <i64>up;
  const invUp = <f32>(1.0 / <f64>up);
  for (let j = 0; j < nOut; j++) {
    const num = <i64>ph * p64;
    const p = <i32>(num / up64);
    const f = <f32>(<i32>(num - <i64>p * up64)) * invUp;
    const xp = x + (<usize>base << 2);
    const cp = coef + <usize>p * row;
    const lo = dot(xp, cp, taps);
    const hi = dot(xp, cp + row, taps);
    store<f32>(out + (<usize>j << 2), lo + f * (hi - lo));
    base += dq;
    ph += dr;
    if (ph >= up) {
      ph -= up;
      base++;
    }
  }
}

// Float64 variants (ResampleOptions.precision "f64"): float64 coefficient rows, products and sums
// of the float32 input. Four f64x2 partial sums: taps 8k + 0..1, 2..3, 4..5, 6..7.
@inline
function dot64(xp: usize, cp: usize, taps: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let b0 = f64x2.splat(0);
  let b1 = f64x2.splat(0);
  for (let k = 0; k < taps; k += 8) {
    const xo = xp + (<usize>k << 2);
    const co = cp + (<usize>k << 3);
    const v = v128.load(xo);
    const w = v128.load(xo, 16);
    a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(v), v128.load(co)));
    a1 = f64x2.add(a1, f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), v128.load(co, 16)));
    b0 = f64x2.add(b0, f64x2.mul(f64x2.promote_low_f32x4(w), v128.load(co, 32)));
    b1 = f64x2.add(b1, f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<i32>(w, w, 2, 3, 0, 1)), v128.load(co, 48)));
  }
  const s = f64x2.add(a0, b0);
  const t = f64x2.add(a1, b1);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1) + (f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1));
}

export function polyphase64(
  x: usize,
  out: usize,
  nOut: i32,
  base: i32,
  ph: i32,
  coef: usize,
  taps: i32,
  up: i32,
  dq: i32,
  dr: i32,
): void {
  const row = <usize>taps << 3;
  for (let j = 0; j < nOut; j++) {
    store<f32>(out + (<usize>j << 2), <f32>dot64(x + (<usize>base << 2), coef + <usize>ph * row, taps));
    base += dq;
    ph += dr;
    if (ph >= up) {
      ph -= up;
      base++;
    }
  }
}

export function polyphaseInterp64(
  x: usize,
  out: usize,
  nOut: i32,
  base: i32,
  ph: i32,
  coef: usize,
  taps: i32,
  up: i32,
  dq: i32,
  dr: i32,
  rows: i32,
): void {
  const row = <usize>taps << 3;
  const p64 = <i64>(rows - 1);
  const up64 = <i64>up;
  for (let j = 0; j < nOut; j++) {
    const num = <i64>ph * p64;
    const p = <i32>(num / up64);
    const f = <f64>(<i32>(num - <i64>p * up64)) / <f64>up;
    const xp = x + (<usize>base << 2);
    const cp = coef + <usize>p * row;
    const lo = dot64(xp, cp, taps);
    const hi = dot64(xp, cp + row, taps);
    store<f32>(out + (<usize>j << 2), <f32>(lo + f * (hi - lo)));
    base += dq;
    ph += dr;
    if (ph >= up) {
      ph -= up;
      base++;
    }
  }
}
