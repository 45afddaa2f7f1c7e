/**
 * Mutation fuzzing of the `.eam` reader and loader.
 *
 * - Byte level: flips, random bytes, boundary values in the 32/64-bit fields of the fixed
 *   header, truncation, insertion and deletion, half of them with the header checksum repaired so
 *   the mutation reaches the parser behind it. readModel on every case; loadModelFromBytes on
 *   every case whose header still parses (planner, wasm memory, weight loading, one run).
 * - Structure-aware, contents: FP32, int8, int4 and f16/dynamic models whose graph fields, names
 *   (Object.prototype members among them), shapes, tensors, quantization parameters, Mel
 *   configuration, labels and metadata are changed, then written with valid checksums.
 * - Structure-aware, binary: a field of the metadata or tensor table (sizes, dimensions, offsets,
 *   dtype, rank, quantization kind/axis/count/scales/zero points, string lengths) set to a
 *   boundary value, or tensor data changed, with the checksums recomputed.
 * - Graph level: hostile values in layer fields (kernel, stride, filters, units, pool, input
 *   shape), encoded as well-formed files, loaded and run.
 * Each case must load and run to a probability vector over its labels, or be refused with an
 * Error carrying a one-line message; a TypeError, RangeError, WebAssembly trap, hang, huge
 * allocation or a meaningless output fails. FUZZ_CASES and FUZZ_SEED change the count and the
 * seed; the structure-aware tests run FUZZ_STRUCT_CASES cases each (default FUZZ_CASES / 6, at
 * least 500).
 */
import { describe, expect, it } from "vitest";
import {
  createRandomModel,
  EamFormatError,
  EamLimitError,
  encodeModel,
  loadModelFromBytes,
  type ModelContents,
  mulberry32,
  readModel,
  readModelHeader,
} from "../dist/index.js";
import { activationParams, int8Layers, quantizedVariant } from "./model-helpers.js";
import { fixHeaderCrc, headerMap, MUTATION_KINDS, mutateBinary, mutateContents } from "./model-mutator.js";

const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const STRUCT_CASES = Number(process.env.FUZZ_STRUCT_CASES ?? Math.max(500, Math.ceil(CASES / 6)));

const contents = createRandomModel(
  { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
  5,
);
const good = encodeModel(contents);
const hdr = readModelHeader(good);

const U64_VALUES = [0n, 1n, 63n, 64n, 65n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const pick = (n: number) => Math.floor(r() * n);
  // bias towards the header, where the structure is
  const where = () => (r() < 0.75 ? pick(Math.min(b.length, hdr.headerLength)) : pick(b.length));
  switch (pick(6)) {
    case 0:
      for (let k = 1 + pick(4); k > 0; k--) b[where()]! ^= 1 << pick(8);
      break;
    case 1:
      for (let k = 1 + pick(3); k > 0; k--) b[where()] = pick(256);
      break;
    case 2: {
      // a boundary value in a length/count field (u32 16..23, u64 24..55) or in a table u64
      const dv = new DataView(b.buffer);
      if (r() < 0.3) dv.setUint32(16 + 4 * pick(2), [0, 1, 1000, 0xffffffff][pick(4)]!, true);
      else {
        const at = r() < 0.6 ? 24 + 8 * pick(4) : 64 + 8 * pick(Math.floor((hdr.headerLength - 72) / 8));
        dv.setBigUint64(at, U64_VALUES[pick(U64_VALUES.length)]!, true);
      }
      break;
    }
    case 3:
      b = b.slice(0, pick(b.length));
      break;
    case 4: {
      const p = where();
      const ins = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
      b = new Uint8Array(Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]));
      break;
    }
    default: {
      const p = where();
      b = new Uint8Array(Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + pick(16))]));
    }
  }
  if (r() < 0.5) fixHeaderCrc(b);
  return b;
}

/** A refusal must be an Error with a one-line message and no engine/JS internals showing. */
function checkRefusal(e: unknown, ctx: string): string {
  if (!(e instanceof Error)) throw new Error(`${ctx}: threw a non-Error ${String(e)}`);
  if (e instanceof TypeError || e instanceof RangeError || e instanceof WebAssembly.RuntimeError)
    throw new Error(`${ctx}: ${e.name} escaped: ${e.stack}`);
  if (e.constructor !== Error && !(e instanceof EamFormatError) && !(e instanceof EamLimitError))
    throw new Error(`${ctx}: unexpected ${e.name}: ${e.stack}`);
  expect(e.message, ctx).not.toContain("\n");
  return e instanceof EamFormatError
    ? e.section
    : e instanceof EamLimitError
      ? `limit ${e.limit}`
      : "plain Error";
}

function finiteSoftmax(p: Float32Array): boolean {
  let s = 0;
  for (const v of p) {
    if (!Number.isFinite(v) || v < 0) return false;
    s += v;
  }
  return Math.abs(s - 1) < 1e-3;
}

describe("model file fuzzer", () => {
  /** The same mutants on every call, made one at a time (30,000 kept whole would take 5.6 GB). */
  const cases = {
    *entries(): Generator<[number, Uint8Array]> {
      const r = mulberry32(SEED);
      for (let i = 0; i < CASES; i++) yield [i, mutate(good, r)];
    },
  };

  it(`${CASES} mutated files through readModel: each read or refused with EamFormatError`, () => {
    const tally: Record<string, number> = {};
    for (const [i, b] of cases.entries()) {
      try {
        readModel(b);
        tally.read = (tally.read ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof EamFormatError))
          throw new Error(`case ${i} (seed ${SEED}): ${(e as Error)?.stack ?? String(e)}`);
        expect(e.message).not.toContain("\n");
        tally[e.section] = (tally[e.section] ?? 0) + 1;
      }
    }
    console.log(`model fuzz (readModel): ${CASES} cases, seed ${SEED}: ${JSON.stringify(tally)}`);
    expect(tally.read ?? 0).toBeGreaterThan(0);
    expect(CASES - (tally.read ?? 0)).toBeGreaterThan(CASES / 2);
  });

  it("the same files through loadModelFromBytes: loaded and run to a finite softmax, or refused", async () => {
    const tally: Record<string, number> = {};
    for (const [i, b] of cases.entries()) {
      const ctx = `case ${i} (seed ${SEED})`;
      try {
        const m = await loadModelFromBytes(b, { threads: 1 });
        try {
          const out = m.run(new Float32Array(m.inputSize).fill(0.25));
          expect(finiteSoftmax(out), `${ctx}: output ${out}`).toBe(true);
        } finally {
          await m.dispose();
        }
        tally.loaded = (tally.loaded ?? 0) + 1;
        expect(() => readModel(b), `${ctx}: loadModel accepted a file readModel refuses`).not.toThrow();
      } catch (e) {
        const k = checkRefusal(e, ctx);
        tally[k] = (tally[k] ?? 0) + 1;
      }
    }
    console.log(`model fuzz (loadModel): ${CASES} cases, seed ${SEED}: ${JSON.stringify(tally)}`);
    expect(tally.loaded ?? 0).toBeGreaterThan(0);
  });

  it("hostile layer fields of the right JSON type in a well-formed file: loaded and run, or refused", async () => {
    const r = mulberry32(SEED + 1);
    const pairs: [string, unknown[]][] = [
      ["kernel", [[0, 0], [1e9, 1e9], [-3, 3], [2.5, 1], [1], [1, 1, 1], [2 ** 31, 1], ["a", "b"]]],
      ["stride", [[0, 0], [1e9, 1e9], [-1, -1], [1.5, 1], [1], [2 ** 31, 2 ** 31], [0, 1]]],
      ["pool", [[0, 0], [1e9, 1e9], [-3, 3], [2.5, 1], [1], [64, 64]]],
      ["filters", [0, -1, 1.5, 2 ** 31, 1e9, null, "3"]],
      ["units", [0, -1, 1.5, 2 ** 31, 1e9, null, "3"]],
      ["rate", [-1, 2, null, "x", 1e9]],
      ["padding", ["full", null, 3, ""]],
      ["inputs", [[], ["input"], ["input", "input", "input"], null]],
      [
        "inputShape",
        [
          [0, 16, 1],
          [1e9, 1e9, 1],
          [16, 16],
          [16, 16, 2],
          [65536, 65536, 1],
          [16, 16, 1, 1],
        ],
      ],
    ];
    const tally: Record<string, number> = {};
    const n = Math.max(60, Math.floor(CASES / 15));
    let tried = 0;
    for (let i = 0; i < n; i++) {
      const c: ModelContents = structuredClone(contents);
      const [field, values] = pairs[Math.floor(r() * pairs.length)]!;
      const value = values[Math.floor(r() * values.length)];
      let target: Record<string, unknown>;
      if (field === "inputShape") target = c.graph as unknown as Record<string, unknown>;
      else {
        const withField = c.graph.layers.filter((l) => field in l);
        target = withField[Math.floor(r() * withField.length)] as unknown as Record<string, unknown>;
      }
      target[field] = value;
      const ctx = `graph case ${i}: ${String(target.name ?? "graph")}.${field} = ${JSON.stringify(value)}`;
      const bytes = encodeModel(c);
      tried++;
      try {
        const m = await loadModelFromBytes(bytes, { threads: 1 });
        try {
          const out = m.run(new Float32Array(m.inputSize).fill(0.25));
          expect(finiteSoftmax(out), `${ctx}: output ${out}`).toBe(true);
        } finally {
          await m.dispose();
        }
        tally.loaded = (tally.loaded ?? 0) + 1;
      } catch (e) {
        const k = checkRefusal(e, ctx);
        tally[k] = (tally[k] ?? 0) + 1;
      }
    }
    console.log(`graph fuzz: ${tried} cases, seed ${SEED + 1}: ${JSON.stringify(tally)}`);
    expect(tried).toBe(n);
  });

  it("refuses with EamFormatError(graph) a layer whose kernel, stride or pool is not two integers", async () => {
    const broken: [string, string, unknown][] = [
      ["conv", "kernel", null],
      ["conv", "stride", 2],
      ["maxpool", "pool", 1.5],
      ["maxpool", "stride", undefined],
      ["conv", "stride", [1]], // NaN shapes, then WebAssembly.Memory({ initial: NaN })
    ];
    for (const [op, field, value] of broken) {
      const c: ModelContents = structuredClone(contents);
      const l = c.graph.layers.find((x) => x.op === op) as unknown as Record<string, unknown>;
      l[field] = value;
      const e = await loadModelFromBytes(encodeModel(c), { threads: 1 }).then(
        async (m) => {
          await m.dispose();
          return null;
        },
        (err: unknown) => err,
      );
      expect(e, `${op}.${field} = ${value}`).toBeInstanceOf(EamFormatError);
      expect((e as EamFormatError).section).toBe("graph");
    }
  });
  it("refuses non-positive or fractional conv stride and maxpool pool/stride (stride [1.5,1.5], pool [0,0], pool [-3,3])", async () => {
    const accepted: string[] = [];
    const cases: [string, string, unknown][] = [
      ["stem.conv", "stride", [1.5, 1.5]],
      ["stem.pool", "pool", [0, 0]],
      ["stem.pool", "pool", [-3, 3]],
      ["stem.pool", "stride", [2.5, 1]],
    ];
    for (const [name, field, value] of cases) {
      const c: ModelContents = structuredClone(contents);
      (c.graph.layers.find((l) => l.name === name) as unknown as Record<string, unknown>)[field] = value;
      try {
        const m = await loadModelFromBytes(encodeModel(c), { threads: 1 });
        await m.dispose();
        accepted.push(`${name}.${field} = ${JSON.stringify(value)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(EamFormatError);
      }
    }
    expect(accepted).toEqual([]);
  });
});

/** The class of defect a refusal guards against, from its message (for the per-class tallies). */
function refusalClass(e: Error): string {
  if (e instanceof EamLimitError) return `limit: ${e.limit}`;
  const m = e.message;
  if (/empty output shape|input must be HWC/.test(m)) return "empty output shape";
  if (/not a softmax|softmax over|\(eam\.labels\)|names both class|needs at least 2/.test(m))
    return "output is not a probability vector of the labels";
  if (/output is not finite|input value/.test(m)) return "non-finite result";
  if (/scale|zeroPoint|zero points|quant\.|quantization parameters/.test(m)) return "quantization parameters";
  if (/checksum mismatch/.test(m)) return "checksum";
  if (/nested deeper/.test(m)) return "nested JSON";
  if (/layers, more than/.test(m)) return "layer count";
  if (/tensor .*(missing|has shape|is f16|is i8|is u8|is f32|needs)/.test(m)) return "tensors vs graph";
  return e instanceof EamFormatError ? `other ${e.section}` : "other Error";
}

/** The fuzzers' limits: the same checks as the defaults, with thresholds that keep each case short. */
const FUZZ_LIMITS = { maxMemoryBytes: 256 * 2 ** 20, maxWorkPerCrop: 2e9 };

/**
 * One mutant through readModel, loadModelFromBytes and one run. Accepted only with a probability
 * vector over its labels as output; otherwise refused with a one-line Error (checkRefusal).
 * Returns "accepted" or the refusal's class.
 */
async function exercise(bytes: Uint8Array, ctx: string): Promise<string> {
  let readOk = true;
  try {
    readModel(bytes);
  } catch (e) {
    if (!(e instanceof EamFormatError))
      throw new Error(`${ctx}: readModel threw ${(e as Error)?.stack ?? e}`);
    expect(e.message, ctx).not.toContain("\n");
    readOk = false;
  }
  let m: Awaited<ReturnType<typeof loadModelFromBytes>>;
  try {
    m = await loadModelFromBytes(bytes, { threads: 1, ...FUZZ_LIMITS });
  } catch (e) {
    checkRefusal(e, ctx);
    return refusalClass(e as Error);
  }
  try {
    if (!readOk) throw new Error(`${ctx}: loadModel accepted a file readModel refuses`);
    const labels = m.info().labels;
    let out: Float32Array;
    try {
      out = m.run(new Float32Array(m.inputSize).fill(0.25));
    } catch (e) {
      checkRefusal(e, ctx);
      return refusalClass(e as Error);
    }
    if (out.length !== labels.length || !finiteSoftmax(out))
      throw new Error(`${ctx}: accepted a meaningless output [${out}] for labels [${labels}]`);
    return "accepted";
  } finally {
    await m.dispose();
  }
}

function count(t: Record<string, number>, k: string): void {
  t[k] = (t[k] ?? 0) + 1;
}

describe("structure-aware model fuzzer (checksums recomputed after every mutation)", () => {
  const fp = createRandomModel(
    { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
    5,
  );
  fp.mel = { sampleRate: 22050, nFft: 512, hopLength: 128, nMels: 16, fMin: 0, fMax: 11025 };
  const acts = activationParams(fp, [new Float32Array(256).fill(0.25), new Float32Array(256).fill(-0.5)]);
  const i8 = int8Layers(fp);
  const bases: [string, ModelContents][] = [
    ["fp32", fp],
    ["int8", quantizedVariant(fp, i8, acts)],
    ["int4", quantizedVariant(fp, { ...i8, "layer2.0.conv2": "int4", "layer3.0.conv1": "int4" }, acts)],
    ["f16+dynamic", quantizedVariant(fp, { "layer1.0.conv1": "f16", "layer2.0.conv1": "dynamic" }, acts)],
  ];

  it("every base model is accepted as written (so refusals below come from the mutations)", async () => {
    for (const [name, c] of bases) expect(await exercise(encodeModel(c), name), name).toBe("accepted");
  });

  it(`${STRUCT_CASES} contents mutants (graph, names, shapes, tensors, quantization, Mel, labels, metadata): loaded and run to a probability vector, or refused`, async () => {
    const r = mulberry32(SEED + 2);
    const outcomes: Record<string, number> = {};
    const byKind: Record<string, Record<string, number>> = {};
    let slowest = { ms: 0, what: "" };
    for (let i = 0; i < STRUCT_CASES; i++) {
      const [base, c0] = bases[i % bases.length]!;
      const { contents, what } = mutateContents(c0, r);
      const ctx = `contents case ${i} (${base}, seed ${SEED + 2}): ${what.join("; ")}`;
      let bytes: Uint8Array;
      try {
        bytes = encodeModel(contents);
      } catch (e) {
        // the writer refuses some mutations itself (a shape that does not match the data)
        if (!(e instanceof Error)) throw e;
        count(outcomes, "not writable");
        continue;
      }
      const t0 = performance.now();
      const o = await exercise(bytes, ctx);
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, what: ctx };
      count(outcomes, o);
      for (const w of what)
        count((byKind[w.slice(0, w.indexOf(":"))] ??= {}), o === "accepted" ? "accepted" : "refused");
    }
    console.log(
      `model fuzz (contents): ${STRUCT_CASES} cases, seed ${SEED + 2}: ${JSON.stringify(outcomes)}; by mutation ${JSON.stringify(byKind)}; slowest ${slowest.ms.toFixed(0)} ms (${slowest.what})`,
    );
    expect(Object.keys(byKind).sort()).toEqual([...MUTATION_KINDS].sort());
    expect(outcomes.accepted ?? 0).toBeGreaterThan(0);
  });

  it(`${STRUCT_CASES} binary mutants of header fields and tensor data: loaded and run to a probability vector, or refused`, async () => {
    const r = mulberry32(SEED + 3);
    const encoded = bases.map(([name, c]) => {
      const bytes = encodeModel(c);
      return { name, bytes, map: headerMap(bytes) };
    });
    for (const e of encoded) expect(e.map.headerLength).toBe(readModelHeader(e.bytes).headerLength);
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < STRUCT_CASES; i++) {
      const base = encoded[i % encoded.length]!;
      const { bytes, what } = mutateBinary(base.bytes, base.map, r);
      const o = await exercise(bytes, `binary case ${i} (${base.name}, seed ${SEED + 3}): ${what}`);
      // only a mutated checksum field may be refused as a checksum mismatch: the rest were recomputed
      count(outcomes, o === "checksum" && what.endsWith(" checksum") ? "checksum (field mutated)" : o);
    }
    console.log(
      `model fuzz (binary fields): ${STRUCT_CASES} cases, seed ${SEED + 3}: ${JSON.stringify(outcomes)}`,
    );
    expect(outcomes.accepted ?? 0).toBeGreaterThan(0);
    expect(outcomes.checksum ?? 0).toBe(0); // every checksum was recomputed
  });
});
