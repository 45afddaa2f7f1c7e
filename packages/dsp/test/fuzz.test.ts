/**
 * Hardening of the WAV and Sun/NeXT .au decoders.
 *
 * - A mutation fuzzer over real GTZAN files (cut to a few kilobytes so thousands of cases run in
 *   seconds) and over re-encodings of their samples (8/24/32-bit, float, stereo, extensible, .au
 *   variants). Every case must either decode to well-formed samples or be refused with an
 *   AudioDecodeError; anything else (TypeError, RangeError, hang, huge allocation) fails.
 *   FUZZ_CASES (default 4000) and FUZZ_SEED (default fixed) run it longer or differently.
 * - Property-based tests (fast-check): round trips of every PCM/float layout, and arbitrary
 *   header fields / arbitrary bytes behind a valid magic.
 * - Declared sizes are checked against the real length before anything is allocated.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import {
  AudioDecodeError,
  decodeAudio,
  loadAudio,
  logMelSpectrogram,
  logMelSpectrogramFile,
  type MelConfig,
} from "../src/index.js";
import { decodePcmFile } from "../src/load.js";
import { DATA, HAVE_AU, HAVE_DATA, rng, SKIP_DATA_MSG } from "./helpers.js";

const CASES = Number(process.env.FUZZ_CASES ?? 4000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const REFUSAL_CODES = new Set([
  "ASYNC_REQUIRED",
  "EMPTY",
  "NOT_AUDIO",
  "TRUNCATED",
  "BAD_HEADER",
  "UNSUPPORTED_ENCODING",
  "NON_FINITE",
]);

// ---- writers (from the format specifications) ----

type Layout = { tag: 1 | 3; bits: number; channels: number; extensible?: boolean };

function wavFile(samples: Float32Array[], rate: number, l: Layout): Uint8Array {
  const n = samples[0]!.length;
  const bps = l.bits / 8;
  const fmtLen = l.extensible ? 40 : 16;
  const dataLen = n * l.channels * bps;
  const out = new Uint8Array(12 + 8 + fmtLen + 8 + dataLen + (dataLen & 1));
  const v = new DataView(out.buffer);
  const str = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  str(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, fmtLen, true);
  v.setUint16(20, l.extensible ? 0xfffe : l.tag, true);
  v.setUint16(22, l.channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * l.channels * bps, true);
  v.setUint16(32, l.channels * bps, true);
  v.setUint16(34, l.bits, true);
  if (l.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, l.bits, true);
    v.setUint16(44, l.tag, true);
  }
  const d = 20 + fmtLen;
  str(d, "data");
  v.setUint32(d + 4, dataLen, true);
  let p = d + 8;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < l.channels; c++, p += bps) {
      const x = samples[c % samples.length]![i]!;
      if (l.tag === 3) {
        if (l.bits === 32) v.setFloat32(p, x, true);
        else v.setFloat64(p, x, true);
      } else if (l.bits === 8) out[p] = intOf(x, 8) + 128;
      else if (l.bits === 16) v.setInt16(p, intOf(x, 16), true);
      else if (l.bits === 24) {
        const q = intOf(x, 24);
        out[p] = q & 0xff;
        out[p + 1] = (q >> 8) & 0xff;
        out[p + 2] = (q >> 16) & 0xff;
      } else v.setInt32(p, intOf(x, 32), true);
    }
  return out;
}

function intOf(x: number, bits: number): number {
  const m = 2 ** (bits - 1);
  return Math.max(-m, Math.min(m - 1, Math.round(x * m)));
}

/** Sun/NeXT .au, big-endian 16-bit PCM (encoding 3) or 8-bit mu-law (1). */
function auFile(samples: Float32Array, rate: number, encoding: 1 | 3): Uint8Array {
  const bps = encoding === 3 ? 2 : 1;
  const out = new Uint8Array(24 + samples.length * bps);
  const v = new DataView(out.buffer);
  out.set([0x2e, 0x73, 0x6e, 0x64]);
  v.setUint32(4, 24);
  v.setUint32(8, samples.length * bps);
  v.setUint32(12, encoding);
  v.setUint32(16, rate);
  v.setUint32(20, 1);
  for (let i = 0; i < samples.length; i++) {
    if (encoding === 3) v.setInt16(24 + 2 * i, intOf(samples[i]!, 16));
    else out[24 + i] = (Math.round(samples[i]! * 127) + 256) & 0xff; // any byte is a valid mu-law code
  }
  return out;
}

/** The first `keep` data bytes of a real file, with its RIFF / data / .au sizes made consistent. */
function cutReal(bytes: Uint8Array, keep: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  const v = new DataView(b.buffer);
  if (String.fromCharCode(...b.subarray(0, 4)) === ".snd") {
    const off = v.getUint32(4);
    v.setUint32(8, keep);
    return b.slice(0, off + keep);
  }
  let p = 12;
  while (p + 8 <= b.length) {
    const id = String.fromCharCode(...b.subarray(p, p + 4));
    const size = v.getUint32(p + 4, true);
    if (id === "data") {
      v.setUint32(p + 4, keep, true);
      const out = b.slice(0, p + 8 + keep);
      new DataView(out.buffer).setUint32(4, out.length - 8, true);
      return out;
    }
    p += 8 + size + (size & 1);
  }
  throw new Error("no data chunk");
}

function realClips(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  if (HAVE_DATA)
    for (const g of readdirSync(join(DATA, "gtzan-mini")).sort()) {
      const f = readdirSync(join(DATA, "gtzan-mini", g)).sort()[0]!;
      out.push({ name: `${g}/${f}`, bytes: readFileSync(join(DATA, "gtzan-mini", g, f)) });
    }
  if (HAVE_AU)
    for (const f of ["blues.00000.au", "metal.00000.au"])
      out.push({ name: f, bytes: readFileSync(join(DATA, "gtzan-au", f)) });
  return out;
}

/** Base files for the fuzzer: real files cut short plus re-encodings of their samples. */
function fuzzBases(): { name: string; bytes: Uint8Array }[] {
  const real = realClips();
  const bases: { name: string; bytes: Uint8Array }[] = [];
  let source: Float32Array;
  if (real.length > 0) {
    for (const r of real) bases.push({ name: r.name, bytes: cutReal(r.bytes, 2048) });
    const d = decodeAudio(bases[0]!.bytes, "x.wav");
    source = d.channels[0]!;
  } else {
    console.warn(`${SKIP_DATA_MSG}; fuzzing synthetic bases only`);
    const r = rng(1);
    source = Float32Array.from({ length: 1024 }, () => r() * 1.8 - 0.9);
  }
  const x = source.subarray(0, 512);
  const y = x.map((s) => -s);
  const layouts: [string, Layout][] = [
    ["u8", { tag: 1, bits: 8, channels: 1 }],
    ["s24", { tag: 1, bits: 24, channels: 1 }],
    ["s32 stereo", { tag: 1, bits: 32, channels: 2 }],
    ["f32", { tag: 3, bits: 32, channels: 1 }],
    ["f64 stereo", { tag: 3, bits: 64, channels: 2 }],
    ["s16 extensible 3ch", { tag: 1, bits: 16, channels: 3, extensible: true }],
  ];
  for (const [name, l] of layouts) bases.push({ name, bytes: wavFile([x, y], 44100, l) });
  bases.push({ name: "au mu-law", bytes: auFile(x, 8000, 1) });
  bases.push({ name: "au s16", bytes: auFile(x, 48000, 3) });
  return bases;
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 15, 16, 17, 40, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One mutation of `b`: flips, random bytes, a lying 32-bit field, truncation, insertion, deletion, splice. */
function mutate(b: Uint8Array, r: () => number): Uint8Array {
  const at = (limit = b.length) => Math.floor(r() * Math.max(1, Math.min(limit, b.length)));
  const kind = Math.floor(r() * 7);
  let out = b.slice();
  if (kind === 0) {
    const flips = 1 + Math.floor(r() * 8);
    for (let f = 0; f < flips && out.length; f++)
      out[at(r() < 0.8 ? 64 : out.length)]! ^= 1 << Math.floor(r() * 8);
  } else if (kind === 1) {
    const n = 1 + Math.floor(r() * 4);
    for (let f = 0; f < n && out.length; f++) out[at(r() < 0.8 ? 64 : out.length)] = Math.floor(r() * 256);
  } else if (kind === 2 && out.length >= 8) {
    // overwrite an aligned 32-bit word of the header with a boundary value, either byte order
    const p = 4 * Math.floor(r() * Math.min(16, (out.length - 4) / 4));
    const val =
      r() < 0.7 ? INTERESTING_U32[Math.floor(r() * INTERESTING_U32.length)]! : Math.floor(r() * 2 ** 32);
    new DataView(out.buffer).setUint32(p, val, r() < 0.5);
  } else if (kind === 3) {
    out = out.slice(0, at());
  } else if (kind === 4) {
    const p = at();
    const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 9) }, () => Math.floor(r() * 256));
    out = new Uint8Array([...out.subarray(0, p), ...ins, ...out.subarray(p)]);
  } else if (kind === 5) {
    const p = at();
    out = new Uint8Array([...out.subarray(0, p), ...out.subarray(p + 1 + Math.floor(r() * 8))]);
  } else {
    // splice a copy of a header region elsewhere (duplicate chunks, chunk soup)
    const s = at(64);
    const len = 4 + Math.floor(r() * 28);
    const p = at(80);
    out = new Uint8Array([...out.subarray(0, p), ...out.subarray(s, s + len), ...out.subarray(p)]);
  }
  return out;
}

/** Decodes and checks the result is well formed; returns "decoded" or the refusal code. */
function outcome(bytes: Uint8Array, hint: string): string {
  try {
    const d = decodeAudio(bytes, hint);
    expect(d.sampleRate).toBeGreaterThan(0);
    expect(d.channels.length).toBeGreaterThan(0);
    const n = d.channels[0]!.length;
    // never more samples than the bytes could hold
    expect(n * d.channels.length).toBeLessThanOrEqual(bytes.length);
    for (const ch of d.channels) {
      expect(ch.length).toBe(n);
      for (let i = 0; i < ch.length; i++) {
        const s = ch[i]!;
        if (!(Number.isFinite(s) && (Math.abs(s) <= 1 || hint.endsWith("float"))))
          throw new Error(`bad sample ${s}`);
      }
    }
    return "decoded";
  } catch (e) {
    if (!(e instanceof AudioDecodeError)) throw e;
    expect(REFUSAL_CODES.has(e.code), e.code).toBe(true);
    expect(e.message.startsWith(hint)).toBe(true);
    return e.code;
  }
}

describe("mutation fuzzer over WAV and .au", () => {
  it(`${CASES} mutated real files: each decoded or refused with AudioDecodeError`, () => {
    const bases = fuzzBases();
    const r = rng(SEED);
    const tally: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length]!;
      let b = base.bytes;
      const rounds = 1 + Math.floor(r() * 3);
      for (let k = 0; k < rounds; k++) b = mutate(b, r);
      // float layouts may legitimately decode to finite values beyond [-1, 1]
      const hint = /f32|f64/.test(base.name) ? "case.float" : "case.wav";
      let o: string;
      try {
        o = outcome(b, hint);
      } catch (e) {
        throw new Error(`case ${i} (base ${base.name}, seed ${SEED}): ${(e as Error).stack}`);
      }
      tally[o] = (tally[o] ?? 0) + 1;
    }
    console.log(
      `decoder fuzz: ${CASES} cases over ${bases.length} bases, seed ${SEED}: ${JSON.stringify(tally)}`,
    );
    expect(tally.decoded ?? 0).toBeGreaterThan(CASES / 20);
    expect(CASES - (tally.decoded ?? 0)).toBeGreaterThan(CASES / 20);
  });

  if (!HAVE_DATA) it.skip(SKIP_DATA_MSG, () => {});

  it.skipIf(!HAVE_DATA)(
    "every real clip cut at every header byte is refused with TRUNCATED (or decodes empty)",
    () => {
      let n = 0;
      for (const { name, bytes } of realClips()) {
        const b = cutReal(bytes, 64);
        const dataStart = b.length - 64;
        for (let cut = 0; cut < dataStart + 64; cut++) {
          const o = outcome(b.slice(0, cut), "cut.wav");
          if (cut === 0) expect(o, name).toBe("EMPTY");
          else if (cut < dataStart)
            expect(["TRUNCATED", "NOT_AUDIO", "BAD_HEADER"], `${name} @${cut}`).toContain(o);
          else if (cut < b.length) expect(o, `${name} @${cut}`).toBe("TRUNCATED");
          n++;
        }
      }
      console.log(`decoder truncation: ${n} cuts of ${realClips().length} real files`);
      expect(n).toBeGreaterThan(500);
    },
  );
});

describe("declared sizes are checked before allocating", () => {
  let largest = 0;
  const track = () => {
    largest = 0;
    for (const T of [Float32Array, Float64Array, Uint8Array, ArrayBuffer] as const) {
      const Orig = T as unknown as new (...a: unknown[]) => unknown;
      vi.stubGlobal(
        T.name,
        new Proxy(Orig, {
          construct(target, args, nt) {
            if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
            return Reflect.construct(target, args, nt === undefined ? target : nt);
          },
        }),
      );
    }
  };
  afterEach(() => vi.unstubAllGlobals());

  function lying(kind: "wav" | "au", declared: number): Uint8Array {
    const b = new Uint8Array(100);
    const v = new DataView(b.buffer);
    if (kind === "wav") {
      b.set([82, 73, 70, 70]);
      v.setUint32(4, 0xfffffff0, true);
      b.set([87, 65, 86, 69, 102, 109, 116, 32], 8);
      v.setUint32(16, 16, true);
      v.setUint16(20, 1, true);
      v.setUint16(22, 1, true);
      v.setUint32(24, 22050, true);
      v.setUint16(34, 16, true);
      b.set([100, 97, 116, 97], 36);
      v.setUint32(40, declared, true);
    } else {
      b.set([0x2e, 0x73, 0x6e, 0x64]);
      v.setUint32(4, 24);
      v.setUint32(8, declared);
      v.setUint32(12, 3);
      v.setUint32(16, 22050);
      v.setUint32(20, 1);
    }
    return b;
  }

  it("a 100-byte file declaring about 4 GB of audio is refused without a large allocation", () => {
    for (const kind of ["wav", "au"] as const)
      for (const declared of [0xfffffff0, 0x80000000, 0x7fffffff, 101]) {
        const b = lying(kind, declared);
        track();
        let err: unknown;
        try {
          decodeAudio(b, `lie.${kind}`);
        } catch (e) {
          err = e;
        }
        vi.unstubAllGlobals();
        expect(err, `${kind} ${declared}`).toBeInstanceOf(AudioDecodeError);
        expect((err as AudioDecodeError).code).toBe("TRUNCATED");
        expect((err as Error).message).toMatch(/declares \d+ .*bytes but only \d+ follow/);
        expect(largest, `${kind} ${declared}: largest allocation`).toBeLessThan(256);
      }
  });

  it("the allocation guard does see the decoder's allocations (so the check above can fail)", () => {
    const b = lying("wav", 56); // honest: 28 samples
    track();
    const d = decodeAudio(b, "honest.wav");
    vi.unstubAllGlobals();
    expect(d.channels[0]!.length).toBe(28);
    expect(largest).toBe(28);
  });

  it("loadAudio refuses a header declaring a sample rate too low to resample (no runaway output)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-fuzz-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const x = new Float32Array(50_000).fill(0.1);
    for (const rate of [1, 7, 999]) {
      const f = join(dir, `r${rate}.wav`);
      writeFileSync(f, wavFile([x], rate, { tag: 1, bits: 16, channels: 1 }));
      const e = await loadAudio(f).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, `${rate} Hz`).toBeInstanceOf(AudioDecodeError);
      expect((e as AudioDecodeError).code).toBe("BAD_HEADER");
      expect((e as Error).message).toMatch(/sample rate/);
    }
    // the lowest accepted rate still loads
    const f = join(dir, "r1000.wav");
    writeFileSync(f, wavFile([x.subarray(0, 1000)], 1000, { tag: 1, bits: 16, channels: 1 }));
    expect((await loadAudio(f)).length).toBe(22050);
  });
});

describe("decoding a file in pieces", () => {
  it("gives exactly what decoding the whole bytes gives, or the same refusal, on mutated files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-pieces-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = rng(SEED + 7);
    const bases = fuzzBases();
    let inPieces = 0;
    const n = Math.min(CASES, 600);
    for (let i = 0; i < n; i++) {
      const base = bases[i % bases.length]!;
      const bytes = i < bases.length ? base.bytes : mutate(base.bytes, r);
      const ext = base.name.startsWith("au") || base.name.endsWith(".au") ? "au" : "wav";
      const f = join(dir, `c${i}.${ext}`);
      writeFileSync(f, bytes);
      let whole: unknown;
      try {
        whole = decodeAudio(bytes, f);
      } catch (e) {
        if (!(e instanceof AudioDecodeError)) throw e;
        whole = e;
      }
      const chunk = [1, 7, 64, 1000, 1 << 16][i % 5]!;
      let pieces: unknown;
      try {
        pieces = await decodePcmFile(f, chunk);
      } catch (e) {
        pieces = e;
      }
      const what = `${base.name} case ${i} chunk ${chunk}`;
      if (pieces === null) continue; // left to the whole-file decoder
      inPieces++;
      if (whole instanceof AudioDecodeError) {
        expect(pieces, what).toBeInstanceOf(AudioDecodeError);
        expect((pieces as Error).message, what).toBe(whole.message);
      } else {
        const w = whole as { sampleRate: number; channels: Float32Array[] };
        const p = pieces as { sampleRate: number; channels: Float32Array[] };
        expect(p.sampleRate, what).toBe(w.sampleRate);
        expect(p.channels.length, what).toBe(w.channels.length);
        for (let c = 0; c < w.channels.length; c++)
          expect(Buffer.from(p.channels[c]!.buffer).equals(Buffer.from(w.channels[c]!.buffer)), what).toBe(
            true,
          );
      }
    }
    // the unmutated bases and most mutants are decoded in pieces, not handed back
    expect(inPieces).toBeGreaterThan(n / 2);
  });

  it("logMelSpectrogramFile equals logMelSpectrogram of loadAudio bit for bit, for every layout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-pieces-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = rng(SEED + 9);
    const tone = (n: number, seed: number) =>
      Float32Array.from(
        { length: n },
        (_, i) => 0.6 * Math.sin(i * (0.01 + seed * 0.003)) + 0.2 * (r() - 0.5),
      );
    const layouts: Layout[] = [
      { tag: 1, bits: 16, channels: 1 },
      { tag: 1, bits: 8, channels: 1 },
      { tag: 1, bits: 24, channels: 2 },
      { tag: 1, bits: 32, channels: 3 },
      { tag: 3, bits: 32, channels: 2 },
      { tag: 3, bits: 64, channels: 1, extensible: true },
    ];
    const configs: Partial<MelConfig>[] = [
      {},
      { topDb: 60.3, nMels: 40 },
      { nFft: 400, hopLength: 160, nMels: 40, sampleRate: 16000, topDb: null }, // float64 path
      { center: false, nFft: 1024, hopLength: 300 },
    ];
    let used = 0;
    for (const [i, l] of layouts.entries())
      for (const [j, cfg] of configs.entries())
        for (const n of [1, 700, 22_050 + 333]) {
          const rate = cfg.sampleRate ?? 22050;
          const f = join(dir, `m${i}-${j}-${n}.wav`);
          writeFileSync(f, wavFile([tone(n, i), tone(n, i + 1), tone(n, i + 2)], rate, l));
          const chunk = [128, 999, 1 << 16][(i + j) % 3]!;
          const got = await logMelSpectrogramFile(f, cfg, chunk);
          const what = `layout ${i} config ${j} n ${n}`;
          if (!cfg.center && cfg.center !== undefined && n < (cfg.nFft ?? 2048)) {
            expect(got, what).toBeNull(); // left to logMelSpectrogram's TOO_SHORT
            continue;
          }
          expect(got, what).not.toBeNull();
          used++;
          const want = logMelSpectrogram(await loadAudio(f, { sampleRate: rate }), cfg);
          expect(got!.samples, what).toBe(n);
          expect(got!.spectrogram.nFrames, what).toBe(want.nFrames);
          expect(Buffer.from(got!.spectrogram.data.buffer).equals(Buffer.from(want.data.buffer)), what).toBe(
            true,
          );
        }
    expect(used).toBeGreaterThan(50);
    // .au, and a file at another rate (left to loadAudio's resampler)
    const au = join(dir, "a.au");
    writeFileSync(au, auFile(tone(30_000, 5), 22050, 3));
    const a = await logMelSpectrogramFile(au, {}, 1000);
    expect(
      Buffer.from(a!.spectrogram.data.buffer).equals(
        Buffer.from(logMelSpectrogram(await loadAudio(au)).data.buffer),
      ),
    ).toBe(true);
    const other = join(dir, "r44.wav");
    writeFileSync(other, wavFile([tone(5000, 1)], 44100, { tag: 1, bits: 16, channels: 1 }));
    expect(await logMelSpectrogramFile(other)).toBeNull();
  });

  it("reads files whose header is longer than one piece in pieces too (chunks skipped unread)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsp-pieces-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const x = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i / 10) * 0.5);
    const plain = wavFile([x], 22050, { tag: 1, bits: 16, channels: 1 });
    // a 5000-byte LIST chunk before fmt and data
    const list = new Uint8Array(8 + 5000);
    list.set([76, 73, 83, 84]);
    new DataView(list.buffer).setUint32(4, 5000, true);
    const long = new Uint8Array([...plain.subarray(0, 12), ...list, ...plain.subarray(12)]);
    new DataView(long.buffer).setUint32(4, long.length - 8, true);
    const f = join(dir, "list.wav");
    writeFileSync(f, long);
    const want = Array.from(decodeAudio(plain).channels[0]!);
    expect(Array.from((await decodePcmFile(f, 1024))!.channels[0]!)).toEqual(want);
    expect(Array.from((await decodePcmFile(f, 1 << 16))!.channels[0]!)).toEqual(want);
    expect(Array.from(await loadAudio(f))).toEqual(Array.from(decodeAudio(plain).channels[0]!));
  });
});

describe("properties (fast-check)", () => {
  const layoutArb = fc.oneof(
    fc.record({
      tag: fc.constant(1 as const),
      bits: fc.constantFrom(8, 16, 24, 32),
      channels: fc.integer({ min: 1, max: 6 }),
      extensible: fc.boolean(),
    }),
    fc.record({
      tag: fc.constant(3 as const),
      bits: fc.constantFrom(32, 64),
      channels: fc.integer({ min: 1, max: 6 }),
      extensible: fc.boolean(),
    }),
  );

  it("every PCM/float WAV layout round-trips the quantised samples exactly", () => {
    fc.assert(
      fc.property(
        layoutArb,
        fc.integer({ min: 1, max: 768000 }),
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 0, maxLength: 64 }),
        (l, rate, xs) => {
          const x = Float32Array.from(xs);
          const y = x.map((s) => -s / 2);
          const d = decodeAudio(wavFile([x, y], rate, l), "p.wav");
          expect(d.sampleRate).toBe(rate);
          expect(d.channels.length).toBe(l.channels);
          for (let c = 0; c < l.channels; c++) {
            const src = c % 2 === 0 ? x : y;
            const want = Array.from(src, (s) => {
              if (l.tag === 3) return Math.fround(s);
              const q = intOf(s, l.bits);
              return Math.fround(Math.min(q / 2 ** (l.bits - 1), 1 - 2 ** -24)) + 0;
            });
            expect(Array.from(d.channels[c]!)).toEqual(want);
          }
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });

  it("any fmt fields and any declared data size: decoded within the bytes or refused, never thrown otherwise", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 300 }),
        (tag, channels, rate, bits, declared, payload) => {
          const b = new Uint8Array(44 + payload.length);
          const v = new DataView(b.buffer);
          b.set([82, 73, 70, 70]);
          v.setUint32(4, 36 + payload.length, true);
          b.set([87, 65, 86, 69, 102, 109, 116, 32], 8);
          v.setUint32(16, 16, true);
          v.setUint16(20, tag, true);
          v.setUint16(22, channels, true);
          v.setUint32(24, rate, true);
          v.setUint16(34, bits, true);
          b.set([100, 97, 116, 97], 36);
          v.setUint32(40, declared, true);
          b.set(payload, 44);
          const o = outcome(b, tag === 3 ? "f.float" : "f.wav");
          if (o === "decoded")
            expect(declared === 0 || declared === 0xffffffff || declared <= payload.length).toBe(true);
          else expect(REFUSAL_CODES.has(o)).toBe(true);
        },
      ),
      { numRuns: 2000, seed: SEED },
    );
  });

  it("any bytes behind a RIFF/WAVE or .snd magic: decoded or refused with AudioDecodeError", () => {
    const magics = [
      Uint8Array.from([82, 73, 70, 70, 0, 0, 0, 0, 87, 65, 86, 69]),
      Uint8Array.from([0x2e, 0x73, 0x6e, 0x64]),
    ];
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 200 }), (m, tail) => {
        const b = new Uint8Array([...magics[m]!, ...tail]);
        outcome(b, "any.float");
      }),
      { numRuns: 2000, seed: SEED },
    );
  });
});
