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
