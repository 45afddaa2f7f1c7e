import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  AudioDecodeError,
  decodeAudio,
  decodeAudioAsync,
  encodeWav,
  loadAudio,
  loadAudioChannels,
  RealFFT,
} from "../src/index.js";
import { DATA, HAVE_AU, HAVE_DATA, PKG, SKIP_DATA_MSG } from "./helpers.js";

// ---- writers for test files, straight from the format specifications ----

function riff(chunks: [string, Uint8Array][]): Uint8Array {
  const body = chunks.reduce((a, [, d]) => a + 8 + d.length + (d.length & 1), 4);
  const out = new Uint8Array(8 + body);
  const v = new DataView(out.buffer);
  out.set([82, 73, 70, 70], 0);
  v.setUint32(4, body, true);
  out.set([87, 65, 86, 69], 8);
  let p = 12;
  for (const [id, d] of chunks) {
    for (let i = 0; i < 4; i++) out[p + i] = id.charCodeAt(i);
    v.setUint32(p + 4, d.length, true);
    out.set(d, p + 8);
    p += 8 + d.length + (d.length & 1);
  }
  return out;
}

function fmtChunk(
  tag: number,
  channels: number,
  rate: number,
  bits: number,
  extensible?: { valid: number; sub: number },
) {
  const d = new Uint8Array(extensible ? 40 : 16);
  const v = new DataView(d.buffer);
  const block = (channels * bits) / 8;
  v.setUint16(0, extensible ? 0xfffe : tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * block, true);
  v.setUint16(12, block, true);
  v.setUint16(14, bits, true);
  if (extensible) {
    v.setUint16(16, 22, true);
    v.setUint16(18, extensible.valid, true);
    v.setUint32(20, 0, true);
    v.setUint16(24, extensible.sub, true);
    d.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return d;
}

/** Interleaved little-endian integer samples of `bits` (container) width. */
function intData(values: number[][], bits: number, unsigned8 = false): Uint8Array {
  const nch = values.length;
  const n = values[0]!.length;
  const bps = bits / 8;
  const d = new Uint8Array(n * nch * bps);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nch; c++) {
      let v = values[c]![i]!;
      if (bits === 8 && unsigned8) v += 128;
      for (let b = 0; b < bps; b++) d[(i * nch + c) * bps + b] = (v >> (8 * b)) & 0xff;
    }
  return d;
}

function auFile(encoding: number, channels: number, rate: number, data: Uint8Array, sizeField?: number) {
  const out = new Uint8Array(28 + data.length);
  const v = new DataView(out.buffer);
  out.set([0x2e, 0x73, 0x6e, 0x64]);
  v.setUint32(4, 28); // header with a 4-byte annotation
  v.setUint32(8, sizeField ?? data.length);
  v.setUint32(12, encoding);
  v.setUint32(16, rate);
  v.setUint32(20, channels);
  out.set(data, 28);
  return out;
}

function errorOf(fn: () => unknown): AudioDecodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AudioDecodeError);
    return e as AudioDecodeError;
  }
  throw new Error("expected an AudioDecodeError");
}

describe("WAV", () => {
  const ints = (bits: number) => {
    const top = 2 ** (bits - 1);
    return [-top, -top + 1, -1, 0, 1, top - 1, Math.round(top / 3)];
  };
  for (const bits of [16, 24, 32]) {
    it(`PCM ${bits}-bit, 2 channels, scaled as int / 2^${bits - 1}`, () => {
      const l = ints(bits);
      const r = l.map((v) => -v - 1);
      const wav = riff([
        ["fmt ", fmtChunk(1, 2, 8000, bits)],
        ["data", intData([l, r], bits)],
      ]);
      const d = decodeAudio(wav, "x.wav");
      expect(d.sampleRate).toBe(8000);
      expect(d.channels).toHaveLength(2);
      // float32 cannot hold (2^31 - 1) / 2^31; the decoder keeps [-1, 1) by stopping at 1 - 2^-24
      const scaled = (v: number) => Math.min(Math.fround(v / 2 ** (bits - 1)), 1 - 2 ** -24);
      expect(Array.from(d.channels[0]!)).toEqual(l.map(scaled));
      expect(Array.from(d.channels[1]!)).toEqual(r.map(scaled));
      expect(Math.min(...d.channels[0]!)).toBe(-1);
      expect(Math.max(...d.channels[0]!)).toBeLessThan(1);
    });
  }

  it("PCM 8-bit is unsigned with 128 as zero", () => {
    const wav = riff([
      ["fmt ", fmtChunk(1, 1, 8000, 8)],
      ["data", Uint8Array.of(0, 64, 128, 192, 255)],
    ]);
    expect(Array.from(decodeAudio(wav).channels[0]!)).toEqual([-1, -0.5, 0, 0.5, 127 / 128]);
  });

  it("float 32 and 64, any channel count, unknown and odd-sized chunks skipped", () => {
    const values = [0.5, -0.25, 0.125, -1, 0.999];
    for (const bits of [32, 64] as const) {
      const d = new Uint8Array(values.length * 3 * (bits / 8));
      const v = new DataView(d.buffer);
      values.forEach((x, i) => {
        for (let c = 0; c < 3; c++) {
          const p = (i * 3 + c) * (bits / 8);
          if (bits === 32) v.setFloat32(p, x * (c + 1) * 0.3, true);
          else v.setFloat64(p, x * (c + 1) * 0.3, true);
        }
      });
      const wav = riff([
        ["JUNK", new Uint8Array(3)],
        ["fmt ", fmtChunk(3, 3, 48000, bits)],
        ["LIST", new TextEncoder().encode("INFOISFT\x05\x00\x00\x00test\x00")],
        ["data", d],
        ["id3 ", new Uint8Array(10)],
      ]);
      const out = decodeAudio(wav);
      expect(out.sampleRate).toBe(48000);
      expect(out.channels).toHaveLength(3);
      for (let c = 0; c < 3; c++)
        values.forEach((x, i) => {
          expect(out.channels[c]![i]).toBe(Math.fround(x * (c + 1) * 0.3));
        });
    }
  });

  it("WAVE_FORMAT_EXTENSIBLE PCM (24 valid bits in 32) and float", () => {
    const l = [-(2 ** 31), 256, 2 ** 31 - 256];
    const wav = riff([
      ["fmt ", fmtChunk(1, 1, 96000, 32, { valid: 24, sub: 1 })],
      ["data", intData([l], 32)],
    ]);
    expect(Array.from(decodeAudio(wav).channels[0]!)).toEqual(l.map((v) => Math.fround(v / 2 ** 31)));
    const f = new Uint8Array(8);
    new DataView(f.buffer).setFloat32(0, 0.75, true);
    new DataView(f.buffer).setFloat32(4, -0.5, true);
    const wf = riff([
      ["fmt ", fmtChunk(3, 2, 44100, 32, { valid: 32, sub: 3 })],
      ["data", f],
    ]);
    const d = decodeAudio(wf);
    expect([d.channels[0]![0], d.channels[1]![0]]).toEqual([0.75, -0.5]);
  });

  it("G.711 mu-law and A-law (WAV tags 7 and 6) decode to the standard 16-bit levels", () => {
    const mu = decodeAudio(
      riff([
        ["fmt ", fmtChunk(7, 1, 8000, 8)],
        ["data", Uint8Array.of(0xff, 0x7f, 0x80, 0x00, 0xf0)],
      ]),
    ).channels[0]!;
    expect(Array.from(mu, (v) => v * 32768)).toEqual([0, 0, 32124, -32124, 120]);
    const al = decodeAudio(
      riff([
        ["fmt ", fmtChunk(6, 1, 8000, 8)],
        ["data", Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a)],
      ]),
    ).channels[0]!;
    expect(Array.from(al, (v) => v * 32768)).toEqual([8, -8, 32256, -32256]);
  });

  it("round-trips encodeWav", () => {
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.round(Math.sin(i) * 30000) / 32768);
    expect(decodeAudio(encodeWav([x], 22050)).channels[0]).toEqual(x);
  });
});

describe("Sun/NeXT .au", () => {
  it("big-endian PCM 8/16/24/32, float 32/64, mu-law, A-law", () => {
    const be = (values: number[], bytes: number) => {
      const d = new Uint8Array(values.length * bytes);
      values.forEach((v, i) => {
        for (let b = 0; b < bytes; b++) d[i * bytes + b] = (v >> (8 * (bytes - 1 - b))) & 0xff;
      });
      return d;
    };
    expect(Array.from(decodeAudio(auFile(2, 1, 8000, be([-128, 0, 64, 127], 1))).channels[0]!)).toEqual([
      -1,
      0,
      0.5,
      127 / 128,
    ]);
    expect(Array.from(decodeAudio(auFile(3, 1, 8000, be([-32768, 16384, 32767], 2))).channels[0]!)).toEqual([
      -1,
      0.5,
      Math.fround(32767 / 32768),
    ]);
    expect(Array.from(decodeAudio(auFile(4, 1, 8000, be([-(2 ** 23), 2 ** 22], 3))).channels[0]!)).toEqual([
      -1, 0.5,
    ]);
    expect(Array.from(decodeAudio(auFile(5, 1, 8000, be([-(2 ** 31), 2 ** 30], 4))).channels[0]!)).toEqual([
      -1, 0.5,
    ]);
    const f32 = new Uint8Array(8);
    new DataView(f32.buffer).setFloat32(0, 0.25);
    new DataView(f32.buffer).setFloat32(4, -0.75);
    const st = decodeAudio(auFile(6, 2, 16000, f32));
    expect([st.sampleRate, st.channels[0]![0], st.channels[1]![0]]).toEqual([16000, 0.25, -0.75]);
    const f64 = new Uint8Array(8);
    new DataView(f64.buffer).setFloat64(0, 0.1);
    expect(decodeAudio(auFile(7, 1, 8000, f64)).channels[0]![0]).toBe(Math.fround(0.1));
    expect(Array.from(decodeAudio(auFile(1, 1, 8000, Uint8Array.of(0x80))).channels[0]!)).toEqual([
      32124 / 32768,
    ]);
    expect(Array.from(decodeAudio(auFile(27, 1, 8000, Uint8Array.of(0xd5))).channels[0]!)).toEqual([
      8 / 32768,
    ]);
  });

  it("an unknown data size (0xffffffff) means 'to the end of the file'", () => {
    const d = decodeAudio(auFile(3, 1, 8000, Uint8Array.of(0, 1, 0, 2), 0xffffffff));
    expect(d.channels[0]!.length).toBe(2);
  });

  it.skipIf(!HAVE_AU || !HAVE_DATA)(
    "GTZAN blues.00000.au equals the start of blues.00000.wav sample for sample",
    () => {
      const au = decodeAudio(readFileSync(join(DATA, "gtzan-au", "blues.00000.au")), "blues.00000.au");
      const wav = decodeAudio(
        readFileSync(join(DATA, "gtzan-mini", "blues", "blues.00000.wav")),
        "blues.00000.wav",
      );
      expect(au.sampleRate).toBe(22050);
      expect(wav.sampleRate).toBe(22050);
      expect(au.channels).toHaveLength(1);
      expect(au.channels[0]!.length).toBe(661794);
      const w = wav.channels[0]!;
      expect(w.length).toBeGreaterThan(22050 * 10);
      expect(au.channels[0]!.subarray(0, w.length)).toEqual(w);
    },
  );
  if (!HAVE_AU || !HAVE_DATA) it.skip(SKIP_DATA_MSG, () => {});
});

describe("MP3 and FLAC through npm decoders", () => {
  const peakHz = (x: Float32Array, sr: number) => {
    const fft = new RealFFT(4096);
    const out = fft.forward(x.subarray(4096, 8192));
    let best = 1;
    for (let k = 1; k <= 2048; k++)
      if (Math.hypot(out[2 * k]!, out[2 * k + 1]!) > Math.hypot(out[2 * best]!, out[2 * best + 1]!)) best = k;
    return (best * sr) / 4096;
  };

  it("FLAC (stereo 440 Hz / 1 kHz, 16-bit) decodes losslessly", async () => {
    const bytes = readFileSync(join(PKG, "test/fixtures/tone.flac"));
    expect(() => decodeAudio(bytes, "tone.flac")).toThrow(/decodeAudioAsync/);
    const d = await decodeAudioAsync(bytes, "tone.flac");
    expect(d.sampleRate).toBe(44100);
    expect(d.channels).toHaveLength(2);
    expect(d.channels[0]!.length).toBe(22050);
    for (const v of d.channels[0]!.subarray(0, 1000)) expect(Number.isInteger(v * 32768)).toBe(true);
    expect(Math.abs(peakHz(d.channels[0]!, 44100) - 440)).toBeLessThan(11);
    expect(Math.abs(peakHz(d.channels[1]!, 44100) - 1000)).toBeLessThan(11);
  });

  it("MP3 (1 kHz tone) decodes, and loadAudio resamples it to 22050 Hz mono", async () => {
    const file = join(PKG, "test/fixtures/tone.mp3");
    const d = await decodeAudioAsync(readFileSync(file), file);
    expect(d.sampleRate).toBe(44100);
    expect(d.channels).toHaveLength(1); // a mono MP3 stays mono
    expect(Math.abs(peakHz(d.channels[0]!, 44100) - 1000)).toBeLessThan(11);
    const x = await loadAudio(file);
    expect(Math.abs(x.length - Math.ceil((d.channels[0]!.length * 22050) / 44100))).toBeLessThanOrEqual(1);
    expect(Math.abs(peakHz(x, 22050) - 1000)).toBeLessThan(6);
  });
});

describe("bad input gives typed errors naming the file", () => {
  const good = riff([
    ["fmt ", fmtChunk(1, 1, 8000, 16)],
    ["data", intData([[1, 2, 3, 4]], 16)],
  ]);

  it("empty", () => {
    const e = errorOf(() => decodeAudio(new Uint8Array(0), "song.wav"));
    expect(e.code).toBe("EMPTY");
    expect(e.file).toBe("song.wav");
    expect(e.message).toMatch(/^song\.wav: .*empty/);
  });

  it("not audio", () => {
    const e = errorOf(() => decodeAudio(new TextEncoder().encode("hello, this is a text file"), "notes.wav"));
    expect(e.code).toBe("NOT_AUDIO");
    expect(e.message).toMatch(/notes\.wav/);
  });

  it("truncated at every length", () => {
    for (let n = 1; n < good.length; n++) {
      const cut = good.subarray(0, n);
      let ok = false;
      try {
        decodeAudio(cut, "cut.wav");
        ok = true;
      } catch (e) {
        expect(e, `length ${n}`).toBeInstanceOf(AudioDecodeError);
      }
      expect(ok, `length ${n} must not decode silently`).toBe(false);
    }
    const au = auFile(3, 1, 8000, new Uint8Array(100));
    for (let n = 1; n < 28; n++) errorOf(() => decodeAudio(au.subarray(0, n), "cut.au"));
  });

  it("header lying about the data length", () => {
    const lie = good.slice();
    new DataView(lie.buffer).setUint32(40, 1_000_000, true);
    const e = errorOf(() => decodeAudio(lie, "lie.wav"));
    expect(e.code).toBe("TRUNCATED");
    expect(e.message).toMatch(/declares 1000000 bytes but only 8 follow/);
    const e2 = errorOf(() => decodeAudio(auFile(3, 1, 8000, new Uint8Array(10), 5000), "lie.au"));
    expect(e2.code).toBe("TRUNCATED");
    const e3 = errorOf(() => {
      const b = auFile(3, 1, 8000, new Uint8Array(10));
      new DataView(b.buffer).setUint32(4, 9999);
      decodeAudio(b, "offset.au");
    });
    expect(e3.message).toMatch(/offset\.au/);
  });

  it("unsupported encodings", () => {
    const adpcm = riff([
      ["fmt ", fmtChunk(2, 1, 8000, 4)],
      ["data", new Uint8Array(10)],
    ]);
    expect(errorOf(() => decodeAudio(adpcm, "adpcm.wav")).code).toBe("UNSUPPORTED_ENCODING");
    const pcm12 = riff([
      ["fmt ", fmtChunk(1, 1, 8000, 12)],
      ["data", new Uint8Array(10)],
    ]);
    expect(errorOf(() => decodeAudio(pcm12, "12bit.wav")).message).toMatch(/12 bits/);
    const g721 = auFile(23, 1, 8000, new Uint8Array(10));
    expect(errorOf(() => decodeAudio(g721, "g721.au")).code).toBe("UNSUPPORTED_ENCODING");
  });

  it("NaN and Inf in float files", () => {
    const d = new Uint8Array(12);
    new DataView(d.buffer).setFloat32(4, Number.NaN, true);
    const wav = riff([
      ["fmt ", fmtChunk(3, 1, 8000, 32)],
      ["data", d],
    ]);
    const e = errorOf(() => decodeAudio(wav, "nan.wav"));
    expect(e.code).toBe("NON_FINITE");
    expect(e.message).toMatch(/sample 1 of channel 0 is NaN/);
    const f = new Uint8Array(8);
    new DataView(f.buffer).setFloat64(0, Number.NEGATIVE_INFINITY);
    expect(errorOf(() => decodeAudio(auFile(7, 1, 8000, f), "inf.au")).code).toBe("NON_FINITE");
  });

  it("zero-length data decodes to zero samples; loadAudio refuses it", async () => {
    const wav = riff([
      ["fmt ", fmtChunk(1, 1, 8000, 16)],
      ["data", new Uint8Array(0)],
    ]);
    expect(decodeAudio(wav).channels[0]!.length).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "dsp-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "zero.wav"), wav);
    await expect(loadAudio(join(dir, "zero.wav"))).rejects.toThrow(/zero\.wav: .*no audio samples/);
  });

  it("missing files and directories", async () => {
    await expect(loadAudio("/nonexistent/a.wav")).rejects.toThrow(/\/nonexistent\/a\.wav: no such file/);
    await expect(loadAudio(PKG)).rejects.toThrow(/is a directory/);
  });

  it("damaged MP3/FLAC bytes give a typed error, not a crash", async () => {
    const junk = new Uint8Array(2000).fill(0x41);
    junk.set([0x66, 0x4c, 0x61, 0x43]);
    await expect(decodeAudioAsync(junk, "bad.flac")).rejects.toBeInstanceOf(AudioDecodeError);
    const mp3 = new Uint8Array(2000).fill(0);
    mp3.set([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
    await expect(decodeAudioAsync(mp3, "bad.mp3")).rejects.toBeInstanceOf(AudioDecodeError);
  });
});

describe("loadAudio", () => {
  it("mixes to mono by channel mean and keeps multi-channel on request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const l = Float32Array.from({ length: 2000 }, (_, i) => Math.round(Math.sin(i / 10) * 16000) / 32768);
    const r = Float32Array.from({ length: 2000 }, (_, i) => Math.round(Math.cos(i / 7) * 16000) / 32768);
    writeFileSync(join(dir, "st.wav"), encodeWav([l, r], 22050));
    const mono = await loadAudio(join(dir, "st.wav"));
    mono.forEach((v, i) => {
      expect(v).toBeCloseTo((l[i]! + r[i]!) / 2, 7);
    });
    const both = await loadAudioChannels(join(dir, "st.wav"), { sampleRate: null });
    expect(both.channels).toHaveLength(2);
    const up = await loadAudio(join(dir, "st.wav"), { sampleRate: 44100 });
    expect(up.length).toBe(4000);
  });
});

describe("fuzzed headers", () => {
  it("mutated WAV and .au files either decode or throw AudioDecodeError, never anything else", () => {
    const seed = (n: number) => {
      let a = n >>> 0;
      return () => {
        a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
        return a / 2 ** 32;
      };
    };
    const r = seed(99);
    const wav = riff([
      ["fmt ", fmtChunk(1, 2, 8000, 16)],
      ["LIST", new Uint8Array(7)],
      [
        "data",
        intData(
          [Array.from({ length: 50 }, (_, i) => i * 100), Array.from({ length: 50 }, (_, i) => -i * 100)],
          16,
        ),
      ],
    ]);
    const ext = riff([
      ["fmt ", fmtChunk(1, 1, 8000, 32, { valid: 24, sub: 3 })],
      ["data", new Uint8Array(64)],
    ]);
    const au = auFile(3, 2, 8000, new Uint8Array(200));
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const base = [wav, ext, au][i % 3]!;
      const b = base.slice(0, r() < 0.2 ? Math.floor(r() * base.length) : base.length);
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips && b.length > 0; f++) {
        const at = Math.floor(r() * Math.min(b.length, 64)); // mostly header bytes
        b[at] = r() < 0.5 ? Math.floor(r() * 256) : b[at]! ^ (1 << Math.floor(r() * 8));
      }
      try {
        const d = decodeAudio(b, "fuzz.wav");
        for (const ch of d.channels) for (const v of ch) expect(Number.isFinite(v)).toBe(true);
        decoded++;
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(AudioDecodeError);
        refused++;
      }
    }
    expect(decoded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
