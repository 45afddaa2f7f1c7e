#!/usr/bin/env node
/** The `edge-audio` command line: train, demo-data, export, demo. */
import { parseArgs } from "node:util";
import { MEL_NORMALIZATIONS, type MelConfig, type MelNormalization } from "@edge-audio/dsp";
import * as tf from "@tensorflow/tfjs";
import { noAudioAugment } from "./augment-audio.js";
import { BACKEND_NAMES, type BackendName } from "./backend.js";
import { measureTrainingThroughput } from "./bench.js";
import { defaultAugment, noAugment } from "./crops.js";
import { DatasetError } from "./dataset.js";
import { generateDemoCorpus } from "./demo.js";
import { exportRun } from "./export.js";
import { runDemoPipeline } from "./pipeline.js";
import { robustnessCommand } from "./robustness-cli.js";
import { defaultTrainOptions, train } from "./train.js";

const HELP: Record<string, string> = {
  main: `usage: edge-audio <command> [options]

commands:
  train       train a ResNet on a folder of labelled audio (GTZAN layout or <label>/<file>)
  demo-data   write the built-in SYNTHETIC demo corpus (GTZAN layout, licence-free)
  export      write a trained run as an FP32 .eam model file (batch-norm folded)
  demo        demo-data + a short training + export, in one go
  bench-train training throughput (crops/s) of backends on the same model
  robustness  accuracy of a model's held-out clips under gain, MP3, 48 kHz, noise, low-pass

Run \`edge-audio <command> --help\` for its options.`,
  train: `usage: edge-audio train --data DIR --out runs/NAME [options]

data
  --data DIR              folder of <label>/<audio> (also DIR/genres or DIR/genres_original)
  --test-fraction F       stratified hold-out share per class (default 0.2)
  --val-fraction F        validation share of the training clips, for early stopping (default 0)
  --folds K               K-fold cross-validation instead of one hold-out (runs in out/fold-i)
  --test-list FILE        test clips from a list (one path or stem per line); --train-list, --val-list
  --max-clips-per-class N use at most N clips per class
  --crop-seconds S        crop length (default 3 s = 130 frames at 22050 Hz, hop 512)
  --crops-per-clip N      training crops per clip and epoch (default: as many as fit)
  --cache DIR             feature cache (default .cache/edge-audio-features); --no-cache
  --n-mels N, --n-fft N, --hop N, --sample-rate HZ   Mel front-end (stored in the model file)
  --normalization KIND    crop normalisation: crop-max (default), crop-mean, none (absolute dB)
model
  --arch NAME             resnet18|resnet34|resnet50|resnet101|resnet152 (default resnet18)
  --width W               channel width multiplier (default 0.25)
  --dropout P             head dropout (default 0.5)
training
  --epochs N              (default 20)
  --batch-size N          (default 16)
  --optimizer adam|sgd    (default adam; sgd uses Nesterov momentum --momentum 0.9)
  --lr LR                 peak learning rate (default 0.002)
  --schedule cosine|step|constant   (default cosine, --warmup-epochs 1)
  --weight-decay WD       decoupled weight decay on conv and dense kernels (default 1e-4)
  --patience N            early stopping on validation clip accuracy (needs --val-fraction)
  --no-augment            no random crops, SpecAugment, mixup or audio copies
  --mixup A               mixup Beta(A, A); 0 = off (default 0.2)
  --spec-augment N        SpecAugment masks of each kind (default 2); 0 = off
  --audio-variants N      degraded copies of every clip (default 1) that training crops are drawn from
                          beside the clean clip (noise, low-pass, gain; cached); 0 = off
  --noise-prob P          share of the copies with white noise at 10-40 dB SNR
  --lowpass-prob P        share of the copies low-passed at 2.5-8 kHz (48 dB/octave)
  --gain-range DB         copies get a gain uniform in [-DB, +DB] dB
  --seed N                seed of splits, initialisation and augmentation (default 1)
  --backend node|wasm|cpu default: tfjs-node if installed, else wasm, else cpu
  --resume                continue from the run folder's last checkpoint
  --json                  print the result as JSON on stdout
  --quiet                 no progress output`,
  "demo-data": `usage: edge-audio demo-data --out DIR [--clips-per-class N] [--seconds S] [--seed N] [--json]

Writes the built-in SYNTHETIC demo corpus: 10 classes of generated music-like clips that differ
in tempo, rhythm pattern, timbre and harmony, in GTZAN's layout
(DIR/synthetic-<style>/synthetic-<style>.000NN.wav). Not real music; free of third-party rights.
Defaults: 12 clips per class, 4 s, 22050 Hz, seed 1.`,
  export: `usage: edge-audio export --run runs/NAME --out model.eam [--json]

Writes the run's trained model as an FP32 .eam file with batch-norm folded into the convolutions,
the Mel configuration, labels, architecture and provenance (split seed and test clips) inside.
For a cross-validation run, export one fold: --run runs/NAME/fold-1.`,
  "bench-train": `usage: edge-audio bench-train [--backends wasm,cpu] [--arch resnet18] [--width 0.25]
                             [--batch-size 16] [--steps 3] [--json]

Runs the same training step (same initial weights, same random 128 x 130 crops, Adam) on each
backend in turn and prints seconds per step and crops per second.`,
  demo: `usage: edge-audio demo --out DIR [--backend node|wasm|cpu] [--json]

Generates the SYNTHETIC demo corpus in DIR/data, trains a small ResNet on it (DIR/run) and
exports DIR/model.eam. Takes a few minutes on two cores.`,
};

class UsageError extends Error {}

function normalizationOf(v: string): MelNormalization {
  if (!(MEL_NORMALIZATIONS as readonly string[]).includes(v))
    throw new UsageError(`--normalization must be one of ${MEL_NORMALIZATIONS.join(", ")}, got "${v}"`);
  return v as MelNormalization;
}

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} wants a number, got "${v}"`);
  return n;
}

function backendOf(v: string | undefined): BackendName | "auto" {
  if (v === undefined || v === "auto") return "auto";
  if (!(BACKEND_NAMES as readonly string[]).includes(v))
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(", ")}, got "${v}"`);
  return v as BackendName;
}

async function cmdTrain(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      arch: { type: "string" },
      width: { type: "string" },
      dropout: { type: "string" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      optimizer: { type: "string" },
      lr: { type: "string" },
      momentum: { type: "string" },
      schedule: { type: "string" },
      "warmup-epochs": { type: "string" },
      "weight-decay": { type: "string" },
      patience: { type: "string" },
      "test-fraction": { type: "string" },
      "val-fraction": { type: "string" },
      folds: { type: "string" },
      "test-list": { type: "string" },
      "train-list": { type: "string" },
      "val-list": { type: "string" },
      "max-clips-per-class": { type: "string" },
      "crop-seconds": { type: "string" },
      "crops-per-clip": { type: "string" },
      cache: { type: "string" },
      "no-cache": { type: "boolean" },
      "n-mels": { type: "string" },
      "n-fft": { type: "string" },
      hop: { type: "string" },
      "sample-rate": { type: "string" },
      normalization: { type: "string" },
      "no-augment": { type: "boolean" },
      mixup: { type: "string" },
      "spec-augment": { type: "string" },
      "audio-variants": { type: "string" },
      "noise-prob": { type: "string" },
      "lowpass-prob": { type: "string" },
      "gain-range": { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
      resume: { type: "boolean" },
      json: { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return void console.log(HELP.train);
  if (!v.data)
    throw new UsageError(
      "train needs --data DIR (a folder of <label>/<audio file>); see `edge-audio train --help`",
    );
  if (!v.out) throw new UsageError("train needs --out DIR (the run folder, e.g. runs/my-run)");
  const d = defaultTrainOptions();
  const augment = v["no-augment"] ? noAugment() : defaultAugment();
  if (v.mixup !== undefined) augment.mixupAlpha = num(v.mixup, "mixup", 0.2);
  if (v["spec-augment"] !== undefined)
    augment.freqMasks = augment.timeMasks = num(v["spec-augment"], "spec-augment", 2);
  const audioAugment = v["no-augment"] ? noAudioAugment() : d.audioAugment;
  if (v["audio-variants"] !== undefined)
    audioAugment.variants = num(v["audio-variants"], "audio-variants", 0);
  if (v["noise-prob"] !== undefined) audioAugment.noiseProb = num(v["noise-prob"], "noise-prob", 0);
  if (v["lowpass-prob"] !== undefined) audioAugment.lowpassProb = num(v["lowpass-prob"], "lowpass-prob", 0);
  if (v["gain-range"] !== undefined) {
    const g = Math.abs(num(v["gain-range"], "gain-range", 0));
    audioAugment.gainDb = [-g, g];
  }
  const opt = v.optimizer ?? "adam";
  if (opt !== "adam" && opt !== "sgd") throw new UsageError(`--optimizer must be adam or sgd, got "${opt}"`);
  const sched = v.schedule ?? "cosine";
  if (!["cosine", "step", "constant"].includes(sched))
    throw new UsageError(`--schedule must be cosine, step or constant, got "${sched}"`);
  const mel: Partial<MelConfig> = {};
  if (v["n-mels"]) mel.nMels = num(v["n-mels"], "n-mels", 128);
  if (v["n-fft"]) mel.nFft = num(v["n-fft"], "n-fft", 2048);
  if (v.hop) mel.hopLength = num(v.hop, "hop", 512);
  if (v["sample-rate"]) mel.sampleRate = num(v["sample-rate"], "sample-rate", 22050);
  if (v.normalization !== undefined) mel.normalization = normalizationOf(v.normalization);
  const result = await train({
    data: v.data,
    out: v.out,
    arch: v.arch ?? "resnet18",
    width: num(v.width, "width", d.width),
    dropout: num(v.dropout, "dropout", d.dropout),
    epochs: num(v.epochs, "epochs", d.epochs),
    batchSize: num(v["batch-size"], "batch-size", d.batchSize),
    optimizer: opt,
    lr: num(v.lr, "lr", d.lr),
    momentum: num(v.momentum, "momentum", d.momentum),
    schedule: sched as "cosine",
    warmupEpochs: num(v["warmup-epochs"], "warmup-epochs", d.warmupEpochs),
    weightDecay: num(v["weight-decay"], "weight-decay", d.weightDecay),
    patience: num(v.patience, "patience", d.patience),
    testFraction: num(v["test-fraction"], "test-fraction", d.testFraction),
    valFraction: num(v["val-fraction"], "val-fraction", d.valFraction),
    folds: v.folds ? num(v.folds, "folds", 5) : undefined,
    testList: v["test-list"],
    trainList: v["train-list"],
    valList: v["val-list"],
    maxClipsPerClass: v["max-clips-per-class"]
      ? num(v["max-clips-per-class"], "max-clips-per-class", 0)
      : undefined,
    cropSeconds: num(v["crop-seconds"], "crop-seconds", d.cropSeconds),
    cropsPerClip: num(v["crops-per-clip"], "crops-per-clip", d.cropsPerClip),
    cacheDir: v["no-cache"] ? null : (v.cache ?? d.cacheDir),
    mel,
    augment,
    audioAugment,
    seed: num(v.seed, "seed", d.seed),
    backend: backendOf(v.backend),
    resume: Boolean(v.resume),
    verbose: !v.quiet,
  });
  if (v.json) {
    console.log(
      JSON.stringify(
        {
          meanAccuracy: result.meanAccuracy,
          stdAccuracy: result.stdAccuracy,
          pooledAccuracy: result.pooled.accuracy,
          totalSeconds: result.totalSeconds,
          runs: result.runs.map((r) => ({
            runDir: r.runDir,
            testAccuracy: r.testAccuracy,
            testCropAccuracy: r.testCropAccuracy,
            epochsRun: r.epochsRun,
            trainSeconds: r.trainSeconds,
            cropsPerSecond: r.cropsPerSecond,
            backend: r.backend.name,
          })),
        },
        null,
        2,
      ),
    );
  }
}

function cmdDemoData(argv: string[]): void {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      "clips-per-class": { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return void console.log(HELP["demo-data"]);
  if (!v.out) throw new UsageError("demo-data needs --out DIR");
  const r = generateDemoCorpus({
    out: v.out,
    clipsPerClass: num(v["clips-per-class"], "clips-per-class", 12),
    seconds: num(v.seconds, "seconds", 4),
    seed: num(v.seed, "seed", 1),
  });
  if (v.json) console.log(JSON.stringify({ ...r, files: r.files.length }, null, 2));
  else
    console.log(
      `wrote ${r.files.length} SYNTHETIC clips (${r.labels.length} classes x ${r.clipsPerClass}, ${r.seconds} s) to ${r.out}`,
    );
}

function cmdExport(argv: string[]): void {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      run: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return void console.log(HELP.export);
  if (!v.run) throw new UsageError("export needs --run DIR (a folder written by `edge-audio train`)");
  if (!v.out) throw new UsageError("export needs --out FILE.eam");
  const r = exportRun(v.run, v.out);
  if (v.json) console.log(JSON.stringify(r, null, 2));
  else
    console.log(
      `wrote ${r.out}: ${r.tensors} tensors, ${r.params} parameters, ${r.bytes} bytes, ${r.labels.length} labels`,
    );
}

async function cmdDemo(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      backend: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return void console.log(HELP.demo);
  if (!v.out) throw new UsageError("demo needs --out DIR");
  const r = await runDemoPipeline({ out: v.out, backend: backendOf(v.backend) });
  if (v.json) console.log(JSON.stringify(r, null, 2));
  else
    console.log(
      `demo: test clip accuracy ${(100 * r.testAccuracy).toFixed(1)} % on the SYNTHETIC corpus; model ${r.model}`,
    );
}

async function cmdBenchTrain(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      backends: { type: "string" },
      arch: { type: "string" },
      width: { type: "string" },
      "batch-size": { type: "string" },
      steps: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return void console.log(HELP["bench-train"]);
  const backends = (v.backends ?? "wasm,cpu").split(",").map((b) => backendOf(b.trim()));
  if (backends.includes("auto")) throw new UsageError("--backends lists explicit backends (node, wasm, cpu)");
  const results = await measureTrainingThroughput({
    backends: backends as BackendName[],
    arch: v.arch ?? "resnet18",
    width: num(v.width, "width", 0.25),
    batchSize: num(v["batch-size"], "batch-size", 16),
    steps: num(v.steps, "steps", 3),
  });
  if (v.json) return void console.log(JSON.stringify(results, null, 2));
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(5)} resnet${r.arch.depth} width ${r.arch.width}, batch ${r.batchSize}, ${r.arch.inputHeight}x${r.arch.inputWidth}: ` +
        `${r.secondsPerStep.toFixed(2)} s/step, ${r.cropsPerSecond.toFixed(2)} crops/s (first loss ${r.firstLoss.toFixed(4)})`,
    );
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  tf.enableProdMode();
  try {
    switch (cmd) {
      case undefined:
      case "--help":
      case "-h":
      case "help":
        console.log(HELP.main);
        return cmd === undefined ? 2 : 0;
      case "train":
        await cmdTrain(rest);
        return 0;
      case "demo-data":
        cmdDemoData(rest);
        return 0;
      case "export":
        cmdExport(rest);
        return 0;
      case "demo":
        await cmdDemo(rest);
        return 0;
      case "bench-train":
        await cmdBenchTrain(rest);
        return 0;
      case "robustness":
        return await robustnessCommand(rest);
      default:
        throw new UsageError(
          `unknown command "${cmd}"; expected train, demo-data, export, demo, bench-train or robustness (see edge-audio --help)`,
        );
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || e instanceof DatasetError || err.code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`edge-audio: ${err.message}`);
      return 2;
    }
    console.error(`edge-audio: ${err.message}`);
    if (process.env.EDGE_AUDIO_DEBUG) console.error(err.stack);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
