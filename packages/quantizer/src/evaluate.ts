/**
 * Evaluation of one model file on a labelled audio folder through the engine: the runner's crops,
 * clip prediction from the mean probabilities, per-crop logits (pre-softmax, read with `keep`),
 * engine time per crop, peak resident memory of this process.
 */

import * as fs from "node:fs";
import { argmax } from "@edge-audio/common";
import { loadModel, readModelHeader } from "@edge-audio/engine-wasm";
import { type Clip, clipCrops, DataError, listClips, splitClips } from "./data.js";
import { logitsName } from "./quantize.js";

export interface EvalResult {
  model: string;
  fileBytes: number;
  split: string;
  note: string;
  clips: number;
  crops: number;
  clipAccuracy: number;
  cropAccuracy: number;
  /** Median / mean engine milliseconds per crop (model.run only). */
  msPerCropMedian: number;
  msPerCropMean: number;
  loadMs: number;
  /** Whole wasm memory of the engine. */
  engineMemoryBytes: number;
  /** Peak resident set of the evaluating process (decoding included). */
  peakRssBytes: number;
  threads: number;
  quantMode: string;
  /** Per crop: clip index, true label index, logits. */
  cropLogits: { clip: number; label: number; logits: number[] }[];
}

export async function evaluateModel(
  modelPath: string,
  dataDir: string,
  opts: {
    split?: "test" | "all";
    threads?: number;
    maxClips?: number;
    onProgress?: (d: number, t: number) => void;
  } = {},
): Promise<EvalResult> {
  if (!fs.existsSync(modelPath)) throw new DataError(`${modelPath}: no such model file`);
  const header = readModelHeader(modelPath);
  if (!header.mel)
    throw new DataError(`${modelPath}: the model carries no Mel configuration; it cannot classify audio`);
  let clips: Clip[];
  let note: string;
  if ((opts.split ?? "test") === "test") {
    const s = splitClips(dataDir, header);
    clips = s.test;
    note = s.note;
  } else {
    clips = listClips(dataDir);
    note = "all clips";
  }
  if (opts.maxClips) clips = clips.slice(0, opts.maxClips);
  const labels = header.labels;
  for (const c of clips)
    if (!labels.includes(c.label))
      throw new DataError(
        `${c.path}: label ${c.label} is not one of the model's labels (${labels.join(", ")})`,
      );
  const threads = opts.threads ?? 1;
  const lname = logitsName(header.graph);
  const model = await loadModel(modelPath, { threads, keep: [lname] });
  const [H, W] = [header.graph.inputShape[0]!, header.graph.inputShape[1]!];
  const times: number[] = [];
  const cropLogits: EvalResult["cropLogits"] = [];
  let clipRight = 0;
  let cropRight = 0;
  try {
    for (const [ci, clip] of clips.entries()) {
      const crops = await clipCrops(clip, header.mel, H, W);
      const label = labels.indexOf(clip.label);
      const mean = new Float64Array(labels.length);
      for (const crop of crops) {
        const t0 = performance.now();
        const p = model.run(crop);
        times.push(performance.now() - t0);
        for (let i = 0; i < p.length; i++) mean[i] += p[i]!;
        const logits = model.read(lname);
        if (argmax(logits) === label) cropRight++;
        cropLogits.push({ clip: ci, label, logits: Array.from(logits) });
      }
      if (argmax(mean) === label) clipRight++;
      opts.onProgress?.(ci + 1, clips.length);
    }
  } finally {
    await model.dispose();
  }
  const info = { loadMs: 0, memoryBytes: 0 };
  const sorted = [...times].sort((a, b) => a - b);
  const m2 = await loadModel(modelPath, { threads: 1 });
  Object.assign(info, { loadMs: m2.info().loadMs, memoryBytes: m2.info().memoryBytes });
  await m2.dispose();
  return {
    model: modelPath,
    fileBytes: fs.statSync(modelPath).size,
    split: opts.split ?? "test",
    note,
    clips: clips.length,
    crops: times.length,
    clipAccuracy: clips.length ? clipRight / clips.length : Number.NaN,
    cropAccuracy: times.length ? cropRight / times.length : Number.NaN,
    msPerCropMedian: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    msPerCropMean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    loadMs: info.loadMs,
    engineMemoryBytes: info.memoryBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    threads,
    quantMode: String(header.metadata.get("quant.mode") ?? "fp32"),
    cropLogits,
  };
}
