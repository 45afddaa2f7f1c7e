// Polyphase FIR resampling kernels, scalar build (same operations and order as resample-simd.ts).
//
// Output j sits at input time base_j + ph_j / up (ph_j < up); its taps are the `taps` input
// samples from x + base_j (the host's buffer starts at the first tap of base 0). Rows of the
// coefficient bank hold `taps` f32 (a multiple of 8), one row per phase. Successive outputs move
// by down / up input samples: base += dq and ph += dr, carrying into base when ph reaches up.
//
// Each dot product keeps the eight partial sums of resample-simd.ts's two f32x4 accumulators in
// scalars and adds them in the same order, so both builds give bit-identical output.

@inline
function dot(xp: usize, cp: usize, taps: i32): f32 {
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  let t0: f32 = 0;
  let t1: f32 = 0;
  let t2: f32 = 0;
  let t3: f32 = 0;
  for (let k = 0; k < taps; k += 8) {
    const xo = xp + (<usize>k << 2);
    const co = cp + (<usize>k << 2);
    s0 += load<f32>(xo) * load<f32>(co);
    s1 += load<f32>(xo, 4) * load<f32>(co, 4);
    s2 += load<f32>(xo, 8) * load<f32>(co, 8);
    s3 += load<f32>(xo, 12) * load<f32>(co, 12);
    t0 += load<f32>(xo, 16) * load<f32>(co, 16);
    t1 += load<f32>(xo, 20) * load<f32>(co, 20);
    t2 += load<f32>(xo, 24) * load<f32>(co, 24);
    t3 += load<f32>(xo, 28) * load<f32>(co, 28);
  }
  return s0 + t0 + (s1 + t1) + (s2 + t2 + (s3 + t3));
}

// Exact polyphase: one bank row per phase (up rows).
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
  for (let j = 0; j < nOut; j++) {
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

// Float64 variants, the same sums as resample-simd.ts's dot64 in the same order.
@inline
function dot64(xp: usize, cp: usize, taps: i32): f64 {
  let p0: f64 = 0;
  let p1: f64 = 0;
  let p2: f64 = 0;
  let p3: f64 = 0;
  let p4: f64 = 0;
  let p5: f64 = 0;
  let p6: f64 = 0;
  let p7: f64 = 0;
  for (let k = 0; k < taps; k += 8) {
    const xo = xp + (<usize>k << 2);
    const co = cp + (<usize>k << 3);
    p0 += <f64>load<f32>(xo) * load<f64>(co);
    p1 += <f64>load<f32>(xo, 4) * load<f64>(co, 8);
    p2 += <f64>load<f32>(xo, 8) * load<f64>(co, 16);
    p3 += <f64>load<f32>(xo, 12) * load<f64>(co, 24);
    p4 += <f64>load<f32>(xo, 16) * load<f64>(co, 32);
    p5 += <f64>load<f32>(xo, 20) * load<f64>(co, 40);
    p6 += <f64>load<f32>(xo, 24) * load<f64>(co, 48);
    p7 += <f64>load<f32>(xo, 28) * load<f64>(co, 56);
  }
  return p0 + p4 + (p1 + p5) + (p2 + p6 + (p3 + p7));
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
