export * from "./arch.js";
export { crc32 } from "./crc32.js";
export { buildSteps, splitRange } from "./executor.js";
export { f16ToF32, f32ToF16, fromF16Array, toF16Array } from "./f16.js";
export type { FmaStatus, FmaTierCheck } from "./fma-check.js";
export * from "./format.js";
export { activationRoot, nonNegativeTensors, parseInputBits, sevenBitCandidates } from "./input-bits.js";
export { packInt4Weights, unpackInt4 } from "./int4.js";
export {
  DEFAULT_MAX_MEMORY_BYTES,
  DEFAULT_MAX_WORK_PER_CROP,
  EamLimitError,
  type Limits,
  melWorkPerCrop,
} from "./limits.js";
export {
  type LoadOptions,
  loadModel,
  loadModelFromBytes,
  Model,
  type ModelInfo,
  quantConfig,
} from "./model.js";
export { winogradTileFor } from "./ops/lower-f32.js";
export { writeParamBlock } from "./param-block.js";
export type { Precision, WinogradTileChoice } from "./plan/types.js";
export { createRandomModel, mulberry32, randomCrop, writeRandomModel } from "./random.js";
export * from "./reference.js";
export {
  fmaStatus,
  instantiateRelaxed,
  type RelaxedKernelExports,
  type RelaxedSimdStatus,
  type RelaxedTierCheck,
  relaxedKernelModule,
  relaxedSimdStatus,
} from "./relaxed.js";
export {
  createMemory,
  GEMM_TILES,
  hostHasSimd,
  type Isa,
  instantiate,
  type KernelExports,
  kernelModule,
} from "./wasm.js";
