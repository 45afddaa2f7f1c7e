#!/usr/bin/env node
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
/**
 * ONNX Runtime baselines: builds a random-weight ResNet from the shared arch, writes it as ONNX to
 * out/, and times onnxruntime-node and onnxruntime-web (each in its own child process, for peak
 * RSS) at the requested thread counts.
 *
 *   node dist/onnx/cli.js --depth 50,152 --threads 1,2 [--backends node,web] [--runs 20]
 *        [--warmup 3] [--width 1] [--height 128] [--frames 130] [--seed 1] [--out out]
 *        [--rounds 1] [--no-spin] [--no-check] [--json]
 *
 * With --rounds K every configuration runs K times, interleaved (each time in a fresh child), and
 * the row keeps the round with the lowest median: on a shared machine that is the least disturbed.
 */
import { argmax } from "@edge-audio/common";
import {
  type ArchConfig,
  countMacs,
  countParams,
  defaultArchConfig,
  parseArchName,
  resnetSpec,
} from "@edge-audio/engine-wasm";
import { writeResNetOnnx } from "@edge-audio/quantizer";
import { type ChildMeasureResult, measureInChild } from "../measure.js";
import { referenceForward } from "./reference.js";
import { randomCrop, randomResNetWeights } from "./weights.js";

export interface OnnxBenchRow {
  model: string;
  backend: "onnxruntime-node" | "onnxruntime-web";
  threads: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  iqrMs: number;
  runs: number;
  loadMs: number;
  peakRssMB: number;
  /** process.resourceUsage().maxRSS of the child (inflated by the parent on Linux; see measure.ts). */
  maxRssMB: number;
  /** OS threads of the child process after load (Linux). */
  osThreads: number | null;
  baseRssMB: number;
  modelBytes: number;
  /** Max |p - p_ref| against the float64 reference (null when not checked). */
  maxAbsDiffVsF64: number | null;
  top1: number;
  top1MatchesF64: boolean | null;
  /** Idle threads spin-wait (ORT default) or not (--no-spin). */
  spin: boolean;
  /** Median of every round (the row reports the lowest). */
  roundMediansMs: number[];
  /** 1-minute load average before and after the reported round. */
  loadAvg: [number, number];
}

export interface OnnxBenchReport {
  date: string;
  node: string;
  cpus: string;
  cpuCount: number;
  inputDims: number[];
  rows: OnnxBenchRow[];
  models: { model: string; path: string; bytes: number; params: number; macs: number }[];
}

const mb = (bytes: number) => bytes / (1024 * 1024);

export function markdownTable(report: OnnxBenchReport): string {
  const lines = [
    "| model | runtime | threads | median ms | p10-p90 ms | IQR ms | runs | load ms | peak RSS MB | model MB | max abs diff vs f64 | top-1 = f64 | load avg |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
  ];
  for (const r of report.rows) {
    lines.push(
      `| ${r.model} | ${r.backend} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${r.p10Ms.toFixed(1)}-${r.p90Ms.toFixed(1)} | ${r.iqrMs.toFixed(1)} | ${r.runs} | ${r.loadMs.toFixed(0)} | ${r.peakRssMB.toFixed(0)} | ${mb(r.modelBytes).toFixed(1)} | ${r.maxAbsDiffVsF64 === null ? "-" : r.maxAbsDiffVsF64.toExponential(1)} | ${r.top1MatchesF64 === null ? "-" : r.top1MatchesF64 ? "yes" : "no"} | ${r.loadAvg[0].toFixed(1)}-${r.loadAvg[1].toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

export async function main(argv: string[] = process.argv.slice(2)): Promise<OnnxBenchReport> {
  const { values } = parseArgs({
    args: argv,
    options: {
      depth: { type: "string", default: "50,152" },
      threads: { type: "string", default: "1,2" },
      backends: { type: "string", default: "node,web" },
      runs: { type: "string", default: "20" },
      warmup: { type: "string", default: "3" },
      width: { type: "string", default: "1" },
      height: { type: "string", default: "128" },
      frames: { type: "string", default: "130" },
      classes: { type: "string", default: "10" },
      seed: { type: "string", default: "1" },
      rounds: { type: "string", default: "1" },
      "no-spin": { type: "boolean", default: false },
      out: { type: "string", default: "out" },
      "no-check": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: node dist/onnx/cli.js --depth 50,152 --threads 1,2 [--backends node,web] [--runs 20] [--warmup 3]\n" +
        "       [--width 1] [--height 128] [--frames 130] [--seed 1] [--out out] [--rounds 1] [--no-spin]\n" +
        "       [--no-check] [--json]\n",
    );
    process.exit(0);
  }
  const depths = list(values.depth).map((d) => parseArchName(`resnet${d}`));
  const threads = list(values.threads).map(Number);
  const backends = list(values.backends);
  for (const b of backends)
    if (b !== "node" && b !== "web") throw new Error(`unknown backend "${b}" (node, web)`);
  for (const t of threads) if (!Number.isInteger(t) || t < 1) throw new Error(`bad thread count ${t}`);
  const seed = Number(values.seed);
  const outDir = resolve(values.out);
  await mkdir(outDir, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const base: Partial<ArchConfig> = {
    width: Number(values.width),
    inputHeight: Number(values.height),
    inputWidth: Number(values.frames),
    numClasses: Number(values.classes),
  };
  const inputDims = [1, base.inputHeight!, base.inputWidth!, 1];
  const crop = randomCrop(base.inputHeight!, base.inputWidth!, 1, seed + 1000);
  const cropPath = join(outDir, `crop-${base.inputHeight}x${base.inputWidth}-seed${seed}.f32`);
  await writeFile(cropPath, new Uint8Array(crop.buffer));

  const report: OnnxBenchReport = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus()[0]?.model ?? "unknown",
    cpuCount: cpus().length,
    inputDims,
    rows: [],
    models: [],
  };
  // The child imports compiled JS: from the TypeScript sources (tests) use the package's dist/.
  const runnersModule = import.meta.url.endsWith(".ts")
    ? new URL("../../dist/onnx/runners.js", import.meta.url).href
    : new URL("./runners.js", import.meta.url).href;

  for (const depth of depths) {
    const config = defaultArchConfig({ ...base, depth });
    const spec = resnetSpec(config);
    const model = `ResNet-${depth}${config.width !== 1 ? ` w${config.width}` : ""}`;
    log(`${model}: building random weights (seed ${seed}) and writing ONNX`);
    let weights: ReturnType<typeof randomResNetWeights> | null = randomResNetWeights(spec, { seed });
    const bytes = writeResNetOnnx(spec, weights);
    const path = join(
      outDir,
      `resnet${depth}-w${config.width}-${config.inputHeight}x${config.inputWidth}.onnx`,
    );
    await writeFile(path, bytes);
    report.models.push({
      model,
      path,
      bytes: bytes.length,
      params: countParams(spec),
      macs: countMacs(spec),
    });
    let ref: Float64Array | null = null;
    if (!values["no-check"]) {
      log(`${model}: float64 reference forward pass (${(countMacs(spec) / 1e9).toFixed(2)} GMAC)`);
      ref = referenceForward(spec, weights, crop).get(spec.output)!;
    }
    weights = null;

    const configs = backends.flatMap((backend) => threads.map((t) => ({ backend, t })));
    const rounds = Math.max(1, Number(values.rounds));
    const best = new Map<string, { r: ChildMeasureResult; load: [number, number]; medians: number[] }>();
    for (let round = 0; round < rounds; round++) {
      for (const { backend, t } of configs) {
        const key = `${backend}/${t}`;
        log(
          `${model}: onnxruntime-${backend}, ${t} thread(s)${rounds > 1 ? `, round ${round + 1}/${rounds}` : ""}`,
        );
        const before = loadavg()[0]!;
        const r = await measureInChild({
          module: runnersModule,
          factory: backend === "node" ? "createOrtNodeRunner" : "createOrtWebRunner",
          options: { modelPath: path, inputDims, threads: t, spin: !values["no-spin"] },
          input: { file: cropPath },
          measure: { warmup: Number(values.warmup), runs: Number(values.runs) },
        });
        const load: [number, number] = [before, loadavg()[0]!];
        const prev = best.get(key);
        const medians = [...(prev?.medians ?? []), r.stats.medianMs];
        if (!prev || r.stats.medianMs < prev.r.stats.medianMs) best.set(key, { r, load, medians });
        else prev.medians = medians;
      }
    }
    for (const { backend, t } of configs) {
      const { r, load, medians } = best.get(`${backend}/${t}`)!;
      let diff: number | null = null;
      if (ref) {
        diff = 0;
        for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(r.output[i]! - ref[i]!));
      }
      report.rows.push({
        model,
        backend: backend === "node" ? "onnxruntime-node" : "onnxruntime-web",
        threads: t,
        medianMs: r.stats.medianMs,
        p10Ms: r.stats.p10Ms,
        p90Ms: r.stats.p90Ms,
        iqrMs: r.stats.iqrMs,
        runs: r.stats.runs,
        loadMs: r.loadMs,
        peakRssMB: mb(r.peakRssBytes),
        maxRssMB: mb(r.maxRssBytes),
        osThreads: r.osThreads,
        baseRssMB: mb(r.baseRssBytes),
        modelBytes: bytes.length,
        maxAbsDiffVsF64: diff,
        top1: argmax(r.output),
        top1MatchesF64: ref ? argmax(r.output) === argmax(ref) : null,
        spin: !values["no-spin"],
        roundMediansMs: medians,
        loadAvg: load,
      });
    }
  }
  const jsonPath = join(outDir, "onnx-bench.json");
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${markdownTable(report)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  log(`wrote ${jsonPath}`);
  return report;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
