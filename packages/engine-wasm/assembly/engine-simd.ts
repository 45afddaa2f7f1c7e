export * from "./common";
export * from "./gen/f32-gemm-wasmsimd";
export * from "./gen/f32-igemm-wasmsimd";
export * from "./quant";
