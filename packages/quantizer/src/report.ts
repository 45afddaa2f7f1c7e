/**
 * The variant report in the form of the study's Table 1 (accuracy and size per variant) plus
 * agreement with FP32, SQNR of the logits, engine time and peak memory, and the accuracy-vs-size
 * plot of its Figure 3. Each variant is evaluated in its own child process so that its peak
 * resident memory is its own.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { argmax } from "@edge-audio/common";
import type { EvalResult } from "./evaluate.js";
import { sqnrDb } from "./metrics.js";
import { type QuantizeOptions, type QuantizeResult, quantizeModel } from "./quantize.js";
import type { Mode } from "./variants.js";

/** A report row: a quantizer mode, or int8 / int8-tensor / mixed with 7-bit inputs (`--seven-bit`). */
export type ReportVariant = Mode | `${SevenBitMode}-7bit`;
type SevenBitMode = "int8" | "int8-tensor" | "mixed";
export const SEVEN_BIT_MODES: readonly SevenBitMode[] = ["int8", "int8-tensor", "mixed"];

/** The quantizer mode of a report variant and whether it has 7-bit inputs. */
export function variantMode(v: ReportVariant): { mode: Mode; sevenBit: boolean } {
  return v.endsWith("-7bit")
    ? { mode: v.slice(0, -5) as Mode, sevenBit: true }
    : { mode: v as Mode, sevenBit: false };
}

const run = promisify(execFile);

export interface ReportRow {
  variant: ReportVariant;
  file: string;
  bytes: number;
  clipAccuracy: number;
  cropAccuracy: number;
  /** Crop-level top-1 agreement with the FP32 model. */
  agreement: number;
  /** SQNR (dB) of all test logits against FP32. */
  sqnrDb: number;
  msPerCrop: number;
  peakRssBytes: number;
  engineMemoryBytes: number;
  layers: Record<string, number>;
  quantizeMs: number;
  notes: string;
}

export interface ReportOptions
  extends Pick<QuantizeOptions, "calibCrops" | "budgetAccuracy" | "budgetSizeMB" | "prune" | "threads"> {
  model: string;
  data: string;
  out: string;
  modes?: ReportVariant[];
  /** Audio folder for calibration (default: `data`; only its training clips are used). */
  calib?: string;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface Report {
  model: string;
  data: string;
  split: string;
  clips: number;
  crops: number;
  machine: { cpus: number; loadAverage: number[]; node: string };
  rows: ReportRow[];
  quantize: Partial<Record<ReportVariant, Omit<QuantizeResult, "sensitivity">>>;
  sensitivity?: QuantizeResult["sensitivity"];
}

const CLI = fileURLToPath(new URL("./cli.js", import.meta.url));

async function evalChild(model: string, data: string, threads: number): Promise<EvalResult> {
  const { stdout } = await run(
    process.execPath,
    [CLI, "eval", "--model", model, "--data", data, "--threads", String(threads), "--json"],
    {
      maxBuffer: 1 << 28,
    },
  );
  return JSON.parse(stdout) as EvalResult;
}

export async function makeReport(opts: ReportOptions): Promise<Report> {
  const modes: ReportVariant[] = opts.modes ?? ["fp32", "fp16", "dynamic", "int8-tensor", "int8", "mixed"];
  const progress = opts.onProgress ?? (() => {});
  fs.mkdirSync(opts.out, { recursive: true });
  const base = path.basename(opts.model, path.extname(opts.model));
  const files = new Map<ReportVariant, string>();
  const quantize: Report["quantize"] = {};
  let sensitivity: Report["sensitivity"];
  for (const [i, mode] of modes.entries()) {
    progress(`quantizing ${mode}`, i, modes.length);
    if (mode === "fp32") {
      files.set(mode, path.resolve(opts.model));
      continue;
    }
    const r = await quantizeModel(opts.model, variantMode(mode).mode, {
      sevenBit: variantMode(mode).sevenBit,
      out: path.join(opts.out, `${base}-${mode}.eam`),
      calib: opts.calib ?? opts.data,
      calibCrops: opts.calibCrops,
      budgetAccuracy: opts.budgetAccuracy,
      budgetSizeMB: opts.budgetSizeMB,
      prune: opts.prune,
      threads: opts.threads,
      onProgress: (s, d, t) => progress(`${mode}: ${s}`, d, t),
    });
    files.set(mode, r.out);
    const { sensitivity: s, ...rest } = r;
    if (s) sensitivity = s;
    quantize[mode] = rest;
  }
  const evals = new Map<ReportVariant, EvalResult>();
  for (const [i, mode] of modes.entries()) {
    progress(`evaluating ${mode}`, i, modes.length);
    evals.set(mode, await evalChild(files.get(mode)!, opts.data, opts.threads ?? 1));
  }
  progress("evaluating", modes.length, modes.length);
  const ref = evals.get("fp32") ?? null;
  const rows: ReportRow[] = modes.map((mode) => {
    const e = evals.get(mode)!;
    let agreement = Number.NaN;
    let sq = Number.NaN;
    if (ref && ref.cropLogits.length === e.cropLogits.length) {
      let same = 0;
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < e.cropLogits.length; i++) {
        const r = ref.cropLogits[i]!.logits;
        const x = e.cropLogits[i]!.logits;
        if (argmax(r) === argmax(x)) same++;
        a.push(...r);
        b.push(...x);
      }
      agreement = same / e.cropLogits.length;
      sq = sqnrDb(a, b);
    }
    const q = quantize[mode];
    const notes: string[] = [];
    if (variantMode(mode).mode === "int8-tensor")
      notes.push("one scale per weight tensor (the study's setting)");
    if (variantMode(mode).sevenBit) notes.push("7-bit inputs for the layers that read a ReLU output");
    if (q?.mixed) notes.push(`${q.mixed.budget}`);
    if (q?.prune) notes.push(`pruned ${(q.prune.zeroFraction * 100).toFixed(1)} % zeros, stored dense`);
    return {
      variant: mode,
      file: path.basename(files.get(mode)!),
      bytes: e.fileBytes,
      clipAccuracy: e.clipAccuracy,
      cropAccuracy: e.cropAccuracy,
      agreement,
      sqnrDb: sq,
      msPerCrop: e.msPerCropMedian,
      peakRssBytes: e.peakRssBytes,
      engineMemoryBytes: e.engineMemoryBytes,
      layers: q?.precision ?? { f32: Object.keys(quantize).length ? 0 : 0 },
      quantizeMs: q?.ms ?? 0,
      notes: notes.join("; "),
    };
  });
  const first = evals.values().next().value as EvalResult;
  const report: Report = {
    model: path.resolve(opts.model),
    data: path.resolve(opts.data),
    split: first.note,
    clips: first.clips,
    crops: first.crops,
    machine: { cpus: os.cpus().length, loadAverage: os.loadavg(), node: process.version },
    rows,
    quantize,
    sensitivity,
  };
  fs.writeFileSync(path.join(opts.out, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(opts.out, "report.md"), reportMarkdown(report));
  fs.writeFileSync(path.join(opts.out, "accuracy-vs-size.svg"), accuracySizeSvg(report));
  return report;
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "n/a");
const mb = (b: number) => `${(b / 1e6).toFixed(b < 1e7 ? 2 : 1)} MB`;

export function reportMarkdown(r: Report): string {
  const lines = [
    "# Variants of the model (the study's Table 1, measured here)",
    "",
    `Model \`${path.basename(r.model)}\`, data \`${r.data}\`: ${r.clips} clips, ${r.crops} crops (${r.split}).`,
    `Engine on ${r.machine.cpus} cores, Node ${r.machine.node}, load average ${r.machine.loadAverage.map((x) => x.toFixed(1)).join(" / ")}.`,
    "",
    "| variant | clip accuracy | crop accuracy | top-1 agreement with FP32 | SQNR of logits | file size | ms per crop | peak RSS | engine memory | layers |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const x of r.rows) {
    const layers = Object.entries(x.layers)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    lines.push(
      `| ${x.variant} | ${pct(x.clipAccuracy)} | ${pct(x.cropAccuracy)} | ${x.variant === "fp32" ? "(reference)" : pct(x.agreement)} | ${x.variant === "fp32" ? "(reference)" : Number.isFinite(x.sqnrDb) ? `${x.sqnrDb.toFixed(1)} dB` : "n/a"} | ${mb(x.bytes)} | ${x.msPerCrop.toFixed(2)} | ${mb(x.peakRssBytes)} | ${mb(x.engineMemoryBytes)} | ${layers || "all f32"} |`,
    );
  }
  lines.push("");
  const notes = r.rows.filter((x) => x.notes);
  if (notes.length) {
    lines.push("Notes:", "");
    for (const x of notes) lines.push(`- ${x.variant}: ${x.notes}`);
    lines.push("");
  }
  if (r.sensitivity?.length) {
    lines.push(
      "## Per-layer sensitivity (only that layer quantized, logits against FP32 on calibration crops) and the mixed choice",
      "",
    );
    lines.push(
      "| layer | params | int8: SQNR of logits | int8: top-1 agreement | int4 weights: SQNR | int4: agreement | chosen |",
      "| --- | --- | --- | --- | --- | --- | --- |",
    );
    const chosen = (r.quantize.mixed?.layers ?? {}) as Record<string, string>;
    for (const s of [...r.sensitivity].sort((a, b) => a.sqnrDb - b.sqnrDb))
      lines.push(
        `| ${s.layer} | ${s.params} | ${s.sqnrDb.toFixed(1)} dB | ${pct(s.agreement)} | ${s.int4SqnrDb !== undefined ? `${s.int4SqnrDb.toFixed(1)} dB` : "-"} | ${s.int4Agreement !== undefined ? pct(s.int4Agreement) : "-"} | ${Object.hasOwn(chosen, s.layer) ? chosen[s.layer] : ""} |`,
      );
    lines.push("");
  }
  lines.push(
    "Peak RSS is the maximum resident memory of a separate Node process that decodes the clips and runs the engine; engine memory is the engine's whole wasm memory (weights, activation arena, buffers).",
    "",
  );
  return `${lines.join("\n")}`;
}

/** A ~5-tick axis over [lo, hi] within [0, 1] with a round step (0.5, 1, 2, 5, 10, 20 %). */
export function accuracyAxis(values: number[]): { lo: number; hi: number; step: number } {
  const v = values.filter(Number.isFinite);
  if (!v.length) return { lo: 0, hi: 1, step: 0.2 };
  const min = Math.min(...v);
  const max = Math.max(...v);
  const pad = Math.max(0.01, (max - min) * 0.15);
  const span = Math.min(1, max - min + 2 * pad);
  const step = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2].find((k) => span / k <= 6) ?? 0.2;
  let lo = Math.max(0, Math.floor((min - pad) / step) * step);
  let hi = Math.min(1, Math.ceil((max + pad) / step) * step);
  if (hi - lo < 2 * step) {
    if (hi + step <= 1) hi += step;
    else lo = Math.max(0, lo - step);
  }
  return { lo: +lo.toFixed(4), hi: +hi.toFixed(4), step };
}

/**
 * Accuracy against file size, one colour per variant (the study's Figure 3): dots clip accuracy,
 * squares crop accuracy, the accuracy axis fitted to the data, a legend with the figures on the
 * right. Markers that fall on the same spot are drawn nested (each one larger than the one in
 * front), so that every variant stays visible.
 */
export function accuracySizeSvg(r: Report): string {
  const W = 820;
  const H = 420;
  const m = { l: 72, r: 290, t: 40, b: 50 };
  const xs = r.rows.map((x) => x.bytes / 1e6);
  const xmax = Math.max(...xs) * 1.08;
  const axis = accuracyAxis(r.rows.flatMap((x) => [x.clipAccuracy, x.cropAccuracy]));
  const x = (v: number) => m.l + (v / xmax) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - axis.lo) / (axis.hi - axis.lo)) * (H - m.t - m.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>Accuracy vs model size per variant</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - m.r + m.l) / 2}" y="22" text-anchor="middle" font-size="14">Accuracy vs model size (${r.clips} test clips, ${r.crops} crops)</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
  ];
  const decimals = axis.step < 0.01 ? 1 : 0;
  for (let t = axis.lo; t <= axis.hi + 1e-9; t += axis.step) {
    parts.push(`<line x1="${m.l - 4}" y1="${y(t)}" x2="${W - m.r}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${m.l - 8}" y="${y(t) + 4}" text-anchor="end">${(t * 100).toFixed(decimals)} %</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">accuracy</text>`,
  );
  const raw = xmax / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((k) => k >= raw) ?? raw;
  for (let v = 0; v <= xmax + 1e-9; v += step) {
    parts.push(`<line x1="${x(v)}" y1="${H - m.b}" x2="${x(v)}" y2="${H - m.b + 4}" stroke="black"/>`);
    parts.push(`<text x="${x(v)}" y="${H - m.b + 18}" text-anchor="middle">${+v.toFixed(3)}</text>`);
  }
  parts.push(`<text x="${(W - m.r + m.l) / 2}" y="${H - 12}" text-anchor="middle">file size (MB)</text>`);
  const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];
  const markers = r.rows.flatMap((row, i) => {
    const c = colors[i % colors.length]!;
    const cx = x(row.bytes / 1e6);
    return [
      { kind: "clip", c, cx, v: row.clipAccuracy },
      { kind: "crop", c, cx, v: row.cropAccuracy },
    ].filter((k) => Number.isFinite(k.v));
  });
  // Nesting: a marker within 8 px of earlier ones is drawn 2.5 px larger per earlier one.
  const placed = markers.map((k, i) => {
    const cy = y(k.v);
    const before = markers.slice(0, i).filter((o) => Math.hypot(o.cx - k.cx, y(o.v) - cy) < 8).length;
    return { ...k, cy, size: (k.kind === "clip" ? 5 : 4.5) + 2.5 * before };
  });
  for (const k of [...placed].sort((a, b) => b.size - a.size)) {
    if (k.kind === "clip")
      parts.push(`<circle cx="${k.cx}" cy="${k.cy}" r="${k.size}" fill="${k.c}" stroke="white"/>`);
    else
      parts.push(
        `<rect x="${k.cx - k.size}" y="${k.cy - k.size}" width="${2 * k.size}" height="${2 * k.size}" fill="${k.c}" stroke="white"/>`,
      );
  }
  const lx = W - m.r + 20;
  parts.push(`<text x="${lx}" y="${m.t + 4}" font-weight="bold">variant: clip / crop accuracy, size</text>`);
  r.rows.forEach((row, i) => {
    const c = colors[i % colors.length]!;
    const ly = m.t + 26 + i * 22;
    parts.push(`<circle cx="${lx + 6}" cy="${ly - 4}" r="5" fill="${c}"/>`);
    parts.push(
      `<text x="${lx + 18}" y="${ly}">${row.variant}: ${pct(row.clipAccuracy)} / ${pct(row.cropAccuracy)}, ${mb(row.bytes)}</text>`,
    );
  });
  const ly = m.t + 26 + r.rows.length * 22 + 10;
  parts.push(
    `<circle cx="${lx + 6}" cy="${ly - 4}" r="5" fill="#555"/><text x="${lx + 18}" y="${ly}">clip accuracy</text>`,
  );
  parts.push(
    `<rect x="${lx + 1.5}" y="${ly + 13.5}" width="9" height="9" fill="#555"/><text x="${lx + 18}" y="${ly + 22}">crop accuracy</text>`,
  );
  parts.push(`<text x="${lx}" y="${ly + 44}" fill="#555">markers on the same spot are drawn nested</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
