/**
 * What a planned model will cost (memory, and work per crop including the Mel front-end its file
 * declares) and the limits a load refuses beyond, computed before any memory is allocated: a
 * small file can declare an input of 4096 x 65535 or a 65535 x 65535 pooling window.
 */
import type { JsonObject } from "./format.js";
import type { OpRecord, Plan } from "./plan.js";

/** Default memory limit: about 3 x ResNet-152 FP32 with Winograd (352 MB). */
export const DEFAULT_MAX_MEMORY_BYTES = 1024 * 2 ** 20;
/** Default work limit per crop: about 12 x ResNet-152 on a 128 x 130 crop (4.1 GMAC). */
export const DEFAULT_MAX_WORK_PER_CROP = 50e9;

/**
 * Work is counted in multiply-accumulate equivalents: 1 per multiply-accumulate of a GEMM or
 * convolution, MAXPOOL_TAP per max-pool window tap and channel (the max-pool kernel ran at 1.0 G
 * taps/s where ResNet-50's convolutions ran at 15.6 GMAC/s, one thread), ELEMENT per element
 * read or written by the other ops (transforms, adds, (de)quantization, pooling, softmax).
 */
const MAXPOOL_TAP = 16;
const ELEMENT = 4;

/** A model's needs beyond the limits. */
export class EamLimitError extends Error {
  override readonly name = "EamLimitError";
  constructor(
    readonly limit: "memory" | "work",
    readonly needed: number,
    readonly allowed: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Limits {
  maxMemoryBytes?: number;
  maxWorkPerCrop?: number;
}

export interface ModelCost {
  /** Wasm memory of the plan plus the input crop the caller passes to run(). */
  memoryBytes: number;
  /** Work of one crop: the network's ops plus the Mel front-end's frames. */
  workPerCrop: number;
  /** Part of workPerCrop spent in the Mel front-end (0 when the file declares none). */
  melWorkPerCrop: number;
  /** The layer with the most work, and its work. */
  largestLayer: { name: string; work: number };
}

/** Work of one kernel call record. */
export function opWork(op: OpRecord): number {
  switch (op.kind) {
    case "gemm":
      return op.M * op.N * op.K;
    case "igemm":
    case "f16igemm":
    case "qgemm":
      return op.M * op.N * op.K * op.ks;
    case "rgemm":
      return op.M * op.N * op.K;
    case "bgemm":
      return op.batch * op.M * op.N * op.K;
    case "f16wino_gemm":
      return 16 * op.M * op.N * op.K + 16 * op.N * op.K; // GEMMs, and the weight transform per run
    case "qwino_gemm": {
      const e = op.cols === 3 ? 20 : 16;
      return e * op.M * op.N * op.K + e * op.N * op.K; // GEMMs, and the weight transform per run
    }
    case "maxpool":
    case "qmaxpool":
      return MAXPOOL_TAP * op.oh * op.ow * op.c * Math.min(op.kh, op.ih) * Math.min(op.kw, op.iw);
    case "wino_in":
    case "wino_out":
      return ELEMENT * 16 * op.tiles * op.c;
    case "qwino_in":
      return ELEMENT * (op.cols === 3 ? 20 : 16) * op.tiles * op.c;
    case "qim2col":
    case "rim2col":
      return ELEMENT * op.M * op.kh * op.kw * op.c;
    case "gap":
    case "qgap":
      return ELEMENT * op.hw * op.c;
    case "add":
    case "qadd":
    case "quant":
    case "dequant":
    case "dynparams":
    case "softmax":
      return ELEMENT * op.n;
  }
}

/** A positive finite number field of the Mel configuration, or undefined. */
function melField(mel: JsonObject | undefined, key: string): number | undefined {
  const v = mel && Object.hasOwn(mel, key) ? mel[key] : undefined;
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Work of the Mel front-end for one crop of `frames` frames, from the file's Mel configuration:
 * per frame an FFT of nFft points (nFft log2 nFft) and the filterbank (nFft/2 + 1 bins by nMels
 * bands), plus the (frames - 1) * hopLength + nFft samples the crop covers. 0 without the fields.
 */
export function melWorkPerCrop(mel: JsonObject | undefined, frames: number): number {
  const nFft = melField(mel, "nFft");
  const hop = melField(mel, "hopLength");
  const nMels = melField(mel, "nMels");
  if (nFft === undefined || hop === undefined || nMels === undefined) return 0;
  const perFrame = nFft * Math.log2(Math.max(2, nFft)) + (nFft / 2 + 1) * nMels;
  return frames * perFrame + ELEMENT * ((frames - 1) * hop + nFft);
}

export function modelCost(plan: Plan, mel: JsonObject | undefined): ModelCost {
  const byLayer = new Map<string, number>();
  let ops = 0;
  for (const op of plan.ops) {
    const w = opWork(op);
    ops += w;
    byLayer.set(op.layer, (byLayer.get(op.layer) ?? 0) + w);
  }
  let largestLayer = { name: "", work: 0 };
  for (const [name, work] of byLayer) if (work > largestLayer.work) largestLayer = { name, work };
  const frames = plan.input.shape[1] ?? 1;
  const melWork = melWorkPerCrop(mel, frames);
  return {
    memoryBytes: plan.totalBytes + plan.input.bytes,
    workPerCrop: ops + melWork,
    melWorkPerCrop: melWork,
    largestLayer,
  };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(Number.isInteger(b / 2 ** 20) ? 0 : 2)} MiB`;
const gops = (w: number) => {
  const g = w / 1e9;
  return `${g < 10 ? g.toFixed(2) : g < 100 ? g.toFixed(1) : Math.round(g).toLocaleString("en-US")} G`;
};

/** Refuses a plan whose memory or work per crop exceeds the limits (defaults above). */
export function checkLimits(plan: Plan, cost: ModelCost, limits: Limits): void {
  const maxMemory = limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const maxWork = limits.maxWorkPerCrop ?? DEFAULT_MAX_WORK_PER_CROP;
  for (const [k, v] of [
    ["maxMemoryBytes", maxMemory],
    ["maxWorkPerCrop", maxWork],
  ] as const)
    if (!(v > 0)) throw new RangeError(`${k} must be a positive number, got ${v}`);
  if (cost.memoryBytes > maxMemory) {
    const weights = plan.weightsBytes;
    const acts = plan.arenaBytes + plan.input.bytes;
    throw new EamLimitError(
      "memory",
      cost.memoryBytes,
      maxMemory,
      `the model needs ${mib(cost.memoryBytes)} of memory (weights ${mib(weights)}, activations and input ${mib(acts)}, indirection and scratch ${mib(cost.memoryBytes - weights - acts)}), more than the limit of ${mib(maxMemory)}; if it is meant to be that large, raise the limit (pi-runner --max-memory MIB, load option maxMemoryBytes)`,
    );
  }
  if (cost.workPerCrop > maxWork) {
    const mel = cost.melWorkPerCrop > 0 ? `, Mel front-end ${gops(cost.melWorkPerCrop)}` : "";
    throw new EamLimitError(
      "work",
      cost.workPerCrop,
      maxWork,
      `the model needs ${gops(cost.workPerCrop)} operations per crop (layer ${cost.largestLayer.name} ${gops(cost.largestLayer.work)}${mel}), more than the limit of ${gops(maxWork)}; if it is meant to be that heavy, raise the limit (pi-runner --max-work GOPS, load option maxWorkPerCrop)`,
    );
  }
}
