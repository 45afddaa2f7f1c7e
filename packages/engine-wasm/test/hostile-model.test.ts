/**
 * Well-formed model files (every checksum valid) whose contents are hostile, one block per class
 * of defect: layers with an empty output, names that are members of Object.prototype, small files
 * that declare enormous memory or work, outputs that are not a probability vector of the labels,
 * quantization parameters that are meaningless in float32, tensors the graph does not use, and
 * deeply nested JSON metadata. Each is loaded through the public API (readModel, loadModel,
 * loadModelFromBytes, run) and must give the same result as a clean file or a one-line refusal.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  crc32,
  createRandomModel,
  EamFormatError,
  encodeModel,
  type LayerSpec,
  loadModel,
  loadModelFromBytes,
  MetaType,
  type ModelContents,
  randomCrop,
  readModel,
  readModelHeader,
} from "../dist/index.js";
import { activationParams, int8Layers, quantizedVariant, renameTensor } from "./model-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-hostile-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fp32 = createRandomModel(
  { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
  5,
);
const crops = [randomCrop(256, 1), randomCrop(256, 2)];
const acts = activationParams(fp32, crops);
const int8 = quantizedVariant(fp32, int8Layers(fp32), acts);

/** Outcome of loading and running a model: its outputs' bits, or the refusal. */
async function outcome(
  c: ModelContents | Uint8Array,
  opts: Parameters<typeof loadModelFromBytes>[1] = {},
): Promise<{ bits: string } | { error: Error }> {
  const bytes = c instanceof Uint8Array ? c : encodeModel(c);
  let m: Awaited<ReturnType<typeof loadModelFromBytes>>;
  try {
    m = await loadModelFromBytes(bytes, { threads: 1, ...opts });
  } catch (e) {
    return { error: e as Error };
  }
  try {
    const outs = crops.map((x) => m.run(x));
    return { bits: outs.map((o) => Buffer.from(o.buffer).toString("base64")).join() };
  } catch (e) {
    return { error: e as Error };
  } finally {
    await m.dispose();
  }
}

async function refusal(c: ModelContents | Uint8Array, opts = {}): Promise<Error> {
  const r = await outcome(c, opts);
  if ("bits" in r) throw new Error("the model loaded and ran");
  expect(r.error.message).not.toContain("\n");
  return r.error;
}

async function bitsOf(c: ModelContents): Promise<string> {
  const r = await outcome(c);
  if ("error" in r) throw r.error;
  return r.bits;
}

function edited(c: ModelContents, f: (c: ModelContents) => void): ModelContents {
  const x = structuredClone(c);
  f(x);
  return x;
}

function layer(c: ModelContents, name: string): LayerSpec & Record<string, unknown> {
  const l = c.graph.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l as LayerSpec & Record<string, unknown>;
}

/** A max-pool layer of a square window, stride 1. */
function maxpool(name: string, input: string, size: number, padding: "same" | "valid"): LayerSpec {
  return { op: "maxpool", name, input, pool: [size, size], stride: [1, 1], padding };
}

/** A tiny graph: input -> [middle layers] -> gap -> dense(4) -> softmax, with its dense weights. */
function tinyGraph(inputShape: number[], middle: LayerSpec[], channels: number): ModelContents {
  const last = middle.at(-1)?.name ?? "input";
  return {
    graph: {
      input: "input",
      inputShape,
      output: "sm",
      layers: [
        ...middle,
        { op: "gap", name: "g", input: last },
        { op: "dense", name: "d", input: "g", units: 4 },
        { op: "softmax", name: "sm", input: "d" },
      ],
    },
    labels: ["a", "b", "c", "d"],
    tensors: [
      {
        name: "d.weight",
        dtype: "f32",
        shape: [channels, 4],
        data: Float32Array.from({ length: channels * 4 }, (_, i) => (i % 3) - 1),
      },
      { name: "d.bias", dtype: "f32", shape: [4], data: new Float32Array(4) },
    ],
  };
}

describe("every op's output shape is checked at load", () => {
  it("a max-pool window larger than its input (valid padding) is refused naming the layer", async () => {
    // stem.pool sees an 8x8 input
    for (const pool of [
      [9, 9],
      [3, 17],
      [17, 3],
    ]) {
      const e = await refusal(
        edited(fp32, (c) => Object.assign(layer(c, "stem.pool"), { pool, padding: "valid" })),
      );
      expect(e, `pool ${pool}`).toBeInstanceOf(EamFormatError);
      expect((e as EamFormatError).section).toBe("graph");
      expect(e.message).toMatch(/stem\.pool/);
      expect(e.message).toMatch(/empty/);
    }
  });

  it("every conv and max-pool of the graph with a valid window one larger than its input is refused naming it", async () => {
    // spatial sizes by the "same" padding rule: ceil(in / stride)
    const shapes = new Map<string, number[]>([["input", [16, 16]]]);
    for (const l of fp32.graph.layers) {
      if (l.op === "conv" || l.op === "maxpool") {
        const [h, w] = shapes.get(l.input)!;
        const s = l.stride;
        shapes.set(l.name, [Math.ceil(h! / s[0]), Math.ceil(w! / s[1])]);
      } else if (l.op === "add") shapes.set(l.name, shapes.get(l.inputs[0])!);
      else shapes.set(l.name, shapes.get(l.input) ?? [1, 1]);
    }
    const windowed = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "maxpool");
    expect(windowed.length).toBe(21);
    for (const l of windowed) {
      const [h, w] = shapes.get((l as { input: string }).input)!;
      const key = l.op === "conv" ? "kernel" : "pool";
      const e = await refusal(
        edited(fp32, (c) => Object.assign(layer(c, l.name), { [key]: [h! + 1, w!], padding: "valid" })),
      );
      expect(e, l.name).toBeInstanceOf(EamFormatError);
      expect(e.message, l.name).toContain(l.name);
    }
  });

  it("a max-pool over a vector (no spatial dimensions) is refused naming the layer", async () => {
    const c = edited(fp32, (x) => {
      const i = x.graph.layers.findIndex((l) => l.name === "head.dropout");
      x.graph.layers.splice(i, 0, maxpool("pool.vec", "head.gap", 1, "valid"));
      layer(x, "head.dropout").input = "pool.vec";
    });
    const e = await refusal(c);
    expect(e).toBeInstanceOf(EamFormatError);
    expect(e.message).toMatch(/pool\.vec/);
  });
});

describe("names read from a file are only names", () => {
  const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);
  it("covers every Object.prototype member", () => {
    expect(PROTO_NAMES).toEqual(
      expect.arrayContaining(["constructor", "toString", "__proto__", "hasOwnProperty"]),
    );
  });

  it("a valid FP32 file with a conv named `constructor` loads and gives the same bits", async () => {
    const base = await bitsOf(fp32);
    expect(await bitsOf(renameTensor(fp32, "layer1.0.conv1", "constructor"))).toBe(base);
  });

  it("an int8 file with a conv named `toString` and its quantization entry deleted is refused", async () => {
    const c = renameTensor(int8, "layer1.0.conv1", "toString");
    Reflect.deleteProperty(c.metadata!["quant.activations"] as object, "toString");
    const e = await refusal(c);
    expect(e).toBeInstanceOf(EamFormatError);
    expect(e.message).toMatch(/toString.*quantization parameters|quantization parameters.*toString/);
  });

  it(`each of the ${PROTO_NAMES.length} Object.prototype names as a conv, the graph input, and a quantization key`, async () => {
    const fpBits = await bitsOf(fp32);
    const qBits = await bitsOf(int8);
    for (const name of PROTO_NAMES) {
      for (const target of ["layer1.0.conv1", "stem.pool", "layer2.0.add", "input"]) {
        expect(await bitsOf(renameTensor(fp32, target, name)), `fp32 ${target} -> ${name}`).toBe(fpBits);
        const q = renameTensor(int8, target, name);
        expect(await bitsOf(q), `int8 ${target} -> ${name}`).toBe(qBits);
        const missing = structuredClone(q);
        const a = missing.metadata!["quant.activations"] as Record<string, unknown>;
        expect(Object.hasOwn(a, name), name).toBe(true);
        delete a[name];
        // an int8 max-pool takes its input's parameters: its own entry is not read
        if (target === "stem.pool") expect(await bitsOf(missing), `int8 ${target} -> ${name}`).toBe(qBits);
        else
          expect((await refusal(missing)).message, `int8 ${target} -> ${name} without parameters`).toContain(
            name,
          );
      }
      // a quant.layers entry naming no layer changes nothing; an unused tensor of that name neither
      const extra = edited(int8, (c) => {
        (c.metadata!["quant.layers"] as Record<string, string>)[name] = "int8";
        c.tensors.push({ name, dtype: "f32", shape: [1], data: new Float32Array([1]) });
      });
      expect(await bitsOf(extra), `extra ${name}`).toBe(qBits);
      expect(readModel(encodeModel(extra)).tensor(name).data).toEqual(new Float32Array([1]));
    }
  });
});

describe("memory and work are computed and bounded before anything is allocated", () => {
  /** Runs `f` and returns the largest wasm memory (bytes) constructed meanwhile. */
  async function largestWasmMemory(f: () => Promise<unknown>): Promise<number> {
    const Real = WebAssembly.Memory;
    let largest = 0;
    (WebAssembly as { Memory: unknown }).Memory = new Proxy(Real, {
      construct(target, args: [WebAssembly.MemoryDescriptor]) {
        largest = Math.max(largest, args[0].initial * 65536);
        return new target(args[0]);
      },
    });
    try {
      await f();
    } finally {
      (WebAssembly as { Memory: unknown }).Memory = Real;
    }
    return largest;
  }

  it("an input shape of 4096 x 65535 in a 1 KB file is refused, stating the memory needed and the limit", async () => {
    const c = tinyGraph([4096, 65535, 1], [], 1);
    const bytes = encodeModel(c);
    expect(bytes.length).toBeLessThan(2048);
    let err: Error | undefined;
    const largest = await largestWasmMemory(async () => {
      err = await refusal(bytes);
    });
    expect(err!.message).toMatch(/needs [\d.]+ MiB of memory/);
    expect(err!.message).toMatch(/limit of 1024 MiB/);
    expect(err!.message).toMatch(/maxMemoryBytes/);
    expect(err!.message).toMatch(/--max-memory/);
    expect(largest).toBeLessThanOrEqual(1 << 20);
  });

  it("a 65535 x 65535 max-pool over a 2048 x 2048 input is refused, stating the work per crop and the limit", async () => {
    const c = tinyGraph([2048, 2048, 1], [maxpool("huge.pool", "input", 65535, "same")], 1);
    const e = await refusal(c);
    expect(e.message).toMatch(/huge\.pool/);
    expect(e.message).toMatch(/operations per crop/);
    expect(e.message).toMatch(/maxWorkPerCrop/);
    // the limits are adjustable: with both raised the same file loads
    const m = await loadModelFromBytes(encodeModel(c), { threads: 1, maxWorkPerCrop: 1e15 });
    expect(m.info().workPerCrop).toBeGreaterThan(1e13);
    await m.dispose();
  });

  it("a graph of more layers than the planner takes is refused before planning", async () => {
    const layers = Array.from({ length: 2046 }, (_, i) =>
      maxpool(`p${i}`, i ? `p${i - 1}` : "input", 1, "same"),
    );
    const e = await refusal(tinyGraph([8, 8, 1], layers, 1));
    expect(e).toBeInstanceOf(EamFormatError);
    expect(e.message).toMatch(/2049 layers, more than the 2048/);
  });

  it("the memory limit is adjustable both ways", async () => {
    const bytes = encodeModel(fp32);
    const m = await loadModelFromBytes(bytes, { threads: 1 });
    const need = m.info().memoryBytes;
    await m.dispose();
    const e = await refusal(bytes, { maxMemoryBytes: need - 65536 });
    expect(e.message).toMatch(/needs [\d.]+ MiB of memory.*limit of [\d.]+ MiB/);
    const ok = await loadModelFromBytes(bytes, { threads: 1, maxMemoryBytes: need + 1e5 });
    await ok.dispose();
  });

  it("the Mel front-end's cost counts in the work per crop (nFft 2^20, 4096 bands over 130 frames)", async () => {
    const c = createRandomModel(
      { depth: 18, width: 0.0625, inputHeight: 128, inputWidth: 130, numClasses: 4 },
      3,
    );
    const mel = { sampleRate: 22050, nFft: 2048, hopLength: 512, nMels: 128 };
    const ok = await loadModelFromBytes(encodeModel({ ...c, mel }), { threads: 1 });
    const base = ok.info().workPerCrop;
    await ok.dispose();
    const e = await refusal({ ...c, mel: { ...mel, nFft: 2 ** 20, nMels: 4096 } });
    expect(e.message).toMatch(/Mel front-end/);
    expect(e.message).toMatch(/operations per crop/);
    expect(base).toBeLessThan(1e9);
  });
});

describe("the output is a probability vector of the labels", () => {
  it("a graph whose output is the dense layer, the input, or a softmax over an image is refused", async () => {
    const cases: [string, ModelContents][] = [
      ["dense as output", edited(fp32, (c) => (c.graph.output = "head.dense"))],
      ["output = input", edited(fp32, (c) => (c.graph.output = "input"))],
      ["gap as output", edited(fp32, (c) => (c.graph.output = "head.gap"))],
      [
        "softmax over HWC",
        edited(fp32, (c) => {
          c.graph.layers.push({ op: "softmax", name: "sm.image", input: "stem.pool" });
          c.graph.output = "sm.image";
        }),
      ],
    ];
    for (const [what, c] of cases) {
      const e = await refusal(c);
      expect(e, what).toBeInstanceOf(EamFormatError);
      expect((e as EamFormatError).section, what).toBe("graph");
      expect(e.message, what).toMatch(/softmax/);
    }
  });

  it("a label count that differs from the output size is refused (no made-up class names)", async () => {
    for (const labels of [[], ["a", "b", "c"], ["a", "b", "c", "d", "e"]]) {
      const e = await refusal({ ...fp32, labels });
      expect(e, `${labels.length} labels`).toBeInstanceOf(EamFormatError);
      expect(e.message).toMatch(
        new RegExp(`${labels.length} labels.*4 classes|4 classes.*${labels.length} labels`),
      );
    }
    const twice = await refusal({ ...fp32, labels: ["a", "b", "a", "c"] });
    expect(twice.message).toMatch(/label "a" names both class 0 and class 2/);
  });

  // A NaN that meets a ReLU first becomes 0 there (max(0, NaN) = 0 in every kernel), so these
  // poison the head, where nothing stands between them and the softmax.
  it("a NaN or infinite weight that reaches the output makes run() fail naming the model, in every precision", async () => {
    const poison = (c: ModelContents, tensor: string, v: number) =>
      edited(c, (x) => {
        const t = x.tensors.find((y) => y.name === tensor)!;
        if (t.dtype === "f32") (t.data as Float32Array)[3] = v;
      });
    const cases: [string, ModelContents][] = [
      ["fp32 NaN weight", poison(fp32, "head.dense.weight", Number.NaN)],
      ["fp32 Inf bias", poison(fp32, "head.dense.bias", Number.POSITIVE_INFINITY)],
      ["int8 file, NaN bias of the dynamic head", poison(int8, "head.dense.bias", Number.NaN)],
      [
        "f16 head, NaN bias",
        poison(quantizedVariant(fp32, { "head.dense": "f16" }, acts), "head.dense.bias", Number.NaN),
      ],
    ];
    for (const [what, c] of cases) {
      const f = path.join(dir, "poisoned.eam");
      fs.writeFileSync(f, encodeModel(c));
      const m = await loadModel(f, { threads: 1 });
      try {
        expect(() => m.run(crops[0]!), what).toThrow(new RegExp(`${f.replace(/[.]/g, "\\.")}.*not finite`));
      } finally {
        await m.dispose();
      }
    }
  });

  it("a NaN in the input is refused by run() naming its index", async () => {
    const m = await loadModelFromBytes(encodeModel(fp32), { threads: 1 });
    const x = crops[0]!.slice();
    x[17] = Number.NaN;
    expect(() => m.run(x)).toThrow(/input value 17 is NaN/);
    await m.dispose();
  });
});

describe("quantization parameters are checked in float32, as the kernels use them", () => {
  const BAD = [Number.NaN, 0, -1, Number.POSITIVE_INFINITY, 1e-50, 1e-40, 1e39];

  it("int4 weight scales of NaN, 0, -1, Inf, 1e-50, 1e-40 (a reciprocal beyond float32) and 1e39 are refused", async () => {
    const c = quantizedVariant(fp32, { ...int8Layers(fp32), "layer2.0.conv2": "int4" }, acts);
    expect(await bitsOf(c)).toBeTruthy();
    for (const v of BAD) {
      const bad = edited(c, (x) => {
        (x.tensors.find((t) => t.name === "layer2.0.conv2.weight_scale")!.data as Float32Array)[2] = v;
      });
      const e = await refusal(bad);
      expect(e, `scale ${v}`).toBeInstanceOf(EamFormatError);
      expect(e.message, `scale ${v}`).toMatch(/layer2\.0\.conv2\.weight_scale.*scale/);
    }
  });

  it("int8 weight scales and activation scales outside float32's normal range are refused like NaN", async () => {
    for (const v of BAD) {
      const w = edited(int8, (x) => {
        x.tensors.find((t) => t.name === "layer1.1.conv2.weight")!.quant!.scales[1] = v;
      });
      const e = await refusal(w);
      expect(e, `weight scale ${v}`).toBeInstanceOf(EamFormatError);
      expect(e.message, `weight scale ${v}`).toMatch(/layer1\.1\.conv2\.weight.*scale/);
      if (!Number.isFinite(v)) continue; // JSON cannot hold NaN or Infinity
      const a = edited(int8, (x) => {
        (x.metadata!["quant.activations"] as Record<string, { scale: number }>)["layer1.1.conv1"]!.scale = v;
      });
      const ea = await refusal(a);
      expect(ea, `activation scale ${v}`).toBeInstanceOf(EamFormatError);
      expect(ea.message, `activation scale ${v}`).toMatch(/layer1\.1\.conv1/);
    }
  });
});

describe("one verification path: every tensor's checksum, used or not", () => {
  it("a damaged tensor the graph does not use is refused by readModel, loadModel and loadModelFromBytes alike", async () => {
    const c = edited(fp32, (x) =>
      x.tensors.push({ name: "unused.extra", dtype: "f32", shape: [64], data: new Float32Array(64).fill(2) }),
    );
    const bytes = encodeModel(c);
    const h = readModelHeader(bytes);
    const t = h.tensors.find((x) => x.name === "unused.extra")!;
    bytes[h.dataOffset + t.offset + 9]! ^= 0x40;
    let expected = "";
    try {
      readModel(bytes);
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(expected).toMatch(/tensor unused\.extra: checksum mismatch/);
    const f = path.join(dir, "unused-damaged.eam");
    fs.writeFileSync(f, bytes);
    for (const load of [
      () => loadModelFromBytes(bytes, { threads: 1 }),
      () => loadModel(f, { threads: 1 }),
    ]) {
      const e = await load().then(
        async (m) => {
          await m.dispose();
          return null;
        },
        (err: Error) => err,
      );
      expect(e).toBeInstanceOf(EamFormatError);
      expect(e!.message).toBe(expected);
    }
  });
});

describe("nested JSON metadata is bounded", () => {
  /** A file whose metadata key `custom.deep` holds JSON nested `depth` levels deep. */
  function nested(depth: number): Uint8Array {
    const text = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    // encode a placeholder string of the same length as JSON text, then put the nested text in
    const c = {
      ...fp32,
      metadata: { "custom.deep": { type: MetaType.JSON, value: "x".repeat(2 * depth - 2) } },
    };
    const b = encodeModel(c);
    const placeholder = Buffer.from(JSON.stringify("x".repeat(2 * depth - 2)));
    const at = Buffer.from(b.buffer, b.byteOffset, b.length).indexOf(placeholder);
    b.set(Buffer.from(text), at);
    const dv = new DataView(b.buffer, b.byteOffset);
    const hl = Number(dv.getBigUint64(24, true));
    dv.setUint32(60, crc32(b.subarray(64, hl), crc32(b.subarray(0, 60))), true);
    return b;
  }

  it("metadata nested 100,000 deep is refused by the reader naming the key; 60 deep reads and prints", async () => {
    const deep = nested(100_000);
    for (const read of [() => readModelHeader(deep), () => readModel(deep)]) {
      expect(read).toThrow(EamFormatError);
      expect(read).toThrow(/"custom\.deep".*nested deeper than \d+ levels/);
    }
    const e = await refusal(deep);
    expect(e.message).toMatch(/custom\.deep/);
    const ok = readModelHeader(nested(60));
    expect(JSON.stringify(ok.metadata.get("custom.deep")).length).toBe(120);
  });
});
