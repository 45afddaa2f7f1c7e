export * from "./common";
export * from "./gen/gemm-wasmsimd";
