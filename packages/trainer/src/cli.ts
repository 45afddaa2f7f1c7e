#!/usr/bin/env node
/** The `edge-audio` command line: train, demo-data, export, demo. */
import { type OptionSpecs, packageVersion, parseCommand, runCli, UsageError } from "@edge-audio/common";
import {
  AudioDecodeError,
  DspError,
  MEL_NORMALIZATIONS,
  type MelConfig,
  type MelNormalization,
} from "@edge-audio/dsp";
import { EamFormatError, EamLimitError } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";
import { noAudioAugment } from "./augment-audio.js";
import { BACKEND_NAMES, type BackendName } from "./backend.js";
import { measureTrainingThroughput } from "./bench.js";
import { defaultAugment, noAugment } from "./crops.js";
import { DatasetError, writeFoldLists } from "./dataset.js";
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
  folds       write the test-clip lists of train --folds K, to run the folds as separate processes

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
  --fmax HZ               top of the Mel bands (default: the Nyquist frequency)
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
  --resample-prob P       share of the copies taken to 44.1 or 48 kHz and back by the resampler
  --seed N                seed of splits, initialisation and augmentation (default 1)
  --backend node|wasm|cpu default: tfjs-node if installed, else wasm, else cpu
  --resume                continue from the run folder's last checkpoint
  --json                  print the result as JSON on stdout
  --quiet                 no progress output
  --version               the package version`,
  "demo-data": `usage: edge-audio demo-data --out DIR [--clips-per-class N] [--seconds S] [--seed N] [--json]

Writes the built-in SYNTHETIC demo corpus: 10 classes of generated music-like clips that differ
in tempo, rhythm pattern, timbre and harmony, in GTZAN's layout
(DIR/synthetic-<style>/synthetic-<style>.000NN.wav). Not real music; free of third-party rights.
Defaults: 12 clips per class, 4 s, 22050 Hz, seed 1.`,
  export: `usage: edge-audio export --run runs/NAME --out model.eam [--json]

Writes the run's trained model as an FP32 .eam file with batch-norm folded into the convolutions,
the Mel configuration, labels, architecture and provenance (split seed and test clips) inside.
For a cross-validation run, export one fold: --run runs/NAME/fold-1.`,
  folds: `usage: edge-audio folds --data DIR --folds K --out DIR [--seed N] [--max-clips-per-class N] [--json]

Writes DIR/fold-1.txt ... fold-K.txt: the test clips of each fold of \`train --folds K --seed N\`
(stratified by label, every clip in exactly one fold), one path per line. Train fold i on its own
with \`edge-audio train --data DIR --test-list DIR/fold-i.txt --seed N ...\`; the folds can then
run in parallel. Defaults: --seed 1.`,
  "bench-train": `usage: edge-audio bench-train [--backends wasm,cpu] [--arch resnet18] [--width 0.25]
                             [--batch-size 16] [--steps 3] [--json]

Runs the same training step (same initial weights, same random 128 x 130 crops, Adam) on each
backend in turn and prints seconds per step and crops per second.`,
  demo: `usage: edge-audio demo --out DIR [--backend node|wasm|cpu] [--json]

Generates the SYNTHETIC demo corpus in DIR/data, trains a small ResNet on it (DIR/run) and
exports DIR/model.eam. Takes a few minutes on two cores.`,
};

const VERSION = packageVersion(import.meta.url);

const BACKEND_CHOICES = ["auto", ...BACKEND_NAMES] as const;

const TRAIN_OPTIONS = {
  data: { type: "string", required: true, placeholder: "DIR" },
  out: { type: "string", required: true, placeholder: "DIR" },
  arch: { type: "string", default: "resnet18" },
  width: { type: "number", above: 0 },
  dropout: { type: "number", min: 0, max: 0.99 },
  epochs: { type: "integer", min: 1 },
  "batch-size": { type: "integer", min: 1 },
  optimizer: { type: "string", choices: ["adam", "sgd"] as const, default: "adam" },
  lr: { type: "number", above: 0 },
  momentum: { type: "number", min: 0, max: 1 },
  schedule: { type: "string", choices: ["cosine", "step", "constant"] as const, default: "cosine" },
  "warmup-epochs": { type: "integer", min: 0 },
  "weight-decay": { type: "number", min: 0 },
  patience: { type: "integer", min: 0 },
  "test-fraction": { type: "number", min: 0, max: 0.9 },
  "val-fraction": { type: "number", min: 0, max: 0.9 },
  folds: { type: "integer", min: 2 },
  "test-list": { type: "string" },
  "train-list": { type: "string" },
  "val-list": { type: "string" },
  "max-clips-per-class": { type: "integer", min: 1 },
  "crop-seconds": { type: "number", above: 0 },
  "crops-per-clip": { type: "integer", min: 0 },
  cache: { type: "string" },
  "no-cache": { type: "boolean" },
  "n-mels": { type: "integer", min: 1 },
  "n-fft": { type: "integer", min: 1 },
  hop: { type: "integer", min: 1 },
  "sample-rate": { type: "integer", min: 1 },
  fmax: { type: "number", above: 0 },
  normalization: { type: "string", choices: MEL_NORMALIZATIONS },
  "no-augment": { type: "boolean" },
  mixup: { type: "number", min: 0 },
  "spec-augment": { type: "integer", min: 0 },
  "audio-variants": { type: "integer", min: 0 },
  "noise-prob": { type: "number", min: 0, max: 1 },
  "lowpass-prob": { type: "number", min: 0, max: 1 },
  "resample-prob": { type: "number", min: 0, max: 1 },
  "gain-range": { type: "number", min: 0 },
  seed: { type: "integer", min: 0 },
  backend: { type: "string", choices: BACKEND_CHOICES, default: "auto" },
  resume: { type: "boolean" },
} satisfies OptionSpecs;

async function cmdTrain(argv: string[]): Promise<void> {
  const a = parseCommand(argv, {
    name: "edge-audio train",
    help: HELP.train,
    version: VERSION,
    options: TRAIN_OPTIONS,
  });
  if (!a) return;
  const v = a.values;
  const d = defaultTrainOptions();
  const augment = v["no-augment"] ? noAugment() : defaultAugment();
  if (v.mixup !== undefined) augment.mixupAlpha = v.mixup;
  if (v["spec-augment"] !== undefined) augment.freqMasks = augment.timeMasks = v["spec-augment"];
  const audioAugment = v["no-augment"] ? noAudioAugment() : d.audioAugment;
  if (v["audio-variants"] !== undefined) audioAugment.variants = v["audio-variants"];
  if (v["noise-prob"] !== undefined) audioAugment.noiseProb = v["noise-prob"];
  if (v["lowpass-prob"] !== undefined) audioAugment.lowpassProb = v["lowpass-prob"];
  if (v["gain-range"] !== undefined) audioAugment.gainDb = [-v["gain-range"], v["gain-range"]];
  if (v["resample-prob"] !== undefined) audioAugment.resampleProb = v["resample-prob"];
  const mel: Partial<MelConfig> = {};
  if (v["n-mels"] !== undefined) mel.nMels = v["n-mels"];
  if (v["n-fft"] !== undefined) mel.nFft = v["n-fft"];
  if (v.hop !== undefined) mel.hopLength = v.hop;
  if (v["sample-rate"] !== undefined) mel.sampleRate = v["sample-rate"];
  if (v.fmax !== undefined) mel.fMax = v.fmax;
  if (v.normalization !== undefined) mel.normalization = v.normalization as MelNormalization;
  const result = await train({
    data: v.data,
    out: v.out,
    arch: v.arch,
    width: v.width ?? d.width,
    dropout: v.dropout ?? d.dropout,
    epochs: v.epochs ?? d.epochs,
    batchSize: v["batch-size"] ?? d.batchSize,
    optimizer: v.optimizer,
    lr: v.lr ?? d.lr,
    momentum: v.momentum ?? d.momentum,
    schedule: v.schedule,
    warmupEpochs: v["warmup-epochs"] ?? d.warmupEpochs,
    weightDecay: v["weight-decay"] ?? d.weightDecay,
    patience: v.patience ?? d.patience,
    testFraction: v["test-fraction"] ?? d.testFraction,
    valFraction: v["val-fraction"] ?? d.valFraction,
    folds: v.folds,
    testList: v["test-list"],
    trainList: v["train-list"],
    valList: v["val-list"],
    maxClipsPerClass: v["max-clips-per-class"],
    cropSeconds: v["crop-seconds"] ?? d.cropSeconds,
    cropsPerClip: v["crops-per-clip"] ?? d.cropsPerClip,
    cacheDir: v["no-cache"] ? null : (v.cache ?? d.cacheDir),
    mel,
    augment,
    audioAugment,
    seed: v.seed ?? d.seed,
    backend: v.backend as BackendName | "auto",
    resume: v.resume,
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
  const a = parseCommand(argv, {
    name: "edge-audio demo-data",
    help: HELP["demo-data"],
    version: VERSION,
    options: {
      out: { type: "string", required: true, placeholder: "DIR" },
      "clips-per-class": { type: "integer", min: 1, default: 12 },
      seconds: { type: "number", above: 0, max: 600, default: 4 },
      seed: { type: "integer", min: 0, default: 1 },
    },
  });
  if (!a) return;
  const v = a.values;
  const r = generateDemoCorpus({
    out: v.out,
    clipsPerClass: v["clips-per-class"],
    seconds: v.seconds,
    seed: v.seed,
  });
  if (v.json) console.log(JSON.stringify({ ...r, files: r.files.length }, null, 2));
  else if (!v.quiet)
    console.log(
      `wrote ${r.files.length} SYNTHETIC clips (${r.labels.length} classes x ${r.clipsPerClass}, ${r.seconds} s) to ${r.out}`,
    );
}

function cmdExport(argv: string[]): void {
  const a = parseCommand(argv, {
    name: "edge-audio export",
    help: HELP.export,
    version: VERSION,
    options: {
      run: { type: "string", required: true, placeholder: "DIR" },
      out: { type: "string", required: true, placeholder: "FILE.eam" },
    },
  });
  if (!a) return;
  const v = a.values;
  const r = exportRun(v.run, v.out);
  if (v.json) console.log(JSON.stringify(r, null, 2));
  else if (!v.quiet)
    console.log(
      `wrote ${r.out}: ${r.tensors} tensors, ${r.params} parameters, ${r.bytes} bytes, ${r.labels.length} labels`,
    );
}

async function cmdDemo(argv: string[]): Promise<void> {
  const a = parseCommand(argv, {
    name: "edge-audio demo",
    help: HELP.demo,
    version: VERSION,
    options: {
      out: { type: "string", required: true, placeholder: "DIR" },
      backend: { type: "string", choices: BACKEND_CHOICES, default: "auto" },
    },
  });
  if (!a) return;
  const v = a.values;
  const r = await runDemoPipeline({ out: v.out, backend: v.backend as BackendName | "auto" });
  if (v.json) console.log(JSON.stringify(r, null, 2));
  else
    console.log(
      `demo: test clip accuracy ${(100 * r.testAccuracy).toFixed(1)} % on the SYNTHETIC corpus; model ${r.model}`,
    );
}

function cmdFolds(argv: string[]): void {
  const a = parseCommand(argv, {
    name: "edge-audio folds",
    help: HELP.folds,
    version: VERSION,
    options: {
      data: { type: "string", required: true, placeholder: "DIR" },
      folds: { type: "integer", min: 2, max: 1000, required: true, placeholder: "K" },
      out: { type: "string", required: true, placeholder: "DIR" },
      seed: { type: "integer", min: 0, default: 1 },
      "max-clips-per-class": { type: "integer", min: 1 },
    },
  });
  if (!a) return;
  const v = a.values;
  const r = writeFoldLists({
    data: v.data,
    folds: v.folds,
    seed: v.seed,
    maxClipsPerClass: v["max-clips-per-class"],
    out: v.out,
  });
  if (v.json) console.log(JSON.stringify(r, null, 2));
  else if (!v.quiet)
    console.log(`wrote ${r.files.length} fold lists in ${v.out} (${r.clipsPerFold.join(", ")} test clips)`);
}

async function cmdBenchTrain(argv: string[]): Promise<void> {
  const a = parseCommand(argv, {
    name: "edge-audio bench-train",
    help: HELP["bench-train"],
    version: VERSION,
    options: {
      backends: { type: "string", default: "wasm,cpu" },
      arch: { type: "string", default: "resnet18" },
      width: { type: "number", above: 0, default: 0.25 },
      "batch-size": { type: "integer", min: 1, default: 16 },
      steps: { type: "integer", min: 1, default: 3 },
    },
  });
  if (!a) return;
  const v = a.values;
  const backends = v.backends.split(",").map((b) => b.trim());
  for (const b of backends)
    if (!(BACKEND_NAMES as readonly string[]).includes(b))
      throw new UsageError(`--backends lists backends among ${BACKEND_NAMES.join(", ")}, got "${b}"`);
  const results = await measureTrainingThroughput({
    backends: backends as BackendName[],
    arch: v.arch,
    width: v.width,
    batchSize: v["batch-size"],
    steps: v.steps,
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
  switch (cmd) {
    case undefined:
      console.error(HELP.main);
      return 2;
    case "--help":
    case "-h":
    case "help":
      console.log(HELP.main);
      return 0;
    case "--version":
      console.log(`edge-audio ${VERSION}`);
      return 0;
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
      await robustnessCommand(rest, VERSION);
      return 0;
    case "folds":
      cmdFolds(rest);
      return 0;
    default:
      throw new UsageError(
        `unknown command "${cmd}"; expected train, demo-data, export, demo, bench-train, robustness or folds`,
      );
  }
}

/** Errors about the data, a model file or the Mel settings: the user can fix them (exit 2). */
function isInputError(e: unknown): boolean {
  return [DatasetError, EamFormatError, EamLimitError, AudioDecodeError, DspError].some(
    (c) => e instanceof c,
  );
}

runCli("edge-audio", () => main(process.argv.slice(2)), { isInputError });
