export * from "./common";
export * from "./gen/f32-gemm-scalar";
export * from "./gen/f32-igemm-scalar";
export * from "./quant";
