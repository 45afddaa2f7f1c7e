/**
 * The parts of TensorFlow Lite's FlatBuffers schema the writer uses: table field slots (the
 * vtable index of each field, in declaration order; a union field takes two, its `_type` first),
 * enum values and `BuiltinOptions` union indices. The schema itself is kept as a data file,
 * `packages/quantizer/schema/schema.fbs` (Apache-2.0, from the TensorFlow repository), and
 * `test/tflite-schema.test.ts` checks every number here against it.
 */

export const FILE_IDENTIFIER = "TFL3";
/** `Model.version` of schema version 3. */
export const SCHEMA_VERSION = 3;

export const Slots = {
  Model: {
    version: 0,
    operator_codes: 1,
    subgraphs: 2,
    description: 3,
    buffers: 4,
    metadata_buffer: 5,
    metadata: 6,
    signature_defs: 7,
  },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5, has_rank: 8 },
  QuantizationParameters: { min: 0, max: 1, scale: 2, zero_point: 3, quantized_dimension: 6 },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4 },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3 },
  Buffer: { data: 0, offset: 1, size: 2 },
  Metadata: { name: 0, buffer: 1 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, subgraph_index: 4 },
  TensorMap: { name: 0, tensor_index: 1 },
  Conv2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    fused_activation_function: 3,
    dilation_w_factor: 4,
    dilation_h_factor: 5,
  },
  Pool2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    filter_width: 3,
    filter_height: 4,
    fused_activation_function: 5,
  },
  AddOptions: { fused_activation_function: 0, pot_scale_int16: 1 },
  FullyConnectedOptions: {
    fused_activation_function: 0,
    weights_format: 1,
    keep_num_dims: 2,
    asymmetric_quantize_inputs: 3,
  },
  SoftmaxOptions: { beta: 0 },
  ReducerOptions: { keep_dims: 0 },
} as const;

/** Number of fields (vtable slots) of each table, for `startObject`. */
export const FieldCount = {
  Model: 8,
  SubGraph: 5,
  Tensor: 10,
  QuantizationParameters: 7,
  Operator: 13,
  OperatorCode: 4,
  Buffer: 3,
  Metadata: 2,
  SignatureDef: 5,
  TensorMap: 2,
  Conv2DOptions: 7,
  Pool2DOptions: 6,
  AddOptions: 2,
  FullyConnectedOptions: 5,
  SoftmaxOptions: 1,
  ReducerOptions: 1,
  DequantizeOptions: 0,
  QuantizeOptions: 0,
} as const;

export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;
export const Padding = { SAME: 0, VALID: 1 } as const;
export const ActivationFunctionType = { NONE: 0, RELU: 1 } as const;

export const BuiltinOperator = {
  ADD: 0,
  CONV_2D: 3,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17,
  SOFTMAX: 25,
  MEAN: 40,
  QUANTIZE: 114,
} as const;

/** `BuiltinOptions` union: the index of each options table. */
export const BuiltinOptions = {
  Conv2DOptions: 1,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  AddOptions: 11,
  ReducerOptions: 27,
  DequantizeOptions: 38,
  QuantizeOptions: 89,
} as const;
