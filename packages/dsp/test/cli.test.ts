import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { decodeAudio, encodeWav, logMelSpectrogram, resample } from "../src/index.js";
import { synthDemoClip } from "../src/synth.js";
import { PKG } from "./helpers.js";

const CLI = join(PKG, "dist", "cli.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe.skipIf(!existsSync(CLI))("edge-audio-dsp command line", () => {
  it("demo writes a WAV and a PNG and prints the summary (text and JSON)", () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-cli-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = run("demo", "--out", dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/synthetic/);
    expect(r.stdout).toMatch(/duration\s+10\.00 s/);
    expect(r.stdout).toMatch(/431 frames x 128 Mel bands/);
    expect(r.stdout).toMatch(/dB range\s+-?\d+\.\d \.\. -?\d+\.\d dB/);
    expect(Array.from(readFileSync(join(dir, "demo-mel.png")).subarray(0, 8))).toEqual(PNG_MAGIC);
    const wav = decodeAudio(readFileSync(join(dir, "demo.wav")), "demo.wav");
    expect(wav.sampleRate).toBe(22050);
    expect(wav.channels[0]!.length).toBe(220500);
    const j = run("demo", "--out", dir, "--json");
    const s = JSON.parse(j.stdout);
    expect(s).toMatchObject({ nFrames: 431, nMels: 128, sampleRate: 22050, channels: 1 });
    expect(s.dbMax - s.dbMin).toBeCloseTo(80, 3);
  });

  it("the demo clip is deterministic", () => {
    expect(synthDemoClip(2)).toEqual(synthDemoClip(2));
  });

  it("mel prints duration, rate, frames and dB range, and the JSON matches the library", () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-cli-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const x = Float32Array.from(
      { length: 44100 },
      (_, i) => Math.round(0.3 * Math.sin(i / 5) * 32767) / 32768,
    );
    writeFileSync(join(dir, "t.wav"), encodeWav([x], 44100));
    const r = run("mel", join(dir, "t.wav"), "--png", join(dir, "sub", "t.png"), "--json", "--n-mels", "64");
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      fileSampleRate: 44100,
      sampleRate: 22050,
      nMels: 64,
      nFrames: 44,
      durationSec: 1,
    });
    expect(existsSync(join(dir, "sub", "t.png"))).toBe(true);
    const t = run("mel", join(dir, "t.wav"), "--png", join(dir, "t2.png"));
    expect(t.stdout).toMatch(/1\.00 s \(22050 samples at 22050 Hz; file: 44100 Hz, 1 channel\)/);
    const lib = logMelSpectrogram(resample(x, 44100, 22050), { nMels: 64 });
    expect(s.dbMax).toBe(Math.max(...lib.data));
    expect(s.dbMin).toBe(Math.min(...lib.data));
  });

  it("--help works for every command", () => {
    for (const args of [["--help"], ["help"], ["mel", "--help"], ["demo", "--help"], ["help", "mel"]]) {
      const r = run(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/usage: edge-audio-dsp/);
    }
  });

  it("user errors: message names the file or the fix, non-zero exit, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-cli-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "text.wav"), "not audio at all");
    writeFileSync(join(dir, "empty.au"), "");
    const cases: [string[], number, RegExp][] = [
      [["mel", join(dir, "missing.wav"), "--png", join(dir, "o.png")], 2, /missing\.wav: no such file/],
      [
        ["mel", join(dir, "text.wav"), "--png", join(dir, "o.png")],
        2,
        /text\.wav: not a recognised audio file/,
      ],
      [["mel", join(dir, "empty.au"), "--png", join(dir, "o.png")], 2, /empty\.au: the file is empty/],
      [["mel", join(dir, "text.wav")], 2, /needs --png/],
      [["mel"], 2, /needs an input FILE/],
      [["mel", "a.wav", "--png", "o.png", "--n-mels", "x"], 2, /--n-mels takes a whole number/],
      [["mel", "a.wav", "--png", "o.png", "--hop", "0"], 2, /--hop must be at least 1, got 0/],
      [["mel", "a.wav", "--png", "o.png", "--n-fft", "1e3"], 2, /--n-fft takes a whole number.*"1e3"/],
      [["mel", "a.wav", "--png", "o.png", "--top-db", "-3"], 2, /--top-db must be at least 0, got -3/],
      [["mel", "a.wav", "--png", "o.png", "--sample-rate", "1000", "--n-mels", "9000"], 2, /MelConfig.nMels/],
      [["frobnicate"], 2, /unknown command 'frobnicate'/],
      [["demo", "--bogus"], 2, /unknown option --bogus/],
    ];
    for (const [args, code, msg] of cases) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(code);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
