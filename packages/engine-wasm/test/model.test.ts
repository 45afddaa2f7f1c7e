/**
 * End-to-end: random-weight ResNets through the engine (SIMD and scalar, 1 and 2 threads)
 * against the float64 reference of the whole graph; the host API; refusal of bad files.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  createRandomModel,
  EamFormatError,
  encodeModel,
  loadModel,
  loadModelFromBytes,
  type ModelContents,
  maxAbsDiff,
  nmse,
  randomCrop,
  readModelHeader,
  refRunGraph,
  writeModel,
  writeRandomModel,
} from "../dist/index.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-model-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** End-to-end error bounds (NMSE of the logits, max abs difference of the probabilities). */
const E2E_LOGITS_NMSE = 1e-9;
const E2E_PROBS_MAXDIFF = 1e-5;

function reference(c: ModelContents, x: Float32Array) {
  const tensors = new Map(c.tensors.map((t) => [t.name, t.data]));
  const r = refRunGraph(c.graph, (n) => tensors.get(n)!, x, ["head.dense"]);
  return { logits: r.get("head.dense")!.data, probs: r.get("head.softmax")!.data };
}

function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

describe("ResNet end to end against the float64 reference", () => {
  it("ResNet-18 (128x130, full width): SIMD/scalar x 1/2 threads x tiles agree with float64 and bit-for-bit", async () => {
    const c = createRandomModel({ depth: 18 }, 42);
    const bytes = encodeModel(c);
    const x = randomCrop(128 * 130, 3);
    const ref = reference(c, x);
    let firstBits: string | undefined;
    const variants = [
      { isa: "wasmsimd", threads: 1, tile: 4 },
      { isa: "wasmsimd", threads: 2, tile: 4 },
      { isa: "wasmsimd", threads: 3, tile: 5 },
      { isa: "wasmsimd", threads: 1, tile: 7 },
      { isa: "scalar", threads: 1, tile: 4 },
      { isa: "scalar", threads: 2, tile: 3 },
    ] as const;
    for (const v of variants) {
      const m = await loadModelFromBytes(bytes, { ...v, keep: ["head.dense"] });
      const probs = m.run(x);
      const logits = m.read("head.dense");
      expect(nmse(logits, ref.logits)).toBeLessThan(E2E_LOGITS_NMSE);
      expect(maxAbsDiff(probs, ref.probs)).toBeLessThan(E2E_PROBS_MAXDIFF);
      // A second run on the reused arena gives the same bits.
      expect(bits(m.run(x))).toBe(bits(probs));
      const b = bits(logits) + bits(probs);
      if (firstBits === undefined) firstBits = b;
      expect(b, `${v.isa} threads=${v.threads} tile=${v.tile}`).toBe(firstBits);
      await m.dispose();
    }
    // Direct 3x3 convolutions (IGEMM) instead of Winograd: another arithmetic, same bounds,
    // and again identical across builds and thread counts.
    let directBits: string | undefined;
    for (const v of [
      { isa: "wasmsimd", threads: 1 },
      { isa: "scalar", threads: 2 },
    ] as const) {
      const m = await loadModelFromBytes(bytes, { ...v, winograd: false, keep: ["head.dense"] });
      const probs = m.run(x);
      const logits = m.read("head.dense");
      expect(nmse(logits, ref.logits)).toBeLessThan(E2E_LOGITS_NMSE);
      expect(maxAbsDiff(probs, ref.probs)).toBeLessThan(E2E_PROBS_MAXDIFF);
      const b = bits(logits) + bits(probs);
      if (directBits === undefined) directBits = b;
      expect(b).toBe(directBits);
      await m.dispose();
    }
  });

  it("ResNet-152 (128x130, full width): SIMD 1 and 2 threads and scalar agree with float64 and bit-for-bit", async () => {
    const c = createRandomModel({ depth: 152 }, 152);
    const file = path.join(dir, "r152.eam");
    writeModel(file, c);
    const x = randomCrop(128 * 130, 5);
    const ref = reference(c, x);
    let firstBits: string | undefined;
    for (const v of [
      { isa: "wasmsimd", threads: 1 },
      { isa: "wasmsimd", threads: 2 },
      { isa: "scalar", threads: 1 },
    ] as const) {
      const m = await loadModel(file, { ...v, keep: ["head.dense"] });
      const probs = m.run(x);
      const logits = m.read("head.dense");
      expect(nmse(logits, ref.logits)).toBeLessThan(E2E_LOGITS_NMSE);
      expect(maxAbsDiff(probs, ref.probs)).toBeLessThan(E2E_PROBS_MAXDIFF);
      const b = bits(logits) + bits(probs);
      if (firstBits === undefined) firstBits = b;
      expect(b, `${v.isa} threads=${v.threads}`).toBe(firstBits);
      const info = m.info();
      expect(info.isa).toBe(v.isa);
      expect(info.threads).toBe(v.threads);
      expect(info.params).toBe(58082314);
      expect(info.ops.byKind.conv).toBe(155);
      await m.dispose();
    }
  });
});

describe("host API", () => {
  const c = createRandomModel({ depth: 34, width: 0.25, numClasses: 4, inputHeight: 40, inputWidth: 37 }, 9);
  c.labels = ["a", "b", "c", "d"];
  c.mel = { sampleRate: 22050, nMels: 40, nFft: 2048, hop: 512, fMin: 0, fMax: 11025, htk: false };
  const bytes = encodeModel(c);

  it("loads from a path and from bytes identically; info reports the model", async () => {
    const file = path.join(dir, "r34.eam");
    fs.writeFileSync(file, bytes);
    const a = await loadModel(file, { threads: 2 });
    const b = await loadModelFromBytes(bytes, { threads: 1 });
    const x = randomCrop(40 * 37, 1);
    const pa = a.run(x);
    expect(pa.length).toBe(4);
    expect(pa.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(bits(pa)).toBe(bits(b.run(x)));
    const info = a.info();
    expect(info.labels).toEqual(["a", "b", "c", "d"]);
    expect(info.mel).toEqual(c.mel);
    expect(info.input.shape).toEqual([40, 37, 1]);
    expect(info.threads).toBe(2);
    expect(info.fileBytes).toBe(bytes.length);
    expect(info.provenance.architecture).toBe("resnet34");
    expect(info.ops.byKind).toMatchObject({ conv: 36, add: 16, maxpool: 1, gap: 1, dense: 1, softmax: 1 });
    // The arena is at least the live peak (a lower bound) and the greedy planner stays close to it.
    expect(info.arenaBytes).toBeGreaterThanOrEqual(info.peakLiveBytes);
    expect(info.arenaBytes).toBeLessThanOrEqual(1.25 * info.peakLiveBytes);
    expect(info.peakLiveBytes).toBeGreaterThanOrEqual(info.largestOpBytes);
    expect(() => a.run(new Float32Array(5))).toThrow(/expects 1480/);
    await a.dispose();
    await b.dispose();
    expect(() => a.run(x)).toThrow(/disposed/);
  });

  it("loads node:worker_threads only for more than one thread", () => {
    const file = path.join(dir, "r34-threads.eam");
    fs.writeFileSync(file, bytes);
    const index = path.join(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");
    const script = path.join(dir, "threads-probe.mjs");
    fs.writeFileSync(
      script,
      `const e = await import(${JSON.stringify(index)});
       const m = await e.loadModel(${JSON.stringify(file)}, { threads: Number(process.argv[2]) });
       console.log(process.moduleLoadList.includes("NativeModule worker_threads"));
       await m.dispose();`,
    );
    const loaded = (threads: number) =>
      execFileSync(process.execPath, [script, String(threads)], { encoding: "utf8" }).trim();
    expect(loaded(1)).toBe("false");
    expect(loaded(2)).toBe("true");
  });

  it("refuses damaged, truncated, foreign and unsupported models before running anything", async () => {
    const h = readModelHeader(bytes);
    const t = h.tensors.find((x) => x.name === "layer2.1.conv2.weight")!;
    const damaged = bytes.slice();
    damaged[h.dataOffset + t.offset + 17]! ^= 0x04;
    await expect(loadModelFromBytes(damaged)).rejects.toThrow(/layer2\.1\.conv2\.weight.*checksum/);
    await expect(loadModelFromBytes(damaged)).rejects.toBeInstanceOf(EamFormatError);
    const file = path.join(dir, "trunc.eam");
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await expect(loadModel(file)).rejects.toThrow(/truncated/);
    fs.writeFileSync(file, Buffer.from("RIFF\0\0\0\0WAVEfmt ".repeat(8)));
    await expect(loadModel(file)).rejects.toThrow(/not an .eam/);
    const missing = { ...c, tensors: c.tensors.filter((x) => x.name !== "head.dense.bias") };
    await expect(loadModelFromBytes(encodeModel(missing))).rejects.toThrow(/head\.dense\.bias is missing/);
    const f16 = {
      ...c,
      tensors: c.tensors.map((x) =>
        x.name === "stem.conv.weight"
          ? { ...x, dtype: "f16" as const, data: new Uint16Array(x.data.length) }
          : x,
      ),
    };
    // f16 weights run as an f16 layer, unless quant.layers says otherwise.
    const f16m = await loadModelFromBytes(encodeModel(f16));
    expect(f16m.info().precision.f16).toBe(1);
    await f16m.dispose();
    const wrong = { ...f16, metadata: { "quant.layers": { "stem.conv": "f32" } } };
    await expect(loadModelFromBytes(encodeModel(wrong))).rejects.toThrow(
      /stem\.conv\.weight is f16; its layer's precision \(quant\.layers\) needs f32/,
    );
    const badPrec = { ...c, metadata: { "quant.layers": { "stem.conv": "int3" } } };
    await expect(loadModelFromBytes(encodeModel(badPrec))).rejects.toThrow(
      /quant\.layers\.stem\.conv is "int3"/,
    );
    const noParams = {
      ...c,
      tensors: c.tensors.map((x) =>
        x.name === "stem.conv.weight"
          ? {
              ...x,
              dtype: "i8" as const,
              data: new Int8Array(x.data.length),
              quant: {
                axis: 3,
                scales: new Float32Array(x.shape[3]!).fill(0.01),
                zeroPoints: new Int32Array(x.shape[3]!),
              },
            }
          : x,
      ),
      metadata: { "quant.layers": { "stem.conv": "int8" } },
    };
    await expect(loadModelFromBytes(encodeModel(noParams))).rejects.toThrow(
      /int8 layer stem\.conv: activation input has no quantization parameters/,
    );
  });
});

describe("command line", () => {
  const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
  it("random, info and run", () => {
    const file = path.join(dir, "cli.eam");
    const help = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(help).toMatch(/random --out FILE/);
    const w = JSON.parse(
      execFileSync(
        process.execPath,
        [cli, "random", "--depth", "50", "--width", "0.25", "--classes", "3", "--out", file, "--json"],
        {
          encoding: "utf8",
        },
      ),
    );
    expect(w.bytes).toBe(fs.statSync(file).size);
    const info = JSON.parse(
      execFileSync(process.execPath, [cli, "info", file, "--json"], { encoding: "utf8" }),
    );
    expect(info.ops.byKind.conv).toBe(53);
    expect(info.output.shape).toEqual([3]);
    const crop = path.join(dir, "crop.f32");
    const x = randomCrop(128 * 130, 4);
    fs.writeFileSync(crop, Buffer.from(x.buffer));
    const run = JSON.parse(
      execFileSync(process.execPath, [cli, "run", file, "--input", crop, "--threads", "2", "--json"], {
        encoding: "utf8",
      }),
    );
    expect(Object.keys(run.probabilities)).toEqual(["class0", "class1", "class2"]);
    const sum = Object.values(run.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
    // Same crop through the library gives the same top class.
    const c = createRandomModel({ depth: 50, width: 0.25, numClasses: 3 }, 1);
    const ref = reference(c, x);
    const top = Array.from(ref.probs).indexOf(Math.max(...ref.probs));
    expect(run.top).toBe(`class${top}`);
  });

  it("writeRandomModel is deterministic per seed", () => {
    const a = path.join(dir, "a.eam");
    const b = path.join(dir, "b.eam");
    writeRandomModel(a, { depth: 18, width: 0.125 }, 3);
    writeRandomModel(b, { depth: 18, width: 0.125 }, 3);
    const ha = readModelHeader(a);
    const hb = readModelHeader(b);
    expect(ha.tensors.map((t) => t.crc32)).toEqual(hb.tensors.map((t) => t.crc32));
  });
});
