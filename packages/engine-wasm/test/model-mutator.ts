/**
 * Structure-aware mutation of `.eam` models for the fuzzers: a map of every field of a file's
 * header (metadata entries, tensor table entries), checksum repair after a binary edit, and
 * mutations of a model's contents (graph fields, names, shapes, tensors, quantization parameters,
 * Mel configuration, labels, metadata) that are written back with valid checksums, so that every
 * mutation reaches the checks behind the checksums.
 */
import { crc32, type LayerSpec, type ModelContents } from "../dist/index.js";

export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** One field of the header: its byte offset, width and what it is. */
export interface HeaderField {
  at: number;
  kind: "u32" | "u64" | "f32" | "i32";
  what: string;
  /** The tensor whose table entry holds it. */
  tensor?: string;
}

export interface HeaderMap {
  fields: HeaderField[];
  /** Byte offset after each metadata entry, then after each table entry. */
  entryEnds: { at: number; what: string }[];
  /** Table entry of each tensor: where its checksum is stored and where its data lie. */
  tensors: { name: string; crcAt: number; offsetAt: number; sizeAt: number; start: number; nbytes: number }[];
  headerLength: number;
  dataOffset: number;
}

/** Walks a well-formed file's header and lists its fields. */
export function headerMap(b: Uint8Array): HeaderMap {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: HeaderField[] = [];
  const entryEnds: HeaderMap["entryEnds"] = [];
  const tensors: HeaderMap["tensors"] = [];
  const u64 = (at: number) => Number(dv.getBigUint64(at, true));
  let p = 64;
  const field = (kind: HeaderField["kind"], what: string, tensor?: string) => {
    fields.push({ at: p, kind, what, tensor });
    p += kind === "u64" ? 8 : 4;
  };
  const str = (what: string, tensor?: string) => {
    const n = u64(p);
    field("u64", `${what} length`, tensor);
    p += n;
  };
  const scalar = (t: number, what: string) => {
    if (t === 8 || t === 13) str(what);
    else p += [1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8][t]!;
  };
  const dataOffset = u64(32);
  const kv = dv.getUint32(16, true);
  for (let i = 0; i < kv; i++) {
    str(`key ${i}`);
    const t = dv.getUint32(p, true);
    field("u32", `type of entry ${i}`);
    if (t === 9) {
      const et = dv.getUint32(p, true);
      field("u32", `element type of entry ${i}`);
      const n = u64(p);
      field("u64", `length of entry ${i}`);
      for (let j = 0; j < n; j++) scalar(et, `element ${j} of entry ${i}`);
    } else scalar(t, `value of entry ${i}`);
    entryEnds.push({ at: p, what: `end of metadata entry ${i}` });
  }
  const count = dv.getUint32(20, true);
  for (let i = 0; i < count; i++) {
    const nameLen = u64(p);
    const name = new TextDecoder().decode(b.subarray(p + 8, p + 8 + nameLen));
    str("name", name);
    field("u32", "dtype", name);
    const rank = dv.getUint32(p, true);
    field("u32", "rank", name);
    for (let d = 0; d < rank; d++) field("u64", `dim ${d}`, name);
    const offsetAt = p;
    const offset = u64(p);
    field("u64", "offset", name);
    const sizeAt = p;
    const nbytes = u64(p);
    field("u64", "size", name);
    tensors.push({ name, crcAt: p, offsetAt, sizeAt, start: dataOffset + offset, nbytes });
    field("u32", "checksum", name);
    const q = dv.getUint32(p, true);
    field("u32", "quantization kind", name);
    if (q !== 0) {
      field("u32", "quantization axis", name);
      const n = u64(p);
      field("u64", "quantization count", name);
      for (let j = 0; j < n; j++) field("f32", `scale ${j}`, name);
      for (let j = 0; j < n; j++) field("i32", `zero point ${j}`, name);
    }
    entryEnds.push({ at: p, what: `end of table entry ${name}` });
  }
  return { fields, entryEnds, tensors, headerLength: u64(24), dataOffset };
}

/** Recomputes the header checksum (after an edit of the header). */
export function fixHeaderCrc(b: Uint8Array): Uint8Array {
  if (b.length < 64) return b;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hl = Number(dv.getBigUint64(24, true));
  if (hl >= 64 && hl <= b.length) dv.setUint32(60, crc32(b.subarray(64, hl), crc32(b.subarray(0, 60))), true);
  return b;
}

/** Recomputes one tensor's stored checksum from its data, then the header checksum. */
export function fixTensorCrc(b: Uint8Array, t: HeaderMap["tensors"][number]): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint32(
    t.crcAt,
    crc32(b.subarray(t.start, t.start + t.nbytes)),
    true,
  );
  return fixHeaderCrc(b);
}

const U32_VALUES = [0, 1, 2, 3, 4, 5, 8, 9, 13, 14, 255, 65535, 2 ** 31, 2 ** 32 - 1];
const U64_VALUES = [
  0n,
  1n,
  2n,
  3n,
  63n,
  64n,
  65n,
  4096n,
  65535n,
  65536n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n,
  2n ** 64n - 1n,
];
const F32_VALUES = [
  Number.NaN,
  0,
  -0,
  -1,
  Number.POSITIVE_INFINITY,
  1e-45,
  1e-40,
  1e-38,
  1e-30,
  1e30,
  3.4e38,
  0.5,
  1,
];
const I32_VALUES = [0, 1, -1, 127, 128, -128, -129, 2 ** 31 - 1, -(2 ** 31)];

/**
 * A binary, structure-aware mutation: a header field set to a boundary value of its type (a
 * dimension, offset, size, dtype, rank, quantization kind/axis/count/scale/zero point, a length),
 * or bytes of a tensor's data changed; checksums recomputed so the change reaches the checks
 * behind them. Returns the mutant and what was done.
 */
export function mutateBinary(good: Uint8Array, map: HeaderMap, r: Rand): { bytes: Uint8Array; what: string } {
  const b = good.slice();
  const dv = new DataView(b.buffer);
  if (r() < 0.25) {
    const t = pick(
      r,
      map.tensors.filter((x) => x.nbytes > 0),
    );
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      const at = t.start + Math.floor(r() * t.nbytes);
      const aligned = at - ((at - t.start) % 4);
      if (r() < 0.5 && aligned + 4 <= t.start + t.nbytes) dv.setFloat32(aligned, pick(r, F32_VALUES), true);
      else b[at] = Math.floor(r() * 256);
    }
    return { bytes: fixTensorCrc(b, t), what: `data of ${t.name}` };
  }
  const f = pick(r, map.fields);
  if (f.kind === "u32") dv.setUint32(f.at, r() < 0.8 ? pick(r, U32_VALUES) : Math.floor(r() * 2 ** 32), true);
  else if (f.kind === "u64") {
    const cur = dv.getBigUint64(f.at, true);
    const v = r() < 0.6 ? pick(r, U64_VALUES) : cur + BigInt(Math.floor(r() * 17) - 8);
    dv.setBigUint64(f.at, BigInt.asUintN(64, v), true);
  } else if (f.kind === "f32") dv.setFloat32(f.at, pick(r, F32_VALUES), true);
  else dv.setInt32(f.at, pick(r, I32_VALUES), true);
  const what = `${f.tensor ? `${f.tensor} ` : ""}${f.what}`;
  // a tensor's checksum follows its (new) extent, unless the checksum itself was the target
  const t = map.tensors.find((x) => x.name === f.tensor);
  if (t && f.what !== "checksum") {
    const start = map.dataOffset + Number(dv.getBigUint64(t.offsetAt, true));
    const nbytes = Number(dv.getBigUint64(t.sizeAt, true));
    if (start + nbytes <= b.length) fixTensorCrc(b, { ...t, start, nbytes });
  }
  return { bytes: fixHeaderCrc(b), what };
}

// ---------------------------------------------------------------------------------------------
// Mutations of the contents (written back by encodeModel, which computes every checksum)

const PROTO = Object.getOwnPropertyNames(Object.prototype);

/** Hostile values by field, of the right JSON type and of the wrong one. */
const FIELD_VALUES: Record<string, unknown[]> = {
  kernel: [[1, 1], [3, 3], [7, 7], [1, 9], [16, 16], [17, 17], [0, 1], [65535, 65535], [2.5, 1], [1], null],
  stride: [[1, 1], [2, 2], [3, 1], [16, 16], [65535, 65535], [0, 0], [1.5, 1], "2"],
  pool: [
    [1, 1],
    [2, 2],
    [3, 3],
    [9, 9],
    [17, 17],
    [65535, 65535],
    [0, 0],
    [-3, 3],
  ],
  filters: [1, 2, 3, 4, 8, 64, 4096, 65536, 0, -1, 1.5, 1e9],
  units: [1, 2, 3, 4, 5, 1000, 0, -1, 1e9, "4"],
  padding: ["same", "valid", "full", null],
  relu: [true, false, 1, null],
  bn: [true, false, "yes"],
  rate: [0, 0.5, 0.99, 1, -1, null],
};

const SCALES = [
  Number.NaN,
  0,
  -1,
  Number.POSITIVE_INFINITY,
  1e-50,
  1e-40,
  1e-38,
  1e-30,
  1e30,
  1e38,
  1e39,
  1e-3,
  2,
];
const ZERO_POINTS: unknown[] = [0, 1, -1, 127, -128, 128, -129, 1.5, "0", null];
const MEL_VALUES: unknown[] = [
  1,
  2,
  3,
  7,
  32,
  512,
  4096,
  65536,
  2 ** 20,
  2 ** 24,
  0,
  -1,
  1.5,
  1e9,
  null,
  "x",
];
const SHAPE_DIMS = [1, 2, 3, 4, 8, 15, 16, 17, 31, 64, 256, 1024, 4096, 65535];
const PRECISIONS: unknown[] = ["f32", "f16", "dynamic", "int8", "int4", "int3", 8, null];

type Mutation = (c: ModelContents, r: Rand) => string;

function layerWith(c: ModelContents, r: Rand, pred: (l: LayerSpec) => boolean): LayerSpec | undefined {
  const ls = c.graph.layers.filter(pred);
  return ls.length ? pick(r, ls) : undefined;
}

const asRecord = (x: unknown) => x as Record<string, unknown>;

/** Sets an own property, also for names such as `__proto__` that an assignment would not create. */
function setOwn(o: object, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
}

function metaRecord(c: ModelContents, key: string): Record<string, unknown> | undefined {
  const m = c.metadata?.[key];
  return typeof m === "object" && m !== null && !Array.isArray(m) ? asRecord(m) : undefined;
}

/** Every name in the graph (input and layers). */
const graphNames = (c: ModelContents) => [c.graph.input, ...c.graph.layers.map((l) => l.name)];

/** Renames a tensor everywhere it is referred to (graph, weights, quant keys), or only in the graph. */
function rename(c: ModelContents, from: string, to: string, everywhere: boolean): void {
  const map = (n: string) => (n === from ? to : n);
  const g = c.graph;
  g.input = map(g.input);
  g.output = map(g.output);
  for (const l of g.layers) {
    l.name = map(l.name);
    if (l.op === "add") l.inputs = [map(l.inputs[0]), map(l.inputs[1])];
    else l.input = map(l.input);
  }
  if (!everywhere) return;
  for (const t of c.tensors)
    for (const s of [".weight", ".bias", ".weight_scale"]) if (t.name === `${from}${s}`) t.name = `${to}${s}`;
  for (const key of ["quant.layers", "quant.activations"]) {
    const m = metaRecord(c, key);
    if (m && Object.hasOwn(m, from)) {
      const v = m[from];
      delete m[from];
      setOwn(m, to, v);
    }
  }
}

const MUTATIONS: [string, Mutation][] = [
  [
    "op parameter",
    (c, r) => {
      const l = layerWith(c, r, (x) => x.op !== "softmax" && x.op !== "gap")!;
      const keys = Object.keys(l).filter((k) => k in FIELD_VALUES);
      if (!keys.length) return "no parameter";
      const k = pick(r, keys);
      const v = pick(r, FIELD_VALUES[k]!);
      asRecord(l)[k] = v;
      return `${l.name}.${k} = ${JSON.stringify(v)}`;
    },
  ],
  [
    "input shape",
    (c, r) => {
      const s = c.graph.inputShape;
      const i = Math.floor(r() * 3);
      s[i] = r() < 0.8 ? pick(r, SHAPE_DIMS) : pick(r, [0, -1, 1.5, 65536]);
      return `inputShape = [${s}]`;
    },
  ],
  [
    "prototype name",
    (c, r) => {
      const from = pick(r, graphNames(c));
      const to = pick(r, PROTO);
      const everywhere = r() < 0.7;
      rename(c, from, to, everywhere);
      return `${from} renamed ${to}${everywhere ? "" : " in the graph only"}`;
    },
  ],
  [
    "name collision",
    (c, r) => {
      const names = graphNames(c);
      const from = pick(r, names);
      const to = r() < 0.2 ? "" : pick(r, names);
      rename(c, from, to, r() < 0.5);
      return `${from} renamed ${JSON.stringify(to)}`;
    },
  ],
  [
    "graph output",
    (c, r) => {
      c.graph.output = r() < 0.8 ? pick(r, graphNames(c)) : pick(r, [...PROTO, "nope"]);
      return `output = ${c.graph.output}`;
    },
  ],
  [
    "layer removed, duplicated or inserted",
    (c, r) => {
      const ls = c.graph.layers;
      const i = Math.floor(r() * ls.length);
      const k = r();
      if (k < 0.3) {
        const [gone] = ls.splice(i, 1);
        return `${gone!.name} removed`;
      }
      if (k < 0.5) {
        ls.splice(i, 0, structuredClone(ls[i]!));
        return `${ls[i]!.name} duplicated`;
      }
      const input = i > 0 ? ls[i - 1]!.name : c.graph.input;
      const name = `ins${i}`;
      const added: LayerSpec = pick(r, [
        { op: "maxpool", name, input, pool: [2, 2], stride: [2, 2], padding: pick(r, ["same", "valid"]) },
        { op: "softmax", name, input },
        { op: "gap", name, input },
        { op: "dropout", name, input, rate: 0.5 },
        { op: "dense", name, input, units: 4 },
        { op: "add", name, inputs: [input, input], relu: true },
      ] as LayerSpec[]);
      ls.splice(i, 0, added);
      if (ls[i + 1] && ls[i + 1]!.op !== "add") (ls[i + 1] as { input: string }).input = name;
      return `${added.op} ${name} inserted`;
    },
  ],
  [
    "tensor shape or dtype",
    (c, r) => {
      const t = pick(r, c.tensors);
      const k = r();
      if (k < 0.4 && t.dtype === "f32") {
        const shape = [...t.shape];
        const d = Math.floor(r() * shape.length);
        shape[d] = Math.max(0, shape[d]! + pick(r, [-1, 1, 7]));
        t.shape = shape;
        t.data = new Float32Array(shape.reduce((a, x) => a * x, 1)).fill(0.01);
        t.quant = undefined;
        return `${t.name} shape [${shape}]`;
      }
      if (k < 0.6 && t.dtype === "f32") {
        t.dtype = "f16";
        t.data = new Uint16Array(t.data.length).fill(0x2000);
        return `${t.name} as f16`;
      }
      if (k < 0.8) {
        c.tensors.splice(c.tensors.indexOf(t), 1);
        return `${t.name} removed`;
      }
      c.tensors.push({
        name: pick(r, [...PROTO, "extra"]),
        dtype: "f32",
        shape: [3],
        data: new Float32Array(3),
      });
      return "extra tensor";
    },
  ],
  [
    "tensor values",
    (c, r) => {
      const t = pick(
        r,
        c.tensors.filter((x) => x.dtype === "f32" && x.data.length > 0),
      );
      const v = pick(r, [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        -Number.POSITIVE_INFINITY,
        3e38,
        -3e38,
        1e-45,
        1e20,
      ]);
      const n = 1 + Math.floor(r() * 3);
      for (let i = 0; i < n; i++) (t.data as Float32Array)[Math.floor(r() * t.data.length)] = v;
      return `${t.name} holds ${v}`;
    },
  ],
  [
    "weight quantization",
    (c, r) => {
      const qs = c.tensors.filter((x) => x.quant);
      const s4 = c.tensors.filter((x) => x.name.endsWith(".weight_scale"));
      if (!qs.length && !s4.length) return "no quantized tensor";
      if (s4.length && (r() < 0.4 || !qs.length)) {
        const t = pick(r, s4);
        const v = pick(r, SCALES);
        (t.data as Float32Array)[Math.floor(r() * t.data.length)] = v;
        return `${t.name} holds ${v}`;
      }
      const t = pick(r, qs);
      const q = t.quant!;
      const k = r();
      if (k < 0.5) {
        const v = pick(r, SCALES);
        q.scales[Math.floor(r() * q.scales.length)] = v;
        return `${t.name} scale ${v}`;
      }
      if (k < 0.75) {
        q.zeroPoints[Math.floor(r() * q.zeroPoints.length)] = pick(r, [1, -1, 127, -128]);
        return `${t.name} zero point`;
      }
      const perTensor = q.axis !== null;
      const axis = perTensor ? null : t.shape.length - 1;
      const n = axis === null ? 1 : t.shape[axis]!;
      t.quant = { axis, scales: new Float32Array(n).fill(q.scales[0]!), zeroPoints: new Int32Array(n) };
      return `${t.name} quantized per ${perTensor ? "tensor" : "channel"}`;
    },
  ],
  [
    "quant.layers",
    (c, r) => {
      const m = metaRecord(c, "quant.layers");
      if (!m) return "no quant.layers";
      const k = r() < 0.8 ? pick(r, graphNames(c)) : pick(r, PROTO);
      if (r() < 0.3) delete m[k];
      else setOwn(m, k, pick(r, PRECISIONS));
      return `quant.layers.${k}`;
    },
  ],
  [
    "quant.activations",
    (c, r) => {
      const m = metaRecord(c, "quant.activations");
      if (!m) return "no quant.activations";
      const k = r() < 0.8 ? pick(r, Object.keys(m)) : pick(r, PROTO);
      const x = r();
      if (x < 0.25) delete m[k];
      else {
        const old = Object.hasOwn(m, k) ? asRecord(m[k]) : { scale: 0.1, zeroPoint: 0 };
        const changed =
          x < 0.7
            ? { ...old, scale: pick(r, SCALES.filter(Number.isFinite)) }
            : { ...old, zeroPoint: pick(r, ZERO_POINTS) };
        setOwn(m, k, changed);
      }
      return `quant.activations.${k}`;
    },
  ],
  [
    "Mel configuration",
    (c, r) => {
      c.mel ??= { sampleRate: 22050, nFft: 2048, hopLength: 512, nMels: 16 };
      const k = pick(r, ["sampleRate", "nFft", "hopLength", "winLength", "nMels", "fMin", "fMax", ...PROTO]);
      const v = pick(r, MEL_VALUES);
      if (r() < 0.15) delete c.mel[k];
      else setOwn(c.mel, k, v);
      return `mel.${k} = ${JSON.stringify(v)}`;
    },
  ],
  [
    "labels",
    (c, r) => {
      const ls = [...(c.labels ?? [])];
      const k = r();
      if (k < 0.3) ls.pop();
      else if (k < 0.5) ls.push("extra");
      else if (k < 0.7) ls[Math.floor(r() * ls.length)] = ls[0]!;
      else ls[Math.floor(r() * ls.length)] = pick(r, PROTO);
      c.labels = ls;
      return `labels [${ls}]`;
    },
  ],
  [
    "nested metadata",
    (c, r) => {
      const depth = pick(r, [1, 10, 63, 64, 65, 100, 500]);
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = r() < 0.5 ? [v] : { k: v };
      c.metadata = { ...c.metadata };
      setOwn(c.metadata, pick(r, ["custom.deep", ...PROTO]), { type: 13, value: v });
      return `metadata nested ${depth}`;
    },
  ],
];

/** 1-3 contents mutations of a deep copy of `base`; returns the mutant and what was done. */
export function mutateContents(base: ModelContents, r: Rand): { contents: ModelContents; what: string[] } {
  const c = structuredClone(base);
  const what: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const [kind, f] = pick(r, MUTATIONS);
    what.push(`${kind}: ${f(c, r)}`);
  }
  return { contents: c, what };
}

export const MUTATION_KINDS = MUTATIONS.map(([k]) => k);
