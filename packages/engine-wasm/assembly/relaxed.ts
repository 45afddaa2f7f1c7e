// The relaxed-SIMD kernel module (build/engine-relaxed.wasm): kernels built on
// i32x4.relaxed_dot_i8x16_i7x16_add_s, 16 int8 products per instruction against
// i32x4.dot_i16x8_s's 8. The instruction's result is exact only when every byte of its second
// operand is in [0, 127] (7-bit); beyond that it is implementation-defined. It also has engines
// that get it wrong in one compiler tier (Node 20's Liftoff on x64), so the host compiles this
// module only after src/relaxed.ts has checked the instruction in every tier it will run
// (relaxed_dot_check) and never calls it otherwise. Built with `--enable relaxed-simd` on the
// engine's imported shared memory.

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
