/**
 * A reader for the `.tflite` files the writer makes (tests only): the tables and fields of
 * `src/export/tflite/schema.ts`, read back with the flatbuffers ByteBuffer.
 */
import { ByteBuffer } from "flatbuffers";
import { Slots } from "../../src/export/tflite/schema.js";

export interface ReadTensor {
  name: string;
  shape: number[];
  type: number;
  buffer: number;
  scale: number[];
  zeroPoint: number[];
  axis: number;
}
export interface ReadOp {
  code: number;
  version: number;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  /** Raw options table position (read fields with `field`). */
  options: number;
}
export interface ReadModel {
  identifier: string;
  version: number;
  tensors: ReadTensor[];
  ops: ReadOp[];
  inputs: number[];
  outputs: number[];
  buffers: Uint8Array[];
  /** Offset of each buffer's data in the file (for the alignment check). */
  bufferOffsets: number[];
  metadata: Record<string, string>;
  bb: ByteBuffer;
}

const vtableOffset = (bb: ByteBuffer, table: number, slot: number) => bb.__offset(table, 4 + 2 * slot);

export function fieldInt(bb: ByteBuffer, table: number, slot: number, size: 1 | 4, def = 0): number {
  const o = vtableOffset(bb, table, slot);
  if (!o) return def;
  return size === 1 ? bb.readInt8(table + o) : bb.readInt32(table + o);
}
export function fieldFloat(bb: ByteBuffer, table: number, slot: number, def = 0): number {
  const o = vtableOffset(bb, table, slot);
  return o ? bb.readFloat32(table + o) : def;
}
function fieldTable(bb: ByteBuffer, table: number, slot: number): number {
  const o = vtableOffset(bb, table, slot);
  return o ? bb.__indirect(table + o) : 0;
}
function fieldString(bb: ByteBuffer, table: number, slot: number): string {
  const o = vtableOffset(bb, table, slot);
  return o ? (bb.__string(table + o) as string) : "";
}
function vector(bb: ByteBuffer, table: number, slot: number): { start: number; length: number } {
  const o = vtableOffset(bb, table, slot);
  if (!o) return { start: 0, length: 0 };
  return { start: bb.__vector(table + o), length: bb.__vector_len(table + o) };
}
function ints(bb: ByteBuffer, table: number, slot: number): number[] {
  const v = vector(bb, table, slot);
  return Array.from({ length: v.length }, (_, i) => bb.readInt32(v.start + 4 * i));
}
function tables(bb: ByteBuffer, table: number, slot: number): number[] {
  const v = vector(bb, table, slot);
  return Array.from({ length: v.length }, (_, i) => bb.__indirect(v.start + 4 * i));
}

export function readTflite(bytes: Uint8Array): ReadModel {
  const bb = new ByteBuffer(bytes);
  const model = bb.readInt32(0);
  const identifier = String.fromCharCode(...bytes.subarray(4, 8));
  const M = Slots.Model;
  const buffers: Uint8Array[] = [];
  const bufferOffsets: number[] = [];
  for (const b of tables(bb, model, M.buffers)) {
    const v = vector(bb, b, Slots.Buffer.data);
    buffers.push(bytes.subarray(v.start, v.start + v.length));
    bufferOffsets.push(v.start);
  }
  const codes = tables(bb, model, M.operator_codes).map((c) => ({
    code: fieldInt(bb, c, Slots.OperatorCode.builtin_code, 4),
    version: fieldInt(bb, c, Slots.OperatorCode.version, 4, 1),
  }));
  const sg = tables(bb, model, M.subgraphs)[0]!;
  const T = Slots.Tensor;
  const tensors = tables(bb, sg, Slots.SubGraph.tensors).map((t) => {
    const q = fieldTable(bb, t, T.quantization);
    const Q = Slots.QuantizationParameters;
    const sv = q ? vector(bb, q, Q.scale) : { start: 0, length: 0 };
    const zv = q ? vector(bb, q, Q.zero_point) : { start: 0, length: 0 };
    return {
      name: fieldString(bb, t, T.name),
      shape: ints(bb, t, T.shape),
      type: fieldInt(bb, t, T.type, 1),
      buffer: fieldInt(bb, t, T.buffer, 4),
      scale: Array.from({ length: sv.length }, (_, i) => bb.readFloat32(sv.start + 4 * i)),
      zeroPoint: Array.from({ length: zv.length }, (_, i) => Number(bb.readInt64(zv.start + 8 * i))),
      axis: q ? fieldInt(bb, q, Q.quantized_dimension, 4) : 0,
    };
  });
  const O = Slots.Operator;
  const ops = tables(bb, sg, Slots.SubGraph.operators).map((o) => {
    const c = codes[fieldInt(bb, o, O.opcode_index, 4)]!;
    return {
      ...c,
      inputs: ints(bb, o, O.inputs),
      outputs: ints(bb, o, O.outputs),
      optionsType: fieldInt(bb, o, O.builtin_options_type, 1),
      options: fieldTable(bb, o, O.builtin_options),
    };
  });
  const metadata: Record<string, string> = {};
  for (const m of tables(bb, model, M.metadata))
    metadata[fieldString(bb, m, Slots.Metadata.name)] = new TextDecoder().decode(
      buffers[fieldInt(bb, m, Slots.Metadata.buffer, 4)],
    );
  return {
    identifier,
    version: fieldInt(bb, model, M.version, 4),
    tensors,
    ops,
    inputs: ints(bb, sg, Slots.SubGraph.inputs),
    outputs: ints(bb, sg, Slots.SubGraph.outputs),
    buffers,
    bufferOffsets,
    metadata,
    bb,
  };
}
