/**
 * Corrupt model files through loadModel: flipped bytes in every part of the fixed header, in the
 * metadata/graph/tensor table and in every tensor; truncation at every section boundary; wrong
 * versions and magics. Each must be refused with an EamFormatError whose message names the section.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  crc32,
  createRandomModel,
  EamFormatError,
  EamLimitError,
  encodeModel,
  loadModel,
  loadModelFromBytes,
  readModel,
  readModelHeader,
} from "../dist/index.js";
import { fixHeaderCrc, fixTensorCrc, headerMap } from "./model-mutator.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-corrupt-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const contents = createRandomModel(
  { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
  11,
);
const good = encodeModel(contents);
const header = readModelHeader(good);
let fileNo = 0;

async function refusal(bytes: Uint8Array): Promise<EamFormatError> {
  const f = path.join(dir, `m${fileNo++}.eam`);
  fs.writeFileSync(f, bytes);
  try {
    const m = await loadModel(f, { threads: 1 });
    await m.dispose();
  } catch (e) {
    if (!(e instanceof EamFormatError))
      throw new Error(`expected EamFormatError, got ${(e as Error)?.stack ?? e}`);
    expect(e.message).toMatch(new RegExp(`^invalid \\.eam file \\(${e.section}\\): `));
    expect(e.message).not.toContain("\n");
    return e;
  } finally {
    fs.rmSync(f, { force: true });
  }
  throw new Error("the damaged file loaded");
}

/** Byte offsets where one metadata entry or tensor table entry ends (walking the header). */
function sectionBoundaries(): { at: number; what: string }[] {
  const map = headerMap(good);
  expect(map.entryEnds.at(-1)!.at).toBe(header.headerLength);
  const out: { at: number; what: string }[] = [
    { at: 0, what: "empty file" },
    { at: 4, what: "after magic" },
    { at: 8, what: "after version" },
    { at: 24, what: "before lengths" },
    { at: 60, what: "before header crc" },
    { at: 64, what: "end of fixed header" },
    ...map.entryEnds,
  ];
  out.push({ at: header.dataOffset, what: "start of data" });
  for (const t of header.tensors) {
    out.push({ at: header.dataOffset + t.offset, what: `start of ${t.name}` });
    out.push({ at: header.dataOffset + t.offset + t.nbytes, what: `end of ${t.name}` });
  }
  out.push({ at: good.length - 1, what: "one byte short" });
  return out.filter((x) => x.at < good.length);
}

describe("corrupt model files through loadModel", () => {
  it("the undamaged file loads (so every refusal below is caused by the damage)", async () => {
    const f = path.join(dir, "good.eam");
    fs.writeFileSync(f, good);
    const m = await loadModel(f, { threads: 1 });
    expect(m.run(new Float32Array(16 * 16)).length).toBe(4);
    await m.dispose();
  });

  it("truncation at every section boundary is refused as a truncated file", async () => {
    const cuts = sectionBoundaries();
    expect(cuts.length).toBeGreaterThan(60);
    console.log(
      `corrupt model: ${cuts.length} truncation points, ${header.tensors.length} tensors, header ${header.headerLength} bytes`,
    );
    for (const { at, what } of cuts) {
      const e = await refusal(good.slice(0, at));
      expect(e.section, what).toBe("file");
      expect(e.message, what).toMatch(/truncated/);
    }
  });

  it("every bit of the fixed header flipped is refused, naming the section it damages", async () => {
    const region = (i: number): string[] => {
      if (i < 4) return ["magic"];
      if (i < 6) return ["version", "header"]; // a lower major is invalid, a higher one newer
      if (i < 24) return ["header"]; // minor, flags, alignment, counts: flags/alignment or the checksum
      if (i < 56) return ["header", "file"]; // lengths: inconsistent, or larger than the file
      return ["header"]; // reserved and the checksum itself
    };
    let n = 0;
    for (let i = 0; i < 64; i++)
      for (let bit = 0; bit < 8; bit++) {
        const b = good.slice();
        b[i]! ^= 1 << bit;
        const e = await refusal(b);
        expect(region(i), `byte ${i} bit ${bit}: ${e.message}`).toContain(e.section);
        n++;
      }
    expect(n).toBe(512);
  });

  it("flipped bytes in metadata, graph and tensor table are caught by the header checksum", async () => {
    const graphText = new TextEncoder().encode('"layers"');
    const gAt = indexOf(good, graphText);
    expect(gAt).toBeGreaterThan(64);
    const step = Math.max(1, Math.floor((header.headerLength - 64) / 150));
    let n = 0;
    for (let i = 64; i < header.headerLength; i += step) {
      const b = good.slice();
      b[i]! ^= 0x20;
      const e = await refusal(b);
      expect(e.section).toBe("header");
      expect(e.message).toMatch(/header checksum mismatch/);
      n++;
    }
    expect(n).toBeGreaterThan(140);
  });

  it("with the checksum repaired, a damaged graph, metadata entry or table entry is refused naming its section", async () => {
    // Byte offsets (a string index of the decoded header would shift after any binary field that
    // decodes to a multi-byte or replacement character, which depends on the date in the header).
    const text = Buffer.from(good.buffer, good.byteOffset, header.headerLength);
    const cases: [string, string, string, string][] = [
      // [what, find, replace (same length), section]
      ["unknown op", '"op":"conv"', '"op":"cxnv"', "graph"],
      ["undefined input", '"input":"input"', '"input":"inpuX"', "graph"],
      ["graph JSON broken", '"layers":[', '"layers":{', "metadata"],
      ["graph key renamed", "eam.graph", "eam.grapX", "metadata"],
      ["tensor name duplicated", "stem.conv.bias", "stem.conv.weig", "tensors"],
    ];
    for (const [what, find, repl, section] of cases) {
      const at = text.indexOf(find);
      expect(at, what).toBeGreaterThan(0);
      expect(repl.length).toBe(find.length);
      const b = good.slice();
      b.set(new TextEncoder().encode(repl), at);
      const e = await refusal(fixHeaderCrc(b));
      expect(e.section, `${what}: ${e.message}`).toBe(section);
    }
  });

  it("a flipped byte in every tensor is refused as damaged data naming the tensor", async () => {
    expect(header.tensors.length).toBeGreaterThan(30);
    for (const t of header.tensors) {
      if (t.nbytes === 0) continue;
      const b = good.slice();
      b[header.dataOffset + t.offset + Math.floor(t.nbytes / 2)]! ^= 0x04;
      const e = await refusal(b);
      expect(e.section, t.name).toBe("data");
      expect(e.message).toContain(`tensor ${t.name}: checksum mismatch`);
    }
  });

  it("wrong versions and wrong magics are refused", async () => {
    for (const major of [0, 2, 3, 255, 65535]) {
      const b = good.slice();
      new DataView(b.buffer).setUint16(4, major, true);
      const e = await refusal(fixHeaderCrc(b));
      expect(e.section, `major ${major}`).toBe("version");
      expect(e.message).toMatch(major === 0 ? /not valid/ : /newer than this reader/);
    }
    const magics = ["EAMG", "RIFF", "\0\0\0\0", "PK\x03\x04", "\x7fELF", "FMAE", "eamf"];
    for (const m of magics) {
      const b = good.slice();
      for (let i = 0; i < 4; i++) b[i] = m.charCodeAt(i);
      const e = await refusal(b);
      expect(e.section, JSON.stringify(m)).toBe("magic");
    }
    // a short non-model file
    expect((await refusal(new TextEncoder().encode("hello"))).section).toBe("magic");
  });
});

describe("structure-aware damage: checksums recomputed, so the damage reaches the checks behind them", () => {
  /** Loads and runs: a probability vector over the labels, or a one-line refusal (its message). */
  async function outcome(bytes: Uint8Array): Promise<string> {
    let m: Awaited<ReturnType<typeof loadModelFromBytes>>;
    try {
      m = await loadModelFromBytes(bytes, { threads: 1 });
    } catch (e) {
      if (!(e instanceof EamFormatError || e instanceof EamLimitError))
        throw new Error(`expected a refusal, got ${(e as Error)?.stack ?? e}`);
      expect(e.message).not.toContain("\n");
      return e.message;
    }
    try {
      const p = m.run(new Float32Array(m.inputSize).fill(0.5));
      expect(p.length).toBe(4);
      expect(Math.abs(p.reduce((a, x) => a + x, 0) - 1)).toBeLessThan(1e-4);
      return "ran";
    } catch (e) {
      expect((e as Error).message).toMatch(/not finite/);
      return "non-finite output";
    } finally {
      await m.dispose();
    }
  }

  it("every field of every tensor table entry set to 0 and to its value + 1: loaded and ran, or refused", async () => {
    const map = headerMap(good);
    const tally: Record<string, number> = {};
    let n = 0;
    for (const f of map.fields.filter((x) => x.tensor)) {
      for (const v of [0n, "+1"] as const) {
        const b = good.slice();
        const dv = new DataView(b.buffer);
        const w = f.kind === "u64" ? 8 : 4;
        const cur = w === 8 ? dv.getBigUint64(f.at, true) : BigInt(dv.getUint32(f.at, true));
        const x = BigInt.asUintN(8 * w, v === "+1" ? cur + 1n : v);
        if (w === 8) dv.setBigUint64(f.at, x, true);
        else if (f.kind === "f32") dv.setFloat32(f.at, Number(x), true);
        else dv.setUint32(f.at, Number(x), true);
        const o = await outcome(fixHeaderCrc(b));
        const k = o === "ran" ? "ran" : o.replace(/^invalid \.eam file \((\w+)\).*$/, "$1");
        tally[k] = (tally[k] ?? 0) + 1;
        n++;
      }
    }
    console.log(`corrupt model (table fields): ${n} cases: ${JSON.stringify(tally)}`);
    expect(n).toBeGreaterThan(750);
  });

  it("a byte changed in every tensor, its checksum recomputed: loaded and ran, or refused", async () => {
    const map = headerMap(good);
    const tally: Record<string, number> = {};
    for (const t of map.tensors) {
      for (const v of [0xff, 0x7f]) {
        const b = good.slice();
        // the high byte of a float32: 0xff/0x7f there make NaN, infinity or a huge value
        b[t.start + Math.floor(t.nbytes / 8) * 4 + 3] = v;
        const o = await outcome(fixTensorCrc(b, t));
        tally[o.startsWith("invalid") ? "refused" : o] =
          (tally[o.startsWith("invalid") ? "refused" : o] ?? 0) + 1;
      }
    }
    console.log(
      `corrupt model (tensor data, checksums repaired): ${2 * map.tensors.length} cases: ${JSON.stringify(tally)}`,
    );
    expect(Object.keys(tally).every((k) => ["ran", "non-finite output", "refused"].includes(k))).toBe(true);
  });
});

describe("every truncation length", () => {
  /** A small complete model: conv, gap, dense, softmax, with labels and a Mel configuration. */
  const small = encodeModel({
    graph: {
      input: "input",
      inputShape: [8, 8, 1],
      output: "sm",
      layers: [
        {
          op: "conv",
          name: "c",
          input: "input",
          filters: 4,
          kernel: [3, 3],
          stride: [1, 1],
          padding: "same",
          bn: false,
          relu: true,
        },
        { op: "gap", name: "g", input: "c" },
        { op: "dense", name: "d", input: "g", units: 4 },
        { op: "softmax", name: "sm", input: "d" },
      ],
    },
    labels: ["a", "b", "c", "d"],
    mel: { sampleRate: 22050, nFft: 512, hopLength: 128, nMels: 8 },
    tensors: [
      { name: "c.weight", dtype: "f32", shape: [3, 3, 1, 4], data: new Float32Array(36).fill(0.1) },
      { name: "c.bias", dtype: "f32", shape: [4], data: new Float32Array(4) },
      { name: "d.weight", dtype: "f32", shape: [4, 4], data: new Float32Array(16).fill(0.2) },
      { name: "d.bias", dtype: "f32", shape: [4], data: new Float32Array(4) },
    ],
  });

  async function expectTruncated(
    load: () => Promise<{ dispose(): Promise<void> }>,
    what: string,
  ): Promise<void> {
    const e = await load().then(
      async (m) => {
        await m.dispose();
        return null;
      },
      (err: unknown) => err,
    );
    expect(e, what).toBeInstanceOf(EamFormatError);
    expect((e as EamFormatError).section, what).toMatch(/^(file|magic)$/);
  }

  it(`a ${small.length}-byte model cut at each of its ${small.length} lengths is refused by readModel, loadModelFromBytes and loadModel`, async () => {
    expect((await loadModelFromBytes(small, { threads: 1 })).run(new Float32Array(64)).length).toBe(4);
    const f = path.join(dir, "cut.eam");
    for (let n = 0; n < small.length; n++) {
      const cut = small.subarray(0, n);
      expect(() => readModel(cut), `${n} bytes`).toThrow(EamFormatError);
      await expectTruncated(() => loadModelFromBytes(cut, { threads: 1 }), `${n} bytes`);
      fs.writeFileSync(f, cut);
      await expectTruncated(() => loadModel(f, { threads: 1 }), `${n} bytes (file)`);
    }
  });

  // Every length takes about a minute here: a campaign sets FUZZ_TRUNCATE_ALL=1; otherwise every
  // length through the header and every 509th through the data.
  const all = process.env.FUZZ_TRUNCATE_ALL === "1";
  const lengths = Array.from({ length: good.length }, (_, n) => n).filter(
    (n) => all || n <= header.dataOffset || n % 509 === 0,
  );
  it(`the ${good.length}-byte ResNet-18 cut at ${lengths.length} lengths (${all ? "every one" : "each through the header, every 509th after"}) is refused by readModel and loadModelFromBytes`, async () => {
    for (const n of lengths) {
      const cut = good.subarray(0, n);
      expect(() => readModel(cut), `${n} bytes`).toThrow(EamFormatError);
      await expectTruncated(() => loadModelFromBytes(cut, { threads: 1 }), `${n} bytes`);
    }
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe("declared sizes are checked against the real length before allocating", () => {
  /** Runs `f` with typed-array and ArrayBuffer constructors wrapped; returns the largest length requested. */
  function largestAllocation(f: () => void): number {
    let largest = 0;
    for (const T of [Uint8Array, Float32Array, Int32Array, Uint16Array, Int8Array, ArrayBuffer] as const) {
      vi.stubGlobal(
        T.name,
        new Proxy(T as unknown as new (...a: unknown[]) => unknown, {
          construct(target, args, nt) {
            if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
            return Reflect.construct(target, args, nt);
          },
        }),
      );
    }
    try {
      f();
    } finally {
      vi.unstubAllGlobals();
    }
    return largest;
  }

  function fixedHeader(fields: { headerLength: bigint; dataOffset: bigint; dataLength: bigint }): Uint8Array {
    const b = new Uint8Array(100);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 0x464d4145, true);
    dv.setUint16(4, 1, true);
    dv.setUint32(12, 64, true);
    dv.setUint32(16, 1, true);
    dv.setBigUint64(24, fields.headerLength, true);
    dv.setBigUint64(32, fields.dataOffset, true);
    dv.setBigUint64(40, fields.dataLength, true);
    dv.setBigUint64(48, fields.dataOffset + fields.dataLength, true);
    return b;
  }

  it("a 100-byte file whose header declares 4 GB is refused with no large allocation (bytes and file)", () => {
    const lies = [
      { headerLength: 2n ** 32n, dataOffset: 2n ** 32n, dataLength: 0n },
      { headerLength: 64n, dataOffset: 64n, dataLength: 2n ** 32n },
      { headerLength: 2n ** 40n, dataOffset: 2n ** 40n, dataLength: 2n ** 40n },
    ];
    for (const lie of lies) {
      const b = fixedHeader(lie);
      const f = path.join(dir, "lie.eam");
      fs.writeFileSync(f, b);
      for (const src of [b, f] as const) {
        let err: unknown;
        const largest = largestAllocation(() => {
          try {
            readModel(src);
          } catch (e) {
            err = e;
          }
        });
        expect(err).toBeInstanceOf(EamFormatError);
        expect((err as EamFormatError).section).toBe("file");
        expect((err as Error).message).toMatch(/truncated: the file has 100 bytes but its header declares/);
        expect(
          largest,
          JSON.stringify(lie, (_, v) => (typeof v === "bigint" ? String(v) : v)),
        ).toBeLessThan(1024);
      }
    }
    // control: on an honest file the guard does see the reader allocate its header
    const f = path.join(dir, "honest.eam");
    fs.writeFileSync(f, good);
    expect(largestAllocation(() => readModel(f))).toBeGreaterThanOrEqual(header.headerLength);
  });

  it("a tensor or quantization table declaring gigabytes in a small file is refused before allocating", () => {
    const c = createRandomModel(
      { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
      1,
    );
    c.tensors.push({
      name: "q",
      dtype: "i8",
      shape: [2, 3],
      data: new Int8Array(6),
      quant: { axis: 1, scales: new Float32Array(3).fill(1), zeroPoints: new Int32Array(3) },
    });
    const b = encodeModel(c);
    const h = readModelHeader(b);
    const text = new TextDecoder("latin1").decode(b.subarray(0, h.headerLength));
    // the "q" entry: name, dtype, ndim, dims[2], offset, nbytes, crc, quant kind, axis, count
    const at = text.lastIndexOf("\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000q") + 9;
    const dv = new DataView(b.buffer, b.byteOffset);
    const dims = at + 4 + 4;
    const cases: [string, (x: DataView) => void, string][] = [
      ["dims declare 2^31 x 2 elements", (x) => x.setBigUint64(dims, 2n ** 31n, true), "tensors"],
      ["nbytes declares 4 GB", (x) => x.setBigUint64(dims + 24, 2n ** 32n, true), "tensors"],
      [
        "quantization count 2^32",
        (x) => x.setBigUint64(dims + 16 + 8 + 8 + 4 + 4 + 4, 2n ** 32n, true),
        "tensors",
      ],
    ];
    expect(dv.getBigUint64(dims, true)).toBe(2n); // the offsets above point at the "q" entry
    for (const [what, edit, section] of cases) {
      const m = b.slice();
      edit(new DataView(m.buffer));
      // repair the header checksum so the table is parsed
      const mv = new DataView(m.buffer);
      mv.setUint32(60, crc32(m.subarray(64, h.headerLength), crc32(m.subarray(0, 60))), true);
      let err: unknown;
      const largest = largestAllocation(() => {
        try {
          readModel(m);
        } catch (e) {
          err = e;
        }
      });
      expect(err, what).toBeInstanceOf(EamFormatError);
      expect((err as EamFormatError).section, `${what}: ${(err as Error).message}`).toBe(section);
      expect(largest, what).toBeLessThan(m.length);
    }
  });
});
