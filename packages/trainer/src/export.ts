/**
 * Export of a trained run to the engine's FP32 `.eam` model file: batch-norm folded into the
 * convolutions, the Mel configuration, labels, architecture and provenance (including the split
 * seed and the held-out clip list, so a runner can evaluate exactly those clips) inside.
 */

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { InputError, packageVersion } from "@edge-audio/common";
import { type ArchConfig, graphFromArch, type TensorInput, writeModel } from "@edge-audio/engine-wasm";
import { type BuiltModel, buildModel, exportWeights } from "./model.js";
import { restoreModelWeights } from "./train.js";

export interface RunConfig {
  kind: string;
  options: Record<string, unknown> & {
    seed: number;
    arch: unknown;
    width: number;
    epochs: number;
    data: string;
  };
  data: { root: string; labels: string[] };
  split: { description: string; seed: number; train: string[]; val: string[]; test: string[] };
  mel: Record<string, unknown>;
  arch: ArchConfig;
  crop: { seconds: number; frames: number; evalCrops: string };
  backend: { name: string; note: string };
}

export function readRunConfig(runDir: string): RunConfig {
  const file = join(runDir, "config.json");
  if (!existsSync(file)) {
    if (existsSync(join(runDir, "cv.json"))) {
      throw new InputError(
        `${runDir} is a cross-validation run; export one of its folds, e.g. --run ${join(runDir, "fold-1")}`,
      );
    }
    throw new InputError(`${file} does not exist; pass the folder written by \`edge-audio train --out DIR\``);
  }
  return JSON.parse(readFileSync(file, "utf8")) as RunConfig;
}

/** Rebuilds a run's trained tfjs model (final weights). */
export function loadRunModel(runDir: string): { built: BuiltModel; config: RunConfig } {
  const config = readRunConfig(runDir);
  const weights = join(runDir, "model");
  if (!existsSync(join(weights, "weights.json"))) {
    throw new InputError(
      `${runDir} has no trained model (model/weights.json); the run did not finish — continue it with \`edge-audio train ... --resume\``,
    );
  }
  const built = buildModel(config.arch, Number(config.options.seed) || 1);
  restoreModelWeights(built.model, weights);
  return { built, config };
}

function version(pkg: string): string {
  try {
    const require = createRequire(import.meta.url);
    const p = require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export interface ExportResult {
  out: string;
  bytes: number;
  tensors: number;
  params: number;
  labels: string[];
  testClips: string[];
}

/** Writes a run's model as an FP32 .eam file. */
export function exportRun(runDir: string, out: string): ExportResult {
  const dir = resolve(runDir);
  const { built, config } = loadRunModel(dir);
  try {
    const weights = exportWeights(built);
    const tensors: TensorInput[] = [...weights.entries()].map(([name, w]) => ({
      name,
      dtype: "f32",
      shape: w.shape,
      data: w.data,
    }));
    let metrics: Record<string, unknown> = {};
    try {
      metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as Record<string, unknown>;
    } catch {
      metrics = {};
    }
    const synthetic = config.data.labels.every((l) => l.startsWith("synthetic-"));
    const trainingData =
      `${synthetic ? "SYNTHETIC demo corpus (not real music) " : ""}${config.data.root}: ${config.data.labels.length} classes; ` +
      `${config.split.description}; ${config.split.train.length} train / ${config.split.val.length} validation / ` +
      `${config.split.test.length} test clips; ${config.crop.seconds} s crops (${config.arch.inputHeight} x ${config.crop.frames})`;
    const { bytes } = writeModel(resolve(out), {
      graph: graphFromArch(built.spec),
      tensors,
      labels: config.data.labels,
      mel: config.mel,
      arch: config.arch,
      provenance: {
        architecture: `resnet${config.arch.depth}`,
        trainingData,
        date: new Date().toISOString(),
        tools: {
          "@edge-audio/trainer": packageVersion(import.meta.url),
          "@tensorflow/tfjs": version("@tensorflow/tfjs"),
        },
        notes:
          `FP32, batch-norm folded into the convolutions; trained ${String(metrics.epochsRun ?? config.options.epochs)} epochs ` +
          `on the ${config.backend.name} backend; test clip accuracy ${typeof metrics.testAccuracy === "number" ? `${(100 * metrics.testAccuracy).toFixed(1)} %` : "n/a"}`,
      },
      metadata: {
        "trainer.split": {
          description: config.split.description,
          seed: config.split.seed,
          test: config.split.test,
          val: config.split.val,
        },
        "trainer.crop": config.crop,
        "trainer.data": { root: config.data.root, synthetic },
        "trainer.metrics": {
          testAccuracy: metrics.testAccuracy ?? null,
          testCropAccuracy: metrics.testCropAccuracy ?? null,
          macroF1: metrics.macroF1 ?? null,
        },
      },
    });
    return {
      out: resolve(out),
      bytes,
      tensors: tensors.length,
      params: tensors.reduce((a, t) => a + t.data.length, 0),
      labels: config.data.labels,
      testClips: config.split.test,
    };
  } finally {
    built.model.dispose();
  }
}
