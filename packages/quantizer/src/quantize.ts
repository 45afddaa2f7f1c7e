/**
 * `quantizeModel`: FP32 `.eam` -> one variant file (fp16, dynamic, int8-tensor, int8, mixed), with
 * calibration and sensitivity runs through the engine itself.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { argmax } from "@edge-audio/common";
import { type EamFile, type EamGraph, encodeModel, loadModelFromBytes } from "@edge-audio/engine-wasm";
import { activationRanges, type Calibration, calibrate } from "./calibrate.js";
import { type Clip, clipCrops, DataError, splitClips } from "./data.js";
import { sqnrDb } from "./metrics.js";
import type { RangeMethod } from "./observers.js";
import {
  type ActivationQuant,
  buildVariant,
  defaultPrecisions,
  MODES,
  type Mode,
  nameRecord,
  type Precision,
  type QuantSpec,
  readFp32,
  settlePrecisions,
  weightLayers,
} from "./variants.js";

export interface QuantizeOptions {
  /** Output path (default: next to the model, `<name>-<mode>.eam`). */
  out?: string;
  /** Folder of labelled audio; calibration crops come from its training clips only. */
  calib?: string;
  /** Number of calibration crops (default 64). */
  calibCrops?: number;
  /** Calibration crops given directly (e.g. for random-weight models); overrides `calib`. */
  crops?: Float32Array[];
  /** Activation range method; `auto` chooses per tensor (default). */
  rangeMethod?: "auto" | RangeMethod;
  percentile?: number;
  /** mixed: largest file in MB (10^6 bytes). */
  budgetSizeMB?: number;
  /** mixed: largest allowed drop of top-1 agreement with FP32 on the calibration crops, in points. */
  budgetAccuracy?: number;
  /** mixed: the lowest weight precision, 4 (int4, int8, f16, f32) or 8 (int8, f16, f32). Default 4. */
  minBits?: 4 | 8;
  /** mixed with an accuracy budget: logits SQNR floor (default: the all-int8 model's SQNR - 3 dB). */
  minSqnrDb?: number;
  /** mixed: crops used for the sensitivity runs (default: all calibration crops, at most 32). */
  sensitivityCrops?: number;
  /** Fraction of each weight tensor's smallest-magnitude weights set to zero. */
  prune?: number;
  /**
   * int8, int8-tensor, mixed: layers whose input is a ReLU output take it as 7 bits ([0, 127],
   * zero point 0; `quant.inputBits`), the relaxed-SIMD GEMM's operand. Default false.
   */
  sevenBit?: boolean;
  threads?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface LayerSensitivity {
  layer: string;
  params: number;
  /** SQNR (dB) of the logits with only this layer in int8, against FP32. */
  sqnrDb: number;
  /** Top-1 agreement with FP32 (fraction) with only this layer in int8. */
  agreement: number;
  /** The same with only this layer's weights in 4 bits (mixed with minBits 4). */
  int4SqnrDb?: number;
  int4Agreement?: number;
}

export interface QuantizeResult {
  out: string;
  bytes: number;
  fp32Bytes: number;
  mode: Mode;
  /** Layers per precision. */
  precision: Record<string, number>;
  layers: Record<string, Precision>;
  calibration?: {
    crops: number;
    clips: number;
    source: string;
    /** Range method chosen per activation tensor, counted. */
    methods: Record<string, number>;
  };
  sensitivity?: LayerSensitivity[];
  mixed?: { budget: string; agreement: number; sqnrDb: number; crops: number; estimatedBytes: number };
  prune?: { sparsity: number; zeroFraction: number; gzipBytes: number; note: string };
  ms: number;
}

export class QuantizeError extends Error {
  override name = "QuantizeError";
}

const needsCalibration = (m: Mode) => m === "int8" || m === "int8-tensor" || m === "mixed";

/** Calibration crops from the training clips of `dir` (never the model's test/val clips), spread over clips and labels. */
export async function calibrationCrops(
  fp: Pick<EamFile, "metadata" | "mel" | "graph">,
  dir: string,
  n: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ crops: Float32Array[]; clips: number; note: string }> {
  if (!fp.mel)
    throw new QuantizeError(
      "the model carries no Mel configuration, so audio cannot be turned into its input; pass crops through the API (opts.crops) instead of --calib",
    );
  const { train, note } = splitClips(dir, fp);
  if (train.length === 0)
    throw new DataError(`${dir}: no training clips left after removing the model's test/val clips`);
  // Interleave labels so that every label contributes early.
  const byLabel = new Map<string, Clip[]>();
  for (const c of train) byLabel.set(c.label, [...(byLabel.get(c.label) ?? []), c]);
  const order: Clip[] = [];
  for (let i = 0; order.length < train.length; i++)
    for (const list of byLabel.values()) if (list[i]) order.push(list[i]!);
  const perClip = Math.max(1, Math.ceil(n / order.length));
  const [, H, W] = [0, fp.graph.inputShape[0]!, fp.graph.inputShape[1]!];
  const crops: Float32Array[] = [];
  let clips = 0;
  for (const clip of order) {
    if (crops.length >= n) break;
    const all = await clipCrops(clip, fp.mel, H, W);
    const take = Math.min(perClip, all.length, n - crops.length);
    for (let j = 0; j < take; j++) crops.push(all[Math.floor(((j + 0.5) * all.length) / take)]!);
    clips++;
    onProgress?.(crops.length, n);
  }
  return { crops, clips, note };
}

/** Name of the tensor feeding the final softmax (the logits), or the output itself. */
export function logitsName(g: EamGraph): string {
  const last = g.layers.find((l) => l.name === g.output);
  return last && last.op === "softmax" ? last.input : g.output;
}

/** Runs a model file's bytes on crops and returns the logits of each. */
export async function runLogits(
  bytes: Uint8Array,
  g: EamGraph,
  crops: Float32Array[],
  threads = 1,
): Promise<Float32Array[]> {
  const name = logitsName(g);
  const m = await loadModelFromBytes(bytes, { threads, keep: [name] });
  try {
    return crops.map((c) => {
      m.run(c);
      return m.read(name);
    });
  } finally {
    await m.dispose();
  }
}

function compare(ref: Float32Array[], got: Float32Array[]): { agreement: number; sqnrDb: number } {
  let same = 0;
  for (let i = 0; i < ref.length; i++) if (argmax(ref[i]!) === argmax(got[i]!)) same++;
  const cat = (a: Float32Array[]) => {
    const out = new Float32Array(a.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const x of a) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };
  return { agreement: same / ref.length, sqnrDb: sqnrDb(cat(ref), cat(got)) };
}

/** Bytes of the weight tensors of one layer in a precision (data + per-channel scales). */
function layerBytes(params: number, cout: number, p: Precision): number {
  const w = params - cout;
  const a = (x: number) => Math.ceil(x / 64) * 64; // tensor data is 64-byte aligned
  const bias = a(cout * 4);
  if (p === "int4") return a(Math.ceil(cout / 2) * (w / cout)) + bias + a(cout * 4);
  return p === "f32" ? a(w * 4) + bias : p === "f16" ? a(w * 2) + bias : a(w) + bias + cout * 8;
}

export async function quantizeModel(
  modelPath: string,
  mode: Mode,
  opts: QuantizeOptions = {},
): Promise<QuantizeResult> {
  const t0 = performance.now();
  if (!MODES.includes(mode) && mode !== "fp32")
    throw new QuantizeError(`unknown mode ${mode}; use one of ${MODES.join(", ")}`);
  if (!fs.existsSync(modelPath))
    throw new QuantizeError(`${modelPath}: no such model file; pass --model with an FP32 .eam file`);
  let fp: EamFile;
  try {
    fp = readFp32(modelPath);
  } catch (e) {
    const msg = (e as Error).message;
    throw new QuantizeError(msg.startsWith(modelPath) ? msg : `${modelPath}: ${msg}`);
  }
  if (opts.sevenBit && !needsCalibration(mode))
    throw new QuantizeError(`--seven-bit applies to int8, int8-tensor and mixed, not ${mode}`);
  if (opts.prune !== undefined && !(opts.prune >= 0 && opts.prune < 1))
    throw new QuantizeError(`--prune must be a fraction in [0, 1), got ${opts.prune}`);
  const out =
    opts.out ??
    path.join(path.dirname(modelPath), `${path.basename(modelPath, path.extname(modelPath))}-${mode}.eam`);
  const progress = opts.onProgress ?? (() => {});
  const g = fp.graph;
  const result: Partial<QuantizeResult> = { mode, fp32Bytes: fs.statSync(modelPath).size };

  // ---- Calibration (static int8 and mixed)
  let acts = nameRecord<ActivationQuant>();
  let cal: Calibration | undefined;
  let crops: Float32Array[] = [];
  if (needsCalibration(mode)) {
    const n = opts.calibCrops ?? 64;
    let clips = 0;
    let source: string;
    if (opts.crops) {
      crops = opts.crops;
      source = "crops given by the caller";
    } else if (opts.calib) {
      const c = await calibrationCrops(fp, opts.calib, n, (d, t) =>
        progress("reading calibration audio", d, t),
      );
      crops = c.crops;
      clips = c.clips;
      source = `${opts.calib} (${c.note})`;
    } else {
      throw new QuantizeError(
        `mode ${mode} needs calibration: pass --calib DIR (a folder of <label>/<audio> training clips; the model's test/val clips are skipped)`,
      );
    }
    cal = await calibrate(modelPath, crops, {
      threads: opts.threads,
      onProgress: (d, t) => progress("calibrating", d, t),
    });
    acts = activationRanges(cal, opts.rangeMethod ?? "auto", opts.percentile);
    const methods: Record<string, number> = {};
    for (const a of Object.values(acts)) methods[a.method] = (methods[a.method] ?? 0) + 1;
    result.calibration = { crops: crops.length, clips, source, methods };
  }

  const spec: QuantSpec = {
    mode,
    layers: {},
    perChannel: mode !== "int8-tensor",
    activations: acts,
    prune: opts.prune,
  };
  if (mode !== "mixed") {
    spec.layers = defaultPrecisions(g, mode);
  } else {
    const r = await chooseMixed(fp, acts, crops, cal!, opts, progress);
    spec.layers = r.layers;
    result.sensitivity = r.sensitivity;
    result.mixed = r.summary;
  }
  if (opts.sevenBit) spec.sevenBit = true;
  spec.info = {
    calibration: result.calibration ?? null,
    mixed: result.mixed ?? null,
  };
  const contents = buildVariant(fp, spec);
  const bytes = encodeModel(contents);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, bytes);
  const layers = settlePrecisions(g, spec.layers);
  const precision: Record<string, number> = {};
  for (const l of weightLayers(g)) precision[layers[l] ?? "f32"] = (precision[layers[l] ?? "f32"] ?? 0) + 1;
  if (opts.prune) {
    let zeros = 0;
    let total = 0;
    for (const t of contents.tensors) {
      if (!t.name.endsWith(".weight")) continue;
      total += t.data.length;
      for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) zeros++;
    }
    result.prune = {
      sparsity: opts.prune,
      zeroFraction: zeros / total,
      gzipBytes: gzipSync(bytes, { level: 6 }).length,
      note: "weights are stored dense and the kernels do not skip zeros: file size, memory and speed are unchanged; gzipBytes shows what a general-purpose compressor makes of the zeros",
    };
  }
  return {
    ...(result as QuantizeResult),
    out: path.resolve(out),
    bytes: bytes.length,
    precision,
    layers,
    ms: performance.now() - t0,
  };
}

/**
 * Mixed precision: sensitivity of each weight layer (only that layer in int8, the rest FP32,
 * logits against FP32 on the calibration crops), then a greedy choice. With an accuracy budget:
 * all layers int8, promote the most sensitive to f16 (then f32) until the agreement drop is
 * within budget. With a size budget: all int8, promote the most sensitive while the file stays
 * within budget.
 */
async function chooseMixed(
  fp: EamFile,
  acts: Record<string, ActivationQuant>,
  calibCrops: Float32Array[],
  _cal: Calibration,
  opts: QuantizeOptions,
  progress: (stage: string, done: number, total: number) => void,
): Promise<{
  layers: Record<string, Precision>;
  sensitivity: LayerSensitivity[];
  summary: NonNullable<QuantizeResult["mixed"]>;
}> {
  const g = fp.graph;
  const crops = calibCrops.slice(0, opts.sensitivityCrops ?? Math.min(32, calibCrops.length));
  const fpBytes = encodeModel(
    buildVariant(fp, { mode: "fp32", layers: {}, perChannel: true, activations: {} }),
  );
  const ref = await runLogits(fpBytes, g, crops, opts.threads);
  const wl = weightLayers(g);
  const info = new Map(
    wl.map((name) => {
      const t = fp.tensor(`${name}.weight`);
      const cout = t.shape.at(-1)!;
      return [name, { params: t.data.length + cout, cout }];
    }),
  );
  const nonWeight = nameRecord<Precision>(
    Object.fromEntries(
      g.layers
        .filter((l) => l.op === "add" || l.op === "maxpool" || l.op === "gap")
        .map((l) => [l.name, "int8" as Precision]),
    ),
  );
  const evaluate = async (layers: Record<string, Precision>) => {
    const bytes = encodeModel(
      buildVariant(fp, { mode: "mixed", layers, perChannel: true, activations: acts }),
    );
    return { ...compare(ref, await runLogits(bytes, g, crops, opts.threads)), bytes: bytes.length };
  };
  const useInt4 = (opts.minBits ?? 4) === 4;
  const sensitivity: LayerSensitivity[] = [];
  for (const [i, name] of wl.entries()) {
    const head = name === "head.dense";
    const r = await evaluate(nameRecord({ [name]: head ? "dynamic" : "int8" }));
    const r4 = useInt4 && !head ? await evaluate(nameRecord({ [name]: "int4" })) : null;
    sensitivity.push({
      layer: name,
      params: info.get(name)!.params,
      sqnrDb: r.sqnrDb,
      agreement: r.agreement,
      ...(r4 ? { int4SqnrDb: r4.sqnrDb, int4Agreement: r4.agreement } : {}),
    });
    progress("sensitivity", i + 1, wl.length);
  }
  // Promotion ladder per layer, and the order in which layers climb each rung (most sensitive first).
  const ladder = (name: string): Precision[] =>
    name === "head.dense"
      ? ["dynamic", "f16", "f32"]
      : useInt4
        ? ["int4", "int8", "f16", "f32"]
        : ["int8", "f16", "f32"];
  const by = (key: "sqnrDb" | "int4SqnrDb") =>
    [...sensitivity].sort((a, b) => (a[key] ?? a.sqnrDb) - (b[key] ?? b.sqnrDb)).map((x) => x.layer);
  const rungs: [Precision, string[]][] = [
    ...(useInt4 ? ([["int8", by("int4SqnrDb")]] as [Precision, string[]][]) : []),
    ["f16", by("sqnrDb")],
    ["f32", by("sqnrDb")],
  ];
  const layers = nameRecord(nonWeight);
  for (const l of wl) layers[l] = ladder(l)[0]!;
  const promote = (l: string, target: Precision): Precision | null => {
    const lad = ladder(l);
    const cur = lad.indexOf(layers[l]!);
    const t = lad.indexOf(target);
    if (t !== cur + 1) return null; // only one rung at a time, and only onto this ladder
    const before = layers[l]!;
    layers[l] = target;
    return before;
  };
  const size = () => {
    let s = 0;
    for (const l of wl) s += layerBytes(info.get(l)!.params, info.get(l)!.cout, layers[l]!);
    return s;
  };
  let budget: string;
  let final: { agreement: number; sqnrDb: number; bytes: number };
  if (opts.budgetSizeMB !== undefined) {
    budget = `size <= ${opts.budgetSizeMB} MB`;
    const limit = opts.budgetSizeMB * 1e6;
    const overhead = fpBytes.length - wl.reduce((s, l) => s + info.get(l)!.params * 4, 0);
    if (size() + overhead > limit)
      throw new QuantizeError(
        `--budget-size ${opts.budgetSizeMB} MB is below the smallest mix (every layer ${useInt4 ? "int4" : "int8"}: about ${((size() + overhead) / 1e6).toFixed(2)} MB)`,
      );
    const promoted: [string, Precision][] = [];
    for (const [target, order] of rungs) {
      for (const l of order) {
        const before = promote(l, target);
        if (before === null) continue;
        if (size() + overhead > limit) layers[l] = before;
        else promoted.push([l, before]);
      }
    }
    // The estimate ignores metadata growth: check the real encoding, undo the last promotions if needed.
    const real = () =>
      encodeModel(buildVariant(fp, { mode: "mixed", layers, perChannel: true, activations: acts })).length;
    while (promoted.length > 0 && real() > limit) {
      const [l, before] = promoted.pop()!;
      layers[l] = before;
    }
    final = await evaluate(layers);
  } else {
    const pts = opts.budgetAccuracy ?? 0.3;
    // Logits must also stay within 3 dB of the all-int8 model's SQNR (agreement on a few dozen
    // crops is a coarse measure on its own).
    const int8All = nameRecord(nonWeight);
    for (const l of wl) int8All[l] = l === "head.dense" ? "dynamic" : "int8";
    const floor = opts.minSqnrDb ?? (await evaluate(int8All)).sqnrDb - 3;
    budget = `top-1 agreement drop <= ${pts} points and logits SQNR >= ${floor.toFixed(1)} dB on ${crops.length} calibration crops`;
    const ok = () => (1 - final.agreement) * 100 <= pts && final.sqnrDb >= floor;
    final = await evaluate(layers);
    let steps = 0;
    for (const [target, order] of rungs) {
      for (const l of order) {
        if (ok()) break;
        if (promote(l, target) === null) continue;
        final = await evaluate(layers);
        progress("choosing precisions", ++steps, wl.length * rungs.length);
      }
    }
  }
  return {
    layers,
    sensitivity,
    summary: {
      budget,
      agreement: final.agreement,
      sqnrDb: final.sqnrDb,
      crops: crops.length,
      estimatedBytes: final.bytes,
    },
  };
}
