/**
 * pi-runner bench: load time, first inference, warm inference statistics and peak resident
 * memory for one crop of a model; with --profile, the time per op family and the slowest layers.
 */
import { statSync } from "node:fs";
import { logMelSpectrogram, modelCrop } from "@edge-audio/dsp";
import { mulberry32 } from "@edge-audio/engine-wasm";
import type { Classifier } from "../classifier.js";
import { peakRssBytes } from "../memory.js";
import { type OptionSpecs, parseCommandLine, UsageError } from "./args.js";
import { round, table } from "./format.js";
import { COMMON_HELP, MODEL_HELP, MODEL_OPTIONS, openModel } from "./model-options.js";

export const BENCH_OPTIONS = {
  ...MODEL_OPTIONS,
  warmup: { type: "integer", min: 0, max: 100_000, default: 3 },
  runs: { type: "integer", min: 1, max: 100_000, default: 20 },
  profile: { type: "boolean" },
} satisfies OptionSpecs;

export const BENCH_HELP = `usage: pi-runner bench --model M.eam [options]

Times the model on one crop (a fixed synthetic log-Mel crop of the model's input size): model
load, first inference, then --warmup untimed and --runs timed inferences (min, median, p90,
mean), and the peak resident memory of the process. --profile then runs --runs more
inferences with each op timed, and reports the time per op family and the ten slowest layers.

options:
${MODEL_HELP}
  --warmup N       untimed runs after the first (default 3)
  --runs N         timed runs (default 20)
  --profile        time per op family and per layer (ten slowest)
${COMMON_HELP}`;

export interface Stats {
  min: number;
  median: number;
  p90: number;
  mean: number;
}

/** Nearest-rank statistics of a sample of times. */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { min: s[0]!, median: rank(0.5), p90: rank(0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

interface FamilyTime {
  family: string;
  ms: number;
  percent: number;
  ops: number;
}

interface LayerTime {
  layer: string;
  family: string;
  kernels: string[];
  ms: number;
  percent: number;
}

export interface Profile {
  runs: number;
  /** Mean over the runs of the summed op times of one run. */
  opMs: number;
  families: FamilyTime[];
  layers: LayerTime[];
}

export async function benchCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine("bench", args, BENCH_OPTIONS, BENCH_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length)
    throw new UsageError(`unexpected argument "${positionals[0]}"; give the model with --model`);
  const warmup = Number(values.warmup);
  const runs = Number(values.runs);
  const t0 = performance.now();
  const clf = await openModel(values);
  const loadMs = performance.now() - t0;
  try {
    const crop = benchCrop(clf);
    const t1 = performance.now();
    clf.model.run(crop);
    const firstMs = performance.now() - t1;
    for (let i = 0; i < warmup; i++) clf.model.run(crop);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      clf.model.run(crop);
      times.push(performance.now() - t);
    }
    const warm = stats(times);
    const profile = values.profile ? profileRuns(clf, crop, runs) : undefined;
    const info = clf.model.info();
    const report = {
      model: clf.path,
      fileBytes: statSync(clf.path).size,
      threads: info.threads,
      isa: info.isa,
      fma: info.fma,
      quantMode: info.quantMode,
      macs: info.macs,
      loadMs: round(loadMs, 2),
      firstMs: round(firstMs, 3),
      warmup,
      runs,
      ms: {
        min: round(warm.min, 3),
        median: round(warm.median, 3),
        p90: round(warm.p90, 3),
        mean: round(warm.mean, 3),
      },
      peakRssMB: round(peakRssBytes() / 2 ** 20, 1),
      ...(profile ? { profile } : {}),
    };
    if (values.json) console.log(JSON.stringify(report));
    else printText(report, profile);
  } finally {
    await clf.dispose();
  }
  return 0;
}

/**
 * A fixed crop of the model's input size: the log-Mel spectrogram of a deterministic mix of
 * tones and noise, cut and normalised as classify does. Inference time does not depend on the
 * values, but finite, realistic ones keep every kernel on its usual path.
 */
function benchCrop(clf: Classifier): Float32Array {
  const rate = clf.mel.sampleRate;
  const n = (clf.cropFrames - 1) * clf.mel.hopLength + clf.mel.nFft;
  const x = new Float32Array(n);
  const random = mulberry32(12345);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] =
      0.2 * Math.sin(2 * Math.PI * 220 * t) +
      0.1 * Math.sin(2 * Math.PI * 1375 * t) +
      0.05 * (random() - 0.5);
  }
  const spec = logMelSpectrogram(x, clf.mel);
  const crop = new Float32Array(clf.nMels * clf.cropFrames);
  modelCrop(spec, 0, clf.cropFrames, clf.mel, crop);
  return crop;
}

/** `runs` inferences with every op timed: mean time per op family and the ten slowest layers. */
function profileRuns(clf: Classifier, crop: Float32Array, runs: number): Profile {
  const ops = clf.model.plan.ops;
  const stepMs = new Float64Array(ops.length);
  for (let i = 0; i < runs; i++) clf.model.run(crop, { stepMs });
  const opOfLayer = new Map(clf.model.header.graph.layers.map((l) => [l.name, l.op as string]));
  const families = new Map<string, FamilyTime>();
  const layers = new Map<string, LayerTime>();
  let total = 0;
  ops.forEach((op, i) => {
    const ms = stepMs[i]! / runs;
    total += ms;
    // ops the planner adds (quantize, dequantize) are named after their tensor, not a layer
    const family = opOfLayer.get(op.layer) ?? op.kind;
    const f = families.get(family) ?? { family, ms: 0, percent: 0, ops: 0 };
    f.ms += ms;
    f.ops++;
    families.set(family, f);
    const l = layers.get(op.layer) ?? { layer: op.layer, family, kernels: [], ms: 0, percent: 0 };
    l.ms += ms;
    if (!l.kernels.includes(op.kind)) l.kernels.push(op.kind);
    layers.set(op.layer, l);
  });
  const finish = <T extends { ms: number; percent: number }>(xs: T[]) =>
    xs
      .map((x) => ({ ...x, ms: round(x.ms, 4), percent: total > 0 ? round((100 * x.ms) / total, 2) : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return {
    runs,
    opMs: round(total, 3),
    families: finish([...families.values()]),
    layers: finish([...layers.values()]).slice(0, 10),
  };
}

function printText(
  r: {
    model: string;
    fileBytes: number;
    threads: number;
    isa: string;
    fma: { gemmLayers: number; fmaLayers: number; reason: string };
    quantMode: string;
    macs: number;
    loadMs: number;
    firstMs: number;
    warmup: number;
    runs: number;
    ms: Stats;
    peakRssMB: number;
  },
  profile: Profile | undefined,
): void {
  const f = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  console.log(
    `model        ${r.model} (${(r.fileBytes / 2 ** 20).toFixed(2)} MiB, ${r.quantMode}, ${(r.macs / 1e9).toFixed(3)} GMAC per crop)`,
  );
  console.log(
    `engine       ${r.threads} thread${r.threads > 1 ? "s" : ""}, ${r.isa}, fused multiply-add on ${r.fma.fmaLayers} of ${r.fma.gemmLayers} GEMM layers (${r.fma.reason})`,
  );
  console.log(`load         ${f(r.loadMs)}`);
  console.log(`first run    ${f(r.firstMs)}`);
  console.log(
    `warm runs    ${r.runs} after ${r.warmup} warm-up: min ${f(r.ms.min)}, median ${f(r.ms.median)}, p90 ${f(r.ms.p90)}, mean ${f(r.ms.mean)}`,
  );
  console.log(`peak memory  ${r.peakRssMB.toFixed(1)} MiB resident`);
  if (!profile) return;
  console.log(
    `\nprofile: ${profile.runs} runs, ${f(profile.opMs)} of op time per run (main thread, barrier waits included)\n`,
  );
  console.log(
    table(
      ["op family", "ops", "ms", "%"],
      profile.families.map((x) => [x.family, String(x.ops), x.ms.toFixed(3), x.percent.toFixed(1)]),
    ),
  );
  console.log("\nten slowest layers:\n");
  console.log(
    table(
      ["layer", "op", "kernels", "ms", "%"],
      profile.layers.map((x) => [
        x.layer,
        x.family,
        x.kernels.join("+"),
        x.ms.toFixed(3),
        x.percent.toFixed(1),
      ]),
    ),
  );
}
