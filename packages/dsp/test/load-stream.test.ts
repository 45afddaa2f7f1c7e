/**
 * loadAudioChannels reads MP3 and FLAC in pieces (decoded, mixed and resampled as they are read).
 * Its output must equal the whole-file path it replaced, bit for bit: all the bytes decoded at
 * once, then mixToMono, then resample. Checked on the committed tones and, where the tools and the
 * shared GTZAN clips are there, on real music encoded by ffmpeg (MP3, 44.1 kHz stereo) and flac.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type DecodedAudio,
  decodeAudioAsync,
  encodeWav,
  type LoadOptions,
  loadAudio,
  loadAudioChannels,
  MonoAtRate,
  mixToMono,
  resample,
} from "../src/index.js";
import { DATA, HAVE_AU, HAVE_DATA, PKG, SKIP_DATA_MSG } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "dsp-load-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The whole-file path: every byte read, decoded at once, then mixed and resampled. */
async function loadWhole(path: string, opts: LoadOptions): Promise<DecodedAudio> {
  const d = await decodeAudioAsync(readFileSync(path), path);
  const target = opts.sampleRate === undefined ? 22050 : opts.sampleRate;
  let channels = opts.mono ? [mixToMono(d.channels)] : d.channels;
  if (target !== null && target !== d.sampleRate)
    channels = channels.map((c) => resample(c, d.sampleRate, target, opts.resampler));
  return { sampleRate: target ?? d.sampleRate, channels };
}

/** Whether two sample arrays hold the same float32 values, bit for bit. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    )
  );
}

const OPTIONS: Array<[string, LoadOptions]> = [
  ["mono at 22050 Hz", { sampleRate: 22050, mono: true }],
  ["all channels at 16000 Hz", { sampleRate: 16000, mono: false }],
  ["all channels at the file's rate", { sampleRate: null, mono: false }],
  ["mono at the file's rate", { sampleRate: null, mono: true }],
];

async function expectSameAsWhole(path: string): Promise<void> {
  for (const [what, opts] of OPTIONS) {
    const streamed = await loadAudioChannels(path, opts);
    const whole = await loadWhole(path, opts);
    expect(streamed.sampleRate, `${path}, ${what}`).toBe(whole.sampleRate);
    expect(streamed.channels.length, `${path}, ${what}`).toBe(whole.channels.length);
    for (let c = 0; c < whole.channels.length; c++)
      expect(sameBits(streamed.channels[c]!, whole.channels[c]!), `${path}, ${what}, channel ${c}`).toBe(
        true,
      );
  }
}

/** Whether a command-line tool runs here (the tests that need one skip with a message otherwise). */
function has(tool: string, versionFlag: string): boolean {
  try {
    execFileSync(tool, [versionFlag], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("loadAudioChannels streams MP3 and FLAC with the whole-file output", () => {
  it("the committed MP3 and FLAC tones, every channel and rate option", async () => {
    for (const name of ["tone.mp3", "tone.flac"]) await expectSameAsWhole(join(PKG, "test/fixtures", name));
  });

  it("WAV and .au keep the whole-file output too", async () => {
    const wav = join(dir, "stereo44.wav");
    const t = (f: number) =>
      Float32Array.from({ length: 44100 }, (_, i) => 0.4 * Math.sin((2 * Math.PI * f * i) / 44100));
    writeFileSync(wav, encodeWav([t(440), t(1250)], 44100));
    await expectSameAsWhole(wav);
    if (HAVE_AU) await expectSameAsWhole(join(DATA, "gtzan-au", "blues.00000.au"));
    else console.warn(SKIP_DATA_MSG);
  });

  it("a file that is no MP3 inside gives the whole-file decoder's error", async () => {
    const fake = join(dir, "fake.mp3");
    writeFileSync(fake, new Uint8Array(4000).fill(7));
    const whole = await decodeAudioAsync(readFileSync(fake), fake).catch((e: Error) => e);
    const streamed = await loadAudio(fake).catch((e: Error) => e);
    expect(whole).toBeInstanceOf(Error);
    expect((streamed as Error).message).toBe((whole as Error).message);
  });

  const tools = has("ffmpeg", "-version") && has("flac", "--version");
  const real = HAVE_DATA && tools;
  it.skipIf(!real)("real GTZAN clips as 44.1 kHz stereo MP3 (ffmpeg) and FLAC (flac)", async () => {
    for (const genre of ["blues", "metal", "classical"]) {
      const src = join(DATA, "gtzan-mini", genre, `${genre}.00001.wav`);
      const mp3 = join(dir, `${genre}.mp3`);
      const flac = join(dir, `${genre}.flac`);
      execFileSync("ffmpeg", [
        "-loglevel",
        "error",
        "-y",
        "-i",
        src,
        "-ar",
        "44100",
        "-ac",
        "2",
        "-b:a",
        "128k",
        mp3,
      ]);
      copyFileSync(src, join(dir, `${genre}.wav`));
      execFileSync("flac", ["--silent", "--force", "-o", flac, join(dir, `${genre}.wav`)]);
      await expectSameAsWhole(mp3);
      await expectSameAsWhole(flac);
    }
  });
  if (!real)
    console.warn(
      !HAVE_DATA
        ? SKIP_DATA_MSG
        : "ffmpeg or flac not installed: the real-clip MP3/FLAC comparison is skipped",
    );
});

describe("MonoAtRate: pieces of a stream to mono at a rate", () => {
  const tone = (n: number, f: number, rate: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate));

  it("gives the whole signal's mix and resampling bit for bit, whatever the piece sizes", () => {
    const left = tone(20_000, 440, 44100);
    const right = tone(20_000, 1250, 44100);
    const whole = resample(mixToMono([left, right]), 44100, 22050);
    for (const size of [1, 577, 4096, 20_000]) {
      const got: number[] = [];
      const mono = new MonoAtRate("song.mp3", 22050, (y) => got.push(...y));
      for (let i = 0; i < left.length; i += size)
        mono.piece({
          sampleRate: 44100,
          channels: [left.subarray(i, i + size), right.subarray(i, i + size)],
        });
      mono.end();
      expect(sameBits(Float32Array.from(got), whole), `pieces of ${size}`).toBe(true);
      expect(mono.samples).toBe(whole.length);
    }
  });

  it("keeps the first piece's channel count and passes a stream at the target rate through", () => {
    const got: number[] = [];
    const mono = new MonoAtRate("pipe", null, (y) => got.push(...y));
    mono.piece({ sampleRate: 8000, channels: [Float32Array.of(1, 2), Float32Array.of(3, 4)] });
    mono.piece({ sampleRate: 8000, channels: [Float32Array.of(6)] }); // fewer: its channel repeated
    mono.piece({
      sampleRate: 8000,
      channels: [Float32Array.of(1), Float32Array.of(3), Float32Array.of(100)],
    });
    mono.end();
    expect(got).toEqual([2, 3, 6, 2]);
  });

  it("refuses a first piece whose rate is absurdly low, naming the source", () => {
    const mono = new MonoAtRate("damaged.wav", 22050, () => {});
    expect(() => mono.piece({ sampleRate: 1, channels: [new Float32Array(4)] })).toThrow(
      /damaged\.wav.*1 Hz|1 Hz.*refused/,
    );
  });
});
