#!/usr/bin/env node
/** `edge-audio-quantize`: variant files, their evaluation and the Table 1 / Figure 3 report. */
import { parseArgs } from "node:util";
import { evaluateModel } from "./evaluate.js";
import { type QuantizeResult, quantizeModel } from "./quantize.js";
import { makeReport } from "./report.js";
import { MODES, type Mode } from "./variants.js";

const HELP = `edge-audio-quantize: compressed variants of an FP32 .eam model

usage:
  edge-audio-quantize --model M.eam --mode fp16|dynamic|int8-tensor|int8|mixed --out OUT.eam
        [--calib DIR] [--calib-crops N] [--range auto|minmax|percentile|mse]
        [--budget-size MB | --budget-accuracy PTS] [--min-bits 4|8] [--prune S] [--threads N] [--json]
  edge-audio-quantize report --model M.eam --data DIR --out DIR [--modes fp32,fp16,...]
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
  --prune S          magnitude pruning: fraction S of each weight tensor set to zero (stored
                     dense: size and speed do not change; the result says so)
  --threads N        engine threads for calibration and evaluation (default 1)
  --json             machine-readable result on stdout
  -h, --help         this text
`;

class UsageError extends Error {}

function progressBar(enabled: boolean) {
  let last = "";
  let lastDecile = -1;
  const tty = Boolean(process.stderr.isTTY);
  return (stage: string, done: number, total: number) => {
    if (!enabled) return;
    const frac = total ? done / total : 1;
    const w = 24;
    const bar = `[${"#".repeat(Math.round(frac * w))}${".".repeat(w - Math.round(frac * w))}]`;
    const line = `${stage} ${bar} ${done}/${total}`;
    if (tty) {
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
      if (done === total) process.stderr.write("\n");
    } else {
      const d = Math.floor(frac * 4);
      if (stage !== last || d !== lastDecile) process.stderr.write(`${line}\n`);
      last = stage;
      lastDecile = d;
    }
  };
}

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UsageError(`${name} needs a number, got ${v}`);
  return x;
};

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

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "export") return (await import("./export/cli.js")).exportMain(argv.slice(1));
  const cmd = argv[0] === "report" || argv[0] === "eval" ? argv[0] : "quantize";
  const args = cmd === "quantize" ? argv : argv.slice(1);
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      model: { type: "string" },
      mode: { type: "string" },
      modes: { type: "string" },
      out: { type: "string" },
      data: { type: "string" },
      split: { type: "string" },
      calib: { type: "string" },
      "calib-crops": { type: "string" },
      range: { type: "string" },
      "budget-size": { type: "string" },
      "budget-accuracy": { type: "string" },
      "min-bits": { type: "string" },
      prune: { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || argv.length === 0) {
    process.stdout.write(HELP);
    return 0;
  }
  const json = Boolean(values.json);
  const progress = progressBar(true);
  const threads = num(values.threads, "--threads");
  if (!values.model) throw new UsageError("--model M.eam is required");
  if (values["budget-size"] && values["budget-accuracy"])
    throw new UsageError("give either --budget-size or --budget-accuracy, not both");
  if (cmd === "eval") {
    if (!values.data) throw new UsageError("eval needs --data DIR (a folder of <label>/<audio file>)");
    const split = (values.split ?? "test") as "test" | "all";
    if (split !== "test" && split !== "all") throw new UsageError("--split is test or all");
    const r = await evaluateModel(values.model, values.data, {
      split,
      threads,
      onProgress: json ? undefined : (d, t) => progress("eval", d, t),
    });
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else
      process.stdout.write(
        `${r.model}: clip accuracy ${(r.clipAccuracy * 100).toFixed(1)} % (${r.clips} clips), crop accuracy ${(r.cropAccuracy * 100).toFixed(1)} % (${r.crops} crops), ${r.msPerCropMedian.toFixed(2)} ms per crop, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB, ${r.note}\n`,
      );
    return 0;
  }
  if (cmd === "report") {
    if (!values.data)
      throw new UsageError("report needs --data DIR (labelled audio; the model's test split is evaluated)");
    if (!values.out)
      throw new UsageError(
        "report needs --out DIR for the variant files, report.md, report.json and the plot",
      );
    const modes = values.modes ? (values.modes.split(",") as Mode[]) : undefined;
    for (const m of modes ?? [])
      if (m !== "fp32" && !MODES.includes(m)) throw new UsageError(`unknown mode ${m}`);
    const r = await makeReport({
      model: values.model,
      data: values.data,
      out: values.out,
      modes,
      calib: values.calib,
      calibCrops: num(values["calib-crops"], "--calib-crops"),
      budgetAccuracy: num(values["budget-accuracy"], "--budget-accuracy"),
      budgetSizeMB: num(values["budget-size"], "--budget-size"),
      threads,
      onProgress: progress,
    });
    if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else
      process.stdout.write(`${(await import("./report.js")).reportMarkdown(r)}\nwritten to ${values.out}\n`);
    return 0;
  }
  const mode = values.mode as Mode | undefined;
  if (!mode || !MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(", ")}`);
  if (!values.out) throw new UsageError("--out OUT.eam is required");
  const range = values.range ?? "auto";
  if (!["auto", "minmax", "percentile", "mse"].includes(range))
    throw new UsageError("--range is auto, minmax, percentile or mse");
  const minBits = num(values["min-bits"], "--min-bits");
  if (minBits !== undefined && minBits !== 4 && minBits !== 8) throw new UsageError("--min-bits is 4 or 8");
  const r = await quantizeModel(values.model, mode, {
    minBits: minBits as 4 | 8 | undefined,
    out: values.out,
    calib: values.calib,
    calibCrops: num(values["calib-crops"], "--calib-crops"),
    rangeMethod: range as "auto",
    budgetSizeMB: num(values["budget-size"], "--budget-size"),
    budgetAccuracy: num(values["budget-accuracy"], "--budget-accuracy"),
    prune: num(values.prune, "--prune"),
    threads,
    onProgress: progress,
  });
  if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${summary(r)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    const usage =
      e instanceof UsageError ||
      e.constructor.name === "ExportUsageError" ||
      (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`edge-audio-quantize: ${e.message}${usage ? " (see --help)" : ""}\n`);
    process.exit(2);
  },
);
