/**
 * The tester of every kernel family of the manifest (src/gen/kernels.ts, from
 * scripts/kernel-manifest.mjs): the test files whose describe blocks drive that family's
 * kernels over the shape table (test/kernel-shapes.ts). A family without an entry does not
 * type-check, and test/kernel-manifest.test.ts fails when a kernel is called by none of its
 * family's testers.
 */
import type { KernelFamily } from "../dist/gen/kernels.js";

export const KERNEL_TESTERS: Record<KernelFamily, readonly string[]> = {
  "f32-gemm": ["kernels.test.ts"],
  "f32-igemm": ["kernels.test.ts"],
  "f32-wino": ["kernels.test.ts"],
  maxpool: ["kernels.test.ts", "quant-kernels.test.ts"],
  vadd: ["kernels.test.ts", "quant-kernels.test.ts"],
  gap: ["kernels.test.ts", "quant-kernels.test.ts"],
  softmax: ["kernels.test.ts"],
  "f16w-igemm": ["quant-kernels.test.ts"],
  "f16w-wino": ["quant-kernels.test.ts"],
  "qs8-gemm16": ["quant-kernels.test.ts"],
  "qs8-wino": ["quant-kernels.test.ts"],
  quantize: ["quant-kernels.test.ts"],
  module: ["kernel-manifest.test.ts"],
  peak: ["kernel-manifest.test.ts", "relaxed.test.ts", "fma.test.ts"],
  "relaxed-check": ["relaxed.test.ts", "fma.test.ts"],
  "f32-fma-gemm": ["fma.test.ts"],
  "f32-fma-igemm": ["fma.test.ts"],
  "f16w-fma-igemm": ["fma.test.ts"],
  "f16w-fma-wino": ["fma.test.ts"],
  "qs8-rdot": ["relaxed.test.ts"],
  layout: ["kernel-manifest.test.ts", "quant-kernels.test.ts"],
};
