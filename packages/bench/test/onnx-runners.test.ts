import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultArchConfig, resnetSpec } from "@edge-audio/engine-wasm";
import { writeResNetOnnx } from "@edge-audio/quantizer";
import { afterAll, describe, expect, it } from "vitest";
import { measureInChild, measureRunner, quantile, summarize } from "../src/measure.js";
import { referenceForward } from "../src/onnx/reference.js";
import { OrtNodeRunner, OrtWebRunner } from "../src/onnx/runners.js";
import { randomCrop, randomResNetWeights } from "../src/onnx/weights.js";
import type { Runner } from "../src/runner.js";

const dir = mkdtempSync(join(tmpdir(), "bench-onnx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = defaultArchConfig({ depth: 18, width: 0.125, inputHeight: 32, inputWidth: 34 });
const spec = resnetSpec(config);
const weights = randomResNetWeights(spec, { seed: 11 });
const crop = randomCrop(32, 34, 1, 12);
const modelPath = join(dir, "r18.onnx");
writeFileSync(modelPath, writeResNetOnnx(spec, weights));
const cropPath = join(dir, "crop.f32");
writeFileSync(cropPath, new Uint8Array(crop.buffer));
const ref = referenceForward(spec, weights, crop).get(spec.output)!;
const inputDims = [1, 32, 34, 1];
const runnersModule = new URL("../dist/onnx/runners.js", import.meta.url).pathname;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("ONNX Runtime runners", () => {
  for (const threads of [1, 2]) {
    it(`onnxruntime-node, ${threads} thread(s), matches the float64 reference`, async () => {
      const r: Runner = new OrtNodeRunner({ modelPath, inputDims, threads });
      expect(r.name).toBe("onnxruntime-node");
      expect(r.threads).toBe(threads);
      await r.load();
      const a = await r.run(crop);
      const b = await r.run(crop);
      await r.dispose();
      expect(maxAbsDiff(a, ref)).toBeLessThan(1e-5);
      expect(Array.from(b)).toEqual(Array.from(a));
    });
  }

  it("onnxruntime-web (wasm in Node), 1 thread, matches the float64 reference", async () => {
    const r = new OrtWebRunner({ modelPath, inputDims, threads: 1 });
    await r.load();
    const a = await r.run(crop);
    await r.dispose();
    expect(r.name).toBe("onnxruntime-web");
    expect(maxAbsDiff(a, ref)).toBeLessThan(1e-5);
  });

  it("onnxruntime-web with 2 threads in a child process gives the same result", async () => {
    const res = await measureInChild({
      module: runnersModule,
      factory: "createOrtWebRunner",
      options: { modelPath, inputDims, threads: 2 },
      input: { file: cropPath },
      measure: { warmup: 1, runs: 3 },
    });
    expect(res.name).toBe("onnxruntime-web");
    expect(res.threads).toBe(2);
    expect(res.stats.runs).toBe(3);
    expect(maxAbsDiff(res.output, ref)).toBeLessThan(1e-5);
    expect(res.peakRssBytes).toBeGreaterThan(res.baseRssBytes);
  });
});

describe("measurement core", () => {
  it("quantiles and summary of known samples", () => {
    const s = [5, 1, 4, 2, 3, 10, 6, 7, 9, 8];
    const st = summarize(s);
    expect(st.runs).toBe(10);
    expect(st.medianMs).toBe(5.5);
    expect(st.minMs).toBe(1);
    expect(st.maxMs).toBe(10);
    expect(st.meanMs).toBe(5.5);
    expect(st.p10Ms).toBeCloseTo(1.9, 12);
    expect(st.p90Ms).toBeCloseTo(9.1, 12);
    expect(st.iqrMs).toBeCloseTo(7.75 - 3.25, 12);
    expect(quantile([3], 0.9)).toBe(3);
    expect(() => quantile([], 0.5)).toThrow();
  });

  it("measureRunner warms up, then times exactly `runs` calls", async () => {
    let calls = 0;
    const fake: Runner = {
      name: "fake",
      threads: 1,
      load: async () => {},
      run: async (x) => {
        calls++;
        return new Float32Array([x[0]! + calls]);
      },
      dispose: async () => {},
    };
    const r = await measureRunner(fake, new Float32Array([1]), { warmup: 2, runs: 7 });
    expect(calls).toBe(9);
    expect(r.samplesMs.length).toBe(7);
    expect(r.stats.runs).toBe(7);
    expect(r.output[0]).toBe(10);
    expect(r.samplesMs.every((t) => t >= 0)).toBe(true);
  });

  it("measureInChild reports the child's own peak RSS", async () => {
    const mod = join(dir, "alloc-runner.mjs");
    writeFileSync(
      mod,
      `export function create(o) {
        let keep = null;
        return {
          name: "alloc", threads: 1,
          async load() { keep = new Uint8Array(o.mb * 1024 * 1024).fill(1); },
          async run(x) { return new Float32Array([x.length, keep[123]]); },
          async dispose() { keep = null; },
        };
      }\n`,
    );
    const res = await measureInChild({
      module: mod,
      factory: "create",
      options: { mb: 160 },
      input: { random: 10, seed: 1 },
      measure: { warmup: 0, runs: 2 },
    });
    expect(res.output).toEqual([10, 1]);
    expect(res.loadedRssBytes - res.baseRssBytes).toBeGreaterThan(150 * 1024 * 1024);
    expect(res.peakRssBytes).toBeGreaterThanOrEqual(res.loadedRssBytes);
    expect(res.baseRssBytes).toBeLessThan(150 * 1024 * 1024);
  });

  it("measureInChild fails loudly on a missing factory", async () => {
    await expect(
      measureInChild({ module: runnersModule, factory: "nope", options: {}, input: { random: 1 } }),
    ).rejects.toThrow(/no exported factory "nope"/);
  });
});

describe("ORT benchmark CLI", () => {
  it("writes the model, times it in a child and checks it against float64", async () => {
    const { main, markdownTable } = await import("../src/onnx/cli.js");
    const out = join(dir, "cli");
    const report = await main([
      "--depth",
      "18",
      "--width",
      "0.125",
      "--height",
      "32",
      "--frames",
      "34",
      "--backends",
      "node",
      "--threads",
      "1",
      "--runs",
      "2",
      "--warmup",
      "0",
      "--out",
      out,
    ]);
    expect(report.inputDims).toEqual([1, 32, 34, 1]);
    expect(report.rows).toHaveLength(1);
    const row = report.rows[0]!;
    expect(row.backend).toBe("onnxruntime-node");
    expect(row.runs).toBe(2);
    expect(row.maxAbsDiffVsF64!).toBeLessThan(1e-5);
    expect(row.top1MatchesF64).toBe(true);
    expect(row.modelBytes).toBe(statSync(report.models[0]!.path).size);
    expect(JSON.parse(readFileSync(join(out, "onnx-bench.json"), "utf8")).rows).toHaveLength(1);
    expect(markdownTable(report).split("\n")).toHaveLength(3);
  });
});
