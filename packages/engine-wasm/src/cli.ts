#!/usr/bin/env node
/** edge-audio-engine: random model generation, model inspection and inference from the shell. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArchName, RESNET_DEPTHS, type ResNetDepth } from "./arch.js";
import {
  decimalNumber,
  EXIT_FAILURE,
  EXIT_USAGE,
  exitQuietlyOnClosedPipe,
  type ParsedFlags,
  packageVersion,
  parseFlags,
  threadsFlag,
  UsageError,
  wholeNumber,
} from "./cli-args.js";
import { EamFormatError } from "./format.js";
import { EamLimitError } from "./limits.js";
import { loadModel } from "./model.js";
import { randomCrop, writeRandomModel } from "./random.js";

const COMMON = `  --json       machine-readable output
  --quiet      print nothing on success (random)
  --version    the package version
  -h, --help   this help

Exit codes: 0 ok, 1 runtime failure, 2 bad command line or a model/input file that cannot be used.
`;

const RANDOM_HELP = `usage: edge-audio-engine random --out FILE [--depth 18|34|50|101|152] [--width W] [--classes N]
         [--height MELS] [--frames FRAMES] [--channels C] [--seed S] [--json]
      Write a ResNet with seeded random weights to a .eam file (folders are created).`;
const INFO_HELP = `usage: edge-audio-engine info FILE [--fma] [--json]
      Validate a .eam file and print its graph summary, sizes, labels, Mel config, provenance
      (with --fma: how many layers would run on the fused multiply-add GEMMs, and why).`;
const RUN_HELP = `usage: edge-audio-engine run FILE [--input CROP] [--threads N] [--isa wasmsimd|scalar] [--direct]
         [--fma] [--repeat R] [--wasi [--save-plan PLAN]] [--json]
      Classify one crop. CROP is raw little-endian float32 (.f32) or a JSON array, in the
      layout data[mel * frames + frame]; without --input a seeded pseudo-random crop is used.
      --direct runs 3x3 convolutions directly instead of with Winograd.
      --fma runs the f32 GEMMs of FP32 and fp16 layers with fused multiply-adds (relaxed SIMD
      f32x4.relaxed_madd) when a self-check finds it fused in every V8 tier; otherwise, or
      with --isa scalar, they stay on 128-bit SIMD (the output says which, and why). Results
      differ from the default path's in the last bits.
      --threads N: engine threads (default and most: the core count; more is lowered to it
      with a warning; 0 is refused).
      --wasi runs the model's plan in the WASI build (build/engine-wasi.wasm) under node:wasi,
      one thread, SIMD kernels; --save-plan PLAN keeps the plan file for another WASI runtime.`;

const HELP = `usage: edge-audio-engine <command> [options]

Commands:
${[RANDOM_HELP, INFO_HELP, RUN_HELP].map((h) => h.replace("usage: edge-audio-engine ", "  ")).join("\n")}

Options:
${COMMON}`;

const COMMAND_HELP = {
  random: `${RANDOM_HELP}\n\nOptions:\n${COMMON}`,
  info: `${INFO_HELP}\n\nOptions:\n${COMMON}`,
  run: `${RUN_HELP}\n\nOptions:\n${COMMON}`,
};

const NAME = "edge-audio-engine";
const VERSION = packageVersion();

const int = (v: string | boolean | undefined, flag: string, dflt: number, min = 1): number =>
  typeof v === "string" ? wholeNumber(flag, v, min) : dflt;

const positive = (v: string | boolean | undefined, flag: string, dflt: number): number => {
  if (typeof v !== "string") return dflt;
  const n = decimalNumber(flag, v, 0);
  if (n === 0) throw new UsageError(`${flag} must be more than 0, got 0`);
  return n;
};

function readCrop(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  if (file.endsWith(".json")) {
    let values: unknown;
    try {
      values = JSON.parse(buf.toString("utf8"));
    } catch (e) {
      throw new InputError(`${file}: not JSON (${(e as Error).message}); give a JSON array of numbers`);
    }
    if (!Array.isArray(values) || !values.every((v) => typeof v === "number" && Number.isFinite(v)))
      throw new InputError(`${file}: expected a JSON array of finite numbers`);
    return Float32Array.from(values as number[]);
  }
  if (buf.length % 4 !== 0)
    throw new InputError(`${file}: size ${buf.length} is not a multiple of 4 (float32)`);
  const out = new Float32Array(buf.length / 4);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** A bad model or input file: exit 2, no pointer to --help. */
class InputError extends Error {}

const FLAGS = {
  random: {
    out: "string",
    depth: "string",
    width: "string",
    classes: "string",
    height: "string",
    frames: "string",
    channels: "string",
    seed: "string",
  },
  info: { fma: "boolean" },
  run: {
    fma: "boolean",
    input: "string",
    threads: "string",
    isa: "string",
    repeat: "string",
    direct: "boolean",
    wasi: "boolean",
    "save-plan": "string",
  },
} as const;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined) {
    process.stderr.write(HELP);
    return EXIT_USAGE;
  }
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === "--version") {
    process.stdout.write(`${NAME} ${VERSION}\n`);
    return 0;
  }
  if (cmd !== "random" && cmd !== "info" && cmd !== "run")
    throw new UsageError(`unknown command "${cmd}"; expected random, info or run`);
  const { values, positionals } = parseFlags(argv.slice(1), FLAGS[cmd]);
  if (values.help) {
    process.stdout.write(COMMAND_HELP[cmd]);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${NAME} ${VERSION}\n`);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`${cmd} takes one FILE, got ${positionals.length} arguments`);
  const file = positionals[0];
  switch (cmd) {
    case "random": {
      const out = (values.out as string | undefined) ?? file;
      if (!out) throw new UsageError("random: --out FILE is required");
      const d = (values.depth as string | undefined) ?? "18";
      const depth = (/^\d+$/.test(d) ? Number(d) : parseArchName(d)) as ResNetDepth;
      if (!RESNET_DEPTHS.includes(depth))
        throw new UsageError(`--depth must be one of ${RESNET_DEPTHS.join(", ")}, got "${d}"`);
      const cfg = {
        depth,
        width: positive(values.width, "--width", 1),
        numClasses: int(values.classes, "--classes", 10),
        inputHeight: int(values.height, "--height", 128),
        inputWidth: int(values.frames, "--frames", 130),
        inChannels: int(values.channels, "--channels", 1),
      };
      const seed = int(values.seed, "--seed", 1, 0);
      const t0 = performance.now();
      fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
      const { bytes } = writeRandomModel(out, cfg, seed);
      const res = { file: out, bytes, config: cfg, seed, ms: Math.round(performance.now() - t0) };
      if (values.json) process.stdout.write(`${JSON.stringify(res)}\n`);
      else if (!values.quiet)
        process.stdout.write(
          `wrote ${out}: resnet${depth} width ${cfg.width}, ${bytes} bytes, seed ${seed}\n`,
        );
      return 0;
    }
    case "info":
    case "run": {
      if (!file) throw new UsageError(`${cmd}: a model FILE is required`);
      const threads = cmd === "info" ? 1 : threadsFlag(values.threads as string | undefined, NAME);
      const isa = values.isa as "wasmsimd" | "scalar" | undefined;
      if (isa && isa !== "wasmsimd" && isa !== "scalar")
        throw new UsageError(`--isa must be wasmsimd or scalar, got "${isa}"`);
      const repeat = int(values.repeat, "--repeat", 1);
      if (cmd === "run" && values.wasi) return runUnderWasi(file, values);
      if (values["save-plan"] !== undefined) throw new UsageError("--save-plan needs --wasi");
      const model = await loadModel(file, {
        threads,
        isa,
        winograd: !values.direct,
        fma: values.fma === true,
      });
      try {
        const info = model.info();
        if (cmd === "info") {
          if (values.json) {
            process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          } else {
            const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
            const lines = [
              `${file}: .eam ${info.formatVersion}, ${info.provenance.architecture ?? "unknown architecture"}`,
              `  input ${info.input.name} [${info.input.shape}] -> output ${info.output.name} [${info.output.shape}]`,
              `  layers ${info.layers}, ops ${info.ops.total} (${Object.entries(info.ops.byKind)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")})`,
              `  params ${info.params}, MACs ${info.macs} (${((2 * info.macs) / 1e9).toFixed(2)} GFLOP per crop)`,
              `  file ${mb(info.fileBytes)}, packed weights ${mb(info.weightBytes)}, wasm memory ${mb(info.memoryBytes)}`,
              `  3x3 convolutions: ${info.winograd ? `Winograd (f32: ${info.winogradF4Layers} layers F(4x4,3x3), the others F(2x2,3x3); f16: ${info.winogradF16Layers} layers F(2x2,3x3))` : "direct (IGEMM)"}`,
              `  precision: ${info.quantMode} (${Object.entries(info.precision)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")} layers)`,
              `  activation arena ${mb(info.arenaBytes)} (live peak ${mb(info.peakLiveBytes)}, largest op ${mb(info.largestOpBytes)}), indirection ${mb(info.indirectionBytes)}`,
              `  fused multiply-add: ${info.fma.fmaLayers} of ${info.fma.gemmLayers} GEMM layers (${info.fma.reason})`,
              `  labels: ${info.labels.join(", ") || "(none)"}`,
              `  mel: ${info.mel ? JSON.stringify(info.mel) : "(none)"}`,
              `  provenance: ${JSON.stringify(info.provenance)}`,
              `  load ${info.loadMs.toFixed(0)} ms`,
            ];
            process.stdout.write(`${lines.join("\n")}\n`);
          }
          return 0;
        }
        const n = model.inputSize;
        const input = values.input as string | undefined;
        const crop = input ? readCrop(input) : randomCrop(n);
        if (crop.length !== n)
          throw new InputError(`${input}: ${crop.length} values, the model expects ${n}`);
        const times: number[] = [];
        let probs: Float32Array = new Float32Array(0);
        for (let i = 0; i < repeat; i++) {
          const t = performance.now();
          probs = model.run(crop);
          times.push(performance.now() - t);
        }
        const labels = info.labels; // one per output class (checked when the model is loaded)
        const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
        const sorted = [...times].sort((a, b) => a - b);
        const res = {
          top: labels[order[0]!],
          probabilities: Object.fromEntries(labels.map((l, i) => [l, probs[i]])),
          ms: { first: times[0], min: sorted[0], median: sorted[Math.floor(sorted.length / 2)] },
          loadMs: info.loadMs,
          threads: info.threads,
          isa: info.isa,
          fma: info.fma,
          input: input ?? "random crop (seed 7)",
        };
        if (values.json) process.stdout.write(`${JSON.stringify(res)}\n`);
        else {
          process.stdout.write(`${res.top}\n`);
          for (const i of order.slice(0, 5))
            process.stdout.write(`  ${labels[i]}: ${probs[i]!.toFixed(4)}\n`);
          process.stdout.write(
            `  ${res.ms.min!.toFixed(1)} ms (min of ${repeat}), ${info.threads} thread(s), ${info.isa}, load ${info.loadMs.toFixed(0)} ms\n`,
          );
          if (values.fma)
            process.stdout.write(
              `  fused multiply-add: ${info.fma.fmaLayers} of ${info.fma.gemmLayers} GEMM layers (${info.fma.reason})\n`,
            );
        }
      } finally {
        await model.dispose();
      }
      return 0;
    }
  }
}

/** `run --wasi`: the model's plan under the WASI module (one thread, SIMD kernels). */
async function runUnderWasi(file: string, values: ParsedFlags["values"]): Promise<number> {
  for (const flag of ["threads", "isa", "repeat", "fma"])
    if (values[flag] !== undefined)
      throw new UsageError(`--${flag} does not apply to --wasi (one thread, 128-bit SIMD kernels, one run)`);
  const { classifyLoaded, wasiLoadOptions } = await import("./wasi-run.js");
  const model = await loadModel(file, wasiLoadOptions(!values.direct));
  try {
    const n = model.inputSize;
    const input = values.input as string | undefined;
    const crop = input ? readCrop(input) : randomCrop(n);
    if (crop.length !== n) throw new InputError(`${input}: ${crop.length} values, the model expects ${n}`);
    const t = performance.now();
    const probs = classifyLoaded(model, crop, values["save-plan"] as string | undefined);
    const ms = performance.now() - t;
    printProbabilities(model.info().labels, probs, values.json === true, {
      input: input ?? "random crop (seed 7)",
      runtime: "node:wasi",
      ms,
    });
  } finally {
    await model.dispose();
  }
  return 0;
}

/** Prints the top class and the five most probable (or all as JSON). */
function printProbabilities(
  labels: string[],
  probs: Float32Array,
  json: boolean,
  extra: { input: string; runtime: string; ms: number },
): void {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  const top = labels[order[0]!];
  if (json) {
    const probabilities = Object.fromEntries(labels.map((l, i) => [l, probs[i]]));
    process.stdout.write(`${JSON.stringify({ top, probabilities, ...extra })}\n`);
    return;
  }
  process.stdout.write(`${top}\n`);
  for (const i of order.slice(0, 5)) process.stdout.write(`  ${labels[i]}: ${probs[i]!.toFixed(4)}\n`);
  process.stdout.write(`  ${extra.ms.toFixed(1)} ms (plan file and WASI run), ${extra.runtime}\n`);
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EISDIR: "is a folder, a .eam file is expected",
  ENOTDIR: "a part of the path is not a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links (a loop?)",
  ENAMETOOLONG: "name too long",
};

const fileErrorOf = (e: unknown): string | undefined =>
  FILE_ERRORS[String((e as NodeJS.ErrnoException)?.code)];

/** The exit code for an error: 2 when the user can fix the command line or the file, else 1. */
function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof InputError) return EXIT_USAGE;
  if (e instanceof EamFormatError || e instanceof EamLimitError) return EXIT_USAGE;
  if (e instanceof Error && e.name === "WasiError") return EXIT_USAGE;
  return fileErrorOf(e) ? EXIT_USAGE : EXIT_FAILURE;
}

exitQuietlyOnClosedPipe();
const argv = process.argv.slice(2);
main(argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const fileError = fileErrorOf(e);
    const path = (e as NodeJS.ErrnoException)?.path ?? argv[1] ?? "";
    const msg = fileError ? `${path}: ${fileError}` : e instanceof Error ? e.message : String(e);
    const hint = e instanceof UsageError ? ` (see ${NAME} --help)` : "";
    process.stderr.write(`${NAME}: ${msg}${hint}\n`);
    if (process.env.EDGE_AUDIO_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(exitCodeOf(e));
  },
);
