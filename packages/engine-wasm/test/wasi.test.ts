/**
 * The WASI build (build/engine-wasi.wasm) runs the plan the host engine makes, under node:wasi:
 * bit-identical probabilities for every precision variant, with and without Winograd, and a
 * damaged plan file or a wrong crop refused with a one-line message (exit 2, no trap).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32 } from "../dist/crc32.js";
import { encodeModel, type ModelContents } from "../dist/format.js";
import { type LoadOptions, loadModelFromBytes, type Model } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { classifyLoaded, planFileBytes, runWasi, WASI_KERNELS, wasiLoadOptions } from "../dist/wasi-run.js";
import { activationParams, quantizedVariant } from "./model-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-wasi-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = { depth: 18 as const, width: 0.25, inputHeight: 32, inputWidth: 40, numClasses: 6 };
const fp32 = createRandomModel(config, 4);
const n = config.inputHeight * config.inputWidth;
const crops = [randomCrop(n, 1), randomCrop(n, 2)];
const acts = activationParams(fp32, crops);
const wlayers = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);
const all = (p: string, extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(wlayers.map((l) => [l, p])),
  ...extra,
});
const int8Rest = Object.fromEntries(
  fp32.graph.layers
    .filter((l) => l.op === "add" || l.op === "maxpool" || l.op === "gap")
    .map((l) => [l.name, "int8"]),
);
const variants: [string, ModelContents][] = [
  ["fp32", fp32],
  ["fp16", quantizedVariant(fp32, all("f16"), acts)],
  ["dynamic", quantizedVariant(fp32, all("dynamic"), acts)],
  ["int8", quantizedVariant(fp32, { ...all("int8", { "head.dense": "dynamic" }), ...int8Rest }, acts)],
  [
    "int4",
    quantizedVariant(
      fp32,
      {
        ...all("int8", { "head.dense": "dynamic" }),
        ...int8Rest,
        ...Object.fromEntries(wlayers.slice(8, -1).map((l) => [l, "int4"])),
      },
      acts,
    ),
  ],
  [
    "mixed",
    quantizedVariant(
      fp32,
      Object.fromEntries(
        fp32.graph.layers.map((l, i) => [l.name, ["int8", "f16", "dynamic", "f32", "int8"][i % 5]!]),
      ),
      acts,
    ),
  ],
];

/**
 * The load modes each variant runs in: Winograd, direct 3x3 and, for fp32 (whose maps here are
 * below F(4x4,3x3)'s tile count), Winograd with F(4x4,3x3) forced.
 */
const modes = (name: string): [string, LoadOptions][] => [
  ["", { winograd: true }],
  [" (direct 3x3)", { winograd: false }],
  ...(name === "fp32"
    ? [[" (F(4x4,3x3))", { winograd: true, f32WinogradTile: "4x4" }] as [string, LoadOptions]]
    : []),
];

const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describe("WASI build runs the host's plan", () => {
  for (const [name, contents] of variants)
    for (const [label, mode] of modes(name))
      it(`${name}${label}: bit-identical to the Node engine`, async () => {
        const bytes = encodeModel(contents);
        const wasiModel = await loadModelFromBytes(bytes, { ...wasiLoadOptions(mode.winograd), ...mode });
        const node = await loadModelFromBytes(bytes, { threads: 2, ...mode });
        try {
          for (const c of crops) {
            const got = classifyLoaded(wasiModel, c);
            const want = node.run(c);
            expect(got.length).toBe(config.numClasses);
            expect(bits(got)).toEqual(bits(want));
          }
        } finally {
          await wasiModel.dispose();
          await node.dispose();
        }
      });

  it("the variants exercise every kernel a call record can name", async () => {
    const used = new Set<number>();
    for (const [name, contents] of variants)
      for (const [, mode] of modes(name)) {
        const m = await loadModelFromBytes(encodeModel(contents), {
          ...wasiLoadOptions(mode.winograd),
          ...mode,
        });
        const plan = planFileBytes(m);
        const dv = new DataView(plan.buffer);
        const words = dv.getUint32(52, true);
        for (let i = 0; i < words; ) {
          const id = dv.getUint32(64 + i * 4, true);
          used.add(id);
          i += 1 + WASI_KERNELS[id]![1];
        }
        await m.dispose();
      }
    expect([...used].sort((a, b) => a - b)).toEqual(WASI_KERNELS.map((_, i) => i));
  });
});

describe("WASI build refuses bad input", () => {
  let model: Model;
  let plan: Uint8Array;
  const cropPath = path.join(dir, "crop.f32");

  const run = (bytes: Uint8Array, crop = cropPath) => {
    const p = path.join(dir, "bad.plan");
    fs.writeFileSync(p, bytes);
    return runWasi(p, crop);
  };
  /** Recomputes the checksum so the damage reaches the structural checks behind it. */
  const withCrc = (b: Uint8Array): Uint8Array => {
    new DataView(b.buffer, b.byteOffset).setUint32(12, crc32(b.subarray(16)), true);
    return b;
  };

  beforeAll(async () => {
    model = await loadModelFromBytes(encodeModel(fp32), wasiLoadOptions());
    plan = planFileBytes(model);
    const c = crops[0]!;
    fs.writeFileSync(cropPath, new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  });
  afterAll(() => model.dispose());

  it("runs the undamaged plan", () => {
    const ok = run(plan);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
  });

  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    [
      "a flipped weight byte",
      (b) => b.map((v, i) => (i === b.length - 100 ? v ^ 0x10 : v)),
      /checksum mismatch/,
    ],
    ["a truncated file", (b) => b.subarray(0, b.length - 1), /size differs/],
    ["a file shorter than its header", (b) => b.subarray(0, 40), /too short/],
    ["another file", (b) => b.map((v, i) => (i === 0 ? 0x7f : v)), /not a plan file/],
    [
      "an unknown kernel id",
      (b) => {
        const c = b.slice();
        new DataView(c.buffer).setUint32(64, 99, true);
        return withCrc(c);
      },
      /call 0 names unknown kernel 99/,
    ],
    [
      "a kernel address outside memory",
      (b) => {
        const c = b.slice();
        // first call's argument 6 (f32_gemm_run / f32_igemm_run: an input or indirection address)
        new DataView(c.buffer).setUint32(64 + 4 * 8, 16, true);
        return withCrc(c);
      },
      /call 0 \(f32_i?gemm_run\): argument (a|ind) reaches bytes \[16, \d+\), outside the plan's memory/,
    ],
    [
      "an output outside memory",
      (b) => {
        const c = b.slice();
        new DataView(c.buffer).setUint32(40, 0xfffffff0, true);
        return withCrc(c);
      },
      /output tensor lies outside/,
    ],
  ];
  for (const [what, damage, message] of cases)
    it(`refuses ${what} with one line, exit 2`, () => {
      const r = run(damage(plan));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^engine-wasi: .*bad\.plan: [^\n]+\n$/);
      expect(r.stderr).toMatch(message);
    });

  it("refuses a crop of the wrong size and a non-finite crop", () => {
    const short = path.join(dir, "short.f32");
    fs.writeFileSync(short, new Uint8Array(12));
    const r = run(plan, short);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/short\.f32: 12 bytes; the model takes 1280 float32 values/);
    const nan = path.join(dir, "nan.f32");
    const x = new Float32Array(n);
    x[5] = Number.NaN;
    fs.writeFileSync(nan, new Uint8Array(x.buffer));
    const r2 = run(plan, nan);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/nan\.f32: value 5 is NaN; the input must be finite/);
  });
});

describe("edge-audio-engine run --wasi", () => {
  const bin = fileURLToPath(new URL("../bin/edge-audio-engine.js", import.meta.url));
  const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

  it("prints the Node engine's probabilities and saves a plan a WASI runtime can run", () => {
    const file = path.join(dir, "cli.eam");
    fs.writeFileSync(file, encodeModel(variants[3]![1]));
    const planPath = path.join(dir, "cli.plan");
    const w = cli(["run", file, "--wasi", "--save-plan", planPath, "--json"]);
    expect(w.stderr).toBe("");
    expect(w.status).toBe(0);
    const h = cli(["run", file, "--json"]);
    expect(JSON.parse(w.stdout).probabilities).toEqual(JSON.parse(h.stdout).probabilities);
    expect(JSON.parse(w.stdout).top).toBe(JSON.parse(h.stdout).top);
    expect(fs.readFileSync(planPath).subarray(0, 8).toString("latin1")).toBe("EAMPLAN1");
  });

  it("refuses flags that do not apply", () => {
    const r = cli(["run", "x.eam", "--wasi", "--threads", "2"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads does not apply to --wasi/);
    const r2 = cli(["run", "x.eam", "--save-plan", "p"]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--save-plan needs --wasi/);
  });
});
