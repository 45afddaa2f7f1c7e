#!/usr/bin/env node
/**
 * Peak resident memory (VmHWM) of loading one long compressed song the way the trainer does, each
 * way in its own process: the whole-file path loadAudio used to take (all the bytes read, decoded
 * at once, mixed, resampled), dsp's loadAudio as it is now (decoded, mixed and resampled piece by
 * piece), the trainer's clipFeatures (loadAudio plus the log-Mel), and, for scale, loadAudio on
 * the same audio as a 22.05 kHz mono WAV. Without --file it builds a 10-minute 44.1 kHz stereo
 * 128 kbit/s MP3 from the shared GTZAN clips with ffmpeg (and says so when either is missing).
 *
 *   node packages/trainer/scripts/load-memory.mjs [--file song.mp3] [--minutes 10] [--json]
 *
 * Build first (npm run build). Figures on a shared machine are noisy.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    file: { type: "string" },
    minutes: { type: "string", default: "10" },
    mode: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

function peakRssMiB() {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/** One way of loading, in this process; prints its figures as JSON. */
async function child(mode, file) {
  const dsp = await import("@edge-audio/dsp");
  const t0 = performance.now();
  let samples;
  if (mode === "whole") {
    const d = await dsp.decodeAudioAsync(readFileSync(file), file);
    const mono = dsp.mixToMono(d.channels);
    samples = (d.sampleRate === 22050 ? mono : dsp.resample(mono, d.sampleRate, 22050)).length;
  } else if (mode === "features") {
    const { clipFeatures, defaultMelConfig } = await import("../dist/features.js");
    const f = await clipFeatures(
      { id: "x/x", path: file, label: "x", labelIndex: 0 },
      { config: defaultMelConfig(), cacheDir: null, hits: 0, misses: 0 },
    );
    samples = f.nFrames;
  } else samples = (await dsp.loadAudio(file, { sampleRate: 22050 })).length;
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ mode, samples, ms: Math.round(ms), peakMiB: peakRssMiB() }));
}

/** A long 44.1 kHz stereo MP3 made from the shared GTZAN clips, or null (with the reason) when it cannot be made. */
function buildSong(dir, minutes) {
  const data = resolve(here, "../../../../shared/data/gtzan-mini");
  if (!existsSync(data)) return { why: `shared GTZAN clips not found at ${data}` };
  try {
    execFileSync("ffmpeg", ["-version"], { stdio: "ignore" });
  } catch {
    return { why: "ffmpeg not installed; pass --file with a long MP3 or FLAC" };
  }
  const list = readdirSync(data)
    .sort()
    .flatMap((g) =>
      readdirSync(join(data, g))
        .sort()
        .map((f) => `file '${join(data, g, f)}'`),
    );
  writeFileSync(join(dir, "list.txt"), `${list.join("\n")}\n`);
  const mp3 = join(dir, "song.mp3");
  const wav = join(dir, "song.wav");
  const common = ["-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", join(dir, "list.txt")];
  const t = String(Number(minutes) * 60);
  execFileSync("ffmpeg", [...common, "-t", t, "-ar", "44100", "-ac", "2", "-b:a", "128k", mp3]);
  execFileSync("ffmpeg", [...common, "-t", t, "-ar", "22050", "-ac", "1", "-c:a", "pcm_s16le", wav]);
  return { mp3, wav };
}

if (values.mode) {
  await child(values.mode, values.file);
} else {
  const dir = mkdtempSync(join(tmpdir(), "trainer-load-memory-"));
  try {
    const song = values.file ? { mp3: values.file, wav: null } : buildSong(dir, values.minutes);
    if (song.why) {
      console.log(`not measured: ${song.why}`);
      process.exit(0);
    }
    const runs = [];
    const modes = [
      ["whole", song.mp3, "former loadAudio: whole file read, decoded, mixed, resampled"],
      ["streamed", song.mp3, "loadAudio now: decoded, mixed, resampled piece by piece"],
      ["features", song.mp3, "trainer clipFeatures (loadAudio + log-Mel)"],
      ...(song.wav ? [["streamed", song.wav, "loadAudio on the same audio as 22.05 kHz mono WAV"]] : []),
    ];
    for (const [mode, file, what] of modes) {
      const r = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), "--mode", mode, "--file", file],
        {
          encoding: "utf8",
        },
      );
      if (r.status !== 0) throw new Error(`${mode} on ${file} failed:\n${r.stderr}`);
      runs.push({ ...JSON.parse(r.stdout.trim().split("\n").at(-1)), file, what });
    }
    const loadavg = readFileSync("/proc/loadavg", "utf8").trim();
    if (values.json) console.log(JSON.stringify({ runs, loadavg }, null, 2));
    else {
      const base = runs[0].peakMiB;
      for (const r of runs)
        console.log(
          `${r.what.padEnd(58)} peak ${r.peakMiB.toFixed(1).padStart(6)} MiB (${(r.peakMiB / base).toFixed(2)}x)  ${String(r.ms).padStart(6)} ms`,
        );
      console.log(`loadavg ${loadavg}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
