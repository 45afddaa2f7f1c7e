import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareMarkdown, latencySvg, memorySvg } from "../src/compare/report.js";
import { type CompareRow, evaluateGoals, processFigures, runCompare } from "../src/compare/run.js";
import { tfjsNodeUnavailable } from "../src/compare/runners.js";

const dir = mkdtempSync(join(tmpdir(), "bench-compare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("compare harness on a tiny ResNet", () => {
  it("runs each runtime in a child, checks outputs against FP32 and float64, writes table, JSON and SVG", async () => {
    const out = join(dir, "compare.json");
    const report = await runCompare({
      depths: [18],
      width: 0.125,
      height: 24,
      frames: 26,
      threads: [1],
      runtimes: ["engine", "tfjs-wasm", "tfjs-node", "onnxruntime-node"],
      variants: ["int8"],
      measure: { warmup: 1, runs: 2, minRuns: 2 },
      workDir: join(dir, "work"),
      out,
      log: () => {},
    });
    const row = (runtime: string, variant = "fp32") =>
      report.rows.find((r) => r.runtime === runtime && r.variant === variant)!;

    const fp32 = row("engine");
    expect(fp32.unavailable).toBeNull();
    expect(fp32.vsEngineFp32).toBe(1);
    expect(fp32.maxDiffVsFp32).toBe(0);
    expect(fp32.maxDiffVsF64!).toBeLessThan(1e-5);
    expect(fp32.peakRssMB!).toBeGreaterThan(10);
    expect(fp32.runs).toBe(2);

    // Same weights and crop everywhere: FP32 runtimes agree with the float64 reference.
    for (const rt of ["tfjs-wasm", "onnxruntime-node"]) {
      const r = row(rt);
      expect(r.unavailable, rt).toBeNull();
      expect(r.maxDiffVsF64!, rt).toBeLessThan(1e-5);
      expect(r.maxDiffVsFp32!, rt).toBeLessThan(1e-5);
      expect(r.vsEngineFp32!, rt).toBeCloseTo(r.medianMs! / fp32.medianMs!, 9);
      expect(r.modelBytes!, rt).toBeGreaterThan(0);
    }

    // int8 runs when the quantizer and engine can; otherwise the row says why, with no figures.
    const q = row("engine", "int8");
    if (q.unavailable === null) {
      expect(q.maxDiffVsFp32!).toBeGreaterThan(0);
      expect(q.maxDiffVsFp32!).toBeLessThan(0.5);
      expect(q.modelBytes!).toBeLessThan(fp32.modelBytes!);
    } else expect(q.medianMs).toBeNull();

    const why = await tfjsNodeUnavailable();
    const tn = row("tfjs-node");
    if (why) {
      expect(tn.unavailable).toBe(why);
      expect(tn.medianMs).toBeNull();
    } else expect(tn.unavailable).toBeNull();

    const md = readFileSync(out.replace(/\.json$/, ".md"), "utf8");
    expect(md).toBe(`${compareMarkdown(report)}\n`);
    expect(md.split("\n").filter((l) => l.startsWith("| ResNet-18")).length).toBe(report.rows.length);
    if (why) expect(md).toContain("**not available: @tensorflow/tfjs-node");
    const svg = readFileSync(out.replace(/\.json$/, "-latency.svg"), "utf8");
    expect(svg).toBe(latencySvg(report));
    const available = report.rows.filter((r) => r.medianMs !== null).length;
    expect((svg.match(/<rect /g) ?? []).length).toBe(available + 1);
    expect((memorySvg(report).match(/<rect /g) ?? []).length).toBe(available + 1);
    expect(JSON.parse(readFileSync(out, "utf8")).rows).toHaveLength(report.rows.length);
  });
});

describe("compare rounds", () => {
  const tiny = { depths: [18], width: 0.125, height: 24, frames: 26, threads: [1], variants: [] };
  const quickMeasure = { warmup: 1, runs: 2, minRuns: 2 };

  it("runs each round in a new process and reports every process's median and their spread", async () => {
    const out = join(dir, "rounds.json");
    const report = await runCompare({
      ...tiny,
      runtimes: ["engine"],
      rounds: 3,
      measure: quickMeasure,
      workDir: join(dir, "work"),
      f64: false,
      out,
      log: () => {},
    });
    const [row] = report.rows;
    expect(row!.processMediansMs).toHaveLength(3);
    expect(row!.processP10P90Ms).toHaveLength(3);
    expect(row!.medianMs).toBe(Math.min(...row!.processMediansMs!));
    expect(row!.processSpread).toBeCloseTo(
      (Math.max(...row!.processMediansMs!) - row!.medianMs!) / row!.medianMs!,
      12,
    );
    expect(compareMarkdown(report)).toContain("Spread between separate processes");
  });

  it("passes the engine's Node flags to its processes", async () => {
    const report = await runCompare({
      ...tiny,
      runtimes: ["engine"],
      engineNodeFlags: ["--not-a-node-flag"],
      measure: quickMeasure,
      workDir: join(dir, "work"),
      f64: false,
      log: () => {},
    });
    expect(report.rows[0]!.unavailable).toMatch(/not-a-node-flag|bad option/);
  });
});

describe("goals", () => {
  const r = (runtime: CompareRow["runtime"], variant: string, threads: number, medianMs: number | null) =>
    ({
      model: "M",
      runtime,
      variant,
      threads,
      medianMs,
      unavailable: medianMs === null ? "x" : null,
    }) as CompareRow;

  it("compares medians of the same model and thread count", () => {
    const goals = evaluateGoals([
      r("engine", "fp32", 1, 100),
      r("engine", "fp32", 2, 60),
      r("engine", "int8", 2, 40),
      r("engine", "int8", 1, 49),
      r("engine", "dynamic", 1, 100),
      r("tfjs-wasm", "fp32", 1, 149),
      r("tfjs-wasm", "fp32", 2, null),
      r("onnxruntime-web", "fp32", 1, 130),
      r("onnxruntime-web", "fp32", 2, 70),
      r("onnxruntime-node", "fp32", 2, 20),
    ]);
    const g = (prefix: string, t: number) => goals.find((x) => x.goal.startsWith(prefix) && x.threads === t);
    expect(g("tfjs-wasm", 1)).toMatchObject({ ratio: 1.49, reached: false });
    expect(g("tfjs-wasm", 2)).toBeUndefined();
    expect(g("onnxruntime-web", 1)).toMatchObject({ ratio: 1.3, reached: true });
    expect(g("onnxruntime-web", 2)!.reached).toBe(false);
    expect(g("engine int8", 2)).toMatchObject({ ratio: 2, reached: true });
    // int8 against FP32 and tfjs-wasm, dynamic against FP32, all in the same run
    expect(g("engine fp32 / engine int8", 1)!.reached).toBe(true);
    expect(g("engine fp32 / engine int8", 2)).toMatchObject({ ratio: 1.5, reached: false });
    expect(g("tfjs-wasm / engine int8", 1)).toMatchObject({ target: 3, reached: true });
    expect(g("tfjs-wasm / engine int8", 2)).toBeUndefined();
    expect(g("engine fp32 / engine dynamic", 1)).toMatchObject({ ratio: 1, reached: false });
  });

  it("checks the kernel-round goals: tfjs-wasm ratios, fp16 against FP32, 2-thread speed-ups, process spread", () => {
    const spread = (row: CompareRow, medians: number[]) => ({
      ...row,
      ...processFigures(medians.map((m) => ({ medianMs: m, p10Ms: m, p90Ms: m }))),
    });
    const goals = evaluateGoals([
      spread(r("engine", "fp32", 1, 100), [100, 110]),
      r("engine", "fp32", 2, 50),
      r("engine", "fp16", 1, 101),
      r("engine", "fp16", 2, 60),
      r("engine", "int8", 1, 50),
      r("tfjs-wasm", "fp32", 1, 210),
      spread(r("onnxruntime-node", "fp32", 1, 80), [80, 84]),
    ]);
    const g = (prefix: string, t: number) => goals.find((x) => x.goal.startsWith(prefix) && x.threads === t);
    expect(g("tfjs-wasm / engine fp32, 1 thread >= 2", 1)).toMatchObject({ ratio: 2.1, reached: true });
    expect(g("tfjs-wasm / engine int8, 1 thread >= 4", 1)).toMatchObject({ ratio: 4.2, reached: true });
    expect(g("engine fp32 / engine fp16", 1)!.reached).toBe(false);
    expect(g("engine fp32 / engine fp16", 2)!.reached).toBe(false);
    expect(g("2-thread speed-up of engine fp32", 2)).toMatchObject({ ratio: 2, reached: true });
    expect(g("2-thread speed-up of engine fp16", 2)!.reached).toBe(false);
    expect(g("2-thread speed-up of engine int8", 2)).toBeUndefined();
    const s = g("engine fp32 process spread", 1)!;
    expect(s.ratio).toBeCloseTo(0.1 / 0.05, 12);
    expect(s.reached).toBe(false);
  });

  it("gives the spread between processes only with two medians or more", () => {
    const at = (medianMs: number) => ({ medianMs, p10Ms: medianMs - 1, p90Ms: medianMs + 2 });
    expect(processFigures([at(120)])).toEqual({
      processMediansMs: null,
      processSpread: null,
      processP10P90Ms: null,
    });
    expect(processFigures([at(120), at(100), at(150)])).toEqual({
      processMediansMs: [120, 100, 150],
      processSpread: 0.5,
      processP10P90Ms: [
        [119, 122],
        [99, 102],
        [149, 152],
      ],
    });
  });

  it("reports a goal whose row is missing as not measured", () => {
    const goals = evaluateGoals([r("engine", "fp32", 2, 50), r("onnxruntime-node", "fp32", 2, 20)]);
    expect(goals).toEqual([
      expect.objectContaining({ goal: expect.stringContaining("int8"), ratio: null, reached: null }),
    ]);
  });
});
