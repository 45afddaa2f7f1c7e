export * from "./common";
export * from "./gen/gemm-wasmsimd";
export * from "./quant";
