import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultArchConfig, loadModel, readModel, weightShapes } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setupBackend } from "../src/backend.js";
import { evalCropOffsets, modelCrop } from "../src/crops.js";
import { scanDataset } from "../src/dataset.js";
import { generateDemoCorpus } from "../src/demo.js";
import { exportRun, loadRunModel } from "../src/export.js";
import { defaultMelConfig, loadFeatures } from "../src/features.js";
import { buildModel, exportWeights } from "../src/model.js";
import { train } from "../src/train.js";

const tmp = mkdtempSync(join(tmpdir(), "trainer-train-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  tf.enableProdMode();
  await setupBackend("wasm");
});

describe("ResNet family", () => {
  it("ResNet-152 builds and takes one training step", async () => {
    const config = defaultArchConfig({
      depth: 152,
      width: 0.0625,
      inputHeight: 32,
      inputWidth: 32,
      numClasses: 4,
    });
    const { model, spec } = buildModel(config);
    expect(spec.layers.filter((l) => l.op === "conv")).toHaveLength(155);
    const logits = tf.model({
      inputs: model.inputs,
      outputs: model.getLayer("head_dense").output as tf.SymbolicTensor,
    });
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, "float32", 1);
    const y = tf.oneHot(tf.tensor1d([0, 3], "int32"), 4);
    const before = model.getLayer("layer3_35_conv2").getWeights()[0]!.dataSync().slice();
    const opt = tf.train.adam(1e-2);
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, logits.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    expect(Number.isFinite((await loss.data())[0]!)).toBe(true);
    const after = model.getLayer("layer3_35_conv2").getWeights()[0]!.dataSync();
    let changed = 0;
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) changed++;
    expect(changed).toBeGreaterThan(after.length / 2);
    // The export layout matches the engine's weight list exactly.
    const w = exportWeights({ model, spec });
    expect([...w.keys()].sort()).toEqual([...weightShapes(spec).keys()].sort());
    model.dispose();
    opt.dispose();
  });

  it("folds batch-norm so that the folded conv reproduces conv + BN in inference", async () => {
    const config = defaultArchConfig({
      depth: 18,
      width: 0.0625,
      inputHeight: 16,
      inputWidth: 16,
      numClasses: 3,
    });
    const built = buildModel(config, 3);
    const bn = built.model.getLayer("stem_conv_bn");
    const c = bn.getWeights()[0]!.shape[0]!;
    const rnd = (lo: number, hi: number) => tf.randomUniform([c], lo, hi, "float32", 11);
    bn.setWeights([rnd(0.5, 1.5), rnd(-0.5, 0.5), rnd(-0.3, 0.3), rnd(0.2, 2)]);
    const x = tf.randomNormal([1, 16, 16, 1], 0, 1, "float32", 5);
    const sub = tf.model({ inputs: built.model.inputs, outputs: bn.output as tf.SymbolicTensor });
    const want = (sub.predict(x) as tf.Tensor).dataSync();
    const w = exportWeights(built);
    const k = w.get("stem.conv.weight")!;
    const b = w.get("stem.conv.bias")!;
    const got = tf
      .add(
        tf.conv2d(
          x as tf.Tensor4D,
          tf.tensor4d(k.data, k.shape as [number, number, number, number]),
          2,
          "same",
        ),
        tf.tensor1d(b.data),
      )
      .dataSync();
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(want[i]! - got[i]!));
    expect(maxErr).toBeLessThan(1e-4);
    built.model.dispose();
  });
});

describe("training smoke test, resume, export and engine parity", () => {
  const data = join(tmp, "demo");
  const run = join(tmp, "run");
  const common = {
    data,
    out: run,
    arch: "resnet18",
    width: 0.0625,
    batchSize: 8,
    cropsPerClip: 1,
    backend: "wasm" as const,
    cacheDir: join(tmp, "cache"),
    verbose: false,
    seed: 7,
  };

  it("trains a tiny ResNet for two epochs and writes the run folder", async () => {
    generateDemoCorpus({ out: data, clipsPerClass: 3, seconds: 3.5 });
    const r = await train({ ...common, epochs: 2 });
    expect(r.runs).toHaveLength(1);
    for (const f of [
      "config.json",
      "log.json",
      "metrics.json",
      "learning-curve.svg",
      "confusion.svg",
      "confusion.csv",
      "report.txt",
      "model/weights.json",
      "checkpoint/state.json",
    ]) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    const cfg = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
    expect(cfg.split.test).toHaveLength(10);
    expect(cfg.split.train.filter((id: string) => cfg.split.test.includes(id))).toEqual([]);
    const log = JSON.parse(readFileSync(join(run, "log.json"), "utf8"));
    expect(log).toHaveLength(2);
    expect(Number.isFinite(log[1].trainLoss)).toBe(true);
    expect(readFileSync(join(run, "learning-curve.svg"), "utf8")).toContain("<polyline");
  });

  it("resumes from the checkpoint and continues the same log", async () => {
    const before = JSON.parse(readFileSync(join(run, "log.json"), "utf8"));
    await train({ ...common, epochs: 3, resume: true });
    const after = JSON.parse(readFileSync(join(run, "log.json"), "utf8"));
    expect(after).toHaveLength(3);
    expect(after[0]).toEqual(before[0]);
    expect(after[2].epoch).toBe(3);
  });

  it("early-stops on validation accuracy and keeps the best epoch's weights", async () => {
    const out = join(tmp, "run-es");
    const r = await train({
      ...common,
      out,
      epochs: 4,
      valFraction: 0.34,
      patience: 1,
      optimizer: "sgd",
      lr: 0.01,
    });
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(cfg.split.val).toHaveLength(10);
    const log = JSON.parse(readFileSync(join(out, "log.json"), "utf8")) as Array<{ valAcc: number }>;
    expect(log.every((e) => e.valAcc !== null)).toBe(true);
    const best = Math.max(...log.map((e) => e.valAcc));
    const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    expect(log[m.modelEpoch - 1]!.valAcc).toBe(best);
    expect(existsSync(join(out, "best", "weights.json"))).toBe(true);
    expect(r.runs[0]!.epochsRun).toBeLessThanOrEqual(4);
  });

  it("exports an FP32 .eam that the engine runs with tfjs' probabilities", async () => {
    const out = join(tmp, "model.eam");
    const e = exportRun(run, out);
    expect(e.labels.every((l) => l.startsWith("synthetic-"))).toBe(true);
    const file = readModel(out);
    expect(file.labels).toEqual(e.labels);
    expect(file.mel?.nMels).toBe(128);
    expect(file.mel?.normalization).toBe("crop-max");
    expect(file.provenance.trainingData).toContain("SYNTHETIC");
    expect((file.provenance.tools as Record<string, string>)["@edge-audio/trainer"]).toMatch(
      /^\d+\.\d+\.\d+/,
    );
    expect((file.metadata.get("trainer.split") as { test: string[] }).test).toEqual(e.testClips);

    const { built, config } = loadRunModel(run);
    const ds = scanDataset(data);
    const { loaded } = await loadFeatures(ds.clips, {
      config: defaultMelConfig(),
      cacheDir: join(tmp, "cache"),
      hits: 0,
      misses: 0,
    });
    const engine = await loadModel(out, { threads: 1 });
    const frames = config.crop.frames;
    const size = 128 * frames;
    let crops = 0;
    let maxDiff = 0;
    let topAgree = 0;
    for (const clip of loaded) {
      for (const off of evalCropOffsets(clip.features.nFrames, frames)) {
        const x = new Float32Array(size);
        modelCrop(clip.features, off, frames, defaultMelConfig(), x);
        const p = (built.model.predict(tf.tensor4d(x, [1, 128, frames, 1])) as tf.Tensor).dataSync();
        const q = engine.run(x);
        let a = 0;
        let b = 0;
        for (let i = 0; i < p.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(p[i]! - q[i]!));
          if (p[i]! > p[a]!) a = i;
          if (q[i]! > q[b]!) b = i;
        }
        if (a === b) topAgree++;
        crops++;
      }
    }
    await engine.dispose();
    built.model.dispose();
    console.log(
      `parity: ${crops} crops, top-1 agreement ${topAgree}/${crops}, max |p_tfjs - p_engine| ${maxDiff.toExponential(2)}`,
    );
    expect(crops).toBeGreaterThanOrEqual(30);
    expect(topAgree).toBe(crops);
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
