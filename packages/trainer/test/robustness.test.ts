/**
 * Audio augmentation (filter response, noise level, cached copies) and the robustness suite on a
 * tiny model: conditions, pooling, skipped tools, gain invariance of a crop-max model, CLI.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaultMelConfig as dspMelConfig } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addWhiteNoise,
  augmentSamples,
  butterworthLowpass,
  noAudioAugment,
  resampleRoundTrip,
} from "../src/augment-audio.js";
import { scanDataset } from "../src/dataset.js";
import { generateDemoCorpus } from "../src/demo.js";
import { clipFeatureCopies, type FeatureStore } from "../src/features.js";
import { Rng } from "../src/rng.js";
import {
  CONDITIONS,
  robustnessMarkdown,
  robustnessSvg,
  runRobustness,
  toolAvailable,
} from "../src/robustness.js";

const tmp = mkdtempSync(join(tmpdir(), "trainer-robustness-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, "demo");
const cli = resolve(__dirname, "../dist/cli.js");

function tone(hz: number, n = 22050, rate = 22050): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));
}
function rmsDb(x: Float32Array, from = 4000): number {
  let s = 0;
  for (let i = from; i < x.length; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10(s / (x.length - from));
}

describe("audio augmentation", () => {
  it("8th-order Butterworth low-pass: flat in the passband, -3 dB at the cut-off, -48 dB an octave up", () => {
    const at = (hz: number) => rmsDb(butterworthLowpass(tone(hz), 22050, 4000)) - rmsDb(tone(hz));
    expect(Math.abs(at(1000))).toBeLessThan(0.01);
    expect(at(4000)).toBeCloseTo(-3.01, 1);
    expect(at(8000)).toBeLessThan(-47);
  });

  it("white noise lands at the SNR asked for", () => {
    const x = tone(440, 22050 * 4);
    const y = Float32Array.from(x);
    addWhiteNoise(y, 20, new Rng(3));
    const noise = y.map((v, i) => v - x[i]!);
    expect(rmsDb(x, 0) - rmsDb(noise, 0)).toBeCloseTo(20, 0);
  });

  it("copies are seeded, leave the input alone, and do nothing when switched off", () => {
    const x = tone(300);
    const cfg = {
      ...noAudioAugment(),
      variants: 1,
      noiseProb: 1,
      lowpassProb: 1,
      gainDb: [-6, 6] as [number, number],
    };
    const a = augmentSamples(x, 22050, cfg, new Rng(9));
    expect(augmentSamples(x, 22050, cfg, new Rng(9))).toEqual(a);
    expect(a).not.toEqual(x);
    expect(x).toEqual(tone(300));
    expect(augmentSamples(x, 22050, noAudioAugment(), new Rng(9))).toEqual(x);
  });

  it("a resampling copy is the dsp resampler's round trip: the band above its passband is gone, the rest kept", () => {
    const mix = tone(1000).map((v, i) => v + Math.sin((2 * Math.PI * 10800 * i) / 22050));
    const y = resampleRoundTrip(mix, 22050, 48000);
    expect(y).toHaveLength(mix.length);
    const inner = (a: Float32Array) => a.subarray(4096, a.length - 4096);
    const low = butterworthLowpass(inner(y), 22050, 4000);
    expect(rmsDb(low) - rmsDb(inner(tone(1000)))).toBeCloseTo(0, 1); // 1 kHz kept
    expect(rmsDb(inner(y)) - rmsDb(inner(mix))).toBeLessThan(-2.9); // 10.8 kHz removed: half the power
    const cfg = { ...noAudioAugment(), variants: 1, resampleProb: 1 };
    const rates = new Set(
      [0, 1, 2, 3, 4, 5].map((s) => {
        const rng = new Rng(s);
        const copy = augmentSamples(mix, 22050, cfg, rng);
        const r44 = resampleRoundTrip(mix, 22050, 44100);
        return copy.every((v, i) => v === r44[i]) ? 44100 : copy.every((v, i) => v === y[i]) ? 48000 : -1;
      }),
    );
    expect([...rates].sort()).toEqual([44100, 48000]);
  });

  it("caches every copy under its recipe and returns the same bits from the cache", async () => {
    generateDemoCorpus({ out: data, clipsPerClass: 1, seconds: 3.2 });
    const clip = scanDataset(data).clips[0]!;
    const store: FeatureStore = { config: dspMelConfig(), cacheDir: join(tmp, "cache"), hits: 0, misses: 0 };
    const augment = { config: { ...noAudioAugment(), variants: 2, noiseProb: 1, lowpassProb: 0.5 }, seed: 4 };
    const first = await clipFeatureCopies(clip, store, augment);
    expect(first).toHaveLength(3);
    expect(store.misses).toBe(3);
    expect(first[1]!.data).not.toEqual(first[0]!.data);
    const again = await clipFeatureCopies(clip, store, augment);
    expect(store.hits).toBe(3);
    expect(again.map((f) => Array.from(f.data))).toEqual(first.map((f) => Array.from(f.data)));
    const other = await clipFeatureCopies(clip, store, { ...augment, seed: 5 });
    expect(other[0]!.data).toEqual(first[0]!.data);
    expect(other[1]!.data).not.toEqual(first[1]!.data);
  });
});

describe("robustness suite on a tiny model", () => {
  let model: string;
  beforeAll(() => {
    if (!existsSync(data)) generateDemoCorpus({ out: data, clipsPerClass: 1, seconds: 3.2 });
    const ds = scanDataset(data);
    const c = createRandomModel({ depth: 18, width: 0.0625, numClasses: ds.labels.length }, 5);
    c.labels = ds.labels;
    c.mel = dspMelConfig({ normalization: "crop-max" }) as unknown as typeof c.mel;
    const test = ds.clips.filter((_, i) => i % 3 === 0).map((x) => x.id);
    c.metadata = { "trainer.split": { description: "test", seed: 1, test, val: [] } };
    model = join(tmp, "tiny.eam");
    writeModel(model, c);
  });

  it("reports every condition on the held-out clips, skipping those whose tool is absent", async () => {
    const r = await runRobustness({ models: [model], data, threads: 1, verbose: false });
    expect(r.conditions.map((c) => c.name)).toEqual(CONDITIONS.map((c) => c.name));
    for (const c of r.conditions) {
      if (toolAvailable(c.tool)) {
        expect(c.skipped, c.name).toBeNull();
        expect(c.clips, c.name).toBe(4);
      } else {
        expect(c.skipped).toContain("not installed");
        expect(c.accuracy).toBeNull();
      }
    }
    expect(r.clips.map((p) => p.id)).toEqual(
      scanDataset(data)
        .clips.filter((_, i) => i % 3 === 0)
        .map((x) => x.id),
    );
    // a crop-max model sees a quieter copy of a clip as the same clip
    for (const p of r.clips) {
      expect(p.predicted["gain-20"], p.id).toBe(p.predicted.clean);
      expect(p.predicted["gain-12"], p.id).toBe(p.predicted.clean);
    }
    const md = robustnessMarkdown(r);
    expect(md).toContain("| gain-20 |");
    expect(robustnessSvg(r, "tiny")).toContain("<rect");
  });

  it("skips the ffmpeg and sox conditions with a message when neither is on the PATH", () => {
    const out = spawnSync(
      process.execPath,
      [
        cli,
        "robustness",
        "--model",
        model,
        "--data",
        data,
        "--conditions",
        "mp3-128k,lowpass-4k,gain-12",
        "--json",
        "--threads",
        "1",
      ],
      { encoding: "utf8", env: { ...process.env, PATH: "" } },
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toContain("skipping mp3-128k: sox and ffmpeg are not installed");
    const r = JSON.parse(out.stdout) as {
      conditions: Array<{ name: string; skipped: string | null; clips: number }>;
    };
    expect(r.conditions.map((c) => [c.name, c.skipped])).toEqual([
      ["clean", null],
      ["gain-12", null],
      ["mp3-128k", "sox and ffmpeg are not installed"],
      ["lowpass-4k", "sox is not installed"],
    ]);
  });

  it("pools several models, and the command line has help, errors and output files", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, "robustness", ...args], { encoding: "utf8" });
    const help = run("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("usage: edge-audio robustness");
    expect(help.stdout).toContain("mp3-128k");
    expect(run("--data", data).status).toBe(2);
    expect(run("--model", model).stderr).toContain("--data");
    const missing = run("--model", join(tmp, "none.eam"), "--data", data);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("none.eam: no such model file");
    expect(run("--model", model, "--data", data, "--conditions", "loud").stderr).toContain(
      "unknown condition",
    );
    const out = join(tmp, "report");
    const r = run(
      "--model",
      model,
      "--model",
      model,
      "--data",
      data,
      "--conditions",
      "gain-20",
      "--out",
      out,
      "--quiet",
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("| clean | the file as it is | 8 |");
    for (const f of ["robustness.md", "robustness.svg", "robustness.json"])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "robustness.json"), "utf8")).models).toHaveLength(2);
  });
});
