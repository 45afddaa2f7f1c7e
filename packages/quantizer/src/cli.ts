#!/usr/bin/env node
/** `edge-audio-quantize`: variant files, their evaluation and the Table 1 / Figure 3 report. */
import {
  type OptionSpecs,
  ProgressBar,
  packageVersion,
  parseCommand,
  runCli,
  UsageError,
} from "@edge-audio/common";
import { AudioDecodeError, DspError } from "@edge-audio/dsp";
import { EamFormatError, EamLimitError } from "@edge-audio/engine-wasm";
import { DataError } from "./data.js";
import { evaluateModel } from "./evaluate.js";
import { ExportUsageError, exportMain } from "./export/cli.js";
import { ExportError } from "./export/plan.js";
import { QuantizeError, type QuantizeResult, quantizeModel } from "./quantize.js";
import { makeReport, type ReportVariant, SEVEN_BIT_MODES } from "./report.js";
import { MODES, type Mode } from "./variants.js";

const HELP = `edge-audio-quantize: compressed variants of an FP32 .eam model

usage:
  edge-audio-quantize --model M.eam --mode fp16|dynamic|int8-tensor|int8|mixed --out OUT.eam
        [--calib DIR] [--calib-crops N] [--range auto|minmax|percentile|mse]
        [--budget-size MB | --budget-accuracy PTS] [--min-bits 4|8] [--seven-bit] [--prune S]
        [--threads N] [--json]
  edge-audio-quantize report --model M.eam --data DIR --out DIR [--modes fp32,fp16,...,int8-7bit]
        [--calib DIR] [--calib-crops N] [--budget-accuracy PTS | --budget-size MB] [--threads N] [--json]
  edge-audio-quantize eval --model M.eam --data DIR [--split test|all] [--threads N] [--json]
  edge-audio-quantize export --to tflite|onnx M.eam --out FILE [--json]   (export --help)

modes:
  fp16         weights stored as IEEE half (widened inside the GEMM), activations f32
  dynamic      int8 weights, one scale per output channel; activations quantized per tensor
               at run time before each conv/dense; int32 accumulation, f32 output
  int8-tensor  static int8 with one scale per weight tensor (the study's setting)
  int8         static int8: per-channel weight scales, calibrated activation ranges (min/max,
               percentile or MSE chosen per tensor), int8 residual adds and pooling
  mixed        per-layer sensitivity on calibration crops, then int4/int8/fp16/fp32 per layer
               (--min-bits 8: int8/fp16/fp32) under --budget-accuracy PTS (default 0.3 points
               of top-1 agreement with FP32, and logits SQNR within 3 dB of all-int8) or
               --budget-size MB

options:
  --calib DIR        labelled audio (<label>/<file>); only clips outside the model's stored
                     test/val split are used (required for int8, int8-tensor, mixed)
  --calib-crops N    calibration crops (default 64)
  --seven-bit        int8, int8-tensor, mixed: layers whose input is a ReLU output read it as
                     7 bits ([0, 127], zero point 0), the operand of the engine's relaxed-SIMD
                     GEMM; layers whose input can be negative keep 8 bits
  --prune S          magnitude pruning: fraction S of each weight tensor set to zero (stored
                     dense: size and speed do not change; the result says so)
  --threads N        engine threads for calibration and evaluation (default and most: the core
                     count; more is lowered to it with a warning)
  --json             machine-readable result on stdout
  --quiet            no progress output
  --version          the package version
  -h, --help         this text
`;

const VERSION = packageVersion(import.meta.url);

/** One progress bar per stage ("calibrating", "fp16: eval", ...), each ended with a line. */
function stageProgress(quiet: boolean) {
  let current: { stage: string; bar: ProgressBar } | null = null;
  return (stage: string, done: number, total: number) => {
    if (current?.stage !== stage) {
      current = { stage, bar: new ProgressBar({ title: stage, total, unit: "crop", quiet }) };
    }
    current.bar.update(done);
    if (done >= total) {
      current.bar.finish(`${stage}: ${total} done`);
      current = null;
    }
  };
}

function summary(r: QuantizeResult): string {
  const lines = [
    `${r.out}: ${r.mode}, ${(r.bytes / 1e6).toFixed(2)} MB (FP32 ${(r.fp32Bytes / 1e6).toFixed(2)} MB, ${((100 * r.bytes) / r.fp32Bytes).toFixed(1)} %)`,
    `layers: ${Object.entries(r.precision)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  ];
  if (r.calibration)
    lines.push(
      `calibration: ${r.calibration.crops} crops from ${r.calibration.clips} clips (${r.calibration.source}); ranges: ${Object.entries(
        r.calibration.methods,
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}`,
    );
  if (r.mixed)
    lines.push(
      `mixed: ${r.mixed.budget}; agreement ${(r.mixed.agreement * 100).toFixed(1)} %, logits SQNR ${r.mixed.sqnrDb.toFixed(1)} dB on ${r.mixed.crops} crops`,
    );
  if (r.prune)
    lines.push(
      `pruning: ${(r.prune.zeroFraction * 100).toFixed(1)} % of weights zero; gzip would give ${(r.prune.gzipBytes / 1e6).toFixed(2)} MB; ${r.prune.note}`,
    );
  lines.push(`took ${(r.ms / 1000).toFixed(1)} s`);
  return lines.join("\n");
}

const COMMON_OPTIONS = {
  model: { type: "string", required: true, placeholder: "M.eam" },
  threads: { type: "threads" },
} satisfies OptionSpecs;
const CALIB_OPTIONS = {
  calib: { type: "string" },
  "calib-crops": { type: "integer", min: 1 },
  "budget-size": { type: "number", above: 0 },
  "budget-accuracy": { type: "number", min: 0 },
} satisfies OptionSpecs;
const QUANTIZE_OPTIONS = {
  ...COMMON_OPTIONS,
  ...CALIB_OPTIONS,
  mode: { type: "string", choices: MODES, required: true, placeholder: MODES.join("|") },
  out: { type: "string", required: true, placeholder: "OUT.eam" },
  range: { type: "string", choices: ["auto", "minmax", "percentile", "mse"] as const, default: "auto" },
  "min-bits": { type: "string", choices: ["4", "8"] as const },
  "seven-bit": { type: "boolean" },
  prune: { type: "number", min: 0, max: 0.99 },
} satisfies OptionSpecs;
const REPORT_OPTIONS = {
  ...COMMON_OPTIONS,
  ...CALIB_OPTIONS,
  data: { type: "string", required: true, placeholder: "DIR" },
  out: { type: "string", required: true, placeholder: "DIR" },
  modes: { type: "string" },
} satisfies OptionSpecs;
const EVAL_OPTIONS = {
  ...COMMON_OPTIONS,
  data: { type: "string", required: true, placeholder: "DIR" },
  split: { type: "string", choices: ["test", "all"] as const, default: "test" },
} satisfies OptionSpecs;

function checkBudgets(v: { "budget-size"?: number; "budget-accuracy"?: number }): void {
  if (v["budget-size"] !== undefined && v["budget-accuracy"] !== undefined)
    throw new UsageError("give either --budget-size or --budget-accuracy, not both");
}

async function evalCommand(argv: string[]): Promise<number> {
  const a = parseCommand(argv, {
    name: "edge-audio-quantize eval",
    help: HELP,
    version: VERSION,
    options: EVAL_OPTIONS,
  });
  if (!a) return 0;
  const v = a.values;
  const progress = stageProgress(v.quiet || v.json);
  const r = await evaluateModel(v.model, v.data, {
    split: v.split,
    threads: v.threads,
    onProgress: (d, t) => progress("eval", d, t),
  });
  if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else
    process.stdout.write(
      `${r.model}: clip accuracy ${(r.clipAccuracy * 100).toFixed(1)} % (${r.clips} clips), crop accuracy ${(r.cropAccuracy * 100).toFixed(1)} % (${r.crops} crops), ${r.msPerCropMedian.toFixed(2)} ms per crop, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB, ${r.note}\n`,
    );
  return 0;
}

async function reportCommand(argv: string[]): Promise<number> {
  const a = parseCommand(argv, {
    name: "edge-audio-quantize report",
    help: HELP,
    version: VERSION,
    options: REPORT_OPTIONS,
  });
  if (!a) return 0;
  const v = a.values;
  checkBudgets(v);
  const modes = v.modes ? (v.modes.split(",").map((m) => m.trim()) as ReportVariant[]) : undefined;
  const known = ["fp32", ...MODES, ...SEVEN_BIT_MODES.map((m) => `${m}-7bit`)];
  for (const m of modes ?? [])
    if (!known.includes(m)) throw new UsageError(`--modes lists modes among ${known.join(", ")}; got "${m}"`);
  const r = await makeReport({
    model: v.model,
    data: v.data,
    out: v.out,
    modes,
    calib: v.calib,
    calibCrops: v["calib-crops"],
    budgetAccuracy: v["budget-accuracy"],
    budgetSizeMB: v["budget-size"],
    threads: v.threads,
    onProgress: stageProgress(v.quiet),
  });
  if (v.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${(await import("./report.js")).reportMarkdown(r)}\nwritten to ${v.out}\n`);
  return 0;
}

async function quantizeCommand(argv: string[]): Promise<number> {
  const a = parseCommand(argv, {
    name: "edge-audio-quantize",
    help: HELP,
    version: VERSION,
    options: QUANTIZE_OPTIONS,
  });
  if (!a) return 0;
  const v = a.values;
  checkBudgets(v);
  const r = await quantizeModel(v.model, v.mode as Mode, {
    minBits: v["min-bits"] === undefined ? undefined : (Number(v["min-bits"]) as 4 | 8),
    out: v.out,
    calib: v.calib,
    calibCrops: v["calib-crops"],
    rangeMethod: v.range,
    budgetSizeMB: v["budget-size"],
    budgetAccuracy: v["budget-accuracy"],
    prune: v.prune,
    sevenBit: v["seven-bit"] === true,
    threads: v.threads,
    onProgress: stageProgress(v.quiet),
  });
  if (v.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${summary(r)}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stderr.write(HELP);
    return 2;
  }
  if (argv[0] === "export") return exportMain(argv.slice(1));
  if (argv[0] === "report") return reportCommand(argv.slice(1));
  if (argv[0] === "eval") return evalCommand(argv.slice(1));
  return quantizeCommand(argv);
}

/** Errors about the model file, the audio or the command's arguments: the user can fix them (exit 2). */
function isInputError(e: unknown): boolean {
  return [
    ExportUsageError,
    ExportError,
    QuantizeError,
    DataError,
    EamFormatError,
    EamLimitError,
    AudioDecodeError,
    DspError,
  ].some((c) => e instanceof c);
}

runCli("edge-audio-quantize", () => main(process.argv.slice(2)), { isInputError });
