/**
 * Properties (fast-check) of the streaming pieces the runner uses for stdin and for long files:
 * the incremental WAV parser against the whole-file decoder, the chunked resampler against the
 * whole-signal resampler, and the parser on arbitrary bytes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AudioDecodeError,
  decodeAudio,
  encodeWav,
  mixToMono,
  resample,
  StreamResampler,
} from "@edge-audio/dsp";
import { mulberry32 } from "@edge-audio/engine-wasm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { WavStreamError, WavStreamParser } from "../src/wav-stream.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const shared = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/data/gtzan-mini");

/** Splits `b` at the given cut fractions and feeds the parts. */
function feed(p: WavStreamParser, b: Uint8Array, cuts: number[]): number[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * b.length)))].sort((x, y) => x - y);
  const out: number[] = [];
  let prev = 0;
  for (const c of [...at, b.length]) {
    out.push(...p.push(b.subarray(prev, c)));
    prev = c;
  }
  return out;
}

function withTrailingChunk(wav: Uint8Array, extra: Uint8Array): Uint8Array {
  const out = new Uint8Array(wav.length + 8 + extra.length);
  out.set(wav);
  out.set([76, 73, 83, 84], wav.length); // "LIST"
  new DataView(out.buffer).setUint32(wav.length + 4, extra.length, true);
  out.set(extra, wav.length + 8);
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

describe("WavStreamParser (properties)", () => {
  it("any chunking of a WAV file gives the decoder's mono samples; a trailing chunk is ignored for files", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 0, maxLength: 200 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        (channels, ints, cuts, trailer) => {
          const n = Math.floor(ints.length / channels);
          fc.pre(n > 0); // a declared size of 0 means "to the end" (streaming writers), as in decodeAudio
          const chans = Array.from({ length: channels }, (_, c) =>
            Float32Array.from({ length: n }, (_, i) => ints[i * channels + c]! / 32768),
          );
          const wav = encodeWav(chans, 22050);
          const want = Array.from(mixToMono(decodeAudio(wav, "x.wav").channels));
          const p = new WavStreamParser("x.wav", { honourDataSize: true });
          const got = feed(p, withTrailingChunk(wav, trailer), cuts);
          expect(got.length).toBe(want.length);
          for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6);
          expect(p.dataBytesMissing).toBe(0);
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });

  it("a declared data size larger than the file is reported as missing bytes", () => {
    const wav = encodeWav([new Float32Array(100).fill(0.1)], 22050);
    const p = new WavStreamParser("x.wav", { honourDataSize: true });
    expect(p.push(wav.subarray(0, wav.length - 50)).length).toBe(75);
    expect(p.dataBytesMissing).toBe(50);
  });

  it("arbitrary bytes after a RIFF/WAVE magic: samples or a WavStreamError, never another error", () => {
    const magic = [82, 73, 70, 70, 0, 0, 0, 0, 87, 65, 86, 69, 102, 109, 116, 32];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        fc.boolean(),
        (tail, cuts, honour) => {
          const p = new WavStreamParser("fuzz", { honourDataSize: honour });
          try {
            for (const v of feed(p, new Uint8Array([...magic, ...tail]), cuts))
              expect(typeof v).toBe("number");
          } catch (e) {
            expect(e).toBeInstanceOf(WavStreamError);
            expect((e as Error).message.startsWith("fuzz: ")).toBe(true);
          }
        },
      ),
      { numRuns: 3000, seed: SEED },
    );
  });
});

describe("StreamResampler (properties)", () => {
  it("any chunking gives exactly the whole-signal resampler's output", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          [44100, 22050],
          [48000, 22050],
          [8000, 22050],
          [16000, 22050],
          [22050, 16000],
          [96000, 22050],
        ),
        fc.integer({ min: 0, max: 6000 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }),
        ([from, to], n, sizes) => {
          const x = Float32Array.from(
            { length: n },
            (_, i) => Math.sin(i * 0.37) * 0.5 + Math.sin(i * 0.011) * 0.4,
          );
          const whole = n > 0 ? resample(x, from!, to!) : new Float32Array(0);
          const s = new StreamResampler(from!, to!);
          const got: number[] = [];
          let p = 0;
          for (let k = 0; p < n; k++) {
            const m = sizes[k % sizes.length]!;
            got.push(...s.push(x.subarray(p, p + m)));
            p += m;
          }
          got.push(...s.end());
          expect(got.length).toBe(whole.length);
          for (let i = 0; i < whole.length; i++)
            if (got[i] !== whole[i]) expect(`${i}: ${got[i]}`).toBe(`${i}: ${whole[i]}`);
        },
      ),
      { numRuns: 60, seed: SEED },
    );
  });
});

describe("WavStreamParser against decodeAudio on mutated real files", () => {
  it(`${CASES} mutated GTZAN WAV headers: the two parsers never disagree on samples, and the stream parser accepts nothing the decoder refuses`, () => {
    let bases: Uint8Array[];
    if (existsSync(shared)) {
      bases = readdirSync(shared)
        .sort()
        .map((g) => {
          const f = readdirSync(join(shared, g)).sort()[0]!;
          const b = Uint8Array.from(readFileSync(join(shared, g, f)).subarray(0, 4096));
          new DataView(b.buffer).setUint32(40, 4096 - 44, true); // GTZAN-mini WAVs: data at 44
          return b;
        });
    } else {
      console.warn(`shared test audio not found at ${shared}; using synthetic WAVs`);
      bases = [encodeWav([Float32Array.from({ length: 2026 }, (_, i) => Math.sin(i / 7) * 0.5)], 22050)];
    }
    const r = mulberry32(SEED);
    const tally: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const b = Uint8Array.from(bases[i % bases.length]!);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) b[Math.floor(r() * 64)]! ^= 1 << Math.floor(r() * 8);
      let dec: Float32Array | string;
      try {
        dec = mixToMono(decodeAudio(b, "x.wav").channels);
      } catch (e) {
        if (!(e instanceof AudioDecodeError))
          throw new Error(`case ${i}: decoder threw ${(e as Error).stack}`);
        dec = e.code;
      }
      const p = new WavStreamParser("x.wav", { honourDataSize: true });
      let got: Float32Array | string;
      try {
        const x = p.push(b);
        // what the runner refuses: no header, missing declared bytes, no samples
        got = !p.format
          ? "no header"
          : p.dataBytesMissing > 0
            ? "missing bytes"
            : x.length === 0
              ? "no samples"
              : x;
      } catch (e) {
        if (!(e instanceof WavStreamError)) throw new Error(`case ${i}: parser threw ${(e as Error).stack}`);
        got = "WavStreamError";
      }
      if (typeof got !== "string") {
        expect(typeof dec, `case ${i}: the stream parser accepts what the decoder refuses (${dec})`).not.toBe(
          "string",
        );
        const d = dec as Float32Array;
        expect(got.length, `case ${i}`).toBe(d.length);
        for (let j = 0; j < d.length; j++)
          if (Math.abs(got[j]! - d[j]!) > 1e-6) expect(`${i}/${j}: ${got[j]}`).toBe(`${i}/${j}: ${d[j]}`);
      }
      const key = `${typeof dec === "string" ? dec : "decoded"} / ${typeof got === "string" ? got : "streamed"}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    console.log(`wav parsers differential: ${CASES} cases, seed ${SEED}: ${JSON.stringify(tally)}`);
  });
});
