/**
 * The main job on built-in data: generate the SYNTHETIC demo corpus, train a small ResNet on it,
 * export the FP32 model file.
 */
import { join, resolve } from "node:path";
import type { BackendName } from "./backend.js";
import { generateDemoCorpus } from "./demo.js";
import { exportRun } from "./export.js";
import { train } from "./train.js";

export interface DemoPipelineOptions {
  out: string;
  backend?: BackendName | "auto";
  /** Overrides for a faster or longer run. */
  epochs?: number;
  clipsPerClass?: number;
  verbose?: boolean;
}

export interface DemoPipelineResult {
  data: string;
  run: string;
  model: string;
  labels: string[];
  testAccuracy: number;
  testClips: string[];
  trainSeconds: number;
  totalSeconds: number;
  backend: string;
  synthetic: true;
}

/** The demo's training configuration (also what the README documents). */
export const DEMO_TRAINING = {
  arch: "resnet18",
  width: 0.125,
  epochs: 24,
  batchSize: 16,
  lr: 3e-3,
  clipsPerClass: 12,
  seconds: 4,
} as const;

export async function runDemoPipeline(opts: DemoPipelineOptions): Promise<DemoPipelineResult> {
  const t0 = performance.now();
  const out = resolve(opts.out);
  const data = join(out, "data");
  const run = join(out, "run");
  const model = join(out, "model.eam");
  const corpus = generateDemoCorpus({
    out: data,
    clipsPerClass: opts.clipsPerClass ?? DEMO_TRAINING.clipsPerClass,
    seconds: DEMO_TRAINING.seconds,
  });
  const result = await train({
    data,
    out: run,
    arch: DEMO_TRAINING.arch,
    width: DEMO_TRAINING.width,
    epochs: opts.epochs ?? DEMO_TRAINING.epochs,
    batchSize: DEMO_TRAINING.batchSize,
    lr: DEMO_TRAINING.lr,
    backend: opts.backend ?? "auto",
    cacheDir: join(out, ".feature-cache"),
    verbose: opts.verbose ?? true,
  });
  const r = result.runs[0]!;
  const exported = exportRun(run, model);
  return {
    data,
    run,
    model: exported.out,
    labels: corpus.labels,
    testAccuracy: r.testAccuracy,
    testClips: exported.testClips,
    trainSeconds: r.trainSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    backend: r.backend.name,
    synthetic: true,
  };
}
