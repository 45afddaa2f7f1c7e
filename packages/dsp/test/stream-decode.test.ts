/**
 * Decoding in pieces: MP3 and FLAC through the frame scanner/splitter and the stream decoders,
 * files of every format through openAudioFile, and the spectrogram built piece by piece. Every
 * streamed result is compared with the whole-input one, bit for bit.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  AudioDecodeError,
  decodeAudio,
  decodeAudioAsync,
  decodeCompressedStream,
  encodeWav,
  logMelSpectrogram,
  type MelConfig,
  MelStream,
  openAudioFile,
  SpectrogramBuilder,
} from "../src/index.js";
import { decodePcmFile } from "../src/load.js";
import { PKG, rng } from "./helpers.js";

const MP3 = new Uint8Array(readFileSync(join(PKG, "test/fixtures/tone.mp3")));
const FLAC = new Uint8Array(readFileSync(join(PKG, "test/fixtures/tone.flac")));
const dir = mkdtempSync(join(tmpdir(), "dsp-stream-decode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pieces(b: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

const same = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Every decoded sample is finite and in [-1, 1). */
function inRange(channels: Float32Array[]): boolean {
  for (const ch of channels) for (const v of ch) if (!(v >= -1 && v < 1)) return false;
  return true;
}

describe("MP3 and FLAC in pieces", () => {
  for (const [kind, bytes] of [
    ["mp3", MP3],
    ["flac", FLAC],
  ] as const) {
    it(`${kind}: any piece size gives the whole-file samples, bit for bit`, async () => {
      const whole = await decodeAudioAsync(bytes, `x.${kind}`);
      expect(whole.channels[0]!.length).toBeGreaterThan(20000);
      for (const size of [1, 7, 418, 4096, 65536]) {
        const s = await decodeCompressedStream(kind, pieces(bytes, size), `x.${kind}`);
        expect(s.audio.sampleRate).toBe(whole.sampleRate);
        expect(s.audio.channels.length).toBe(whole.channels.length);
        for (let c = 0; c < whole.channels.length; c++)
          expect(same(s.audio.channels[c]!, whole.channels[c]!), `${kind} piece ${size} channel ${c}`).toBe(
            true,
          );
        expect(s.report).toEqual({ damagedFrames: 0, clampedSamples: 0, missing: null });
      }
    });

    it(`${kind}: a file cut short decodes as far as it goes and says what is missing`, async () => {
      const whole = await decodeAudioAsync(bytes, `x.${kind}`);
      const cut = bytes.subarray(0, Math.floor(bytes.length * 0.6) + 3);
      for (const size of [100, cut.length]) {
        const s = await decodeCompressedStream(kind, pieces(cut, size), `x.${kind}`);
        const n = s.audio.channels[0]!.length;
        expect(n).toBeGreaterThan(whole.channels[0]!.length * 0.4);
        expect(n).toBeLessThan(whole.channels[0]!.length * 0.7);
        expect(s.report.missing, `${kind} ${size}`).not.toBeNull();
        expect(s.report.missing!.detail).toMatch(/missing/);
        expect(s.report.damagedFrames).toBe(0);
      }
    });

    it(`${kind}: a damaged stretch in the middle is skipped and counted, and the rest decodes`, async () => {
      const whole = await decodeAudioAsync(bytes, `x.${kind}`);
      const bad = bytes.slice();
      const at = Math.floor(bytes.length / 2);
      bad.fill(0, at, at + 200);
      for (const size of [333, bad.length]) {
        const s = await decodeCompressedStream(kind, pieces(bad, size), `x.${kind}`);
        expect(s.report.damagedFrames, `${kind} ${size}`).toBeGreaterThanOrEqual(1);
        expect(s.report.missing).toBeNull();
        // the frames the stretch touches are lost (MP3 frames of 1152 samples, FLAC ones of 4608
        // here), not the rest of the file
        expect(s.audio.channels[0]!.length).toBeGreaterThanOrEqual(whole.channels[0]!.length - 2 * 4608);
        expect(inRange(s.audio.channels)).toBe(true);
      }
    });
  }

  it("refuses random bytes named .mp3 (no valid frame), whatever the piece size", async () => {
    const r = rng(7);
    const junk = Uint8Array.from({ length: 5000 }, () => Math.floor(r() * 256));
    await expect(decodeAudioAsync(junk, "junk.mp3")).rejects.toThrow(/holds no valid MPEG audio frame/);
    await expect(decodeCompressedStream("mp3", pieces(junk, 100), "junk.mp3")).rejects.toThrow(
      AudioDecodeError,
    );
  });

  it("structure-aware MP3/FLAC mutants: decoded with finite samples in [-1, 1), or refused with AudioDecodeError", async () => {
    const r = rng(20261203);
    const counts: Record<string, number> = {};
    const count = (k: string) => {
      counts[k] = (counts[k] ?? 0) + 1;
    };
    const mutations = [
      "header bits",
      "payload bytes",
      "cut",
      "inserted junk",
      "zeroed stretch",
      "repeated frame",
    ];
    for (let i = 0; i < 240; i++) {
      const kind = i % 2 ? "flac" : "mp3";
      const base = kind === "mp3" ? MP3 : FLAC;
      const m = mutations[Math.floor(i / 2) % mutations.length]!;
      let b = base.slice();
      const at = 200 + Math.floor(r() * (b.length - 400));
      if (m === "header bits") {
        // the next frame sync after `at`: flip bits of its header fields
        let p = at;
        while (p + 4 < b.length && !(b[p] === 0xff && (b[p + 1]! & 0xe0) === 0xe0)) p++;
        if (p + 4 < b.length) b[p + 2] = b[p + 2]! ^ (1 << Math.floor(r() * 8));
      } else if (m === "payload bytes")
        for (let k = 0; k < 8; k++) b[at + Math.floor(r() * 100)] = Math.floor(r() * 256);
      else if (m === "cut") b = b.subarray(0, at);
      else if (m === "inserted junk") {
        const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * 256));
        b = new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
      } else if (m === "zeroed stretch") b.fill(0, at, at + 1 + Math.floor(r() * 500));
      else b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at, at + 600), ...b.subarray(at)]);
      const size = [64, 1000, b.length][i % 3]!;
      try {
        const s = await decodeCompressedStream(kind, pieces(b, size), `m.${kind}`);
        expect(inRange(s.audio.channels), `${kind} ${m}`).toBe(true);
        const whole = await decodeCompressedStream(kind, [b], `m.${kind}`);
        for (let c = 0; c < whole.audio.channels.length; c++)
          expect(same(s.audio.channels[c]!, whole.audio.channels[c]!), `${kind} ${m} ${size}`).toBe(true);
        count(`${kind} ${m}: decoded`);
      } catch (e) {
        expect(e, `${kind} ${m}`).toBeInstanceOf(AudioDecodeError);
        count(`${kind} ${m}: refused`);
      }
    }
    console.log(`compressed mutants (240): ${JSON.stringify(counts)}`);
  });
});

describe("files in pieces", () => {
  function fmtWav(opts: {
    channels: number;
    rate: number;
    fmtBytes: number;
    listBytes: number;
    frames: number;
  }) {
    const { channels, rate, fmtBytes, listBytes, frames } = opts;
    const data = frames * channels * 2;
    const out = new Uint8Array(12 + 8 + listBytes + 8 + fmtBytes + 8 + data);
    const v = new DataView(out.buffer);
    const str = (at: number, s: string) => {
      for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
    };
    str(0, "RIFF");
    v.setUint32(4, out.length - 8, true);
    str(8, "WAVE");
    let p = 12;
    str(p, "LIST");
    v.setUint32(p + 4, listBytes, true);
    p += 8 + listBytes;
    str(p, "fmt ");
    v.setUint32(p + 4, fmtBytes, true);
    v.setUint16(p + 8, 1, true);
    v.setUint16(p + 10, channels, true);
    v.setUint32(p + 12, rate, true);
    v.setUint32(p + 16, rate * channels * 2, true);
    v.setUint16(p + 20, channels * 2, true);
    v.setUint16(p + 22, 16, true);
    p += 8 + fmtBytes;
    str(p, "data");
    v.setUint32(p + 4, data, true);
    p += 8;
    const r = rng(channels + rate);
    for (let i = 0; i < frames * channels; i++) v.setInt16(p + 2 * i, Math.floor((r() - 0.5) * 30000), true);
    return out;
  }

  it("valid WAVs with a 2 MiB LIST chunk, 65 channels, 800 kHz or a 2000-byte fmt chunk are read in pieces, skipped chunks unread", async () => {
    for (const o of [
      { channels: 1, rate: 22050, fmtBytes: 16, listBytes: 2 << 20, frames: 5000 },
      { channels: 65, rate: 22050, fmtBytes: 16, listBytes: 4, frames: 2000 },
      { channels: 1, rate: 800_000, fmtBytes: 16, listBytes: 4, frames: 9000 },
      { channels: 2, rate: 44100, fmtBytes: 2000, listBytes: 4, frames: 3000 },
    ]) {
      const bytes = fmtWav(o);
      const f = join(dir, `big-${o.channels}-${o.rate}-${o.fmtBytes}-${o.listBytes}.wav`);
      writeFileSync(f, bytes);
      const whole = decodeAudio(bytes, f);
      const got = await decodePcmFile(f, 4096);
      expect(got, JSON.stringify(o)).not.toBeNull();
      for (let c = 0; c < o.channels; c++) expect(same(got!.channels[c]!, whole.channels[c]!)).toBe(true);
      const file = await openAudioFile(f, { chunkBytes: 4096 });
      expect(file.estimatedSeconds).toBeCloseTo(o.frames / o.rate, 9);
      let n = 0;
      const report = await file.read((p) => {
        expect(
          same(
            p.channels[o.channels - 1]!,
            whole.channels[o.channels - 1]!.subarray(n, n + p.channels[0]!.length),
          ),
        ).toBe(true);
        n += p.channels[0]!.length;
      });
      expect(report.frames).toBe(o.frames);
    }
  });

  it("a WAV whose data chunk claims more than is there is read as far as it goes, saying how much is missing", async () => {
    const w = encodeWav([Float32Array.from({ length: 22050 }, (_, i) => Math.sin(i / 9) * 0.5)], 22050);
    const f = join(dir, "short.wav");
    writeFileSync(f, w.subarray(0, w.length - 11025 * 2));
    const file = await openAudioFile(f);
    let n = 0;
    const report = await file.read((p) => {
      n += p.channels[0]!.length;
    });
    expect(n).toBe(11025);
    expect(report.missing!.detail).toMatch(
      /declares 22050 more bytes than it holds \(0\.50 s of audio missing\)/,
    );
    await expect(openAudioFile(f, { onShort: "refuse" })).rejects.toThrow(/truncated/);
  });

  it("never opens a FIFO or a device: both are refused from their metadata", async () => {
    await expect(openAudioFile("/dev/zero")).rejects.toThrow(
      /\/dev\/zero: is not a regular file \(a device\)/,
    );
    await expect(openAudioFile(dir)).rejects.toThrow(/is a directory/);
    const fifo = join(dir, "fifo.wav");
    try {
      execFileSync("mkfifo", [fifo]);
    } catch {
      console.log("mkfifo not available: the FIFO case is skipped");
      return;
    }
    await expect(openAudioFile(fifo)).rejects.toThrow(/is not a regular file \(a FIFO\).*pass -/);
  });
});

describe("spectrogram in pieces", () => {
  const x = Float32Array.from(
    { length: 40_000 },
    (_, i) => Math.sin(i * 0.013) * 0.5 + Math.sin(i * 0.41) * 0.1,
  );
  const configs: Partial<MelConfig>[] = [
    {},
    { nFft: 256, winLength: 256, hopLength: 512, nMels: 40 }, // hop longer than the frame
    { nFft: 512, winLength: 512, hopLength: 2000, nMels: 20, center: false },
    { nFft: 256, winLength: 256, hopLength: 300, nMels: 30, padMode: "constant" },
    { topDb: null, nMels: 64 },
  ];
  it("SpectrogramBuilder and MelStream equal logMelSpectrogram for any piece size and length guess, hop > nFft included", () => {
    for (const cfg of configs) {
      const want = logMelSpectrogram(x, cfg);
      for (const [size, guess] of [
        [1, 0],
        [777, 10],
        [5000, want.nFrames],
        [40_000, want.nFrames * 3],
      ] as const) {
        const b = new SpectrogramBuilder(cfg, guess);
        const s = new MelStream(cfg);
        let frames = 0;
        for (let i = 0; i < x.length; i += size) {
          b.push(x.subarray(i, i + size));
          frames += s.push(x.subarray(i, i + size)).nFrames;
        }
        frames += s.end().nFrames;
        const got = b.end();
        expect(frames).toBe(want.nFrames);
        expect(got.nFrames).toBe(want.nFrames);
        expect(same(got.data, want.data), `${JSON.stringify(cfg)} piece ${size} guess ${guess}`).toBe(true);
      }
    }
  });
});
