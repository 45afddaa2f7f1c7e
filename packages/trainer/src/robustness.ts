/**
 * The robustness suite: clip accuracy of a model's held-out clips (the split stored in the model
 * file) when the audio is quieter, louder and limited, MP3-encoded, at 48 kHz, noisy or
 * low-passed. Every condition is written as an audio file and classified from that file by the
 * engine with the same dsp and engine calls as `pi-runner classify` (decode, resample to the
 * model's rate, whole-clip log-Mel, evaluation crops through modelCrop, mean probabilities).
 * MP3, limiter, 48 kHz and low-pass copies come from ffmpeg and sox; a condition whose tool is
 * not installed is skipped with a message.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProgressBar } from "@edge-audio/common";
import {
  encodeWav,
  evalCropOffsets,
  loadAudio,
  loadAudioChannels,
  logMelSpectrogram,
  logMelSpectrogramFile,
  type MelConfig,
  modelCrop,
  resolveMelConfig,
} from "@edge-audio/dsp";
import { loadModel, type Model } from "@edge-audio/engine-wasm";
import { type Clip, DatasetError, scanDataset } from "./dataset.js";
import { esc } from "./metrics.js";
import { hashString, Rng } from "./rng.js";

export type Tool = "builtin" | "sox" | "ffmpeg" | "sox+ffmpeg";

/** One way of degrading a clip: writes the degraded copy of `src` to `dst` (extension `ext`). */
export interface Condition {
  name: string;
  /** What is done to the audio, for the table. */
  description: string;
  tool: Tool;
  ext: "wav" | "mp3";
  make(src: string, dst: string, seed: number): Promise<void>;
}

async function scaled(src: string, dst: string, gainDb: number): Promise<void> {
  const a = await loadAudioChannels(src, { sampleRate: null, mono: false });
  const g = 10 ** (gainDb / 20);
  writeFileSync(
    dst,
    encodeWav(
      a.channels.map((ch) => ch.map((v) => v * g)),
      a.sampleRate,
    ),
  );
}

/** White Gaussian noise with power `snrDb` below the clip's mean power (over all channels). */
async function noisy(src: string, dst: string, snrDb: number, seed: number): Promise<void> {
  const a = await loadAudioChannels(src, { sampleRate: null, mono: false });
  let power = 0;
  let n = 0;
  for (const ch of a.channels) {
    for (const v of ch) power += v * v;
    n += ch.length;
  }
  const sigma = Math.sqrt(power / Math.max(1, n) / 10 ** (snrDb / 10));
  const rng = new Rng(seed);
  writeFileSync(
    dst,
    encodeWav(
      a.channels.map((ch) => ch.map((v) => v + sigma * rng.normal())),
      a.sampleRate,
    ),
  );
}

function run(tool: "sox" | "ffmpeg", args: string[]): void {
  const r = spawnSync(tool, args, { encoding: "utf8" });
  if (r.error || r.status !== 0)
    throw new Error(
      `${tool} ${args.join(" ")} failed: ${(r.stderr || String(r.error)).trim().split("\n").pop()}`,
    );
}

const ffmpeg = (src: string, dst: string, ...opts: string[]) =>
  run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", src, ...opts, dst]);

/**
 * sox's very-high-quality rate conversion flat to 99 % of the lower Nyquist frequency: a 22.05 kHz
 * clip's copy at 44.1 or 48 kHz keeps its top Mel band (within 0.8 dB after coming back). The
 * defaults lose it on the way up: sox `rate -v` (95 %) 15-19 dB and ffmpeg's own resampler
 * 12-14 dB in the top band, so a "48 kHz" or "MP3" copy would test the converter, not the runner.
 */
const TRANSPARENT_RATE = ["rate", "-v", "-b", "99"];

/** The MP3 condition: up to 44.1 kHz stereo float (sox), then LAME at 128 kbit/s (ffmpeg). */
function mp3Copy(src: string, dst: string): void {
  const wide = `${dst}.44k.wav`;
  try {
    run("sox", [
      src,
      "-b",
      "32",
      "-e",
      "floating-point",
      wide,
      ...TRANSPARENT_RATE,
      "44100",
      "channels",
      "2",
    ]);
    ffmpeg(wide, dst, "-c:a", "libmp3lame", "-b:a", "128k");
  } finally {
    rmSync(wide, { force: true });
  }
}

/** The conditions of issue 13, in report order ("clean" is the file itself). */
export const CONDITIONS: Condition[] = [
  { name: "clean", description: "the file as it is", tool: "builtin", ext: "wav", make: async () => {} },
  {
    name: "gain-20",
    description: "-20 dB, 16-bit WAV",
    tool: "builtin",
    ext: "wav",
    make: (s, d) => scaled(s, d, -20),
  },
  {
    name: "gain-12",
    description: "-12 dB, 16-bit WAV",
    tool: "builtin",
    ext: "wav",
    make: (s, d) => scaled(s, d, -12),
  },
  {
    name: "gain+6-limited",
    description: "+6 dB then ffmpeg alimiter at -1 dBFS (no auto level), 16-bit WAV",
    tool: "ffmpeg",
    ext: "wav",
    make: async (s, d) => ffmpeg(s, d, "-af", "volume=6dB,alimiter=limit=0.891:level=0", "-c:a", "pcm_s16le"),
  },
  {
    name: "mp3-128k",
    description:
      "MP3 128 kbit/s, 44.1 kHz stereo (sox rate -v -b 99 to 44.1 kHz, then ffmpeg libmp3lame), decoded by the runner",
    tool: "sox+ffmpeg",
    ext: "mp3",
    make: async (s, d) => mp3Copy(s, d),
  },
  {
    name: "48k",
    description: "resampled to 48 kHz (sox rate -v -b 99), 16-bit WAV; the runner resamples back",
    tool: "sox",
    ext: "wav",
    make: async (s, d) => run("sox", [s, "-b", "16", d, ...TRANSPARENT_RATE, "48000"]),
  },
  {
    name: "noise-20dB",
    description: "white Gaussian noise at 20 dB SNR (clip power), 16-bit WAV",
    tool: "builtin",
    ext: "wav",
    make: (s, d, seed) => noisy(s, d, 20, seed),
  },
  {
    name: "lowpass-4k",
    description: "low-pass at 4 kHz (sox sinc -4000, steep FIR), 16-bit WAV",
    tool: "sox",
    ext: "wav",
    make: async (s, d) => run("sox", [s, "-b", "16", d, "sinc", "-4000"]),
  },
];

/** Why a condition with an unavailable tool is skipped: "ffmpeg is not installed", "sox and ffmpeg are ...". */
function missingToolsText(tool: Tool): string {
  const missing = tool.split("+").filter((t) => !toolAvailable(t as Tool));
  return `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not installed`;
}

/** Whether a tool runs here (builtin always does). */
export function toolAvailable(tool: Tool): boolean {
  if (tool === "builtin") return true;
  if (tool === "sox+ffmpeg") return toolAvailable("sox") && toolAvailable("ffmpeg");
  const r = spawnSync(tool, [tool === "ffmpeg" ? "-version" : "--version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

/** A model file ready to classify audio files the way pi-runner does. */
export class EngineClassifier {
  private constructor(
    readonly path: string,
    readonly model: Model,
    readonly mel: MelConfig,
    readonly labels: string[],
    readonly cropFrames: number,
  ) {}

  static async open(path: string, threads?: number): Promise<EngineClassifier> {
    if (!existsSync(path))
      throw new DatasetError(
        `${path}: no such model file; pass --model with a .eam file written by edge-audio export`,
      );
    let model: Model;
    try {
      model = await loadModel(path, threads ? { threads } : {});
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.includes(path) ? msg : `${path}: ${msg}`);
    }
    const h = model.header;
    try {
      if (!h.mel)
        throw new Error("the model file carries no Mel configuration; export it again with the trainer");
      const mel = resolveMelConfig(h.mel as Partial<MelConfig>);
      const shape = model.plan.input.shape;
      const frames = shape.length === 4 ? shape[2]! : shape[1]!;
      return new EngineClassifier(path, model, mel, h.labels, frames);
    } catch (e) {
      await model.dispose();
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  }

  /** Clip ids (`label/stem`) the model's metadata lists as held out, or null. */
  heldOut(): Set<string> | null {
    const s = this.model.header.metadata.get("trainer.split") as { test?: unknown } | undefined;
    return Array.isArray(s?.test) && s.test.length ? new Set(s.test.map(String)) : null;
  }

  /** Mean crop probabilities of a file: pi-runner's clip mode (`classify FILE`). */
  async classifyFile(file: string): Promise<Float32Array> {
    const direct = await logMelSpectrogramFile(file, this.mel);
    const spec =
      direct?.spectrogram ??
      logMelSpectrogram(await loadAudio(file, { sampleRate: this.mel.sampleRate, mono: true }), this.mel);
    const sum = new Float32Array(this.labels.length);
    const crop = new Float32Array(this.mel.nMels * this.cropFrames);
    const offsets = evalCropOffsets(spec.nFrames, this.cropFrames);
    for (const off of offsets) {
      const p = this.model.run(modelCrop(spec, off, this.cropFrames, this.mel, crop));
      for (let i = 0; i < sum.length; i++) sum[i]! += p[i]!;
    }
    return sum.map((v) => v / offsets.length);
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

export interface ConditionResult {
  name: string;
  description: string;
  tool: Tool;
  /** Why the condition did not run (tool not installed), or null. */
  skipped: string | null;
  clips: number;
  correct: number;
  accuracy: number | null;
  /** Accuracy minus clean accuracy, in points (null when either is missing). */
  deltaPoints: number | null;
}

export interface ClipPrediction {
  model: string;
  id: string;
  label: string;
  /** Predicted label per condition that ran (and the error message where a file failed). */
  predicted: Record<string, string>;
}

export interface RobustnessReport {
  models: string[];
  data: string;
  split: "test" | "all";
  conditions: ConditionResult[];
  clips: ClipPrediction[];
  seconds: number;
}

export interface RobustnessOptions {
  models: string[];
  data: string;
  /** "test": the clips each model's trainer.split holds out (default); "all": every clip. */
  split?: "test" | "all";
  /** Condition names to run (default all). */
  conditions?: string[];
  /** Keep the degraded files here instead of a temporary folder that is removed. */
  keepDir?: string;
  threads?: number;
  seed?: number;
  verbose?: boolean;
}

/** The clips of `data` a model is evaluated on, checked against its labels. */
function clipsFor(clf: EngineClassifier, data: string, split: "test" | "all"): Clip[] {
  const ds = scanDataset(data);
  let clips = ds.clips;
  if (split === "test") {
    const held = clf.heldOut();
    if (!held)
      throw new DatasetError(
        `${clf.path}: the model's metadata (trainer.split) lists no held-out clips; pass --split all to use every clip`,
      );
    clips = clips.filter((c) => held.has(c.id));
    if (!clips.length)
      throw new DatasetError(
        `${data}: none of the ${held.size} clips ${clf.path} holds out is in this folder; pass the folder it was trained from`,
      );
  }
  const unknown = [...new Set(clips.map((c) => c.label))].filter((l) => !clf.labels.includes(l));
  if (unknown.length)
    throw new DatasetError(
      `${data}: label folder(s) ${unknown.join(", ")} are not classes of ${clf.path} (${clf.labels.join(", ")})`,
    );
  return clips;
}

function selectConditions(names: string[] | undefined): Condition[] {
  if (!names) return CONDITIONS;
  const unknown = names.filter((n) => !CONDITIONS.some((c) => c.name === n));
  if (unknown.length)
    throw new DatasetError(
      `unknown condition(s) ${unknown.join(", ")}; choose from ${CONDITIONS.map((c) => c.name).join(", ")}`,
    );
  return CONDITIONS.filter((c) => c.name === "clean" || names.includes(c.name));
}

/** Runs the suite over one or more models (e.g. the folds of a cross-validation), pooled. */
export async function runRobustness(opts: RobustnessOptions): Promise<RobustnessReport> {
  const t0 = performance.now();
  const split = opts.split ?? "test";
  const conditions = selectConditions(opts.conditions);
  const available = new Map<Tool, boolean>();
  const skipped = new Map<string, string>();
  for (const c of conditions) {
    if (!available.has(c.tool)) available.set(c.tool, toolAvailable(c.tool));
    if (!available.get(c.tool)) skipped.set(c.name, missingToolsText(c.tool));
  }
  for (const [name, why] of skipped)
    if (opts.verbose !== false) process.stderr.write(`robustness: skipping ${name}: ${why}\n`);
  const work = opts.keepDir ?? mkdtempSync(join(tmpdir(), "edge-audio-robustness-"));
  const predictions: ClipPrediction[] = [];
  try {
    for (const [m, path] of opts.models.entries()) {
      const clf = await EngineClassifier.open(path, opts.threads);
      try {
        const clips = clipsFor(clf, opts.data, split);
        const active = conditions.filter((c) => !skipped.has(c.name));
        const dir = join(work, `model-${m + 1}`);
        const title = `robustness ${path}`;
        const total = clips.length * active.length;
        const bar = new ProgressBar({ title, total, unit: "clip", quiet: opts.verbose === false });
        let done = 0;
        for (const clip of clips) {
          const row: ClipPrediction = { model: path, id: clip.id, label: clip.label, predicted: {} };
          for (const c of active) {
            row.predicted[c.name] = await degradeAndClassify(clf, clip, c, dir, opts.seed ?? 1);
            bar.update(++done, `${clip.id} ${c.name}`);
          }
          predictions.push(row);
        }
        bar.finish(`${title}: ${clips.length} clips x ${active.length} conditions`);
      } finally {
        await clf.dispose();
      }
    }
  } finally {
    if (!opts.keepDir) rmSync(work, { recursive: true, force: true });
  }
  return {
    models: opts.models,
    data: opts.data,
    split,
    conditions: summarise(conditions, skipped, predictions),
    clips: predictions,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Writes the degraded copy of a clip and returns the predicted label (or "error: ..."). */
async function degradeAndClassify(
  clf: EngineClassifier,
  clip: Clip,
  c: Condition,
  dir: string,
  seed: number,
): Promise<string> {
  let file = clip.path;
  if (c.name !== "clean") {
    mkdirSync(join(dir, c.name, clip.label), { recursive: true });
    file = join(dir, c.name, `${clip.id}.${c.ext}`);
    await c.make(clip.path, file, hashString(`${c.name}:${clip.id}`, seed));
  }
  try {
    const p = await clf.classifyFile(file);
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
    return clf.labels[best] ?? String(best);
  } catch (e) {
    return `error: ${(e as Error).message.split("\n")[0]}`;
  }
}

function summarise(
  conditions: Condition[],
  skipped: Map<string, string>,
  clips: ClipPrediction[],
): ConditionResult[] {
  const rows = conditions.map((c): ConditionResult => {
    const ran = clips.filter((p) => c.name in p.predicted);
    const correct = ran.filter((p) => p.predicted[c.name] === p.label).length;
    return {
      name: c.name,
      description: c.description,
      tool: c.tool,
      skipped: skipped.get(c.name) ?? null,
      clips: ran.length,
      correct,
      accuracy: ran.length ? correct / ran.length : null,
      deltaPoints: null,
    };
  });
  const clean = rows.find((r) => r.name === "clean")?.accuracy ?? null;
  for (const r of rows) if (r.accuracy !== null && clean !== null) r.deltaPoints = 100 * (r.accuracy - clean);
  return rows;
}

/** The report as a markdown table. */
export function robustnessMarkdown(r: RobustnessReport): string {
  const pct = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(1)} %`);
  const lines = [
    "| condition | what is done to the audio | clips | correct | accuracy | vs clean |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const c of r.conditions) {
    const delta =
      c.deltaPoints === null || c.name === "clean"
        ? ""
        : `${c.deltaPoints >= 0 ? "+" : ""}${c.deltaPoints.toFixed(1)}`;
    lines.push(
      c.skipped
        ? `| ${c.name} | ${c.description} | - | - | skipped: ${c.skipped} | |`
        : `| ${c.name} | ${c.description} | ${c.clips} | ${c.correct} | ${pct(c.accuracy)} | ${delta} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A horizontal bar chart of accuracy per condition, with the clean accuracy and the band of
 * `tolerancePoints` below it marked.
 */
export function robustnessSvg(r: RobustnessReport, title: string, tolerancePoints = 2.5): string {
  const rows = r.conditions;
  const left = 130;
  const barW = 440;
  const rowH = 28;
  const top = 48;
  const W = left + barW + 90;
  const H = top + rows.length * rowH + 46;
  const x = (acc: number) => left + acc * barW;
  const clean = rows.find((c) => c.name === "clean")?.accuracy ?? null;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`;
  out += `<title>${esc(title)}</title><rect width="${W}" height="${H}" fill="white"/>`;
  out += `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  if (clean !== null) {
    const lo = x(Math.max(0, clean - tolerancePoints / 100));
    out += `<rect x="${lo}" y="${top - 6}" width="${x(clean) - lo}" height="${rows.length * rowH + 4}" fill="#dfeedd"/>`;
    out += `<line x1="${x(clean)}" y1="${top - 6}" x2="${x(clean)}" y2="${top + rows.length * rowH - 2}" stroke="#2ca02c" stroke-dasharray="4 3"/>`;
  }
  rows.forEach((c, i) => {
    const y = top + i * rowH;
    out += `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${esc(c.name)}</text>`;
    if (c.accuracy === null) {
      out += `<text x="${left + 6}" y="${y + 15}" font-size="11" fill="#888">skipped${c.skipped ? `: ${esc(c.skipped)}` : ""}</text>`;
      return;
    }
    const fill = c.name === "clean" ? "#2ca02c" : "#1f77b4";
    out += `<rect x="${left}" y="${y + 3}" width="${(c.accuracy * barW).toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>`;
    out += `<text x="${x(c.accuracy) + 6}" y="${y + 15}" font-size="11">${(100 * c.accuracy).toFixed(1)} % (${c.correct}/${c.clips})</text>`;
  });
  const axisY = top + rows.length * rowH + 4;
  for (let t = 0; t <= 10; t += 2) {
    out += `<line x1="${x(t / 10)}" y1="${axisY}" x2="${x(t / 10)}" y2="${axisY + 5}" stroke="#555"/>`;
    out += `<text x="${x(t / 10)}" y="${axisY + 17}" text-anchor="middle" font-size="10">${t * 10} %</text>`;
  }
  out += `<text x="${left + barW / 2}" y="${axisY + 34}" text-anchor="middle" font-size="11">clip accuracy (green band: within ${tolerancePoints} points of clean)</text>`;
  return `${out}</svg>\n`;
}
