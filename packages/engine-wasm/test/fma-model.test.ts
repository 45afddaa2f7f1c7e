/**
 * The `fma` load option end to end: which layers run on the fused multiply-add GEMMs and what
 * info() says, results bit-identical across 1, 2 and 3 threads within the FMA path (FP32 with
 * F(2x2) and F(4x4) Winograd, f16 with and without f16 Winograd), agreement with the 128-bit
 * SIMD path (top-1, max probability difference) and with the float64 reference, and the option
 * off giving the 128-bit path's bits.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { encodeModel } from "../dist/format.js";
import { type LoadOptions, loadModelFromBytes, type ModelInfo } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { fmaStatus } from "../dist/relaxed.js";
import { DEFAULT_FMA_TILE } from "../dist/wasm.js";
import { activationParams, quantizedVariant, referenceLogits, sqnr } from "./model-helpers.js";

const config = { depth: 18 as const, width: 0.25, inputHeight: 48, inputWidth: 40, numClasses: 10 };
const n = config.inputHeight * config.inputWidth;
const fp32 = createRandomModel(config, 12);
const crops = Array.from({ length: 12 }, (_, i) => randomCrop(n, 100 + i));
const gemmLayerNames = fp32.graph.layers
  .filter((l) => l.op === "conv" || l.op === "dense")
  .map((l) => l.name);
const f16 = quantizedVariant(
  fp32,
  Object.fromEntries(gemmLayerNames.map((l) => [l, "f16"])),
  activationParams(fp32, crops.slice(0, 2)),
);
const files = { fp32: encodeModel(fp32), f16: encodeModel(f16) };

/** Probabilities and logits (head.dense) of every crop, and info(). */
async function runAll(
  bytes: Uint8Array,
  opts: LoadOptions,
): Promise<{ probs: Float32Array[]; logits: number[]; info: ModelInfo }> {
  const m = await loadModelFromBytes(bytes, { ...opts, keep: ["head.dense"] });
  try {
    const logits: number[] = [];
    const probs = crops.map((c) => {
      const p = m.run(c);
      logits.push(...m.read("head.dense"));
      return p;
    });
    return { probs, logits, info: m.info() };
  } finally {
    await m.dispose();
  }
}

const bits = (p: Float32Array[]) =>
  p.map((x) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length)).join());
const top1 = (p: Float32Array) => p.indexOf(Math.max(...p));

describe("fma load option", () => {
  it("off (default or false): no layer on FMA, the 128-bit path's bits", async () => {
    const base = await runAll(files.fp32, { threads: 1 });
    const off = await runAll(files.fp32, { threads: 1, fma: false });
    expect(bits(off.probs)).toEqual(bits(base.probs));
    expect(base.info.fma.fmaLayers).toBe(0);
    expect(base.info.fma.tile).toBeNull();
    expect(base.info.fma.gemmLayers).toBe(gemmLayerNames.length);
    expect(base.info.fma.reason).toMatch(/not requested \(fma option\)/);
  });

  it("scalar build: declined with the reason", async () => {
    const r = await runAll(files.fp32, { threads: 1, isa: "scalar", fma: true });
    expect(r.info.fma.fmaLayers).toBe(0);
    expect(r.info.fma.reason).toMatch(/needs the wasmsimd build, not scalar/);
  });

  it("a tile outside 1..7 is refused with a message", async () => {
    await expect(loadModelFromBytes(files.fp32, { threads: 1, fma: true, fmaTile: 8 })).rejects.toThrow(
      /fmaTile must be 1\.\.7, got 8/,
    );
  });

  it("command line: run --fma reports the FMA layers; --fma with --wasi is refused (exit 2)", () => {
    const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fma-cli-"));
    onTestFinished(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const file = path.join(tmp, "m.eam");
    fs.writeFileSync(file, files.fp32);
    const r = JSON.parse(
      execFileSync(process.execPath, [cli, "run", file, "--threads", "1", "--fma", "--json"], {
        encoding: "utf8",
      }),
    );
    expect(r.fma.gemmLayers).toBe(gemmLayerNames.length);
    expect(r.fma.fmaLayers).toBe(fmaStatus().usable ? gemmLayerNames.length : 0);
    const w = spawnSync(process.execPath, [cli, "run", file, "--wasi", "--fma"], { encoding: "utf8" });
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/--fma does not apply to --wasi/);
  });

  it.runIf(!fmaStatus().usable)(
    "on a host where the check fails: every layer stays on 128-bit SIMD, with why",
    async () => {
      const r = await runAll(files.fp32, { threads: 1, fma: true });
      expect(r.info.fma.fmaLayers).toBe(0);
      expect(r.info.fma.reason).toContain(fmaStatus().reason);
    },
  );
});

describe.runIf(fmaStatus().usable)("fma on this host", () => {
  const variants: [string, Uint8Array, LoadOptions][] = [
    ["fp32, Winograd F(2x2,3x3)", files.fp32, {}],
    ["fp32, Winograd F(4x4,3x3)", files.fp32, { f32WinogradTile: "4x4" }],
    ["fp32, no Winograd", files.fp32, { winograd: false }],
    ["f16, f16 Winograd", files.f16, {}],
    ["f16, direct f16 IGEMM", files.f16, { f16Winograd: false }],
  ];

  for (const [name, bytes, opts] of variants)
    it(`${name}: every GEMM layer on FMA; 1, 2, 3 threads and tiles 4 and 6 bit-identical`, async () => {
      const one = await runAll(bytes, { ...opts, threads: 1, fma: true });
      expect(one.info.fma.fmaLayers).toBe(gemmLayerNames.length);
      expect(one.info.fma.tile).toBe(DEFAULT_FMA_TILE);
      expect(one.info.fma.reason).toMatch(/^f32x4.relaxed_madd is fused in (Liftoff and )?TurboFan/);
      for (const [threads, fmaTile] of [
        [2, DEFAULT_FMA_TILE],
        [3, DEFAULT_FMA_TILE],
        [1, 4],
        [3, 4],
      ] as const) {
        const r = await runAll(bytes, { ...opts, threads, fma: true, fmaTile });
        expect(bits(r.probs), `${threads} threads, tile ${fmaTile}`).toEqual(bits(one.probs));
      }
    });

  /** Random ResNet-18 (width 0.25), 12 crops of 48x40; the figures are printed (README). */
  for (const [name, bytes] of [
    ["fp32", files.fp32],
    ["f16", files.f16],
  ] as const)
    it(`${name}: top-1 agrees with the 128-bit path on every crop, probabilities within 2e-6, logit SQNR against float64 as good`, async () => {
      const simd = await runAll(bytes, { threads: 1 });
      const fma = await runAll(bytes, { threads: 1, fma: true });
      let maxDiff = 0;
      let agree = 0;
      for (let i = 0; i < crops.length; i++) {
        if (top1(simd.probs[i]!) === top1(fma.probs[i]!)) agree++;
        for (let j = 0; j < config.numClasses; j++)
          maxDiff = Math.max(maxDiff, Math.abs(simd.probs[i]![j]! - fma.probs[i]![j]!));
      }
      expect(bits(fma.probs)).not.toEqual(bits(simd.probs)); // the FMA kernels did run
      expect(agree).toBe(crops.length);
      expect(maxDiff).toBeLessThan(2e-6);
      const ref = referenceLogits(fp32, crops).flatMap((l) => Array.from(l));
      const q = (logits: number[]) => sqnr(ref, logits);
      expect(q(fma.logits)).toBeGreaterThan(q(simd.logits) - 0.5);
      console.log(
        `${name}: top-1 ${agree}/${crops.length}, max |p_fma - p_simd| ${maxDiff.toExponential(2)}, logit SQNR vs float64 of the FP32 model: fma ${q(fma.logits).toFixed(2)} dB, 128-bit ${q(simd.logits).toFixed(2)} dB`,
      );
    });
});
