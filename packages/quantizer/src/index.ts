export { f16ToF32, f32ToF16, fromF16Array, toF16Array } from "./f16.js";
export {
  activationParams,
  axisStrides,
  dequantizeSymmetric,
  fakeQuantActivation,
  type QuantizedWeights,
  quantizeSymmetric,
} from "./int8.js";
export { sqnrDb, top1Agreement } from "./metrics.js";
export { type Range, type RangeMethod, RangeObserver } from "./observers.js";
