/**
 * Mutation fuzzing of the `.eam` reader and loader.
 *
 * - Byte level: flips, random bytes, boundary values in the 32/64-bit fields of the fixed
 *   header, truncation, insertion and deletion, half of them with the header checksum repaired so
 *   the mutation reaches the parser behind it. readModel on every case; loadModelFromBytes on
 *   every case whose header still parses (planner, wasm memory, weight loading, one run).
 * - Graph level: hostile values in layer fields (kernel, stride, filters, units, pool, input
 *   shape), encoded as well-formed files, loaded and run.
 * Each case must load (and run to a finite softmax) or be refused with an Error carrying a
 * one-line message; a TypeError, RangeError, WebAssembly trap, hang or huge allocation fails.
 * FUZZ_CASES and FUZZ_SEED change the count and the seed.
 */
import { describe, expect, it } from "vitest";
import {
  crc32,
  createRandomModel,
  EamFormatError,
  encodeModel,
  loadModelFromBytes,
  type ModelContents,
  mulberry32,
  readModel,
  readModelHeader,
} from "../dist/index.js";

const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);

const contents = createRandomModel(
  { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
  5,
);
const good = encodeModel(contents);
const hdr = readModelHeader(good);

function fixCrc(b: Uint8Array): void {
  if (b.length < 64) return;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hl = Number(dv.getBigUint64(24, true));
  if (hl < 64 || hl > b.length) return;
  dv.setUint32(60, crc32(b.subarray(64, hl), crc32(b.subarray(0, 60))), true);
}

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
      b = new Uint8Array([...b.subarray(0, p), ...ins, ...b.subarray(p)]);
      break;
    }
    default: {
      const p = where();
      b = new Uint8Array([...b.subarray(0, p), ...b.subarray(p + 1 + pick(16))]);
    }
  }
  if (r() < 0.5) fixCrc(b);
  return b;
}

/** A refusal must be an Error with a one-line message and no engine/JS internals showing. */
function checkRefusal(e: unknown, ctx: string): string {
  if (!(e instanceof Error)) throw new Error(`${ctx}: threw a non-Error ${String(e)}`);
  if (e instanceof TypeError || e instanceof RangeError || e instanceof WebAssembly.RuntimeError)
    throw new Error(`${ctx}: ${e.name} escaped: ${e.stack}`);
  if (e.constructor !== Error && !(e instanceof EamFormatError))
    throw new Error(`${ctx}: unexpected ${e.name}: ${e.stack}`);
  expect(e.message, ctx).not.toContain("\n");
  return e instanceof EamFormatError ? e.section : "plain Error";
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
  const r = mulberry32(SEED);
  const cases = Array.from({ length: CASES }, () => mutate(good, r));

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
