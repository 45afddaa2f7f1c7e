/**
 * The exporters on a small random ResNet and its quantized variants: what the `.tflite` and
 * `.onnx` files hold (read back field by field), the refusals, and the command line. Running the
 * exported files in LiteRT.js and onnxruntime beside the engine is packages/bench's
 * test/export-crosscheck.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createRandomModel,
  type EamFile,
  f32ToF16,
  type ModelContents,
  randomCrop,
  readModel,
  writeModel,
} from "@edge-audio/engine-wasm";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { exportModel, HWIO_TO_OHWI, permute } from "../src/export/index.js";
import { BuiltinOperator, TensorType } from "../src/export/tflite/schema.js";
import { quantizeModel } from "../src/quantize.js";
import { fieldInt, readTflite } from "./helpers/tflite-read.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "export-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const config = { depth: 18 as const, width: 0.125, inputHeight: 32, inputWidth: 34 };
const fp32 = path.join(dir, "m-fp32.eam");
writeModel(fp32, { ...createRandomModel(config, 3), labels: Array.from({ length: 10 }, (_, i) => `g${i}`) });
const crops = Array.from({ length: 6 }, (_, i) => randomCrop(32 * 34, 100 + i));
const variant = async (mode: "fp16" | "dynamic" | "int8" | "int8-tensor" | "mixed") => {
  const out = path.join(dir, `m-${mode}.eam`);
  if (!fs.existsSync(out)) await quantizeModel(fp32, mode, { out, crops });
  return out;
};
const tensorNamed = (m: ReturnType<typeof readTflite>, name: string) =>
  m.tensors.find((t) => t.name === name)!;
const opsOf = (m: ReturnType<typeof readTflite>, code: number) => m.ops.filter((o) => o.code === code);

/** The type XNNPACK's delegate sees for a tensor: a DEQUANTIZE output of a FLOAT16 constant is FLOAT16. */
function xnnpackType(m: ReturnType<typeof readTflite>, t: number): number {
  const producer = m.ops.find((o) => o.outputs.includes(t));
  if (producer?.code === BuiltinOperator.DEQUANTIZE) {
    const src = m.tensors[producer.inputs[0]!]!;
    if (src.type === TensorType.FLOAT16 && src.buffer > 0) return TensorType.FLOAT16;
  }
  return m.tensors[t]!.type;
}

function contentsOf(f: EamFile): ModelContents {
  return {
    graph: f.graph,
    tensors: f.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: f.tensorData.get(t.name)!,
      quant: t.quant,
    })),
    labels: f.labels,
    metadata: Object.fromEntries(
      [...f.metadata].filter(([k]) => !k.startsWith("eam.") && !k.startsWith("provenance.")),
    ) as never,
  };
}

describe("export to TFLite", () => {
  it("FP32: TFL3 file, float input and output, OHWI conv weights, 16-byte aligned buffers", () => {
    const r = exportModel(fp32, { to: "tflite" });
    const m = readTflite(r.data);
    expect(m.identifier).toBe("TFL3");
    expect(m.version).toBe(3);
    expect(tensorNamed(m, "input").shape).toEqual([1, 32, 34, 1]);
    expect(m.tensors[m.outputs[0]!]!.name).toBe("head.softmax");
    expect(m.tensors[m.outputs[0]!]!.type).toBe(TensorType.FLOAT32);
    const src = readModel(fp32).tensor("layer1.0.conv1.weight");
    const w = tensorNamed(m, "layer1.0.conv1.weight");
    expect(w.shape).toEqual(HWIO_TO_OHWI.map((p) => src.shape[p]!));
    const stored = new Float32Array(m.buffers[w.buffer]!.slice().buffer);
    expect(stored).toEqual(permute(src.data as Float32Array, src.shape, HWIO_TO_OHWI));
    for (const [i, off] of m.bufferOffsets.entries()) if (m.buffers[i]!.length) expect(off % 16).toBe(0);
    expect(opsOf(m, BuiltinOperator.CONV_2D).length).toBe(20);
    expect(JSON.parse(m.metadata["edge-audio.labels"]!)).toHaveLength(10);
  });

  it("fp16: FLOAT16 weights and biases widened by DEQUANTIZE; dynamic: int8 weights with float activations", async () => {
    const h = readTflite(exportModel(await variant("fp16"), { to: "tflite" }).data);
    expect(tensorNamed(h, "stem.conv.weight").type).toBe(TensorType.FLOAT16);
    expect(tensorNamed(h, "stem.conv.bias").type).toBe(TensorType.FLOAT16);
    expect(opsOf(h, BuiltinOperator.DEQUANTIZE).length).toBe(2 * 21);
    // The bias is the float bias rounded to the nearest half.
    const bias = readModel(await variant("fp16")).tensor("stem.conv.bias").data as Float32Array;
    const half = new Uint16Array(h.buffers[tensorNamed(h, "stem.conv.bias").buffer]!.slice().buffer);
    expect(Array.from(half)).toEqual(Array.from(bias, f32ToF16));
    const d = readTflite(exportModel(await variant("dynamic"), { to: "tflite" }).data);
    const w = tensorNamed(d, "stem.conv.weight");
    expect(w.type).toBe(TensorType.INT8);
    expect(w.scale.length).toBe(8);
    expect(w.axis).toBe(0);
    expect(tensorNamed(d, "stem.conv").type).toBe(TensorType.FLOAT32);
    const fc = opsOf(d, BuiltinOperator.FULLY_CONNECTED)[0]!;
    expect(fieldInt(d.bb, fc.options, 3, 1)).toBe(1); // asymmetric_quantize_inputs
  });

  it("every float conv and dense layer has filter and bias of one type, as XNNPACK takes them", async () => {
    // XNNPACK's delegate reads a FLOAT16 -> FLOAT32 DEQUANTIZE that feeds only convs and dense
    // layers as FLOAT16 (it folds it away) and refuses a layer whose filter and bias types differ;
    // such a layer runs on TFLite's builtin kernels, several times slower.
    for (const src of [fp32, await variant("fp16"), await variant("dynamic"), await variant("mixed")]) {
      const m = readTflite(exportModel(src, { to: "tflite" }).data);
      const layers = m.ops.filter(
        (o) =>
          (o.code === BuiltinOperator.CONV_2D || o.code === BuiltinOperator.FULLY_CONNECTED) &&
          m.tensors[o.inputs[0]!]!.type === TensorType.FLOAT32,
      );
      expect(layers.length).toBeGreaterThan(0);
      for (const o of layers) {
        const filter = xnnpackType(m, o.inputs[1]!);
        const what = `${m.tensors[o.outputs[0]!]!.name} in ${path.basename(src)}`;
        expect(xnnpackType(m, o.inputs[2]!), what).toBe(
          filter === TensorType.INT8 ? TensorType.FLOAT32 : filter,
        );
      }
    }
  });

  it("refuses an fp16 bias beyond the range of half, naming the layer", async () => {
    const c = contentsOf(readModel(await variant("fp16")));
    const b = c.tensors.find((t) => t.name === "layer1.0.conv2.bias")!;
    b.data = Float32Array.from(b.data as Float32Array, (v, i) => (i === 3 ? 1e5 : v));
    const p = path.join(dir, "fp16-big-bias.eam");
    writeModel(p, c);
    expect(() => exportModel(p, { to: "tflite" })).toThrow(
      /layer layer1\.0\.conv2: bias 100000 does not fit IEEE half/,
    );
  });

  it("int8: our scales and zero points, int32 biases at sx * sw[c], QUANTIZE first, max pool keeps its input's parameters", async () => {
    const path8 = await variant("int8");
    const src = readModel(path8);
    const acts = src.metadata.get("quant.activations") as Record<
      string,
      { scale: number; zeroPoint: number }
    >;
    const m = readTflite(exportModel(path8, { to: "tflite" }).data);
    expect(m.ops[0]!.code).toBe(BuiltinOperator.QUANTIZE);
    const q = tensorNamed(m, "input/quantized");
    expect(q.scale[0]).toBe(Math.fround(acts.input!.scale));
    expect(q.zeroPoint[0]).toBe(acts.input!.zeroPoint);
    const w = tensorNamed(m, "layer1.0.conv1.weight");
    expect(w.scale).toEqual(Array.from(src.tensor("layer1.0.conv1.weight").quant!.scales));
    expect(w.zeroPoint.every((z) => z === 0)).toBe(true);
    const b = tensorNamed(m, "layer1.0.conv1.bias");
    expect(b.type).toBe(TensorType.INT32);
    expect(b.scale[3]).toBeCloseTo(tensorNamed(m, "stem.pool").scale[0]! * w.scale[3]!, 12);
    const pool = tensorNamed(m, "stem.pool");
    const conv = tensorNamed(m, "stem.conv");
    expect([pool.scale, pool.zeroPoint]).toEqual([conv.scale, conv.zeroPoint]);
    expect(tensorNamed(m, "layer1.0.add").scale[0]).toBe(Math.fround(acts["layer1.0.add"]!.scale));
    expect(m.tensors[m.inputs[0]!]!.type).toBe(TensorType.FLOAT32);
    const t = readTflite(exportModel(await variant("int8-tensor"), { to: "tflite" }).data);
    expect(tensorNamed(t, "layer1.0.conv1.weight").scale.length).toBe(1);
    expect(tensorNamed(t, "layer1.0.conv1.bias").scale.length).toBe(1);
  });

  it("mixed: int4 layers become int8 tensors holding values in [-7, 7], with a note", async () => {
    const r = exportModel(await variant("mixed"), { to: "tflite" });
    const int4 = Object.entries(
      readModel(await variant("mixed")).metadata.get("quant.layers") as Record<string, string>,
    )
      .filter(([, p]) => p === "int4")
      .map(([l]) => l);
    expect(int4.length).toBeGreaterThan(0);
    expect(r.notes.join()).toMatch(/int4 layer\(s\) written as int8/);
    const m = readTflite(r.data);
    const w = tensorNamed(m, `${int4[0]}.weight`);
    expect(w.type).toBe(TensorType.INT8);
    const q = new Int8Array(m.buffers[w.buffer]!.slice().buffer);
    expect(Math.max(...q.map(Math.abs))).toBeLessThanOrEqual(7);
  });

  it("refuses what TFLite cannot express, naming the layer", async () => {
    const f = readModel(await variant("int8"));
    const c = contentsOf(f);
    const layers = { ...(f.metadata.get("quant.layers") as Record<string, string>), "head.dense": "int8" };
    const acts = {
      ...(f.metadata.get("quant.activations") as object),
      "head.gap": { scale: 0.01, zeroPoint: -128 },
    };
    c.metadata = { ...c.metadata, "quant.layers": layers, "quant.activations": acts };
    const p = path.join(dir, "int8-head.eam");
    writeModel(p, c);
    expect(() => exportModel(p, { to: "tflite" })).toThrow(
      /layer head\.dense: int8 dense with a float output.*no TFLite form/,
    );
    expect(exportModel(p, { to: "onnx" }).bytes).toBeGreaterThan(0); // QDQ can
    const bad = contentsOf(f);
    bad.metadata = {
      ...bad.metadata,
      "quant.layers": { ...layers, "head.dense": "dynamic", "stem.conv": "f16" },
    };
    writeModel(p, bad);
    expect(() => exportModel(p, { to: "onnx" })).toThrow(
      /layer stem\.conv runs in f16 but its weight stem\.conv\.weight is i8/,
    );
  });
});

describe("export to ONNX", () => {
  it("int8 as QDQ: int8 per-channel weights and int32 biases through DequantizeLinear, signed int8 activations", async () => {
    const path8 = await variant("int8");
    const m = onnxProto.onnx.ModelProto.decode(exportModel(path8, { to: "onnx" }).data);
    const g = m.graph!;
    const init = (n: string) => g.initializer!.find((i) => i.name === n)!;
    const DT = onnxProto.onnx.TensorProto.DataType;
    expect(init("layer1.0.conv1.weight.q").dataType).toBe(DT.INT8);
    expect(init("layer1.0.conv1.weight.q").dims!.map(Number)).toEqual([8, 8, 3, 3]);
    expect(init("layer1.0.conv1.weight.scale").dims!.map(Number)).toEqual([8]);
    expect(init("layer1.0.conv1.bias.q").dataType).toBe(DT.INT32);
    expect(init("stem.conv.zero_point").dataType).toBe(DT.INT8);
    const ops = g.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === "QuantizeLinear").length).toBeGreaterThan(20);
    expect(ops).toContain("DynamicQuantizeLinear"); // the dynamic head
    const wdq = g.node!.find((n) => n.name === "layer1.0.conv1.weight.dq")!;
    expect(Number(wdq.attribute!.find((a) => a.name === "axis")!.i)).toBe(0);
    expect(g.output![0]!.name).toBe("head.softmax");
  });

  it("fp16 weights as FLOAT16 initializers cast to float", async () => {
    const m = onnxProto.onnx.ModelProto.decode(exportModel(await variant("fp16"), { to: "onnx" }).data);
    const t = m.graph!.initializer!.find((i) => i.name === "stem.conv.weight.f16")!;
    expect(t.dataType).toBe(onnxProto.onnx.TensorProto.DataType.FLOAT16);
    expect(m.graph!.node!.filter((n) => n.opType === "Cast").length).toBe(21);
  });
});

describe("edge-audio-quantize export", () => {
  it("writes the file and reports it (--json)", async () => {
    const out = path.join(dir, "cli.tflite");
    const json = JSON.parse(
      execFileSync(
        process.execPath,
        [cli, "export", "--to", "tflite", await variant("int8"), "--out", out, "--json"],
        {
          encoding: "utf8",
        },
      ),
    );
    expect(json).toMatchObject({ format: "tflite", mode: "int8", weights: "per-channel", out });
    expect(fs.statSync(out).size).toBe(json.bytes);
    expect(execFileSync(process.execPath, [cli, "export", "--help"], { encoding: "utf8" })).toMatch(
      /--to tflite/,
    );
  });

  it("refuses bad arguments with one line and exit code 2", () => {
    const run = (...a: string[]) => spawnSync(process.execPath, [cli, "export", ...a], { encoding: "utf8" });
    const cases: [string[], RegExp][] = [
      [["--to", "tf", fp32, "--out", path.join(dir, "x")], /--to is tflite or onnx/],
      [
        ["--to", "onnx", path.join(dir, "none.eam"), "--out", path.join(dir, "x")],
        /none\.eam: no such model file/,
      ],
      [["--to", "onnx", fp32], /--out FILE is required/],
      [["--to", "onnx", fp32, "--out", path.join(dir, "no", "x.onnx")], /folder .* does not exist/],
      [["--to", "onnx", fp32, "--out", dir], /is a directory/],
    ];
    for (const [args, msg] of cases) {
      const r = run(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
