/**
 * A TFLite model held as plain records (tensors, buffers, operators) and its encoding as a
 * FlatBuffer with the `flatbuffers` package, field slots from `./schema.ts`.
 */
import { Builder, type Offset } from "flatbuffers";
import {
  type BuiltinOptions,
  FILE_IDENTIFIER,
  FieldCount,
  SCHEMA_VERSION,
  Slots,
  type TensorType,
} from "./schema.js";

export type TfliteType = (typeof TensorType)[keyof typeof TensorType];

export interface TfliteQuant {
  scale: ArrayLike<number>;
  zeroPoint: ArrayLike<number>;
  /** Axis of per-channel parameters (0 when per tensor). */
  axis: number;
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: TfliteType;
  /** Index into the buffers; 0 for tensors computed at run time. */
  buffer: number;
  quant?: TfliteQuant;
}

/** Builder-options table of one operator: the union index and a function writing the table. */
export interface TfliteOptions {
  type: (typeof BuiltinOptions)[keyof typeof BuiltinOptions];
  fields: { slot: number; kind: "i8" | "i32" | "f32" | "bool"; value: number; default: number }[];
}

export interface TfliteOp {
  code: number;
  version: number;
  inputs: number[];
  outputs: number[];
  options?: TfliteOptions;
}

export interface TfliteModel {
  tensors: TfliteTensor[];
  /** Buffer 0 is the empty sentinel; constant tensors point at the others. */
  buffers: Uint8Array[];
  ops: TfliteOp[];
  inputs: number[];
  outputs: number[];
  description: string;
  /** Named metadata entries (each stored in a buffer). */
  metadata: Record<string, string>;
}

const intVector = (b: Builder, values: ArrayLike<number>): Offset => {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
};

const floatVector = (b: Builder, values: ArrayLike<number>): Offset => {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
};

const longVector = (b: Builder, values: ArrayLike<number>): Offset => {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]!));
  return b.endVector();
};

const offsetVector = (b: Builder, offsets: Offset[]): Offset => {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
};

/** A table of offset fields (absent when 0) and, optionally, scalar fields written by `more`. */
function offsetTable(b: Builder, fieldCount: number, fields: [number, Offset][], more?: () => void): Offset {
  b.startObject(fieldCount);
  for (const [slot, offset] of fields) if (offset) b.addFieldOffset(slot, offset, 0);
  more?.();
  return b.endObject();
}

/** A `Buffer` table; its data 16-byte aligned (`force_align: 16` in the schema). */
function buffer(b: Builder, data: Uint8Array): Offset {
  let vec = 0;
  if (data.length > 0) {
    b.prep(16, data.length);
    vec = b.createByteVector(data);
  }
  b.startObject(FieldCount.Buffer);
  if (vec) b.addFieldOffset(Slots.Buffer.data, vec, 0);
  return b.endObject();
}

function quantization(b: Builder, q: TfliteQuant): Offset {
  const scale = floatVector(b, q.scale);
  const zp = longVector(b, q.zeroPoint);
  const S = Slots.QuantizationParameters;
  b.startObject(FieldCount.QuantizationParameters);
  b.addFieldOffset(S.scale, scale, 0);
  b.addFieldOffset(S.zero_point, zp, 0);
  b.addFieldInt32(S.quantized_dimension, q.axis, 0);
  return b.endObject();
}

function tensor(b: Builder, t: TfliteTensor): Offset {
  const name = b.createString(t.name);
  const shape = intVector(b, t.shape);
  const quant = t.quant ? quantization(b, t.quant) : 0;
  const S = Slots.Tensor;
  b.startObject(FieldCount.Tensor);
  b.addFieldOffset(S.shape, shape, 0);
  b.addFieldInt8(S.type, t.type, 0);
  b.addFieldInt32(S.buffer, t.buffer, 0);
  b.addFieldOffset(S.name, name, 0);
  if (quant) b.addFieldOffset(S.quantization, quant, 0);
  b.addFieldInt8(S.has_rank, 1, 0);
  return b.endObject();
}

function options(b: Builder, o: TfliteOptions): Offset {
  b.startObject(Math.max(1, ...o.fields.map((f) => f.slot + 1)));
  for (const f of o.fields) {
    if (f.kind === "f32") b.addFieldFloat32(f.slot, f.value, f.default);
    else if (f.kind === "i32") b.addFieldInt32(f.slot, f.value, f.default);
    else b.addFieldInt8(f.slot, f.value, f.default);
  }
  return b.endObject();
}

function operator(b: Builder, op: TfliteOp, opcodeIndex: number): Offset {
  const inputs = intVector(b, op.inputs);
  const outputs = intVector(b, op.outputs);
  const opts = op.options ? options(b, op.options) : 0;
  const S = Slots.Operator;
  b.startObject(FieldCount.Operator);
  b.addFieldInt32(S.opcode_index, opcodeIndex, 0);
  b.addFieldOffset(S.inputs, inputs, 0);
  b.addFieldOffset(S.outputs, outputs, 0);
  if (op.options) {
    b.addFieldInt8(S.builtin_options_type, op.options.type, 0);
    b.addFieldOffset(S.builtin_options, opts, 0);
  }
  return b.endObject();
}

function operatorCode(b: Builder, code: number, version: number): Offset {
  const S = Slots.OperatorCode;
  b.startObject(FieldCount.OperatorCode);
  // Codes below 127 also go into the old byte field (readers of older schemas take the larger).
  b.addFieldInt8(S.deprecated_builtin_code, Math.min(code, 127), 0);
  b.addFieldInt32(S.version, version, 1);
  b.addFieldInt32(S.builtin_code, code, 0);
  return b.endObject();
}

function tensorMaps(b: Builder, model: TfliteModel, indices: number[]): Offset {
  const maps = indices.map((i) => {
    const name = b.createString(model.tensors[i]!.name);
    b.startObject(FieldCount.TensorMap);
    b.addFieldOffset(Slots.TensorMap.name, name, 0);
    b.addFieldInt32(Slots.TensorMap.tensor_index, i, 0);
    return b.endObject();
  });
  return offsetVector(b, maps);
}

function signature(b: Builder, model: TfliteModel): Offset {
  const inputs = tensorMaps(b, model, model.inputs);
  const outputs = tensorMaps(b, model, model.outputs);
  const key = b.createString("serving_default");
  const S = Slots.SignatureDef;
  return offsetTable(
    b,
    FieldCount.SignatureDef,
    [
      [S.inputs, inputs],
      [S.outputs, outputs],
      [S.signature_key, key],
    ],
    () => b.addFieldInt32(S.subgraph_index, 0, 0),
  );
}

function subgraph(b: Builder, model: TfliteModel, opcodeIndex: (op: TfliteOp) => number): Offset {
  const tensors = offsetVector(
    b,
    model.tensors.map((t) => tensor(b, t)),
  );
  const inputs = intVector(b, model.inputs);
  const outputs = intVector(b, model.outputs);
  const ops = offsetVector(
    b,
    model.ops.map((op) => operator(b, op, opcodeIndex(op))),
  );
  const name = b.createString("main");
  const S = Slots.SubGraph;
  return offsetTable(b, FieldCount.SubGraph, [
    [S.tensors, tensors],
    [S.inputs, inputs],
    [S.outputs, outputs],
    [S.operators, ops],
    [S.name, name],
  ]);
}

/** Encodes the model as a `.tflite` FlatBuffer (file identifier "TFL3", schema version 3). */
export function encodeTflite(model: TfliteModel): Uint8Array {
  const dataBytes = model.buffers.reduce((s, d) => s + d.length + 32, 0);
  const b = new Builder(Math.min(2 ** 30, 1024 + dataBytes + 256 * model.tensors.length));
  const metaEntries = Object.entries(model.metadata);
  const allBuffers = [...model.buffers, ...metaEntries.map(([, v]) => new TextEncoder().encode(v))];
  // Data first: the largest vectors sit at the end of the file, the tables before them.
  const buffers = offsetVector(
    b,
    allBuffers.map((d) => buffer(b, d)),
  );
  const codes: string[] = [];
  const opcodeIndex = (op: TfliteOp) => codes.indexOf(`${op.code}:${op.version}`);
  for (const op of model.ops)
    if (!codes.includes(`${op.code}:${op.version}`)) codes.push(`${op.code}:${op.version}`);
  const sg = subgraph(b, model, opcodeIndex);
  const opcodes = offsetVector(
    b,
    codes.map((k) => {
      const [code, version] = k.split(":").map(Number) as [number, number];
      return operatorCode(b, code, version);
    }),
  );
  const sig = signature(b, model);
  const meta = metaEntries.map(([k], i) => {
    const name = b.createString(k);
    b.startObject(FieldCount.Metadata);
    b.addFieldOffset(Slots.Metadata.name, name, 0);
    b.addFieldInt32(Slots.Metadata.buffer, model.buffers.length + i, 0);
    return b.endObject();
  });
  const metaVec = offsetVector(b, meta);
  const description = b.createString(model.description);
  const subgraphs = offsetVector(b, [sg]);
  const sigs = offsetVector(b, [sig]);
  const S = Slots.Model;
  const root = offsetTable(
    b,
    FieldCount.Model,
    [
      [S.operator_codes, opcodes],
      [S.subgraphs, subgraphs],
      [S.description, description],
      [S.buffers, buffers],
      [S.metadata, metaVec],
      [S.signature_defs, sigs],
    ],
    () => b.addFieldInt32(S.version, SCHEMA_VERSION, 0),
  );
  b.finish(root, FILE_IDENTIFIER);
  return b.asUint8Array();
}
