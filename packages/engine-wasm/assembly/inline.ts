// Inline helpers shared by the kernel files. Not re-exported by the engine entry files, so they
// are not exports of the kernel modules (every export is in the kernel manifest).

/**
 * Which pixels of the 4 x pw Winograd input patch at (y0, x0) lie inside an ih x iw image: bit
 * pw * i + j for pixel (i, j). (No memory scratch is used for the patch: threads share the memory.)
 */
// @ts-ignore: decorator
@inline export function wino_patch_mask(y0: i32, x0: i32, ih: i32, iw: i32, pw: i32): i32 {
  let mask = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < pw; j++) {
      const yy = y0 + i, xx = x0 + j;
      if (yy >= 0 && yy < ih && xx >= 0 && xx < iw) mask |= 1 << (i * pw + j);
    }
  }
  return mask;
}

/** Byte offset of pair j of row m in a tile-interleaved 16-bit buffer of kp pairs per row. */
// @ts-ignore: decorator
@inline export function a4_off(m: i32, j: i32, kp: i32): usize {
  return ((<usize>(m >> 2) * <usize>kp + <usize>j) << 4) + (<usize>(m & 3) << 2);
}

/**
 * The 64-byte header of a packed qs8 panel of 8 columns from col0: their f32 scales, then their
 * f32 biases (0 past column n).
 */
// @ts-ignore: decorator
@inline export function store_panel_header(d: usize, col0: i32, n: i32, scales: usize, bias: usize): void {
  for (let j = 0; j < 8; j++) {
    const col = col0 + j;
    store<f32>(d + (<usize>j << 2), col < n ? load<f32>(scales + (<usize>col << 2)) : 0);
    store<f32>(d + 32 + (<usize>j << 2), col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
  }
}

// Row `row` of t = G g times G^T: [a, (a + b + c) / 2, (a - b + c) / 2, c] -> U[4 * row + j].
// @ts-ignore: decorator
@inline export function wrow4(d: usize, pb: usize, row: usize, a: v128, b: v128, c: v128, h: v128): void {
  v128.store(d + (row * 4 + 0) * pb, a);
  v128.store(d + (row * 4 + 1) * pb, f32x4.mul(f32x4.add(f32x4.add(a, b), c), h));
  v128.store(d + (row * 4 + 2) * pb, f32x4.mul(f32x4.add(f32x4.sub(a, b), c), h));
  v128.store(d + (row * 4 + 3) * pb, c);
}
// @ts-ignore: decorator
@inline export function wrow1(d: usize, pb: usize, row: usize, a: f32, b: f32, c: f32, h: f32): void {
  store<f32>(d + (row * 4 + 0) * pb, a);
  store<f32>(d + (row * 4 + 1) * pb, (a + b + c) * h);
  store<f32>(d + (row * 4 + 2) * pb, (a - b + c) * h);
  store<f32>(d + (row * 4 + 3) * pb, c);
}

/**
 * U = G g G^T of 4 (or 1) channel pairs with taps g[ky][kx] (the F(2x2,3x3) weight transform),
 * written as U[e] at d + e * pb.
 */
// @ts-ignore: decorator
@inline export function wino_weights4(
  d: usize, pb: usize, g00: v128, g01: v128, g02: v128, g10: v128, g11: v128, g12: v128, g20: v128, g21: v128, g22: v128,
): void {
  const h = f32x4.splat(0.5);
  const t10 = f32x4.mul(f32x4.add(f32x4.add(g00, g10), g20), h);
  const t11 = f32x4.mul(f32x4.add(f32x4.add(g01, g11), g21), h);
  const t12 = f32x4.mul(f32x4.add(f32x4.add(g02, g12), g22), h);
  const t20 = f32x4.mul(f32x4.add(f32x4.sub(g00, g10), g20), h);
  const t21 = f32x4.mul(f32x4.add(f32x4.sub(g01, g11), g21), h);
  const t22 = f32x4.mul(f32x4.add(f32x4.sub(g02, g12), g22), h);
  wrow4(d, pb, 0, g00, g01, g02, h);
  wrow4(d, pb, 1, t10, t11, t12, h);
  wrow4(d, pb, 2, t20, t21, t22, h);
  wrow4(d, pb, 3, g20, g21, g22, h);
}
// @ts-ignore: decorator
@inline export function wino_weights1(
  d: usize, pb: usize, g00: f32, g01: f32, g02: f32, g10: f32, g11: f32, g12: f32, g20: f32, g21: f32, g22: f32,
): void {
  const h: f32 = 0.5;
  const t10 = (g00 + g10 + g20) * h, t11 = (g01 + g11 + g21) * h, t12 = (g02 + g12 + g22) * h;
  const t20 = (g00 - g10 + g20) * h, t21 = (g01 - g11 + g21) * h, t22 = (g02 - g12 + g22) * h;
  wrow1(d, pb, 0, g00, g01, g02, h);
  wrow1(d, pb, 1, t10, t11, t12, h);
  wrow1(d, pb, 2, t20, t21, t22, h);
  wrow1(d, pb, 3, g20, g21, g22, h);
}
