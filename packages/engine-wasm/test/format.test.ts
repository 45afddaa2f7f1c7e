import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { defaultArchConfig, resnetSpec } from "../src/arch.js";
import {
  EamFormatError,
  encodeModel,
  graphFromArch,
  type ModelContents,
  readModel,
  readModelHeader,
  writeModel,
} from "../src/format.js";

function sample(): ModelContents {
  const spec = resnetSpec(defaultArchConfig({ depth: 18, width: 0.0625, numClasses: 3 }));
  return {
    graph: graphFromArch(spec),
    arch: spec.config,
    labels: ["blues", "jazz", "rock"],
    mel: { sampleRate: 22050, nMels: 128, hop: 512 },
    provenance: { architecture: "resnet18", trainingData: "none", tools: { test: "1" } },
    metadata: { "custom.n": 3, "custom.flag": true, "custom.list": [1, 2.5] },
    tensors: [
      { name: "a.weight", dtype: "f32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6]) },
      { name: "b", dtype: "f16", shape: [3], data: new Uint16Array([0x3c00, 0, 0xbc00]) },
      {
        name: "q",
        dtype: "i8",
        shape: [2, 2],
        data: new Int8Array([1, -2, 3, -128]),
        quant: { axis: 1, scales: new Float32Array([0.5, 0.25]), zeroPoints: new Int32Array([0, 1]) },
      },
      {
        name: "qt",
        dtype: "u8",
        shape: [5],
        data: new Uint8Array([1, 2, 3, 4, 255]),
        quant: { axis: null, scales: new Float32Array([0.1]), zeroPoints: new Int32Array([128]) },
      },
      { name: "i", dtype: "i32", shape: [1, 1, 2], data: new Int32Array([-7, 1 << 30]) },
    ],
  };
}

function expectError(f: () => unknown, section: string, re: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EamFormatError);
    expect((e as EamFormatError).section).toBe(section);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error("expected an EamFormatError");
}

describe(".eam format", () => {
  it("round-trips every dtype, quantization, metadata, graph, through bytes and files", () => {
    const c = sample();
    const bytes = encodeModel(c);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-"));
    const file = path.join(dir, "m.eam");
    writeModel(file, c);
    expect(new Uint8Array(fs.readFileSync(file)).length).toBe(bytes.length);
    for (const m of [readModel(bytes), readModel(file)]) {
      expect(m.versionMajor).toBe(1);
      expect(m.labels).toEqual(["blues", "jazz", "rock"]);
      expect(m.mel).toEqual({ sampleRate: 22050, nMels: 128, hop: 512 });
      expect(m.arch).toEqual(c.arch);
      expect(m.graph).toEqual(c.graph);
      expect(m.provenance.architecture).toBe("resnet18");
      expect(m.provenance.tools).toEqual({ test: "1" });
      expect(typeof m.provenance.date).toBe("string");
      expect(m.metadata.get("custom.n")).toBe(3);
      expect(m.metadata.get("custom.flag")).toBe(true);
      expect(m.metadata.get("custom.list")).toEqual([1, 2.5]);
      for (const t of c.tensors) {
        const r = m.tensor(t.name);
        expect(r.dtype).toBe(t.dtype);
        expect(r.shape).toEqual(t.shape);
        expect(Array.from(r.data)).toEqual(Array.from(t.data));
        expect(r.offset % 64).toBe(0);
        expect((m.dataOffset + r.offset) % 64).toBe(0);
      }
      expect(m.tensor("q").quant?.axis).toBe(1);
      expect(Array.from(m.tensor("q").quant!.scales)).toEqual([0.5, 0.25]);
      expect(Array.from(m.tensor("q").quant!.zeroPoints)).toEqual([0, 1]);
      expect(m.tensor("qt").quant?.axis).toBeNull();
      expect(m.tensor("qt").quant?.zeroPoints[0]).toBe(128);
    }
    expect(readModelHeader(file).tensors.length).toBe(5);
    fs.rmSync(dir, { recursive: true });
  });

  it("refuses foreign, truncated, newer, damaged files with the section named", () => {
    const good = encodeModel(sample());
    expectError(() => readModel(new TextEncoder().encode("RIFF....WAVEfmt ")), "magic", /not an .eam/);
    expectError(() => readModel(good.subarray(0, 40)), "file", /truncated/);
    expectError(() => readModel(good.subarray(0, good.length - 1)), "file", /truncated.*1 missing/);
    expectError(() => readModel(good.subarray(0, 200)), "file", /truncated/);
    const newer = good.slice();
    newer[4] = 2;
    expectError(() => readModel(newer), "version", /newer/);
    const hdr = good.slice();
    hdr[100] ^= 0x01;
    expectError(() => readModel(hdr), "header", /checksum/);
    const data = good.slice();
    data[data.length - 60] ^= 0x80; // inside the last tensor? find a real one below
    const h = readModelHeader(good);
    const t = h.tensors.find((x) => x.name === "a.weight")!;
    const dmg = good.slice();
    dmg[h.dataOffset + t.offset + 5] ^= 0x10;
    expectError(() => readModel(dmg), "data", /a\.weight.*checksum/);
    const longer = new Uint8Array(good.length + 3);
    longer.set(good);
    expectError(() => readModel(longer), "file", /unexpected bytes/);
  });

  it("refuses writes that do not match their shape", () => {
    const c = sample();
    c.tensors[0] = { name: "x", dtype: "f32", shape: [4], data: new Float32Array(3) };
    expect(() => encodeModel(c)).toThrow(/needs 16/);
  });

  it("refuses a graph with an unknown op", () => {
    const c = sample();
    c.graph = { ...c.graph, layers: [...c.graph.layers, { op: "lstm", name: "x", input: "input" } as never] };
    expectError(() => readModel(encodeModel(c)), "graph", /unsupported op "lstm"/);
  });
});
