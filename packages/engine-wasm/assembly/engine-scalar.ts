export * from "./common";
export * from "./gen/gemm-scalar";
export * from "./quant";
