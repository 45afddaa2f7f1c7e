/**
 * Exporters: `.eam` -> `.tflite` (TensorFlow Lite / LiteRT) and `.eam` -> `.onnx` (ONNX Runtime),
 * for every variant the quantizer makes. See docs/export.md for what each precision becomes.
 */
import { writeFileSync } from "node:fs";
import { type EamFile, readModel } from "@edge-audio/engine-wasm";
import { writeOnnx } from "./onnx/writer.js";
import { ExportError, type ExportPlan, planExport, precisionCounts, sourceFromFile } from "./plan.js";
import { writeTflite } from "./tflite/writer.js";

export type ExportFormat = "tflite" | "onnx";
export const EXPORT_FORMATS: ExportFormat[] = ["tflite", "onnx"];

export interface ExportOptions {
  to: ExportFormat;
  /** Write the result here (nothing is written when absent). */
  out?: string;
  /** Extra float outputs by tensor name (e.g. "head.dense", the logits). */
  extraOutputs?: string[];
}

export interface ExportResult {
  format: ExportFormat;
  out: string | null;
  bytes: number;
  /** `quant.mode` of the source file. */
  mode: string;
  /** Layers per precision (conv, dense, add, maxpool, gap). */
  precision: Record<string, number>;
  /** Weight granularity of the int8 and dynamic layers. */
  weights: "per-channel" | "per-tensor" | "none";
  /** Things a reader of the exported file should know (e.g. int4 layers written as int8). */
  notes: string[];
  data: Uint8Array;
  ms: number;
}

function loadSource(model: string | EamFile): EamFile {
  if (typeof model !== "string") return model;
  try {
    return readModel(model);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") throw new ExportError(`${model}: no such model file; pass a .eam file`);
    if (code === "EISDIR") throw new ExportError(`${model}: is a directory; pass a .eam file`);
    throw new ExportError(`${model}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function notesOf(plan: ExportPlan, to: ExportFormat): string[] {
  const notes: string[] = [];
  const int4 = plan.layers.filter((l) => l.weights?.kind === "i8" && l.weights.fromInt4).length;
  if (int4)
    notes.push(
      `${int4} int4 layer(s) written as int8 tensors holding the same 4-bit values (the numerics are unchanged; the file is larger than the .eam)`,
    );
  if (plan.layers.some((l) => l.spec.op === "gap" && l.precision === "int8"))
    notes.push(
      `int8 average pool written as ${to === "tflite" ? "DEQUANTIZE + float MEAN" : "DequantizeLinear + GlobalAveragePool"} (the engine's int8 average also outputs float)`,
    );
  return notes;
}

function granularity(plan: ExportPlan): ExportResult["weights"] {
  const q = plan.layers.filter((l) => l.weights?.kind === "i8");
  if (q.length === 0) return "none";
  return q.some((l) => l.weights?.kind === "i8" && l.weights.scales.length > 1)
    ? "per-channel"
    : "per-tensor";
}

/** Exports a `.eam` model (path or loaded file) as TFLite or ONNX. */
export function exportModel(model: string | EamFile, options: ExportOptions): ExportResult {
  const t0 = performance.now();
  if (!EXPORT_FORMATS.includes(options.to))
    throw new ExportError(`unknown export format ${String(options.to)}; use tflite or onnx`);
  const file = loadSource(model);
  const plan = planExport(sourceFromFile(file));
  const metadata: Record<string, string> = {
    "edge-audio.quant.mode": plan.mode,
    "edge-audio.labels": JSON.stringify(file.labels),
  };
  if (file.mel) metadata["edge-audio.mel"] = JSON.stringify(file.mel);
  if (file.arch) metadata.arch = JSON.stringify(file.arch);
  const data =
    options.to === "tflite"
      ? writeTflite(plan, { extraOutputs: options.extraOutputs, metadata })
      : writeOnnx(plan, { extraOutputs: options.extraOutputs, metadata });
  if (options.out) writeFileSync(options.out, data);
  return {
    format: options.to,
    out: options.out ?? null,
    bytes: data.length,
    mode: plan.mode,
    precision: precisionCounts(plan),
    weights: granularity(plan),
    notes: notesOf(plan, options.to),
    data,
    ms: performance.now() - t0,
  };
}

export { HWIO_TO_OHWI, HWIO_TO_OIHW, hwioToOihw, IO_TO_OI, permute } from "./layout.js";
export {
  checkWeights,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxWriteOptions,
  writeOnnx,
  writeResNetOnnx,
} from "./onnx/writer.js";
export {
  ExportError,
  type ExportPlan,
  type LayerWeights,
  type ModelSource,
  type PlannedLayer,
  planExport,
  sourceFromFile,
  sourceFromWeights,
} from "./plan.js";
export { type TfliteWriteOptions, writeTflite } from "./tflite/writer.js";
