/**
 * The `.eam` model file: reader and writer. The byte layout is specified in docs/format.md;
 * this file follows it section by section.
 */
import * as fs from "node:fs";
import type { ArchConfig, ArchSpec, LayerSpec } from "./arch.js";
import { crc32 } from "./crc32.js";
import { isKnownOp, opDef } from "./ops/index.js";

export const EAM_MAGIC = 0x464d4145; // "EAMF" read as a little-endian u32
export const EAM_VERSION_MAJOR = 1;
export const EAM_VERSION_MINOR = 1;
export const EAM_ALIGNMENT = 64;
export const EAM_FIXED_HEADER_BYTES = 64;

export type DType = "f32" | "f16" | "i8" | "u8" | "i32";
export const DTYPE_CODE: Record<DType, number> = { f32: 0, f16: 1, i8: 2, u8: 3, i32: 4 };
/**
 * Element types in wasm memory that never appear in a file: the int8 layers' i16 im2col rows and
 * Winograd inputs.
 */
export type MemoryOnlyDType = "i16";
/** Bytes of one element of every type, in a file or in wasm memory. */
export const DTYPE_BYTES: Record<DType | MemoryOnlyDType, number> = {
  f32: 4,
  f16: 2,
  i8: 1,
  u8: 1,
  i16: 2,
  i32: 4,
};
const DTYPE_BY_CODE: DType[] = ["f32", "f16", "i8", "u8", "i32"];

/** Typed array holding a tensor's elements (f16 as raw IEEE half bits). */
export type TensorData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array;

/** Value types of the key-value metadata (codes as in docs/format.md). */
export const MetaType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
  JSON: 13,
} as const;
export type MetaTypeCode = (typeof MetaType)[keyof typeof MetaType];

/** A metadata value. Objects are stored as JSON text (type JSON), arrays of one scalar type as ARRAY. */
export type MetaValue = string | number | bigint | boolean | string[] | number[] | boolean[] | JsonObject;
// biome-ignore lint/suspicious/noExplicitAny: JSON values are arbitrary
export type JsonObject = { [key: string]: any };

/** Explicitly typed metadata entry, for when the inferred type is not the one wanted. */
export interface TypedMeta {
  type: MetaTypeCode;
  /** For ARRAY: the element type. */
  elementType?: MetaTypeCode;
  value: MetaValue;
}

/**
 * Quantization parameters of a stored tensor: real = scale * (q - zeroPoint).
 * Per-tensor when `axis` is null (one scale and zero point), per-channel otherwise
 * (one per index along `axis`).
 */
export interface Quantization {
  axis: number | null;
  scales: Float32Array;
  zeroPoints: Int32Array;
}

/** The graph: the architecture's layer list plus its input and output. */
export interface EamGraph {
  input: string;
  /** Input shape without batch, NHWC: [H = mel bands, W = frames, C]. */
  inputShape: number[];
  output: string;
  layers: LayerSpec[];
}

export interface Provenance {
  /** e.g. "resnet152" */
  architecture?: string;
  /** Description of the training data (dataset, split, crops). */
  trainingData?: string;
  /** ISO-8601 creation date. */
  date?: string;
  /** Tool name -> version (e.g. "@tensorflow/tfjs": "4.22.0"). */
  tools?: Record<string, string>;
  /** Free text (e.g. "random weights, seed 1"). */
  notes?: string;
}

export interface TensorInput {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
  quant?: Quantization;
}

export interface ModelContents {
  graph: EamGraph;
  tensors: TensorInput[];
  /** Class labels, index = output unit. */
  labels?: string[];
  /** Mel front-end configuration the model was trained with (opaque JSON). */
  mel?: JsonObject;
  /** Architecture configuration (arch.ts). */
  arch?: ArchConfig;
  provenance?: Provenance;
  /** Further keys. Keys starting with "eam." are reserved. */
  metadata?: Record<string, MetaValue | TypedMeta>;
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Offset of the first byte from the start of the data section (multiple of 64). */
  offset: number;
  nbytes: number;
  crc32: number;
  quant?: Quantization;
}

export interface EamHeader {
  versionMajor: number;
  versionMinor: number;
  flags: number;
  alignment: number;
  headerLength: number;
  dataOffset: number;
  dataLength: number;
  fileLength: number;
  metadata: Map<string, unknown>;
  tensors: TensorInfo[];
  graph: EamGraph;
  labels: string[];
  mel: JsonObject | undefined;
  arch: ArchConfig | undefined;
  provenance: Provenance;
}

export interface EamTensor extends TensorInfo {
  data: TensorData;
}

export interface EamFile extends EamHeader {
  tensorData: Map<string, TensorData>;
  /** Tensor with its data; throws when absent. */
  tensor(name: string): EamTensor;
}

export type EamSection = "file" | "magic" | "version" | "header" | "metadata" | "tensors" | "graph" | "data";

/** Raised for any file that is not a well-formed `.eam` this reader understands. */
export class EamFormatError extends Error {
  override readonly name = "EamFormatError";
  constructor(
    readonly section: EamSection,
    message: string,
  ) {
    super(`invalid .eam file (${section}): ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

const enc = new TextEncoder();

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
  }
  str(s: string): void {
    const b = enc.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  pad(align: number): void {
    const n = (align - (this.length % align)) % align;
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function inferMeta(v: MetaValue | TypedMeta): TypedMeta {
  if (typeof v === "object" && v !== null && !Array.isArray(v) && "type" in v && "value" in v) {
    return v as TypedMeta;
  }
  if (typeof v === "string") return { type: MetaType.STRING, value: v };
  if (typeof v === "boolean") return { type: MetaType.BOOL, value: v };
  if (typeof v === "bigint") return { type: MetaType.I64, value: v };
  if (typeof v === "number") return { type: MetaType.F64, value: v };
  if (Array.isArray(v)) {
    const first = v[0];
    const et =
      typeof first === "string" ? MetaType.STRING : typeof first === "boolean" ? MetaType.BOOL : MetaType.F64;
    return { type: MetaType.ARRAY, elementType: et, value: v };
  }
  return { type: MetaType.JSON, value: v };
}

function writeScalar(w: ByteWriter, type: MetaTypeCode, v: unknown, key: string): void {
  switch (type) {
    case MetaType.U8:
      w.u8(Number(v));
      return;
    case MetaType.I8:
      w.u8(Number(v) & 0xff);
      return;
    case MetaType.U16:
      w.u16(Number(v));
      return;
    case MetaType.I16:
      w.u16(Number(v) & 0xffff);
      return;
    case MetaType.U32:
      w.u32(Number(v));
      return;
    case MetaType.I32:
      w.i32(Number(v));
      return;
    case MetaType.F32:
      w.f32(Number(v));
      return;
    case MetaType.BOOL:
      w.u8(v ? 1 : 0);
      return;
    case MetaType.STRING:
      w.str(String(v));
      return;
    case MetaType.U64:
      w.u64(BigInt(v as number));
      return;
    case MetaType.I64:
      w.i64(BigInt(v as number));
      return;
    case MetaType.F64:
      w.f64(Number(v));
      return;
    case MetaType.JSON:
      w.str(JSON.stringify(v));
      return;
    default:
      throw new Error(`metadata "${key}": type ${type} is not a scalar type`);
  }
}

function checkTensorInput(t: TensorInput): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`tensor ${t.name}: bad shape [${t.shape}]`);
  if (!Object.hasOwn(DTYPE_CODE, t.dtype)) throw new Error(`tensor ${t.name}: unknown dtype ${t.dtype}`);
  if (t.data.byteLength !== n * DTYPE_BYTES[t.dtype])
    throw new Error(
      `tensor ${t.name}: data has ${t.data.byteLength} bytes, shape [${t.shape}] ${t.dtype} needs ${n * DTYPE_BYTES[t.dtype]}`,
    );
  if (t.quant) {
    const q = t.quant;
    const count = q.axis === null ? 1 : t.shape[q.axis];
    if (count === undefined) throw new Error(`tensor ${t.name}: quantization axis ${q.axis} out of range`);
    if (q.scales.length !== count || q.zeroPoints.length !== count)
      throw new Error(`tensor ${t.name}: quantization needs ${count} scales and zero points`);
  }
}

function bytesOf(d: TensorData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

interface Encoded {
  header: Uint8Array;
  /** Data section layout: [tensor index, offset] in file order. */
  layout: { tensor: TensorInput; offset: number }[];
  dataOffset: number;
  dataLength: number;
}

function encodeHeader(c: ModelContents): Encoded {
  const names = new Set<string>();
  for (const t of c.tensors) {
    checkTensorInput(t);
    if (names.has(t.name)) throw new Error(`duplicate tensor name ${t.name}`);
    names.add(t.name);
  }
  const meta = new Map<string, TypedMeta>();
  meta.set("eam.graph", { type: MetaType.JSON, value: c.graph as unknown as JsonObject });
  if (c.labels)
    meta.set("eam.labels", { type: MetaType.ARRAY, elementType: MetaType.STRING, value: c.labels });
  if (c.mel) meta.set("eam.mel", { type: MetaType.JSON, value: c.mel });
  if (c.arch) meta.set("eam.arch", { type: MetaType.JSON, value: c.arch as unknown as JsonObject });
  const p = c.provenance ?? {};
  const prov: Provenance = { date: new Date().toISOString(), ...p };
  if (prov.architecture)
    meta.set("provenance.architecture", { type: MetaType.STRING, value: prov.architecture });
  if (prov.trainingData)
    meta.set("provenance.training_data", { type: MetaType.STRING, value: prov.trainingData });
  if (prov.date) meta.set("provenance.date", { type: MetaType.STRING, value: prov.date });
  if (prov.tools) meta.set("provenance.tools", { type: MetaType.JSON, value: prov.tools });
  if (prov.notes) meta.set("provenance.notes", { type: MetaType.STRING, value: prov.notes });
  for (const [k, v] of Object.entries(c.metadata ?? {})) {
    if (k.startsWith("eam.")) throw new Error(`metadata key ${k}: the "eam." prefix is reserved`);
    meta.set(k, inferMeta(v));
  }

  const w = new ByteWriter();
  // Fixed header; lengths and CRC are patched below.
  w.u32(EAM_MAGIC);
  w.u16(EAM_VERSION_MAJOR);
  w.u16(EAM_VERSION_MINOR);
  w.u32(0); // flags
  w.u32(EAM_ALIGNMENT);
  w.u32(meta.size);
  w.u32(c.tensors.length);
  for (let i = 0; i < 4; i++) w.u64(0); // header_length, data_offset, data_length, file_length
  w.u32(0); // reserved
  w.u32(0); // header crc32
  if (w.length !== EAM_FIXED_HEADER_BYTES) throw new Error("internal: fixed header size");

  for (const [k, m] of meta) {
    w.str(k);
    w.u32(m.type);
    if (m.type === MetaType.ARRAY) {
      const arr = m.value as unknown[];
      const et = m.elementType ?? MetaType.F64;
      if (et === MetaType.ARRAY) throw new Error(`metadata "${k}": nested arrays are not allowed`);
      w.u32(et);
      w.u64(arr.length);
      for (const e of arr) writeScalar(w, et, e, k);
    } else {
      writeScalar(w, m.type, m.value, k);
    }
  }

  const layout: Encoded["layout"] = [];
  let off = 0;
  for (const t of c.tensors) {
    w.str(t.name);
    w.u32(DTYPE_CODE[t.dtype]);
    w.u32(t.shape.length);
    for (const d of t.shape) w.u64(d);
    w.u64(off);
    w.u64(t.data.byteLength);
    w.u32(crc32(bytesOf(t.data)));
    if (!t.quant) {
      w.u32(0);
    } else {
      w.u32(t.quant.axis === null ? 1 : 2);
      w.u32(t.quant.axis ?? 0);
      w.u64(t.quant.scales.length);
      for (const s of t.quant.scales) w.f32(s);
      for (const z of t.quant.zeroPoints) w.i32(z);
    }
    layout.push({ tensor: t, offset: off });
    off += Math.ceil(t.data.byteLength / EAM_ALIGNMENT) * EAM_ALIGNMENT;
  }
  const headerLength = w.length;
  w.pad(EAM_ALIGNMENT);
  const dataOffset = w.length;
  const dataLength = off;
  const header = w.result();
  const dv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  dv.setBigUint64(24, BigInt(headerLength), true);
  dv.setBigUint64(32, BigInt(dataOffset), true);
  dv.setBigUint64(40, BigInt(dataLength), true);
  dv.setBigUint64(48, BigInt(dataOffset + dataLength), true);
  dv.setUint32(60, headerCrc(header.subarray(0, headerLength)), true);
  return { header, layout, dataOffset, dataLength };
}

/** CRC-32 of the header bytes [0, header_length) without the CRC field (bytes 60..63). */
function headerCrc(h: Uint8Array): number {
  return crc32(h.subarray(EAM_FIXED_HEADER_BYTES), crc32(h.subarray(0, 60)));
}

/** Serialises a model into one buffer (convenient for small models and tests). */
export function encodeModel(c: ModelContents): Uint8Array {
  const e = encodeHeader(c);
  const out = new Uint8Array(e.dataOffset + e.dataLength);
  out.set(e.header, 0);
  for (const { tensor, offset } of e.layout) out.set(bytesOf(tensor.data), e.dataOffset + offset);
  return out;
}

/** Writes a model file, streaming tensor data (no copy of the whole model is made). */
export function writeModel(path: string, c: ModelContents): { bytes: number } {
  const e = encodeHeader(c);
  const fd = fs.openSync(path, "w");
  try {
    writeAll(fd, e.header, 0);
    for (const { tensor, offset } of e.layout) writeAll(fd, bytesOf(tensor.data), e.dataOffset + offset);
    const end = e.dataOffset + e.dataLength;
    fs.ftruncateSync(fd, end); // zero padding after the last tensor
  } finally {
    fs.closeSync(fd);
  }
  return { bytes: e.dataOffset + e.dataLength };
}

function writeAll(fd: number, b: Uint8Array, pos: number): void {
  let done = 0;
  while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
}

// ---------------------------------------------------------------------------------------------
// Reader

const dec = new TextDecoder("utf-8", { fatal: true });

class ByteReader {
  pos = 0;
  private view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private section: EamSection,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  setSection(s: EamSection): void {
    this.section = s;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length)
      throw new EamFormatError(this.section, `${what} runs past the end of the header (offset ${this.pos})`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  i8(what: string): number {
    this.need(1, what);
    return this.view.getInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(what: string): number {
    this.need(2, what);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(what: string): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** u64 that must fit a JS safe integer (all sizes and offsets). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new EamFormatError(this.section, `${what} too large (${v})`);
    return Number(v);
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    try {
      const s = dec.decode(this.buf.subarray(this.pos, this.pos + n));
      this.pos += n;
      return s;
    } catch {
      throw new EamFormatError(this.section, `${what} is not valid UTF-8`);
    }
  }
}

/**
 * Deepest nesting of arrays and objects a JSON metadata value may have. The graph needs 4; the
 * bound keeps every later walk of the value (printing, copying, JSON.stringify) off the stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count). */
function jsonNestingExceeds(s: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function readScalar(r: ByteReader, type: number, key: string): unknown {
  const what = `value of "${key}"`;
  switch (type) {
    case MetaType.U8:
      return r.u8(what);
    case MetaType.I8:
      return r.i8(what);
    case MetaType.U16:
      return r.u16(what);
    case MetaType.I16:
      return r.i16(what);
    case MetaType.U32:
      return r.u32(what);
    case MetaType.I32:
      return r.i32(what);
    case MetaType.F32:
      return r.f32(what);
    case MetaType.BOOL: {
      const b = r.u8(what);
      if (b > 1) throw new EamFormatError("metadata", `${what}: bool must be 0 or 1, got ${b}`);
      return b === 1;
    }
    case MetaType.STRING:
      return r.str(what);
    case MetaType.U64: {
      r.need(8, what);
      const v = r.i64(what);
      return BigInt.asUintN(64, v);
    }
    case MetaType.I64:
      return r.i64(what);
    case MetaType.F64:
      return r.f64(what);
    case MetaType.JSON: {
      const s = r.str(what);
      if (jsonNestingExceeds(s, MAX_JSON_DEPTH))
        throw new EamFormatError(
          "metadata",
          `${what}: JSON nested deeper than ${MAX_JSON_DEPTH} levels (arrays and objects within each other)`,
        );
      try {
        return JSON.parse(s);
      } catch {
        throw new EamFormatError("metadata", `${what} is not valid JSON`);
      }
    }
    default:
      throw new EamFormatError("metadata", `key "${key}" has unknown value type ${type}`);
  }
}

function checkGraph(g: unknown): EamGraph {
  const bad = (m: string): never => {
    throw new EamFormatError("graph", m);
  };
  if (typeof g !== "object" || g === null) bad("eam.graph must be a JSON object");
  const graph = g as EamGraph;
  if (typeof graph.input !== "string") bad("input must be a string");
  if (
    !Array.isArray(graph.inputShape) ||
    graph.inputShape.length !== 3 ||
    !graph.inputShape.every((d) => Number.isInteger(d) && d > 0 && d <= MAX_DIM)
  )
    bad(`inputShape must be three positive integers [H, W, C], got ${JSON.stringify(graph.inputShape)}`);
  if (typeof graph.output !== "string") bad("output must be a string");
  if (!Array.isArray(graph.layers)) bad("layers must be an array");
  if (graph.layers.length > MAX_LAYERS)
    bad(`${graph.layers.length} layers, more than the ${MAX_LAYERS} this engine plans (ResNet-152 has 210)`);
  const defined = new Set([graph.input]);
  for (const [i, l] of graph.layers.entries()) {
    if (typeof l !== "object" || l === null || typeof l.name !== "string") bad(`layer ${i} has no name`);
    if (!isKnownOp(l.op)) bad(`layer ${l.name}: unsupported op "${l.op}" (a newer engine may be needed)`);
    checkLayerFields(l, bad);
    const ins = l.op === "add" ? l.inputs : [l.input];
    for (const x of ins) if (!defined.has(x)) bad(`layer ${l.name}: input "${x}" is not defined before it`);
    if (defined.has(l.name)) bad(`layer name ${l.name} is used twice`);
    defined.add(l.name);
  }
  if (!defined.has(graph.output)) bad(`output "${graph.output}" is not produced by any layer`);
  return graph;
}

/**
 * Most layers a graph may declare. Planning time grows with the square of the layer count
 * (2,000 layers take about 0.8 s, 20,000 about a minute), so a small file must not declare more.
 */
export const MAX_LAYERS = 2048;

/** Largest extent of any dimension, kernel or stride a graph may declare. */
const MAX_DIM = 65535;

/** Field types and ranges of one layer, so that no hostile value reaches the planner. */
function checkLayerFields(l: LayerSpec, bad: (m: string) => never): void {
  const f = l as unknown as Record<string, unknown>;
  const where = `layer ${l.name}`;
  const pair = (k: string) => {
    const v = f[k];
    if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1 && d <= MAX_DIM))
      bad(`${where}: ${k} must be two integers in 1..${MAX_DIM}, got ${JSON.stringify(v)}`);
  };
  const count = (k: string) => {
    if (!Number.isInteger(f[k]) || (f[k] as number) < 1 || (f[k] as number) > 1 << 20)
      bad(`${where}: ${k} must be a positive integer, got ${JSON.stringify(f[k])}`);
  };
  const flag = (k: string) => {
    if (typeof f[k] !== "boolean") bad(`${where}: ${k} must be true or false, got ${JSON.stringify(f[k])}`);
  };
  const padding = () => {
    if (f.padding !== "same" && f.padding !== "valid")
      bad(`${where}: padding must be "same" or "valid", got ${JSON.stringify(f.padding)}`);
  };
  if (l.op === "add") {
    if (!Array.isArray(f.inputs) || f.inputs.length !== 2 || !f.inputs.every((x) => typeof x === "string"))
      bad(`${where}: inputs must be two tensor names, got ${JSON.stringify(f.inputs)}`);
  } else if (typeof f.input !== "string") {
    bad(`${where}: input must be a tensor name, got ${JSON.stringify(f.input)}`);
  }
  opDef(l.op).validate({ fields: f, where, bad, pair, count, flag, padding });
}

/** Reads the fixed 64-byte header; returns the declared lengths. */
function parseFixed(b: Uint8Array, fileSize: number) {
  if (b.length < EAM_FIXED_HEADER_BYTES) {
    if (b.length >= 4 && new DataView(b.buffer, b.byteOffset).getUint32(0, true) !== EAM_MAGIC)
      throw new EamFormatError("magic", "not an .eam model file (magic bytes differ)");
    throw new EamFormatError("file", `truncated: ${b.length} bytes, shorter than the 64-byte fixed header`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, EAM_FIXED_HEADER_BYTES);
  if (dv.getUint32(0, true) !== EAM_MAGIC) {
    const shown = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
    throw new EamFormatError(
      "magic",
      `not an .eam model file (starts with ${shown}, expected 45 41 4d 46 "EAMF")`,
    );
  }
  const versionMajor = dv.getUint16(4, true);
  const versionMinor = dv.getUint16(6, true);
  if (versionMajor > EAM_VERSION_MAJOR)
    throw new EamFormatError(
      "version",
      `format version ${versionMajor}.${versionMinor} is newer than this reader (${EAM_VERSION_MAJOR}.x); upgrade @edge-audio/engine-wasm`,
    );
  if (versionMajor < 1) throw new EamFormatError("version", `format version ${versionMajor} is not valid`);
  const flags = dv.getUint32(8, true);
  if (flags !== 0) throw new EamFormatError("header", `unknown flags 0x${flags.toString(16)}`);
  const alignment = dv.getUint32(12, true);
  if (alignment < 8 || (alignment & (alignment - 1)) !== 0)
    throw new EamFormatError("header", `alignment ${alignment} is not a power of two >= 8`);
  const big = (o: number, what: string): number => {
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new EamFormatError("header", `${what} too large (${v})`);
    return Number(v);
  };
  const headerLength = big(24, "header_length");
  const dataOffset = big(32, "data_offset");
  const dataLength = big(40, "data_length");
  const fileLength = big(48, "file_length");
  if (headerLength < EAM_FIXED_HEADER_BYTES)
    throw new EamFormatError("header", `header_length ${headerLength} < 64`);
  if (dataOffset < headerLength || dataOffset % alignment !== 0)
    throw new EamFormatError("header", `data_offset ${dataOffset} is not an aligned offset after the header`);
  if (fileLength !== dataOffset + dataLength)
    throw new EamFormatError("header", `file_length ${fileLength} != data_offset + data_length`);
  if (fileSize < fileLength)
    throw new EamFormatError(
      "file",
      `truncated: the file has ${fileSize} bytes but its header declares ${fileLength} (${fileLength - fileSize} missing)`,
    );
  if (fileSize > fileLength)
    throw new EamFormatError(
      "file",
      `${fileSize - fileLength} unexpected bytes after the declared end (${fileLength})`,
    );
  return {
    versionMajor,
    versionMinor,
    flags,
    alignment,
    kvCount: dv.getUint32(16, true),
    tensorCount: dv.getUint32(20, true),
    headerLength,
    dataOffset,
    dataLength,
    fileLength,
    crc: dv.getUint32(60, true),
  };
}

/** Parses and validates the header region (the bytes [0, header_length)). */
export function parseHeader(h: Uint8Array, fileSize: number): EamHeader {
  const f = parseFixed(h, fileSize);
  if (h.length < f.headerLength) throw new EamFormatError("file", "header region shorter than header_length");
  const region = h.subarray(0, f.headerLength);
  const crc = headerCrc(region);
  if (crc !== f.crc)
    throw new EamFormatError(
      "header",
      `header checksum mismatch (stored ${f.crc.toString(16)}, computed ${crc.toString(16)}): the header is damaged`,
    );
  const r = new ByteReader(region, "metadata");
  r.pos = EAM_FIXED_HEADER_BYTES;
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < f.kvCount; i++) {
    const key = r.str(`key ${i}`);
    const type = r.u32(`type of "${key}"`);
    let value: unknown;
    if (type === MetaType.ARRAY) {
      const et = r.u32(`element type of "${key}"`);
      if (et === MetaType.ARRAY)
        throw new EamFormatError("metadata", `"${key}": nested arrays are not allowed`);
      const n = r.u64(`length of "${key}"`);
      if (n > region.length)
        throw new EamFormatError("metadata", `"${key}": array length ${n} exceeds the header`);
      const arr: unknown[] = [];
      for (let j = 0; j < n; j++) arr.push(readScalar(r, et, key));
      value = arr;
    } else {
      value = readScalar(r, type, key);
    }
    if (metadata.has(key)) throw new EamFormatError("metadata", `duplicate key "${key}"`);
    metadata.set(key, value);
  }

  r.setSection("tensors");
  const tensors: TensorInfo[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < f.tensorCount; i++) {
    const name = r.str(`name of tensor ${i}`);
    const code = r.u32(`dtype of ${name}`);
    const dtype = DTYPE_BY_CODE[code];
    if (!dtype) throw new EamFormatError("tensors", `tensor ${name}: unknown dtype code ${code}`);
    const ndim = r.u32(`rank of ${name}`);
    if (ndim > 8) throw new EamFormatError("tensors", `tensor ${name}: rank ${ndim} > 8`);
    const shape: number[] = [];
    for (let d = 0; d < ndim; d++) shape.push(r.u64(`dim ${d} of ${name}`));
    const offset = r.u64(`offset of ${name}`);
    const nbytes = r.u64(`size of ${name}`);
    const tcrc = r.u32(`checksum of ${name}`);
    const qkind = r.u32(`quantization of ${name}`);
    let quant: Quantization | undefined;
    if (qkind === 1 || qkind === 2) {
      const axis = r.u32(`quantization axis of ${name}`);
      const count = r.u64(`quantization count of ${name}`);
      const expect = qkind === 1 ? 1 : shape[axis];
      if (expect === undefined || count !== expect)
        throw new EamFormatError(
          "tensors",
          `tensor ${name}: ${count} quantization parameters, expected ${expect}`,
        );
      r.need(count * 8, `quantization parameters of ${name}`);
      const scales = new Float32Array(count);
      const zeroPoints = new Int32Array(count);
      for (let j = 0; j < count; j++) scales[j] = r.f32("scale");
      for (let j = 0; j < count; j++) zeroPoints[j] = r.i32("zero point");
      quant = { axis: qkind === 1 ? null : axis, scales, zeroPoints };
    } else if (qkind !== 0) {
      throw new EamFormatError("tensors", `tensor ${name}: unknown quantization kind ${qkind}`);
    }
    const elems = shape.reduce((a, b) => a * b, 1);
    if (nbytes !== elems * DTYPE_BYTES[dtype])
      throw new EamFormatError(
        "tensors",
        `tensor ${name}: size ${nbytes} does not match shape [${shape}] of ${dtype} (${elems * DTYPE_BYTES[dtype]})`,
      );
    if (offset % f.alignment !== 0)
      throw new EamFormatError("tensors", `tensor ${name}: offset ${offset} not aligned to ${f.alignment}`);
    if (offset + nbytes > f.dataLength)
      throw new EamFormatError(
        "tensors",
        `tensor ${name}: bytes [${offset}, ${offset + nbytes}) lie outside the data section (${f.dataLength} bytes)`,
      );
    if (seen.has(name)) throw new EamFormatError("tensors", `duplicate tensor name ${name}`);
    seen.add(name);
    tensors.push({ name, dtype, shape, offset, nbytes, crc32: tcrc, quant });
  }
  if (r.pos !== f.headerLength)
    throw new EamFormatError(
      "header",
      `header_length ${f.headerLength} but the tensor table ends at ${r.pos}`,
    );
  // Overlap check: sort by offset.
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!;
    if (p.offset + p.nbytes > sorted[i]!.offset)
      throw new EamFormatError("tensors", `tensors ${p.name} and ${sorted[i]!.name} overlap`);
  }

  if (!metadata.has("eam.graph")) throw new EamFormatError("metadata", `required key "eam.graph" is missing`);
  const graph = checkGraph(metadata.get("eam.graph"));
  const labels = metadata.get("eam.labels");
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((x) => typeof x === "string")))
    throw new EamFormatError("metadata", `"eam.labels" must be an array of strings`);
  const tools = metadata.get("provenance.tools");
  const provenance: Provenance = {
    architecture: metadata.get("provenance.architecture") as string | undefined,
    trainingData: metadata.get("provenance.training_data") as string | undefined,
    date: metadata.get("provenance.date") as string | undefined,
    tools: tools as Record<string, string> | undefined,
    notes: metadata.get("provenance.notes") as string | undefined,
  };
  return {
    versionMajor: f.versionMajor,
    versionMinor: f.versionMinor,
    flags: f.flags,
    alignment: f.alignment,
    headerLength: f.headerLength,
    dataOffset: f.dataOffset,
    dataLength: f.dataLength,
    fileLength: f.fileLength,
    metadata,
    tensors,
    graph,
    labels: (labels as string[] | undefined) ?? [],
    mel: metadata.get("eam.mel") as JsonObject | undefined,
    arch: metadata.get("eam.arch") as ArchConfig | undefined,
    provenance,
  };
}

/** Reads and validates the header of an open file without touching tensor data. */
export function readHeaderFd(fd: number): EamHeader {
  const size = fs.fstatSync(fd).size;
  const fixed = new Uint8Array(Math.min(EAM_FIXED_HEADER_BYTES, size));
  readFully(fd, fixed, 0);
  const f = parseFixed(fixed, size); // checks declared lengths against the real size before allocating
  const h = new Uint8Array(f.headerLength);
  readFully(fd, h, 0);
  return parseHeader(h, size);
}

export function readFully(fd: number, into: Uint8Array, pos: number): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, pos + done);
    if (n === 0) throw new EamFormatError("file", `unexpected end of file at byte ${pos + done}`);
    done += n;
  }
}

export function tensorChecksumError(t: TensorInfo, computed: number): EamFormatError {
  return new EamFormatError(
    "data",
    `tensor ${t.name}: checksum mismatch (stored ${t.crc32.toString(16)}, computed ${computed.toString(16)}): the tensor data is damaged`,
  );
}

function typedView(dtype: DType, bytes: Uint8Array): TensorData {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case "f32":
      return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    case "f16":
      return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    case "i8":
      return new Int8Array(bytes.buffer, bytes.byteOffset, n);
    case "u8":
      return new Uint8Array(bytes.buffer, bytes.byteOffset, n);
    case "i32":
      return new Int32Array(bytes.buffer, bytes.byteOffset, n);
  }
}

function finish(h: EamHeader, data: Map<string, TensorData>): EamFile {
  return {
    ...h,
    tensorData: data,
    tensor(name: string): EamTensor {
      const info = h.tensors.find((t) => t.name === name);
      const d = data.get(name);
      if (!info || !d) throw new Error(`tensor ${name} not in the model`);
      return { ...info, data: d };
    },
  };
}

/** Fills `dst` with the file's (or buffer's) bytes from byte `pos`. */
export type ReadAt = (dst: Uint8Array, pos: number) => void;

/** Bytes read at a time when a tensor is verified without being kept. */
const VERIFY_CHUNK = 1 << 20;

/**
 * The verification of tensor data: each of `tensors`, in the order given (the table order for a
 * whole file), is read and its CRC-32 compared with the stored one; the first mismatch is
 * refused. `keep` receives each tensor's bytes (read whole, after its checksum passed);
 * without it tensors are read in 1 MiB chunks and dropped.
 */
export function verifyTensorData(
  h: EamHeader,
  tensors: TensorInfo[],
  read: ReadAt,
  keep?: (t: TensorInfo, bytes: Uint8Array) => void,
): void {
  const largest = tensors.reduce((m, t) => Math.max(m, t.nbytes), 0);
  const chunk = keep ? null : new Uint8Array(Math.min(VERIFY_CHUNK, largest));
  for (const t of tensors) {
    const start = h.dataOffset + t.offset;
    let c = 0;
    if (chunk) {
      for (let done = 0; done < t.nbytes; done += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, t.nbytes - done));
        read(part, start + done);
        c = crc32(part, c);
      }
      if (c !== t.crc32) throw tensorChecksumError(t, c);
      continue;
    }
    const bytes = new Uint8Array(t.nbytes);
    read(bytes, start);
    c = crc32(bytes);
    if (c !== t.crc32) throw tensorChecksumError(t, c);
    keep?.(t, bytes);
  }
}

/** Header and a reader of a model file or buffer, closed by `done`. */
function openSource(source: string | Uint8Array): { h: EamHeader; read: ReadAt; done(): void } {
  if (typeof source !== "string") {
    const read: ReadAt = (dst, pos) => dst.set(source.subarray(pos, pos + dst.length));
    return { h: parseHeader(source, source.length), read, done: () => {} };
  }
  const fd = fs.openSync(source, "r");
  try {
    return { h: readHeaderFd(fd), read: (dst, pos) => readFully(fd, dst, pos), done: () => fs.closeSync(fd) };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/**
 * Reads a whole model: header, metadata, graph and every tensor (checksums verified).
 * `source` is a file path or the file's bytes.
 */
export function readModel(source: string | Uint8Array): EamFile {
  const { h, read, done } = openSource(source);
  try {
    const data = new Map<string, TensorData>();
    // each tensor in its own buffer, so every view is aligned whatever the caller's buffer offset
    verifyTensorData(h, h.tensors, read, (t, bytes) => data.set(t.name, typedView(t.dtype, bytes)));
    return finish(h, data);
  } finally {
    done();
  }
}

/**
 * Verifies a model file (or buffer) as readModel does, header and every tensor's checksum, used
 * by the graph or not, without keeping the tensor data; returns the header.
 */
export function verifyModel(source: string | Uint8Array): EamHeader {
  const { h, read, done } = openSource(source);
  try {
    verifyTensorData(h, h.tensors, read);
    return h;
  } finally {
    done();
  }
}

/** Reads only the header (metadata, graph, tensor table) of a model file. */
export function readModelHeader(source: string | Uint8Array): EamHeader {
  const { h, done } = openSource(source);
  done();
  return h;
}

/** The graph of an architecture spec. */
export function graphFromArch(spec: ArchSpec): EamGraph {
  const c = spec.config;
  return {
    input: spec.input,
    inputShape: [c.inputHeight, c.inputWidth, c.inChannels],
    output: spec.output,
    layers: spec.layers,
  };
}
