/**
 * Compressed input against WAV through `pi-runner`, in one run:
 * - peak resident memory (VmHWM) of `pi-runner classify` on a 10-minute song as 44.1 kHz stereo
 *   128 kbps MP3 and as 22.05 kHz mono WAV (goal: within 10 MiB);
 * - `pi-runner eval` time over MP3 copies of a folder against the WAV originals (goal: at most
 *   1.3x, judged on the small model), with where the time goes (decode + resample, features,
 *   inference per clip, from `classify`'s own timings, and the MP3 decoder alone);
 * - the same eval ratio with a ResNet-152 quantized to int8, whose inference hides the decoding.
 *
 *   node dist/cli.js audio-in [--data DIR] [--limit N] [--no-big] [--out FILE]
 *
 * The MP3s are made with ffmpeg at bench time in a temporary folder; without ffmpeg the suite
 * says so and does nothing. The models have random weights (ResNet-18 width 0.25; ResNet-152
 * int8, calibrated on the clips, skipped with --no-big or without a built quantizer): the audio
 * path, not the model, is what is measured.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultMelConfig, openAudioFile } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { PI_RUNNER, QUANTIZE_CLI, REPO_ROOT } from "./paths.js";

const root = REPO_ROOT;
const runner = PI_RUNNER;
const quantizeCli = QUANTIZE_CLI;
const LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function has(tool: string): boolean {
  return spawnSync(tool, ["-version"], { stdio: "ignore" }).status === 0;
}

function ffmpeg(args: string[]): void {
  const r = spawnSync("ffmpeg", ["-v", "error", "-y", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(" ")}: ${r.stderr.trim()}`);
}

/** Runs pi-runner in a fresh process; stdout, stderr, wall time and peak resident memory (MiB). */
function runRunner(args: string[]): { out: string; err: string; ms: number; peakMB: number } {
  const hwm = join(tmpdir(), "edge-audio-hwm.cjs");
  writeFileSync(
    hwm,
    'process.on("exit",()=>{const m=/VmHWM:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status","utf8"));process.stderr.write("VMHWM_KB "+m[1]+"\\n")});',
  );
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["-r", hwm, runner, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const ms = performance.now() - t0;
  const m = /VMHWM_KB (\d+)/.exec(r.stderr);
  if (r.status !== 0 && r.status !== 1) throw new Error(`pi-runner ${args.join(" ")}: ${r.stderr.trim()}`);
  return {
    out: r.stdout,
    err: r.stderr.replace(/VMHWM_KB \d+\n/, ""),
    ms,
    peakMB: m ? Number(m[1]) / 1024 : Number.NaN,
  };
}

interface ClipTimes {
  decode: number;
  features: number;
  inference: number;
}

/** Mean per-clip milliseconds of `classify` over files (decode + resample, features, inference). */
function classifyTimes(model: string, files: string[]): ClipTimes {
  const r = runRunner(["classify", "--model", model, "--threads", "1", ...files]);
  const lines = r.out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { ms?: ClipTimes; error?: string });
  const bad = lines.find((l) => l.error);
  if (bad) throw new Error(`pi-runner classify: ${bad.error}`);
  const sum = { decode: 0, features: 0, inference: 0 };
  for (const l of lines) for (const k of Object.keys(sum) as (keyof ClipTimes)[]) sum[k] += l.ms![k];
  for (const k of Object.keys(sum) as (keyof ClipTimes)[]) sum[k] /= lines.length;
  return sum;
}

function listWavs(dir: string): { label: string; path: string }[] {
  const out: { label: string; path: string }[] = [];
  for (const label of readdirSync(dir).sort())
    for (const f of readdirSync(join(dir, label)).sort())
      if (f.endsWith(".wav")) out.push({ label, path: join(dir, label, f) });
  return out;
}

/** A ResNet-152 (random weights) quantized to int8, calibrated on `calib`; null without the quantizer. */
function bigModel(work: string, calib: string): string | null {
  if (!existsSync(quantizeCli)) return null;
  const fp32 = join(work, "r152-fp32.eam");
  const int8 = join(work, "r152-int8.eam");
  const c = createRandomModel({ depth: 152, numClasses: 10 }, 1);
  c.labels = LABELS;
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  writeModel(fp32, c);
  log("audio-in: quantizing a ResNet-152 to int8 ...");
  const q = spawnSync(
    process.execPath,
    [
      quantizeCli,
      "--model",
      fp32,
      "--mode",
      "int8",
      "--out",
      int8,
      "--calib",
      calib,
      "--calib-crops",
      "16",
      "--threads",
      "1",
    ],
    { encoding: "utf8" },
  );
  if (q.status !== 0) throw new Error(`quantizer: ${q.stderr.trim().split("\n").at(-1)}`);
  rmSync(fp32);
  return int8;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

export async function audioInputSuite(argv: string[], out?: string): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string", default: join(root, "../shared/data/gtzan-mini") },
      limit: { type: "string", default: "40" },
      minutes: { type: "string", default: "10" },
      out: { type: "string" },
      quick: { type: "boolean" },
      "no-big": { type: "boolean" },
    },
    allowPositionals: true,
    strict: false,
  });
  if (!has("ffmpeg")) {
    console.log("audio-in: skipped, ffmpeg is not installed (it makes the MP3 copies)");
    return;
  }
  const dataDir = resolve(String(values.data));
  const clips = listWavs(dataDir).slice(0, Number(values.limit));
  if (clips.length === 0) throw new Error(`${dataDir}: no <label>/*.wav clips`);
  const minutes = Number(values.minutes);
  const work = mkdtempSync(join(tmpdir(), "bench-audio-in-"));
  try {
    log(`audio-in: ${clips.length} clips from ${dataDir}, work in ${work}`);
    const model = join(work, "r18w025.eam");
    const c = createRandomModel({ depth: 18, width: 0.25, numClasses: 10 }, 1);
    c.labels = LABELS;
    c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
    writeModel(model, c);

    // the folder, as WAV originals and as 44.1 kHz stereo 128 kbps MP3 copies
    const wavDir = join(work, "wav");
    const mp3Dir = join(work, "mp3");
    const mp3s: string[] = [];
    for (const clip of clips) {
      for (const d of [wavDir, mp3Dir]) mkdirSync(join(d, clip.label), { recursive: true });
      const name = clip.path.split("/").pop()!;
      writeFileSync(join(wavDir, clip.label, name), readFileSync(clip.path));
      const mp3 = join(mp3Dir, clip.label, name.replace(/\.wav$/, ".mp3"));
      ffmpeg(["-i", clip.path, "-ar", "44100", "-ac", "2", "-b:a", "128k", mp3]);
      mp3s.push(mp3);
    }
    // a long song: the clips one after another, cut to the length asked for
    const list = join(work, "list.txt");
    writeFileSync(list, clips.map((c) => `file '${c.path.replace(/'/g, "'\\''")}'`).join("\n"));
    const songWav = join(work, "song.wav");
    const songMp3 = join(work, "song.mp3");
    ffmpeg([
      "-f",
      "concat",
      "-safe",
      "0",
      "-stream_loop",
      "-1",
      "-i",
      list,
      "-t",
      String(minutes * 60),
      "-ar",
      "22050",
      "-ac",
      "1",
      songWav,
    ]);
    ffmpeg(["-i", songWav, "-ar", "44100", "-ac", "2", "-b:a", "128k", songMp3]);

    const rows: Record<string, unknown>[] = [];
    // peak memory of classify on the song, each format in a fresh process
    const mem: Record<string, number> = {};
    for (const [name, f] of [
      ["wav 22.05 kHz mono", songWav],
      ["mp3 44.1 kHz stereo", songMp3],
    ] as const) {
      const r = runRunner(["classify", "--model", model, "--threads", "1", f]);
      const line = JSON.parse(r.out.trim().split("\n")[0]!) as {
        error?: string;
        mode?: string;
        seconds?: number;
      };
      if (line.error) throw new Error(line.error);
      mem[name] = r.peakMB;
      rows.push({
        measure: `classify ${minutes}-min song, ${name}`,
        peakRssMB: r.peakMB,
        wallMs: r.ms,
        mode: line.mode,
        load: load(),
      });
    }
    const memDelta = mem["mp3 44.1 kHz stereo"]! - mem["wav 22.05 kHz mono"]!;

    // eval over the folder, each format, wall and msPerClip, with each model
    const evals: Record<string, number> = {};
    const evalRatios: Record<string, number> = {};
    const big = values["no-big"] ? null : bigModel(work, wavDir);
    if (!big && !values["no-big"]) log("audio-in: ResNet-152 int8 skipped: the quantizer is not built");
    for (const [modelName, m] of [
      ["resnet18-w0.25", model],
      ...(big ? ([["resnet152-int8", big]] as const) : []),
    ] as const) {
      const ms: Record<string, number> = {};
      for (const [name, d] of [
        ["wav", wavDir],
        ["mp3", mp3Dir],
      ] as const) {
        const r = runRunner(["eval", "--model", m, "--data", d, "--threads", "1", "--json"]);
        const rep = JSON.parse(r.out) as { msPerClip: number; clips: number; skipped: unknown[] };
        ms[name] = rep.msPerClip;
        rows.push({
          measure: `eval ${rep.clips} clips, ${name}, ${modelName}`,
          msPerClip: rep.msPerClip,
          peakRssMB: r.peakMB,
          wallMs: r.ms,
          load: load(),
        });
      }
      evalRatios[modelName] = ms.mp3! / ms.wav!;
      if (modelName === "resnet18-w0.25") Object.assign(evals, ms);
    }
    // where the time goes: classify's own split, and the MP3 decoder alone in this process
    const tw = classifyTimes(
      model,
      clips.map((c) => c.path),
    );
    const tm = classifyTimes(model, mp3s);
    // the decoder as the runner drives it (frame scan + mpg123, pieces not kept), nothing after it
    let mpgMs = 0;
    for (const f of mp3s) {
      const t0 = performance.now();
      await (await openAudioFile(f)).read(() => {});
      mpgMs += performance.now() - t0;
    }
    mpgMs /= mp3s.length;
    const result = {
      load: load(),
      rows,
      classifyMs: { wav: tw, mp3: tm },
      mp3DecodeMsPerClip: mpgMs,
      evalRatios,
      goals: {
        memoryDeltaMB: memDelta,
        memoryGoalMet: memDelta <= 10,
        evalRatio: evals.mp3! / evals.wav!,
        evalGoalMet: evals.mp3! / evals.wav! <= 1.3,
      },
    };
    console.log(`audio-in (load average ${result.load})`);
    for (const r of rows) console.log(`  ${JSON.stringify(r)}`);
    console.log(
      `  per clip, classify: wav decode ${tw.decode.toFixed(1)} / features ${tw.features.toFixed(1)} / inference ${tw.inference.toFixed(1)} ms; mp3 decode+resample ${tm.decode.toFixed(1)} / features ${tm.features.toFixed(1)} / inference ${tm.inference.toFixed(1)} ms; mp3 decode alone (frame scan + mpg123) ${mpgMs.toFixed(1)} ms`,
    );
    console.log(
      `  eval mp3 / wav by model: ${Object.entries(evalRatios)
        .map(([k, v]) => `${k} ${v.toFixed(2)}x`)
        .join(", ")} (load average ${load()})`,
    );
    console.log(
      `  goals: peak RSS mp3 - wav = ${memDelta.toFixed(1)} MiB (goal <= 10: ${result.goals.memoryGoalMet ? "met" : "missed"}); eval mp3 / wav = ${result.goals.evalRatio.toFixed(2)}x (goal <= 1.3: ${result.goals.evalGoalMet ? "met" : "missed"})`,
    );
    const file = resolve(out ?? "results/audio-in.json");
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
