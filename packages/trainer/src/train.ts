/**
 * Training: data, splits, features, the tfjs ResNet, the loop (Adam or SGD with momentum,
 * learning-rate schedule, decoupled weight decay, early stopping, checkpoints and resume),
 * evaluation and the run folder.
 */

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { argmax, formatDuration, ProgressBar } from "@edge-audio/common";
import { validateMelConfig } from "@edge-audio/dsp";
import { type ArchConfig, defaultArchConfig, parseArchName, type ResNetDepth } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";
import { type AudioAugmentConfig, defaultAudioAugment } from "./augment-audio.js";
import { type BackendInfo, type BackendName, setupBackend } from "./backend.js";
import {
  type AugmentConfig,
  cropFramesFor,
  defaultAugment,
  evalCropOffsets,
  mixup,
  modelCrop,
  specAugment,
} from "./crops.js";
import {
  type Clip,
  countsByLabel,
  DatasetError,
  kFoldSplits,
  limitPerClass,
  listSplit,
  type Split,
  scanDataset,
  stratifiedSplit,
} from "./dataset.js";
import {
  defaultMelConfig,
  type FeatureStore,
  type Features,
  type LoadedClip,
  loadFeatures,
  type MelConfig,
} from "./features.js";
import {
  classificationReport,
  confusionCsv,
  confusionSvg,
  learningCurveSvg,
  type Report,
  reportText,
} from "./metrics.js";
import { type BuiltModel, buildModel } from "./model.js";
import { hashString, Rng } from "./rng.js";

export interface TrainOptions {
  /** Folder of `<label>/<audio>` (GTZAN layouts accepted). */
  data: string;
  /** Run folder (created). */
  out: string;
  arch: string | ResNetDepth;
  width: number;
  epochs: number;
  batchSize: number;
  optimizer: "adam" | "sgd";
  lr: number;
  momentum: number;
  /** Decoupled weight decay (applied to conv and dense kernels). */
  weightDecay: number;
  schedule: "cosine" | "step" | "constant";
  warmupEpochs: number;
  /** Early stopping patience in epochs (on validation clip accuracy); 0 = off. */
  patience: number;
  seed: number;
  backend: BackendName | "auto";
  cropSeconds: number;
  /** Training crops drawn per clip per epoch; 0 = as many as fit without overlap. */
  cropsPerClip: number;
  augment: AugmentConfig;
  /** Audio-level augmentation: degraded copies of every clip that training crops come from too. */
  audioAugment: AudioAugmentConfig;
  dropout: number;
  testFraction: number;
  valFraction: number;
  /** k-fold cross-validation instead of one hold-out split. */
  folds?: number;
  testList?: string;
  trainList?: string;
  valList?: string;
  /** Feature cache folder; null disables caching. */
  cacheDir: string | null;
  resume: boolean;
  /** Overrides of the dsp Mel configuration. */
  mel: Partial<MelConfig>;
  /** Progress output on stderr. */
  verbose: boolean;
  /** Keep at most this many clips per class (quick experiments and tests). */
  maxClipsPerClass?: number;
}

export function defaultTrainOptions(overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data: "",
    out: "",
    arch: 18,
    width: 0.25,
    epochs: 20,
    batchSize: 16,
    optimizer: "adam",
    lr: 2e-3,
    momentum: 0.9,
    weightDecay: 1e-4,
    schedule: "cosine",
    warmupEpochs: 1,
    patience: 0,
    seed: 1,
    backend: "auto",
    cropSeconds: 3,
    cropsPerClip: 0,
    augment: defaultAugment(),
    audioAugment: defaultAudioAugment(),
    dropout: 0.5,
    testFraction: 0.2,
    valFraction: 0,
    cacheDir: ".cache/edge-audio-features",
    resume: false,
    mel: {},
    verbose: true,
    ...overrides,
  };
}

export interface EpochLog {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  valAcc: number | null;
  seconds: number;
  cropsPerSecond: number;
}

export interface RunResult {
  runDir: string;
  labels: string[];
  /** Clip-level accuracy on the test clips (crop probabilities averaged). */
  testAccuracy: number;
  testCropAccuracy: number;
  report: Report;
  epochsRun: number;
  bestEpoch: number;
  trainSeconds: number;
  cropsPerSecond: number;
  backend: BackendInfo;
}

export interface TrainResult {
  runs: RunResult[];
  /** Mean clip accuracy over folds (or the single run's). */
  meanAccuracy: number;
  stdAccuracy: number;
  /** Pooled report over all test clips (every clip once in k-fold). */
  pooled: Report;
  totalSeconds: number;
}

const log = (opts: TrainOptions, msg: string) => {
  if (opts.verbose) process.stderr.write(`${msg}\n`);
};

/** Saves weights as weights.json (names, shapes, offsets) + weights.bin (float32 LE). */
export function saveWeights(dir: string, tensors: Array<{ name: string; tensor: tf.Tensor }>): void {
  mkdirSync(dir, { recursive: true });
  const manifest: Array<{ name: string; shape: number[]; offset: number }> = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    const d = tensor.dataSync() as Float32Array;
    manifest.push({ name, shape: tensor.shape, offset });
    parts.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    offset += d.byteLength;
  }
  const tmpBin = join(dir, "weights.bin.tmp");
  const tmpJson = join(dir, "weights.json.tmp");
  writeFileSync(tmpBin, Buffer.concat(parts));
  writeFileSync(tmpJson, JSON.stringify(manifest));
  renameSync(tmpBin, join(dir, "weights.bin"));
  renameSync(tmpJson, join(dir, "weights.json"));
}

export function loadWeightFile(dir: string): Map<string, { shape: number[]; data: Float32Array }> {
  const manifestPath = join(dir, "weights.json");
  if (!existsSync(manifestPath)) throw new Error(`no weights in ${dir} (weights.json is missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Array<{
    name: string;
    shape: number[];
    offset: number;
  }>;
  const bin = readFileSync(join(dir, "weights.bin"));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const m of manifest) {
    const n = m.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bin.subarray(m.offset, m.offset + 4 * n));
    out.set(m.name, { shape: m.shape, data });
  }
  return out;
}

/** Writes saved weights into a model (all of them, by name). */
export function restoreModelWeights(model: tf.LayersModel, dir: string): void {
  const saved = loadWeightFile(dir);
  for (const w of model.weights) {
    const s = saved.get(w.originalName) ?? saved.get(w.name);
    if (!s)
      throw new Error(
        `checkpoint ${dir} has no weight ${w.originalName}; was it written by a different architecture?`,
      );
    if (s.shape.join() !== w.shape.join()) {
      throw new Error(
        `checkpoint ${dir}: ${w.originalName} has shape ${s.shape}, the model wants ${w.shape}`,
      );
    }
    w.write(tf.tensor(s.data, s.shape));
  }
}

function modelWeightList(model: tf.LayersModel): Array<{ name: string; tensor: tf.Tensor }> {
  return model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
}

function learningRate(opts: TrainOptions, epoch: number, step: number, stepsPerEpoch: number): number {
  const t = epoch + step / Math.max(1, stepsPerEpoch);
  if (opts.warmupEpochs > 0 && t < opts.warmupEpochs) return opts.lr * Math.max(0.05, t / opts.warmupEpochs);
  switch (opts.schedule) {
    case "constant":
      return opts.lr;
    case "step":
      return opts.lr * 0.1 ** Math.floor(epoch / Math.max(1, Math.round(opts.epochs / 3)));
    default: {
      const span = Math.max(1e-9, opts.epochs - opts.warmupEpochs);
      return opts.lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(span, t - opts.warmupEpochs)) / span));
    }
  }
}

interface Prepared {
  labels: string[];
  mel: MelConfig;
  cropFrames: number;
  archConfig: ArchConfig;
  byId: Map<string, LoadedClip>;
  usable: Clip[];
  datasetRoot: string;
}

/** Scans, loads features (cached), reports skipped files and clip counts. */
export async function prepareData(opts: TrainOptions): Promise<Prepared> {
  const ds = scanDataset(opts.data);
  const clips = limitPerClass(ds.clips, opts.maxClipsPerClass);
  const mel = validateMelConfig(defaultMelConfig(opts.mel));
  const store: FeatureStore = {
    config: mel,
    cacheDir: opts.cacheDir ? resolve(opts.cacheDir) : null,
    hits: 0,
    misses: 0,
  };
  const bar = new ProgressBar({ title: "features", total: clips.length, unit: "clip", quiet: !opts.verbose });
  const augment = opts.audioAugment.variants > 0 ? { config: opts.audioAugment, seed: opts.seed } : null;
  const { loaded, skipped } = await loadFeatures(clips, store, (d) => bar.update(d), augment);
  bar.finish(`features: ${loaded.length} clips (${store.hits} cached, ${store.misses} computed)`);
  for (const s of skipped) log(opts, `warning: skipping ${s.clip.path}: ${s.reason}`);
  if (loaded.length === 0)
    throw new DatasetError(
      `no readable audio in ${ds.root}; every file failed to decode (see the warnings above)`,
    );
  const counts = countsByLabel(loaded, ds.labels);
  log(
    opts,
    `data: ${ds.root}: ${loaded.length} clips in ${ds.labels.length} classes (${Object.entries(counts)
      .map(([l, n]) => `${l} ${n}`)
      .join(", ")})${skipped.length ? `, ${skipped.length} skipped` : ""}`,
  );
  const empty = Object.entries(counts)
    .filter(([, n]) => n === 0)
    .map(([l]) => l);
  if (empty.length)
    throw new DatasetError(
      `label folder(s) ${empty.join(", ")} in ${ds.root} hold no readable audio; remove them or add clips`,
    );
  const cropFrames = cropFramesFor(opts.cropSeconds, mel.sampleRate, mel.hopLength);
  const depth = typeof opts.arch === "number" ? opts.arch : parseArchName(opts.arch);
  const archConfig = defaultArchConfig({
    depth,
    width: opts.width,
    numClasses: ds.labels.length,
    inputHeight: mel.nMels,
    inputWidth: cropFrames,
    dropout: opts.dropout,
  });
  return {
    labels: ds.labels,
    mel,
    cropFrames,
    archConfig,
    byId: new Map(loaded.map((c) => [c.id, c])),
    usable: loaded.map(({ features: _f, copies: _c, ...c }) => c),
    datasetRoot: ds.root,
  };
}

/**
 * Clip-level prediction: crop probabilities averaged over the evaluation crops of each clip,
 * each crop normalised as `mel` says (modelCrop, as the runner does).
 */
export function predictClips(
  model: tf.LayersModel,
  clips: LoadedClip[],
  cropFrames: number,
  mel: Pick<MelConfig, "normalization" | "topDb">,
  batchSize = 32,
): { clipProbs: Float32Array[]; cropCorrect: number; cropTotal: number } {
  const nMels = clips[0]?.features.nMels ?? 0;
  const jobs: Array<{ clip: number; offset: number }> = [];
  clips.forEach((c, i) => {
    for (const off of evalCropOffsets(c.features.nFrames, cropFrames)) jobs.push({ clip: i, offset: off });
  });
  const k = model.outputs[0]!.shape[1] as number;
  const sums = clips.map(() => new Float32Array(k));
  const counts = new Array<number>(clips.length).fill(0);
  let cropCorrect = 0;
  for (let b = 0; b < jobs.length; b += batchSize) {
    const batch = jobs.slice(b, b + batchSize);
    const x = new Float32Array(batch.length * nMels * cropFrames);
    batch.forEach((j, i) => {
      modelCrop(clips[j.clip]!.features, j.offset, cropFrames, mel, x, i * nMels * cropFrames);
    });
    const probs = tf.tidy(() => {
      const out = model.predict(tf.tensor4d(x, [batch.length, nMels, cropFrames, 1])) as tf.Tensor;
      return out.dataSync() as Float32Array;
    });
    batch.forEach((j, i) => {
      const p = probs.subarray(i * k, (i + 1) * k);
      for (let c = 0; c < k; c++) sums[j.clip]![c]! += p[c]!;
      counts[j.clip]!++;
      if (argmax(p) === clips[j.clip]!.labelIndex) cropCorrect++;
    });
  }
  return {
    clipProbs: sums.map((s, i) => s.map((v) => v / counts[i]!)),
    cropCorrect,
    cropTotal: jobs.length,
  };
}

function evaluate(
  model: tf.LayersModel,
  clips: LoadedClip[],
  cropFrames: number,
  labels: string[],
  mel: MelConfig,
) {
  if (!clips.length) return null;
  const p = predictClips(model, clips, cropFrames, mel);
  const predicted = p.clipProbs.map((q) => argmax(q));
  return {
    report: classificationReport(
      clips.map((c) => c.labelIndex),
      predicted,
      labels,
    ),
    cropAcc: p.cropCorrect / p.cropTotal,
    predicted,
  };
}

interface RunState {
  epoch: number;
  bestValAcc: number;
  bestEpoch: number;
  sinceBest: number;
  log: EpochLog[];
  trainSeconds: number;
}

/**
 * The features a training crop is cut from: the clean clip or, with audio augmentation, one of
 * its degraded copies, each as likely. Draws nothing without copies (the crop sequence of a
 * recipe without audio augmentation does not change).
 */
function cropSource(c: LoadedClip, rng: Rng): Features {
  if (!c.copies.length) return c.features;
  const k = rng.int(0, c.copies.length);
  return k === 0 ? c.features : c.copies[k - 1]!;
}

/** Trains one model on one split; writes the run folder. */
export async function trainOnSplit(
  opts: TrainOptions,
  prep: Prepared,
  split: Split,
  runDir: string,
  backend: BackendInfo,
): Promise<RunResult> {
  mkdirSync(runDir, { recursive: true });
  const { labels, cropFrames } = prep;
  const numClasses = labels.length;
  const get = (c: Clip) => prep.byId.get(c.id)!;
  const train = split.train.map(get);
  const val = split.val.map(get);
  const test = split.test.map(get);
  if (!train.length)
    throw new DatasetError("the split leaves no training clips; lower --test-fraction/--val-fraction");
  const trainIds = new Set(train.map((c) => c.id));
  for (const c of [...val, ...test]) {
    if (trainIds.has(c.id)) throw new Error(`split leak: clip ${c.id} is in training and evaluation`);
  }
  const nMels = prep.mel.nMels;
  const config = {
    kind: "edge-audio-trainer-run",
    version: 1,
    options: { ...opts, out: resolve(opts.out) },
    data: { root: prep.datasetRoot, labels },
    split: {
      description: split.description,
      seed: opts.seed,
      train: split.train.map((c) => c.id),
      val: split.val.map((c) => c.id),
      test: split.test.map((c) => c.id),
    },
    mel: prep.mel,
    arch: prep.archConfig,
    crop: {
      seconds: opts.cropSeconds,
      frames: cropFrames,
      evalCrops: "ceil(nFrames / frames) crops spread evenly from start to end, probabilities averaged",
    },
    backend: { name: backend.name, note: backend.note },
  };
  writeFileSync(join(runDir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);

  const built: BuiltModel = buildModel(prep.archConfig, opts.seed);
  const { model } = built;
  const logitsModel = tf.model({
    inputs: model.inputs,
    outputs: model.getLayer("head_dense").output as tf.SymbolicTensor,
  });
  const optimizer =
    opts.optimizer === "adam" ? tf.train.adam(opts.lr) : tf.train.momentum(opts.lr, opts.momentum, true);
  const decayed = model.trainableWeights.filter((w) => /kernel/.test(w.originalName));

  const ckptDir = join(runDir, "checkpoint");
  let state: RunState = { epoch: 0, bestValAcc: -1, bestEpoch: -1, sinceBest: 0, log: [], trainSeconds: 0 };
  if (opts.resume && existsSync(join(ckptDir, "state.json"))) {
    state = JSON.parse(readFileSync(join(ckptDir, "state.json"), "utf8")) as RunState;
    restoreModelWeights(model, join(ckptDir, "model"));
    const optW = loadWeightFile(join(ckptDir, "optimizer"));
    await optimizer.setWeights(
      [...optW.entries()].map(([name, v]) => ({ name, tensor: tf.tensor(v.data, v.shape) })),
    );
    log(opts, `resuming ${runDir} after epoch ${state.epoch}`);
  } else if (opts.resume) {
    log(opts, `--resume: no checkpoint in ${runDir} yet; starting from scratch`);
  }

  const framesOf = (c: LoadedClip) => c.features.nFrames;
  const cropsPerClip = (c: LoadedClip) =>
    opts.cropsPerClip > 0 ? opts.cropsPerClip : Math.max(1, Math.floor(framesOf(c) / cropFrames));
  const cropSize = nMels * cropFrames;

  const stopEarly = opts.patience > 0 && val.length > 0;
  const walls: number[] = []; // wall time per epoch in this session (training + evaluation)
  for (let epoch = state.epoch; epoch < opts.epochs; epoch++) {
    const rng = new Rng(hashString(`epoch:${epoch}`, opts.seed));
    const jobs: Array<{ clip: LoadedClip; offset: number; source: Features }> = [];
    for (const c of train) {
      const n = cropsPerClip(c);
      const span = Math.max(0, framesOf(c) - cropFrames);
      for (let i = 0; i < n; i++) {
        const offset = opts.augment.randomCrop
          ? rng.int(0, span)
          : n > 1
            ? Math.round((i * span) / (n - 1))
            : 0;
        jobs.push({ clip: c, offset, source: cropSource(c, rng) });
      }
    }
    rng.shuffle(jobs);
    const steps = Math.ceil(jobs.length / opts.batchSize);
    const title = `epoch ${epoch + 1}/${opts.epochs}`;
    const bar = new ProgressBar({ title, total: steps, unit: "step", quiet: !opts.verbose });
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let lr = opts.lr;
    for (let s = 0; s < steps; s++) {
      const batch = jobs.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
      const B = batch.length;
      const x = new Float32Array(B * cropSize);
      const y = new Float32Array(B * numClasses);
      batch.forEach((j, i) => {
        modelCrop(j.source, j.offset, cropFrames, prep.mel, x, i * cropSize);
        specAugment(x, i * cropSize, nMels, cropFrames, opts.augment, rng);
        y[i * numClasses + j.clip.labelIndex] = 1;
      });
      const hard = batch.map((j) => j.clip.labelIndex);
      mixup(x, y, B, numClasses, opts.augment.mixupAlpha, rng);
      lr = learningRate(opts, epoch, s, steps);
      if (opts.optimizer === "adam") (optimizer as unknown as { learningRate: number }).learningRate = lr;
      else (optimizer as tf.MomentumOptimizer).setLearningRate(lr);
      const xt = tf.tensor4d(x, [B, nMels, cropFrames, 1]);
      const yt = tf.tensor2d(y, [B, numClasses]);
      let predsOut: Float32Array | undefined;
      const loss = optimizer.minimize(() => {
        const logits = logitsModel.apply(xt, { training: true }) as tf.Tensor;
        predsOut = logits.dataSync() as Float32Array;
        return tf.losses.softmaxCrossEntropy(yt, logits) as tf.Scalar;
      }, true) as tf.Scalar;
      const lv = (await loss.data())[0]!;
      tf.dispose([loss, xt, yt]);
      if (opts.weightDecay > 0) {
        const f = 1 - lr * opts.weightDecay;
        tf.tidy(() => {
          for (const w of decayed) w.write(tf.mul(w.read(), f));
        });
      }
      if (!Number.isFinite(lv))
        throw new Error(`training diverged at epoch ${epoch + 1} step ${s + 1} (loss ${lv}); lower --lr`);
      lossSum += lv * B;
      seen += B;
      hard.forEach((h, i) => {
        if (predsOut && argmax(predsOut, i * numClasses, numClasses) === h) correct++;
      });
      bar.update(
        s + 1,
        `loss ${(lossSum / seen).toFixed(3)} acc ${((100 * correct) / seen).toFixed(1)}% lr ${lr.toExponential(1)}`,
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    state.trainSeconds += seconds;
    // Validation only: the test clips are scored once, after training, so that nothing is tuned on them.
    const v = evaluate(model, val, cropFrames, labels, prep.mel);
    walls.push((performance.now() - t0) / 1000);
    const entry: EpochLog = {
      epoch: epoch + 1,
      lr,
      trainLoss: lossSum / seen,
      trainAcc: correct / seen,
      valAcc: v ? v.report.accuracy : null,
      seconds,
      cropsPerSecond: seen / seconds,
    };
    state.log.push(entry);
    bar.finish(
      `${title} loss ${entry.trainLoss.toFixed(3)} train ${(100 * entry.trainAcc).toFixed(1)}%` +
        (v ? ` val ${(100 * v.report.accuracy).toFixed(1)}% (${val.length} clips)` : "") +
        `, ${entry.cropsPerSecond.toFixed(1)} crops/s` +
        (epoch + 1 < opts.epochs
          ? `, run ETA ${formatDuration((walls.reduce((a, b) => a + b, 0) / walls.length) * (opts.epochs - epoch - 1))}`
          : ""),
    );
    state.epoch = epoch + 1;
    if (stopEarly && v) {
      if (v.report.accuracy > state.bestValAcc) {
        state.bestValAcc = v.report.accuracy;
        state.bestEpoch = epoch + 1;
        state.sinceBest = 0;
        saveWeights(join(runDir, "best"), modelWeightList(model));
      } else state.sinceBest++;
    }
    // Checkpoint: model, optimizer state and the loop's state.
    saveWeights(join(ckptDir, "model"), modelWeightList(model));
    const optWeights = await optimizer.getWeights();
    saveWeights(
      join(ckptDir, "optimizer"),
      optWeights.map((w) => ({ name: w.name, tensor: w.tensor })),
    );
    writeFileSync(join(ckptDir, "state.json"), JSON.stringify(state));
    writeFileSync(join(runDir, "log.json"), `${JSON.stringify(state.log, null, 2)}\n`);
    if (stopEarly && state.sinceBest >= opts.patience) {
      log(
        opts,
        `early stop: validation accuracy has not improved for ${opts.patience} epochs (best ${(100 * state.bestValAcc).toFixed(1)}% at epoch ${state.bestEpoch})`,
      );
      break;
    }
  }
  if (stopEarly && existsSync(join(runDir, "best", "weights.json")))
    restoreModelWeights(model, join(runDir, "best"));
  const finalEpoch = stopEarly && state.bestEpoch > 0 ? state.bestEpoch : state.epoch;
  saveWeights(join(runDir, "model"), modelWeightList(model));

  const te = evaluate(model, test, cropFrames, labels, prep.mel);
  const report = te?.report ?? classificationReport([], [], labels);
  const epochs = state.log.map((e) => e.epoch);
  writeFileSync(
    join(runDir, "learning-curve.svg"),
    learningCurveSvg(
      epochs,
      [{ name: "train loss", color: "#d62728", values: state.log.map((e) => e.trainLoss) }],
      [
        { name: "train crop acc", color: "#1f77b4", values: state.log.map((e) => e.trainAcc) },
        ...(val.length
          ? [{ name: "val clip acc", color: "#2ca02c", values: state.log.map((e) => e.valAcc) }]
          : []),
      ],
      `resnet${prep.archConfig.depth} width ${prep.archConfig.width}: ${split.description}`,
    ),
  );
  if (te) {
    writeFileSync(join(runDir, "confusion.csv"), confusionCsv(report, labels));
    writeFileSync(
      join(runDir, "confusion.svg"),
      confusionSvg(
        report,
        labels,
        `test clips (n=${report.n}), accuracy ${(100 * report.accuracy).toFixed(1)} %`,
      ),
    );
  }
  const cropsPerSecond =
    state.log.reduce((a, e) => a + e.cropsPerSecond * e.seconds, 0) / Math.max(1e-9, state.trainSeconds);
  const metrics = {
    testAccuracy: te ? report.accuracy : null,
    testCropAccuracy: te?.cropAcc ?? null,
    macroF1: report.macroF1,
    perClass: report.perClass,
    confusion: report.confusion,
    labels,
    testClips: te
      ? test.map((c, i) => ({ id: c.id, label: c.label, predicted: labels[te.predicted[i]!] }))
      : [],
    epochsRun: state.epoch,
    modelEpoch: finalEpoch,
    trainSeconds: state.trainSeconds,
    cropsPerSecond,
    backend: backend.name,
  };
  writeFileSync(join(runDir, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
  if (te) writeFileSync(join(runDir, "report.txt"), `${reportText(report)}\n`);
  log(
    opts,
    te
      ? `${runDir}: test clip accuracy ${(100 * report.accuracy).toFixed(1)} % (${report.n} clips), crop accuracy ${(100 * te.cropAcc).toFixed(1)} %, trained ${formatDuration(state.trainSeconds)}`
      : `${runDir}: no test clips, so no test accuracy; trained ${formatDuration(state.trainSeconds)}`,
  );
  optimizer.dispose();
  model.dispose();
  return {
    runDir,
    labels,
    // NaN (null in JSON) when there are no test clips: there is no accuracy to report.
    testAccuracy: te ? report.accuracy : Number.NaN,
    testCropAccuracy: te?.cropAcc ?? Number.NaN,
    report,
    epochsRun: state.epoch,
    bestEpoch: finalEpoch,
    trainSeconds: state.trainSeconds,
    cropsPerSecond,
    backend,
  };
}

/** Trains on a hold-out split, a list split, or k folds (`opts.folds`). */
export async function train(
  options: Partial<TrainOptions> & { data: string; out: string },
): Promise<TrainResult> {
  const opts = defaultTrainOptions(options);
  const t0 = performance.now();
  tf.enableProdMode();
  const backend = await setupBackend(opts.backend);
  log(opts, `backend: ${backend.name} (${backend.note})`);
  const prep = await prepareData(opts);
  let splits: Split[];
  if (opts.testList) {
    splits = [
      listSplit(prep.usable, { testList: opts.testList, trainList: opts.trainList, valList: opts.valList }),
    ];
  } else if (opts.folds && opts.folds > 1) {
    splits = kFoldSplits(prep.usable, { folds: opts.folds, valFraction: opts.valFraction, seed: opts.seed });
  } else {
    splits = [
      stratifiedSplit(prep.usable, {
        testFraction: opts.testFraction,
        valFraction: opts.valFraction,
        seed: opts.seed,
      }),
    ];
  }
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const runs: RunResult[] = [];
  for (let i = 0; i < splits.length; i++) {
    const s = splits[i]!;
    const dir = splits.length > 1 ? join(out, `fold-${i + 1}`) : out;
    log(
      opts,
      `${s.description}: ${s.train.length} train, ${s.val.length} validation, ${s.test.length} test clips`,
    );
    runs.push(await trainOnSplit(opts, prep, s, dir, backend));
  }
  const accs = runs.map((r) => r.testAccuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length);
  const truth: number[] = [];
  const pred: number[] = [];
  for (const r of runs) {
    for (let t = 0; t < r.report.confusion.length; t++) {
      const row = r.report.confusion[t]!;
      for (let p = 0; p < row.length; p++) {
        for (let k = 0; k < row[p]!; k++) {
          truth.push(t);
          pred.push(p);
        }
      }
    }
  }
  const pooled = classificationReport(truth, pred, prep.labels);
  const totalSeconds = (performance.now() - t0) / 1000;
  if (runs.length > 1) {
    writeFileSync(
      join(out, "cv.json"),
      `${JSON.stringify(
        {
          folds: runs.length,
          accuracies: accs,
          meanAccuracy: mean,
          stdAccuracy: std,
          pooled: {
            accuracy: pooled.accuracy,
            macroF1: pooled.macroF1,
            perClass: pooled.perClass,
            confusion: pooled.confusion,
          },
          labels: prep.labels,
          trainSeconds: runs.map((r) => r.trainSeconds),
          totalSeconds,
          options: opts,
        },
        null,
        2,
      )}\n`,
    );
    writeFileSync(
      join(out, "confusion.svg"),
      confusionSvg(
        pooled,
        prep.labels,
        `${runs.length}-fold CV, pooled test clips, accuracy ${(100 * pooled.accuracy).toFixed(1)} %`,
      ),
    );
    writeFileSync(
      join(out, "report.txt"),
      `${reportText(pooled)}\nper fold: ${accs.map((a) => (100 * a).toFixed(1)).join(" ")}\n`,
    );
    log(
      opts,
      `${runs.length}-fold CV clip accuracy ${(100 * mean).toFixed(1)} ± ${(100 * std).toFixed(1)} % (folds: ${accs.map((a) => (100 * a).toFixed(1)).join(", ")}), total ${formatDuration(totalSeconds)}`,
    );
  }
  return { runs, meanAccuracy: mean, stdAccuracy: std, pooled, totalSeconds };
}
