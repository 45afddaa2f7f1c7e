/**
 * The compare suite: one ResNet (same random weights, same crop, batch 1) on our engine (FP32 and
 * the quantized variants the quantizer and engine can make and run), TensorFlow.js (wasm, cpu,
 * tfjs-node where installed) and ONNX Runtime (node, web), each configuration in its own child
 * process. Every row: latency median and spread, ratio to our engine's FP32 at the same thread
 * count in the same run, output difference against our FP32 and the float64 reference, peak RSS
 * of the child, model bytes, load average.
 */

import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { argmax } from "@edge-audio/common";
import {
  countMacs,
  createRandomModel,
  defaultArchConfig,
  randomCrop,
  resnetSpec,
  writeModel,
} from "@edge-audio/engine-wasm";
import { exportModel, writeResNetOnnx } from "@edge-audio/quantizer";
import { LITERT_EXEC_ARGV } from "../litert/runtime.js";
import { type ChildMeasureResult, type MeasureOptions, measureInChild } from "../measure.js";
import { referenceForward } from "../onnx/reference.js";
import { compareMarkdown, latencySvg, memorySvg, processSpreadSvg } from "./report.js";
import { tfjsNodeUnavailable } from "./runners.js";

export type Runtime =
  | "engine"
  | "tfjs-wasm"
  | "tfjs-cpu"
  | "tfjs-node"
  | "onnxruntime-node"
  | "onnxruntime-web"
  | "litert";

export const ALL_RUNTIMES: Runtime[] = [
  "engine",
  "tfjs-wasm",
  "tfjs-cpu",
  "tfjs-node",
  "onnxruntime-node",
  "onnxruntime-web",
  "litert",
];
/** Variants exported to TFLite for LiteRT.js (the ones the study ran). */
export const LITERT_VARIANTS = ["fp32", "fp16", "dynamic", "int8"];
export const QUANT_VARIANTS = ["fp16", "dynamic", "int8"] as const;
/**
 * Variants beyond the quantizer's modes: int8 with 7-bit inputs (`--seven-bit`) on 128-bit SIMD,
 * and the same file with its 7-bit layers on the relaxed-SIMD GEMM.
 */
export const SEVEN_BIT_VARIANTS = ["int8-7bit", "int8-7bit-relaxed"] as const;
/**
 * Variants that run another variant's file with an engine load option: the 7-bit file on the
 * relaxed-SIMD GEMM, and the FP32 and fp16 files on the fused multiply-add GEMMs (`fma`).
 */
export const OPTION_VARIANTS: Record<string, { file: string; option: "relaxedSimd" | "fma" }> = {
  "int8-7bit-relaxed": { file: "int8-7bit", option: "relaxedSimd" },
  "fp32-fma": { file: "fp32", option: "fma" },
  "fp16-fma": { file: "fp16", option: "fma" },
};

export interface CompareRow {
  model: string;
  runtime: Runtime;
  /** fp32, or the engine's quantized variant. */
  variant: string;
  threads: number;
  /** Set when the row could not run; then the figures are null. */
  unavailable: string | null;
  medianMs: number | null;
  p10Ms: number | null;
  p90Ms: number | null;
  iqrMs: number | null;
  runs: number | null;
  loadMs: number | null;
  /** VmHWM of the child process that loaded and ran this configuration alone. */
  peakRssMB: number | null;
  modelBytes: number | null;
  /** This row's median over our engine's FP32 median at the same thread count (>1: slower than ours). */
  vsEngineFp32: number | null;
  /** Max |p - p_fp32| of the probabilities against our engine's FP32 output (1 thread). */
  maxDiffVsFp32: number | null;
  /** Max |p - p_engine| against our engine's output of the same variant (1 thread). */
  maxDiffVsEngine: number | null;
  /** Max |p - p_ref| against the float64 reference (null when not computed). */
  maxDiffVsF64: number | null;
  top1: number | null;
  /** 1-minute load average before and after the row. */
  loadAvg: [number, number];
  /** With `rounds` > 1: the median of each round's own child process, in round order. */
  processMediansMs: number[] | null;
  /** (max - min) / min of `processMediansMs`: the spread between separate processes. */
  processSpread: number | null;
  /** The p10 and p90 of each of those processes: a slow process or a slow moment within one. */
  processP10P90Ms: [number, number][] | null;
  note?: string;
}

export interface CompareGoal {
  goal: string;
  model: string;
  threads: number;
  /** Measured ratio (see `goal`), null when a row is missing. */
  ratio: number | null;
  /** null: a figure to report, with no target (e.g. the distance to native code). */
  target: number | null;
  reached: boolean | null;
}

export interface CompareReport {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  input: number[];
  seed: number;
  measure: { default: MeasureOptions; tfjsCpu: MeasureOptions };
  models: {
    model: string;
    depth: number;
    width: number;
    macs: number;
    files: Record<string, { path: string; bytes: number }>;
  }[];
  rows: CompareRow[];
  goals: CompareGoal[];
}

export interface CompareOptions {
  depths?: number[];
  width?: number;
  height?: number;
  frames?: number;
  threads?: number[];
  runtimes?: Runtime[];
  /** Engine variants besides fp32 (default fp16, dynamic, int8). */
  variants?: string[];
  seed?: number;
  /**
   * Rounds: every configuration runs this many times interleaved, each time in a new process; the
   * row keeps the lowest median and lists every process's median (`processMediansMs`).
   */
  rounds?: number;
  /** Node flags for the engine's child processes (e.g. `--no-liftoff` to study tier-up). */
  engineNodeFlags?: string[];
  measure?: MeasureOptions;
  tfjsCpuMeasure?: MeasureOptions;
  /** Compute the float64 reference (about 12 s for ResNet-152 here). */
  f64?: boolean;
  /** Folder for model files and the crop. */
  workDir?: string;
  /** Output: JSON path; the markdown and SVGs go next to it. Nothing is written when undefined. */
  out?: string;
  log?: (s: string) => void;
  quick?: boolean;
}

const MB = 2 ** 20;

function moduleUrl(rel: string): string {
  // Children import compiled JS; from the TypeScript sources (tests) use the package's dist/.
  const u = new URL(import.meta.url);
  if (u.pathname.endsWith(".ts")) return new URL(`../../dist/${rel}`, u).href;
  return new URL(`../${rel}`, u).href;
}

interface QuantizerModule {
  quantizeModel(
    model: string,
    mode: string,
    opts: { out: string; crops?: Float32Array[]; threads?: number; sevenBit?: boolean },
  ): Promise<{ out: string; bytes: number }>;
}

/** The quantizer package, or the reason it cannot be used. */
async function loadQuantizer(): Promise<QuantizerModule | string> {
  const name = "@edge-audio/quantizer";
  try {
    const m = (await import(name)) as Partial<QuantizerModule>;
    if (typeof m.quantizeModel !== "function") return `${name} exports no quantizeModel`;
    return m as QuantizerModule;
  } catch (e) {
    return `${name} does not load (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); build it first`;
  }
}

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

interface Config {
  runtime: Runtime;
  variant: string;
  threads: number;
  /** Set when known up front that the row cannot run. */
  unavailable?: string;
  module?: string;
  factory?: string;
  options?: unknown;
  modelPath?: string;
  measure?: MeasureOptions;
  /** Node flags of the child (LiteRT.js's threaded build needs relaxed SIMD). */
  execArgv?: string[];
}

export async function runCompare(opts: CompareOptions = {}): Promise<CompareReport> {
  const quick = opts.quick ?? false;
  const depths = opts.depths ?? (quick ? [50] : [152, 50]);
  const width = opts.width ?? 1;
  const height = opts.height ?? 128;
  const frames = opts.frames ?? 130;
  const threadsList = opts.threads ?? [1, 2];
  const runtimes = opts.runtimes ?? ALL_RUNTIMES;
  const variants = opts.variants ?? [...QUANT_VARIANTS];
  const seed = opts.seed ?? 1;
  const rounds = Math.max(1, opts.rounds ?? 1);
  const measure: MeasureOptions =
    opts.measure ??
    (quick ? { warmup: 1, runs: 3, minRuns: 3 } : { warmup: 3, runs: 20, maxTimeMs: 10_000, minRuns: 8 });
  const tfjsCpuMeasure: MeasureOptions = opts.tfjsCpuMeasure ?? { warmup: 1, runs: 3, minRuns: 3 };
  const f64 = opts.f64 ?? true;
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const workDir = resolve(opts.workDir ?? "out/compare");
  mkdirSync(workDir, { recursive: true });

  const report: CompareReport = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAvgStart: loadavg(),
    loadAvgEnd: [],
    input: [1, height, frames, 1],
    seed,
    measure: { default: measure, tfjsCpu: tfjsCpuMeasure },
    models: [],
    rows: [],
    goals: [],
  };

  const tfjsNodeWhy = runtimes.includes("tfjs-node") ? await tfjsNodeUnavailable() : null;
  const quantizer = variants.length > 0 && runtimes.includes("engine") ? await loadQuantizer() : null;

  for (const depth of depths) {
    const arch = { depth: depth as 152, width, inputHeight: height, inputWidth: frames };
    const spec = resnetSpec(defaultArchConfig(arch));
    const model = `ResNet-${depth}${width !== 1 ? ` w${width}` : ""}`;
    const tag = `resnet${depth}-w${width}-${height}x${frames}`;
    log(`${model}: random weights (seed ${seed}), .eam and .onnx files`);
    const contents = createRandomModel(arch, seed);
    const weights = new Map(contents.tensors.map((t) => [t.name, t.data as Float32Array]));
    const fp32Path = join(workDir, `${tag}-fp32.eam`);
    writeModel(fp32Path, contents);
    const onnxPath = join(workDir, `${tag}.onnx`);
    writeFileSync(onnxPath, writeResNetOnnx(spec, weights));
    const crop = randomCrop(height * frames, seed + 1000);
    const cropPath = join(workDir, `crop-${height}x${frames}-seed${seed}.f32`);
    writeFileSync(cropPath, new Uint8Array(crop.buffer, crop.byteOffset, crop.byteLength));
    const files: Record<string, { path: string; bytes: number }> = {
      fp32: { path: fp32Path, bytes: statSync(fp32Path).size },
      onnx: { path: onnxPath, bytes: statSync(onnxPath).size },
    };
    let ref: Float64Array | null = null;
    if (f64) {
      log(`${model}: float64 reference`);
      ref = referenceForward(spec, weights, crop).get(spec.output)!;
    }
    weights.clear();

    // Engine variants: quantize now; a failure becomes a marked row.
    const variantPaths = new Map<string, string | { why: string }>([["fp32", fp32Path]]);
    if (runtimes.includes("engine")) {
      const calib = Array.from({ length: quick ? 2 : 8 }, (_, i) => randomCrop(height * frames, 5000 + i));
      for (const v of variants) {
        if (v in OPTION_VARIANTS) continue; // another variant's file, run with a load option
        if (typeof quantizer === "string" || quantizer === null) {
          variantPaths.set(v, { why: `quantizer: ${quantizer ?? "not loaded"}` });
          continue;
        }
        const out = join(workDir, `${tag}-${v}.eam`);
        try {
          const t0 = performance.now();
          const sevenBit = v === "int8-7bit";
          const mode = sevenBit ? "int8" : v;
          const r = await quantizer.quantizeModel(fp32Path, mode, {
            out,
            crops: calib,
            threads: 1,
            sevenBit,
          });
          files[v] = { path: r.out, bytes: statSync(r.out).size };
          variantPaths.set(v, r.out);
          log(
            `${model}: ${v} ${(r.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        } catch (e) {
          variantPaths.set(v, {
            why: `quantizer: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
          });
        }
      }
    }
    for (const v of variants.filter((x) => x in OPTION_VARIANTS)) {
      const { file } = OPTION_VARIANTS[v]!;
      variantPaths.set(v, variantPaths.get(file) ?? { why: `needs the ${file} variant in --variants` });
    }
    const exported = exportFiles(runtimes, variantPaths, files, log, model);
    report.models.push({
      model,
      depth,
      width,
      macs: countMacs(spec),
      files,
    });

    const configs: Config[] = [];
    const inputDims = [1, height, frames, 1];
    for (const runtime of runtimes) {
      for (const t of threadsList) {
        if (runtime === "engine") {
          for (const v of ["fp32", ...variants]) {
            const p = variantPaths.get(v)!;
            if (typeof p !== "string") configs.push({ runtime, variant: v, threads: t, unavailable: p.why });
            else
              configs.push({
                runtime,
                variant: v,
                threads: t,
                module: moduleUrl("compare/runners.js"),
                factory: "createEngineRunner",
                options: {
                  modelPath: p,
                  threads: t,
                  name: `engine ${v}`,
                  ...(OPTION_VARIANTS[v] ? { [OPTION_VARIANTS[v].option]: true } : {}),
                },
                modelPath: p,
                execArgv: opts.engineNodeFlags,
              });
          }
        } else if (runtime === "tfjs-wasm" || runtime === "tfjs-cpu" || runtime === "tfjs-node") {
          const backend = runtime === "tfjs-wasm" ? "wasm" : runtime === "tfjs-cpu" ? "cpu" : "tensorflow";
          if (runtime === "tfjs-node" && tfjsNodeWhy) {
            configs.push({ runtime, variant: "fp32", threads: t, unavailable: tfjsNodeWhy });
          } else if (t > 1 && runtime !== "tfjs-node") {
            configs.push({
              runtime,
              variant: "fp32",
              threads: t,
              unavailable:
                runtime === "tfjs-wasm"
                  ? "tfjs-backend-wasm runs single-threaded in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE; tfjs issue 3830)"
                  : "the tfjs cpu backend is single-threaded JavaScript",
            });
          } else {
            configs.push({
              runtime,
              variant: "fp32",
              threads: t,
              module: moduleUrl("compare/runners.js"),
              factory: "createTfjsRunner",
              options: { modelPath: fp32Path, backend, threads: t, name: runtime },
              modelPath: fp32Path,
              measure: runtime === "tfjs-cpu" ? tfjsCpuMeasure : undefined,
            });
          }
        } else if (runtime === "litert") {
          configs.push(...liteRtConfigs(exported, t, inputDims));
        } else {
          const onnxFiles: [string, string | { why: string }][] = [["fp32", onnxPath]];
          if (variants.includes("int8"))
            onnxFiles.push(["int8", exported.get("onnx:int8") ?? { why: "no int8 variant" }]);
          for (const [variant, file] of onnxFiles)
            configs.push(
              typeof file !== "string"
                ? { runtime, variant, threads: t, unavailable: file.why }
                : {
                    runtime,
                    variant,
                    threads: t,
                    module: moduleUrl("onnx/runners.js"),
                    factory: runtime === "onnxruntime-node" ? "createOrtNodeRunner" : "createOrtWebRunner",
                    options: { modelPath: file, inputDims, threads: t, spin: true },
                    modelPath: file,
                  },
            );
        }
      }
    }

    type Best = { r: ChildMeasureResult; load: [number, number] } | { why: string; load: [number, number] };
    const best = new Map<Config, Best>();
    const processStats = new Map<Config, ChildMeasureResult["stats"][]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of configs) {
        if (c.unavailable) continue;
        const label = `${model}: ${c.runtime} ${c.variant}, ${c.threads} thread(s)${rounds > 1 ? `, round ${round + 1}/${rounds}` : ""}`;
        log(label);
        const before = loadavg()[0]!;
        try {
          const r = await measureInChild(
            {
              module: c.module!,
              factory: c.factory!,
              options: c.options,
              input: { file: cropPath },
              measure: c.measure ?? measure,
            },
            { execArgv: c.execArgv },
          );
          const load: [number, number] = [before, loadavg()[0]!];
          processStats.set(c, [...(processStats.get(c) ?? []), r.stats]);
          const prev = best.get(c);
          if (!prev || "why" in prev || r.stats.medianMs < prev.r.stats.medianMs) best.set(c, { r, load });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          const last = msg.split("\n").filter((l) => l.trim() && !/^\s+at /.test(l));
          log(`  failed: ${last.slice(-1)[0]}`);
          if (!best.has(c)) best.set(c, { why: last.slice(-1)[0] ?? msg, load: [before, loadavg()[0]!] });
        }
      }
    }

    const engineFp32 = new Map<number, ChildMeasureResult>();
    const engineOut = new Map<string, ArrayLike<number>>();
    for (const c of configs) {
      const b = best.get(c);
      if (c.runtime === "engine" && c.variant === "fp32" && b && "r" in b) engineFp32.set(c.threads, b.r);
      if (c.runtime === "engine" && b && "r" in b && (c.threads === 1 || !engineOut.has(c.variant)))
        engineOut.set(c.variant, b.r.output);
    }
    const fp32Out = engineFp32.get(1)?.output ?? engineFp32.values().next().value?.output ?? null;
    for (const c of configs) {
      const b = best.get(c);
      const base: CompareRow = {
        model,
        runtime: c.runtime,
        variant: c.variant,
        threads: c.threads,
        unavailable: null,
        medianMs: null,
        p10Ms: null,
        p90Ms: null,
        iqrMs: null,
        runs: null,
        loadMs: null,
        peakRssMB: null,
        modelBytes: c.modelPath ? statSync(c.modelPath).size : null,
        vsEngineFp32: null,
        maxDiffVsFp32: null,
        maxDiffVsEngine: null,
        maxDiffVsF64: null,
        top1: null,
        loadAvg: b ? b.load : [loadavg()[0]!, loadavg()[0]!],
        processMediansMs: null,
        processSpread: null,
        processP10P90Ms: null,
      };
      if (c.unavailable) {
        report.rows.push({ ...base, unavailable: c.unavailable });
        continue;
      }
      if (!b || "why" in b) {
        report.rows.push({ ...base, unavailable: b ? `${c.runtime}: ${b.why}` : "not run" });
        continue;
      }
      const r = b.r;
      const eng = engineFp32.get(c.threads);
      report.rows.push({
        ...base,
        medianMs: r.stats.medianMs,
        p10Ms: r.stats.p10Ms,
        p90Ms: r.stats.p90Ms,
        iqrMs: r.stats.iqrMs,
        runs: r.stats.runs,
        loadMs: r.loadMs,
        peakRssMB: r.peakRssBytes / MB,
        vsEngineFp32: eng ? r.stats.medianMs / eng.stats.medianMs : null,
        maxDiffVsFp32: fp32Out ? maxDiff(r.output, fp32Out) : null,
        maxDiffVsEngine: engineOut.has(c.variant) ? maxDiff(r.output, engineOut.get(c.variant)!) : null,
        maxDiffVsF64: ref ? maxDiff(r.output, ref) : null,
        top1: argmax(r.output),
        ...processFigures(rounds > 1 ? (processStats.get(c) ?? []) : []),
      });
    }
  }
  report.goals = evaluateGoals(report.rows);
  report.loadAvgEnd = loadavg();

  if (opts.out) {
    const json = resolve(opts.out);
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    const stem = json.replace(/\.json$/, "");
    writeFileSync(`${stem}.md`, `${compareMarkdown(report)}\n`);
    writeFileSync(`${stem}-latency.svg`, latencySvg(report));
    if (report.rows.some((r) => r.processMediansMs !== null))
      writeFileSync(`${stem}-processes.svg`, processSpreadSvg([{ label: "this run", report }]));
    writeFileSync(`${stem}-memory.svg`, memorySvg(report));
    log(`wrote ${json}, ${stem}.md, ${stem}-latency.svg, ${stem}-memory.svg`);
  }
  return report;
}

/** The per-process medians, p10 and p90, and the medians' relative spread, when there are at least two. */
export function processFigures(
  stats: Pick<ChildMeasureResult["stats"], "medianMs" | "p10Ms" | "p90Ms">[],
): Pick<CompareRow, "processMediansMs" | "processSpread" | "processP10P90Ms"> {
  if (stats.length < 2) return { processMediansMs: null, processSpread: null, processP10P90Ms: null };
  const medians = stats.map((s) => s.medianMs);
  const lo = Math.min(...medians);
  return {
    processMediansMs: medians,
    processSpread: (Math.max(...medians) - lo) / lo,
    processP10P90Ms: stats.map((s) => [s.p10Ms, s.p90Ms]),
  };
}

/**
 * The variants as `.tflite` files (for LiteRT.js) and the int8 variant as QDQ ONNX (for
 * onnxruntime), written next to the `.eam` files by the quantizer's exporters. Keys
 * `tflite:<variant>` and `onnx:int8`; a failure is kept as the reason.
 */
function exportFiles(
  runtimes: Runtime[],
  variantPaths: Map<string, string | { why: string }>,
  files: Record<string, { path: string; bytes: number }>,
  log: (s: string) => void,
  model: string,
): Map<string, string | { why: string }> {
  const out = new Map<string, string | { why: string }>();
  const jobs: [string, string, "tflite" | "onnx"][] = [];
  if (runtimes.includes("litert")) for (const v of LITERT_VARIANTS) jobs.push([`tflite:${v}`, v, "tflite"]);
  if (runtimes.includes("onnxruntime-node") || runtimes.includes("onnxruntime-web"))
    jobs.push(["onnx:int8", "int8", "onnx"]);
  for (const [key, v, to] of jobs) {
    const src = variantPaths.get(v);
    if (src === undefined) continue;
    if (typeof src !== "string") {
      out.set(key, src);
      continue;
    }
    const dst = src.replace(/\.eam$/, `.${to}`);
    try {
      const r = exportModel(src, { to, out: dst });
      out.set(key, dst);
      files[key] = { path: dst, bytes: r.bytes };
      log(`${model}: ${v} exported to ${to} (${(r.bytes / 1e6).toFixed(1)} MB)`);
    } catch (e) {
      out.set(key, { why: `export: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` });
    }
  }
  return out;
}

/** LiteRT.js rows: every exported variant; 1 thread on the compat build, more on the threaded one. */
function liteRtConfigs(
  exported: Map<string, string | { why: string }>,
  t: number,
  inputDims: number[],
): Config[] {
  const build = t > 1 ? "threaded" : "compat";
  return LITERT_VARIANTS.filter((v) => exported.has(`tflite:${v}`)).map((variant) => {
    const file = exported.get(`tflite:${variant}`)!;
    if (typeof file !== "string") return { runtime: "litert", variant, threads: t, unavailable: file.why };
    return {
      runtime: "litert",
      variant,
      threads: t,
      module: moduleUrl("litert/runner.js"),
      factory: "createLiteRtRunner",
      options: { modelPath: file, inputDims, threads: t, build, name: `litert ${variant} (${build})` },
      modelPath: file,
      execArgv: LITERT_EXEC_ARGV[build],
    };
  });
}

function find(rows: CompareRow[], model: string, runtime: Runtime, variant: string, threads: number) {
  const r = rows.find(
    (x) => x.model === model && x.runtime === runtime && x.variant === variant && x.threads === threads,
  );
  return r && r.medianMs !== null ? r : null;
}

/** The issues' goals, each as a ratio of medians measured in the same run. */
export function evaluateGoals(rows: CompareRow[]): CompareGoal[] {
  const goals: CompareGoal[] = [];
  const models = [...new Set(rows.map((r) => r.model))];
  const threads = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
  const has = (model: string, runtime: Runtime, t: number, variant?: string) =>
    rows.some(
      (r) =>
        r.model === model &&
        r.runtime === runtime &&
        r.threads === t &&
        (variant === undefined || r.variant === variant) &&
        // tfjs-wasm has no 2-thread configuration in Node: no goal at a thread count it cannot run.
        (runtime !== "tfjs-wasm" || t === 1 || !r.unavailable),
    );
  /** Goal `num / den` (medians) against `target`: at least it, at most it (`atMost`) or above it (`above`); a null target is a figure to report. */
  const push: PushGoal = (goal, model, t, num, den, target, cmp = "atLeast") => {
    const ratio = num && den ? num.medianMs! / den.medianMs! : null;
    const ok = (x: number, y: number) => (cmp === "atLeast" ? x >= y : cmp === "atMost" ? x <= y : x > y);
    const reached = ratio === null || target === null ? null : ok(ratio, target);
    goals.push({ goal, model, threads: t, ratio, target, reached });
  };
  for (const model of models) {
    for (const t of threads) {
      const e = find(rows, model, "engine", "fp32", t);
      const tw = find(rows, model, "tfjs-wasm", "fp32", t);
      if (has(model, "tfjs-wasm", t))
        push("tfjs-wasm / engine fp32 (same threads) >= 1.5", model, t, tw, e, 1.5);
      // The quantizer's speed goals: int8 at least 2x our FP32 and 3x tfjs-wasm, dynamic faster than FP32.
      if (has(model, "engine", t, "int8")) {
        const q = find(rows, model, "engine", "int8", t);
        push("engine fp32 / engine int8 (same threads) >= 2", model, t, e, q, 2);
        if (has(model, "tfjs-wasm", t))
          push("tfjs-wasm / engine int8 (same threads) >= 3", model, t, tw, q, 3);
      }
      if (has(model, "engine", t, "dynamic")) {
        const d = find(rows, model, "engine", "dynamic", t);
        push("engine fp32 / engine dynamic (same threads) > 1", model, t, e, d, 1, "above");
      }
      if (has(model, "onnxruntime-web", t)) {
        const ow = find(rows, model, "onnxruntime-web", "fp32", t);
        push("onnxruntime-web / engine fp32 (same threads) >= 1.3", model, t, ow, e, 1.3);
      }
    }
    liteRtGoals(rows, model, threads, push);
    kernelRoundGoals(rows, model, push, goals);
    if (has(model, "onnxruntime-node", 2)) {
      const q = find(rows, model, "engine", "int8", 2);
      const on = find(rows, model, "onnxruntime-node", "fp32", 2);
      push("engine int8 / onnxruntime-node fp32, 2 threads <= 2", model, 2, q, on, 2, "atMost");
    }
  }
  return goals;
}

/**
 * Issue 18's goals: FP32 at least 2x and int8 at least 4x tfjs-wasm at 1 thread, fp16 no slower
 * than FP32, every engine variant at least 1.85x faster on 2 threads than on 1, and (with several
 * rounds) the engine FP32's spread between processes no wider than onnxruntime-node's.
 */
function kernelRoundGoals(rows: CompareRow[], model: string, push: PushGoal, goals: CompareGoal[]): void {
  const row = (runtime: Runtime, v: string, t: number) => find(rows, model, runtime, v, t);
  const tw = row("tfjs-wasm", "fp32", 1);
  const e1 = row("engine", "fp32", 1);
  if (tw && e1) push("tfjs-wasm / engine fp32, 1 thread >= 2", model, 1, tw, e1, 2);
  const q1 = row("engine", "int8", 1);
  if (tw && q1) push("tfjs-wasm / engine int8, 1 thread >= 4", model, 1, tw, q1, 4);
  for (const t of [1, 2]) {
    const h = row("engine", "fp16", t);
    const e = row("engine", "fp32", t);
    if (h && e) push("engine fp32 / engine fp16 (same threads) >= 1", model, t, e, h, 1);
    // The same goals on the fused multiply-add GEMMs, where the variants ran.
    const ef = row("engine", "fp32-fma", t);
    const hf = row("engine", "fp16-fma", t);
    if (t === 1 && tw && ef) push("tfjs-wasm / engine fp32-fma, 1 thread >= 2", model, 1, tw, ef, 2);
    if (hf && ef) push("engine fp32-fma / engine fp16-fma (same threads) >= 1", model, t, ef, hf, 1);
    if (ef && e)
      push("engine fp32 / engine fp32-fma (same threads): the FMA speed-up", model, t, e, ef, null);
  }
  for (const v of new Set(
    rows.filter((r) => r.model === model && r.runtime === "engine").map((r) => r.variant),
  )) {
    const one = row("engine", v, 1);
    const two = row("engine", v, 2);
    if (one && two)
      push(`2-thread speed-up of engine ${v}: 1 thread / 2 threads >= 1.85`, model, 2, one, two, 1.85);
  }
  const ort = row("onnxruntime-node", "fp32", 1);
  if (e1?.processSpread != null && ort?.processSpread != null) {
    const ratio = ort.processSpread > 0 ? e1.processSpread / ort.processSpread : Number.POSITIVE_INFINITY;
    goals.push({
      goal: "engine fp32 process spread / onnxruntime-node process spread, 1 thread <= 1",
      model,
      threads: 1,
      ratio,
      target: 1,
      reached: ratio <= 1,
    });
  }
}

type PushGoal = (
  goal: string,
  model: string,
  t: number,
  num: CompareRow | null,
  den: CompareRow | null,
  target: number | null,
  cmp?: "atLeast" | "atMost" | "above",
) => void;

/**
 * Issue 16's goals: our engine faster than LiteRT.js for every variant and thread count, at least
 * 1.5x at 1 thread for fp32, dynamic and int8; our int8 at least 1.5x onnxruntime-web int8; our
 * int8 against onnxruntime-node int8 reported as the distance to native code.
 */
function liteRtGoals(rows: CompareRow[], model: string, threads: number[], push: PushGoal): void {
  const present = (runtime: Runtime, v: string, t: number) =>
    rows.some((r) => r.model === model && r.runtime === runtime && r.variant === v && r.threads === t);
  for (const t of threads) {
    for (const v of LITERT_VARIANTS) {
      if (!present("litert", v, t)) continue;
      const l = find(rows, model, "litert", v, t);
      const e = find(rows, model, "engine", v, t);
      const strict = t === 1 && v !== "fp16";
      push(
        `litert ${v} / engine ${v} (same threads) ${strict ? ">= 1.5" : "> 1"}`,
        model,
        t,
        l,
        e,
        strict ? 1.5 : 1,
        strict ? "atLeast" : "above",
      );
    }
    const e8 = find(rows, model, "engine", "int8", t);
    if (present("onnxruntime-web", "int8", t))
      push(
        "onnxruntime-web int8 / engine int8 (same threads) >= 1.5",
        model,
        t,
        find(rows, model, "onnxruntime-web", "int8", t),
        e8,
        1.5,
      );
    if (present("onnxruntime-node", "int8", t))
      push(
        "engine int8 / onnxruntime-node int8 (distance to native)",
        model,
        t,
        e8,
        find(rows, model, "onnxruntime-node", "int8", t),
        null,
      );
  }
}
