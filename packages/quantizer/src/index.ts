export { f16ToF32, f32ToF16, fromF16Array, toF16Array } from "@edge-audio/engine-wasm";
export { activationNames, activationRanges, type Calibration, calibrate } from "./calibrate.js";
export { type Clip, clipCrops, DataError, heldOut, listClips, splitClips } from "./data.js";
export { type EvalResult, evaluateModel } from "./evaluate.js";
export * from "./export/index.js";
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
export {
  calibrationCrops,
  type LayerSensitivity,
  logitsName,
  QuantizeError,
  type QuantizeOptions,
  type QuantizeResult,
  quantizeModel,
  runLogits,
} from "./quantize.js";
export {
  accuracySizeSvg,
  makeReport,
  type Report,
  type ReportOptions,
  type ReportRow,
  type ReportVariant,
  reportMarkdown,
  SEVEN_BIT_MODES,
  variantMode,
} from "./report.js";
export {
  type ActivationQuant,
  buildVariant,
  defaultPrecisions,
  MODES,
  type Mode,
  type Precision,
  paramsSource,
  pruneMagnitude,
  type QuantSpec,
  settlePrecisions,
  sevenBitLayers,
  tensorsNeedingParams,
  toActivationQuant7,
  weightLayers,
} from "./variants.js";
