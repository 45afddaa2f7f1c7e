import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  DspError,
  decodeAudio,
  designResampleFilter,
  encodeWav,
  type ResampleOptions,
  resample,
  resampleReference,
  StreamResampler,
} from "../src/index.js";
import { DATA, HAVE_DATA, SKIP_DATA_MSG } from "./helpers.js";

function tone(f: number, sr: number, seconds: number): Float32Array {
  return Float32Array.from(
    { length: Math.round(sr * seconds) },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / sr),
  );
}

/** Least-squares fit of a sinusoid at f over the middle half; returns amplitude and residual RMS. */
function fit(y: Float32Array, f: number, sr: number): { amp: number; residual: number; rms: number } {
  const a0 = Math.floor(y.length / 4);
  const a1 = Math.floor((3 * y.length) / 4);
  let cc = 0;
  let ss = 0;
  let cs = 0;
  let yc = 0;
  let ys = 0;
  let yy = 0;
  for (let i = a0; i < a1; i++) {
    const c = Math.cos((2 * Math.PI * f * i) / sr);
    const s = Math.sin((2 * Math.PI * f * i) / sr);
    cc += c * c;
    ss += s * s;
    cs += c * s;
    yc += y[i]! * c;
    ys += y[i]! * s;
    yy += y[i]! * y[i]!;
  }
  const det = cc * ss - cs * cs;
  const a = (yc * ss - ys * cs) / det;
  const b = (ys * cc - yc * cs) / det;
  let res = 0;
  for (let i = a0; i < a1; i++) {
    const e = y[i]! - a * Math.cos((2 * Math.PI * f * i) / sr) - b * Math.sin((2 * Math.PI * f * i) / sr);
    res += e * e;
  }
  const n = a1 - a0;
  return { amp: Math.hypot(a, b), residual: Math.sqrt(res / n), rms: Math.sqrt(yy / n) };
}

const db = (x: number) => 20 * Math.log10(x);

describe("band-limited resampler", () => {
  const down: [number, number][] = [
    [44100, 22050],
    [48000, 22050],
    [22050, 16000],
    [32000, 22050],
    [96000, 22050],
    [44100, 22051], // 22051 phases: too many for an exact bank, interpolates between 1025 rows
  ];
  for (const [from, to] of down)
    it(`${from} -> ${to}: a sweep of tones above the new Nyquist frequency leaves < -80 dB of aliases`, () => {
      let worst = Number.NEGATIVE_INFINITY;
      const steps = 24;
      for (let s = 0; s < steps; s++) {
        const f = to / 2 + ((from / 2 - to / 2) * (s + 0.5)) / steps;
        const y = resample(tone(f, from, 0.4), from, to);
        const { rms } = fit(y, 1000, to);
        worst = Math.max(worst, db(rms / (0.5 / Math.SQRT2)));
      }
      // also right at the stopband edge
      const edge = resample(tone((to / 2) * 1.0005, from, 0.4), from, to);
      worst = Math.max(worst, db(fit(edge, 1000, to).rms / (0.5 / Math.SQRT2)));
      expect(worst).toBeLessThan(-80);
    });

  const pairs: [number, number][] = [...down, [22050, 44100], [16000, 22050], [22050, 48000]];
  for (const [from, to] of pairs)
    it(`${from} -> ${to}: passband tones keep their amplitude (< 0.001 dB) with < -80 dB of other content`, () => {
      const nyq = Math.min(from, to) / 2;
      for (const frac of [0.01, 0.1, 0.37, 0.6, 0.8, 0.9, 0.915]) {
        const f = nyq * frac;
        const y = resample(tone(f, from, 0.3), from, to);
        expect(y.length).toBe(Math.ceil((Math.round(from * 0.3) * to) / from));
        const r = fit(y, f, to);
        expect(Math.abs(db(r.amp / 0.5))).toBeLessThan(0.001);
        expect(db(r.residual / (0.5 / Math.SQRT2))).toBeLessThan(-80);
      }
    });

  it("is the identity at equal rates and rejects bad rates", () => {
    const x = tone(100, 8000, 0.01);
    expect(resample(x, 8000, 8000)).toEqual(x);
    expect(() => resample(x, 0, 8000)).toThrow(DspError);
    expect(() => resample(x, 8000, 1.5)).toThrow(/toRate/);
    expect(resample(new Float32Array(0), 44100, 22050).length).toBe(0);
  });

  const haveSox = spawnSync("sox", ["--version"]).status === 0;
  it.skipIf(!haveSox || !HAVE_DATA)(
    "matches sox's high-quality resampler on a real clip (SNR > 40 dB)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "dsp-sox-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(DATA, "gtzan-mini", "rock", "rock.00001.wav");
      const x = decodeAudio(readFileSync(file), file).channels[0]!.subarray(0, 22050 * 8);
      const src = join(dir, "in.wav");
      writeFileSync(src, encodeWav([x], 22050));
      for (const to of [16000, 44100]) {
        const out = join(dir, `sox-${to}.f32`);
        execFileSync("sox", [src, "-t", "f32", "-e", "floating-point", out, "rate", "-v", `${to}`]);
        const b = readFileSync(out);
        const sox = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
        const ours = resample(x, 22050, to);
        const n = Math.min(sox.length, ours.length);
        let sig = 0;
        let err = 0;
        for (let i = Math.floor(n * 0.05); i < Math.floor(n * 0.95); i++) {
          sig += sox[i]! ** 2;
          err += (sox[i]! - ours[i]!) ** 2;
        }
        const snr = 10 * Math.log10(sig / err);
        console.log(`resampler vs sox 'rate -v' 22050 -> ${to} Hz on ${file}: SNR ${snr.toFixed(1)} dB`);
        expect(snr).toBeGreaterThan(40);
      }
    },
  );
  if (!haveSox) it.skip("sox is not installed; the sox comparison is skipped", () => {});
  if (!HAVE_DATA) it.skip(SKIP_DATA_MSG, () => {});
});

/** Deterministic noise plus tones, full scale about 0.9. */
function testSignal(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, (_, i) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return 0.4 * (s / 2 ** 32 - 0.5) + 0.3 * Math.sin(i * 0.37) + 0.2 * Math.sin(i * 0.011);
  });
}

function streamed(
  x: Float32Array,
  from: number,
  to: number,
  sizes: number[],
  opts: ResampleOptions = {},
): Float32Array {
  const s = new StreamResampler(from, to, opts);
  const parts: Float32Array[] = [];
  for (let p = 0, k = 0; p < x.length; k++) {
    const m = sizes[k % sizes.length]!;
    parts.push(s.push(x.subarray(p, p + m)));
    p += m;
  }
  parts.push(s.end());
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function firstDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

describe("resampler against its float64 reference", () => {
  // Bound: float32 coefficients and float32 accumulation over a few hundred taps of a signal
  // below 1 in magnitude, measured at 1.1e-7 to 2.2e-7 (the interpolated bank's linear blend of
  // rows 1/1024 of a sample apart adds less than that); 1e-6 leaves a factor of 4.
  const cases: [number, number][] = [
    [44100, 22050],
    [48000, 22050],
    [96000, 22050],
    [16000, 22050],
    [8000, 22050],
    [22050, 16000],
    [7, 3],
    [44100, 22051],
    [22050, 44101],
  ];
  const bound = 1e-6;
  for (const [from, to] of cases)
    it(`${from} -> ${to}: max |error| <= ${bound} (${designResampleFilter(from, to).exact ? "exact" : "interpolated"} bank)`, () => {
      const x = testSignal(3000, from);
      const y = resample(x, from, to);
      const ref = resampleReference(x, from, to);
      expect(y.length).toBe(ref.length);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref[i]!));
      expect(worst).toBeLessThan(bound);
    });

  it('precision "f64" (float64 coefficients and sums) is within 1e-7 of the reference', () => {
    // only the float32 rounding of each output remains (below 6e-8 for |y| < 1)
    for (const [from, to] of [
      [44100, 22050],
      [48000, 22050],
      [44100, 22051],
    ] as const) {
      const x = testSignal(3000, to);
      const y = resample(x, from, to, { precision: "f64" });
      const ref = resampleReference(x, from, to);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref[i]!));
      expect(worst).toBeLessThan(1e-7);
    }
  });

  it('attenuationDb 160 with precision "f64" leaves aliases below -145 dB (44.1 -> 22.05 kHz)', () => {
    let worst = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < 16; k++) {
      const f = 11025 * 1.002 + ((22050 * 0.998 - 11025 * 1.002) * k) / 15;
      const y = resample(tone(f, 44100, 0.25), 44100, 22050, { attenuationDb: 160, precision: "f64" });
      worst = Math.max(worst, db(fit(y, 1000, 22050).rms / (0.5 / Math.SQRT2)));
    }
    expect(worst).toBeLessThan(-145);
  });

  it("the SIMD and scalar kernel builds give bit-identical output (polyphase method)", () => {
    const x = testSignal(20000);
    for (const [from, to] of [
      [44100, 22050],
      [48000, 22050],
      [8000, 22050],
      [44100, 22051],
    ] as const) {
      for (const precision of ["f32", "f64"] as const) {
        const a = resample(x, from, to, { flavour: "simd", precision, method: "polyphase" });
        const b = resample(x, from, to, { flavour: "scalar", precision, method: "polyphase" });
        expect(firstDifference(a, b)).toBeNull();
      }
    }
  });

  // The FFT method applies the same taps as a block correlation; its float32 FFTs (H = 1024-4096
  // points) round differently from the dot products, measured 2.4e-7 to 3.6e-7 against the
  // reference on full-scale noise, so the same 1e-6 bound holds. SIMD and scalar builds run
  // different FFT arithmetic, so each is held to that bound rather than to the other's bits.
  // The two-stage path (48 and 96 kHz) adds its first stage's ripple (about 3e-7 at its 130 dB) and
  // rounding; measured 4.7e-7 to 5.1e-7 against the single-stage reference, so the same bound holds.
  it("the FFT method (integer ratios, and the two-stage path of 48 and 96 kHz) is within 1e-6 of the reference over many blocks, in both builds", () => {
    for (const [from, to] of [
      [44100, 22050],
      [88200, 22050],
      [48000, 16000],
      [44100, 11025],
      [48000, 22050],
      [96000, 22050],
    ] as const) {
      const x = testSignal(12_000, from + 1);
      const ref = resampleReference(x, from, to);
      for (const flavour of ["simd", "scalar"] as const) {
        const y = resample(x, from, to, { method: "fft", flavour });
        expect(y.length).toBe(ref.length);
        let worst = 0;
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref[i]!));
        expect(worst).toBeLessThan(1e-6);
      }
    }
  });

  it("the default method is the FFT one for integer decimation and downsampling by 2 or more in f32, the polyphase one otherwise", () => {
    const x = testSignal(20_000, 4);
    const same = (a: Float32Array, b: Float32Array) => firstDifference(a, b) === null;
    expect(same(resample(x, 44100, 22050), resample(x, 44100, 22050, { method: "fft" }))).toBe(true);
    expect(same(resample(x, 44100, 22050), resample(x, 44100, 22050, { method: "polyphase" }))).toBe(false);
    expect(same(resample(x, 48000, 22050), resample(x, 48000, 22050, { method: "fft" }))).toBe(true);
    expect(same(resample(x, 48000, 22050), resample(x, 48000, 22050, { method: "polyphase" }))).toBe(false);
    for (const [from, to] of [
      [32000, 22050],
      [16000, 22050],
    ] as const)
      expect(same(resample(x, from, to), resample(x, from, to, { method: "polyphase" }))).toBe(true);
    const f64 = { precision: "f64" } as const;
    expect(
      same(resample(x, 44100, 22050, f64), resample(x, 44100, 22050, { ...f64, method: "polyphase" })),
    ).toBe(true);
  });

  it("passband ripple stays within 0.05 dB up to 0.9 x the new Nyquist frequency (44.1 and 48 -> 22.05 kHz)", () => {
    for (const from of [44100, 48000]) {
      let worst = 0;
      for (let k = 1; k <= 40; k++) {
        const f = (0.9 * 11025 * k) / 40;
        const y = resample(tone(f, from, 0.2), from, 22050);
        worst = Math.max(worst, Math.abs(db(fit(y, f, 22050).amp / 0.5)));
      }
      expect(worst).toBeLessThan(0.05);
    }
  });
});

describe("StreamResampler", () => {
  const ratios: [number, number][] = [
    [44100, 22050],
    [48000, 22050],
    [96000, 22050],
    [16000, 22050],
    [8000, 22050],
    [22050, 16000],
    [44100, 22051],
    [7, 3],
    [3, 7],
    [22050, 22050],
    [88200, 22050],
    [48000, 16000],
  ];

  it("any chunking gives exactly the whole-signal resample() output", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ratios),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 2500 }), { minLength: 1, maxLength: 12 }),
        ([from, to], n, sizes) => {
          const x = testSignal(n, n + 1);
          const chunks = sizes.some((s) => s > 0) ? sizes : [1];
          expect(firstDifference(streamed(x, from, to, chunks), resample(x, from, to))).toBeNull();
        },
      ),
      { numRuns: 80, seed: 13 },
    );
  });

  it("chunks larger than its internal block (65536 samples) and single samples agree too", () => {
    const x = testSignal(150_000, 5);
    const whole = resample(x, 48000, 22050);
    expect(firstDifference(streamed(x, 48000, 22050, [100_000, 1, 3, 70_001]), whole)).toBeNull();
    expect(
      firstDifference(
        streamed(x.subarray(0, 3000), 44100, 22050, [1]),
        resample(x.subarray(0, 3000), 44100, 22050),
      ),
    ).toBeNull();
    // the FFT method's blocks (44.1 -> 22.05 kHz) under the same chunks
    const fft = resample(x, 44100, 22050);
    expect(firstDifference(streamed(x, 44100, 22050, [100_000, 1, 3, 70_001]), fft)).toBeNull();
  });

  it('streams with precision "f64" and the interpolated bank exactly like the whole signal', () => {
    const x = testSignal(40_000, 9);
    for (const [from, to] of [
      [48000, 22050],
      [44100, 22051],
    ] as const) {
      const opts = { precision: "f64" } as const;
      const whole = resample(x, from, to, opts);
      expect(firstDifference(streamed(x, from, to, [777, 5, 12_345], opts), whole)).toBeNull();
    }
  });

  it("returns only final outputs from push and the rest from end; push after end is refused", () => {
    const s = new StreamResampler(44100, 22050);
    expect(s.push(new Float32Array(100)).length).toBe(0); // still inside the filter's reach
    expect(s.end().length).toBe(50);
    expect(s.end().length).toBe(0);
    expect(() => s.push(new Float32Array(1))).toThrow(/push\(\) after end\(\)/);
  });
});

describe("resampler edge cases and errors", () => {
  it("empty and very short inputs give ceil(n * to / from) samples equal to the reference", () => {
    for (const [from, to] of [
      [44100, 22050],
      [48000, 22050],
      [8000, 22050],
      [44100, 22051],
    ] as const)
      for (const n of [0, 1, 2, 3, 5, 17]) {
        const x = testSignal(n, 3);
        const y = resample(x, from, to);
        expect(y.length).toBe(Math.ceil((n * to) / from));
        const ref = resampleReference(x, from, to);
        for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - ref[i]!)).toBeLessThan(2e-5);
      }
  });

  it("bad rates and options give a one-line DspError naming the argument", () => {
    const x = new Float32Array(10);
    for (const [from, to, re] of [
      [0, 22050, /fromRate must be a positive integer/],
      [-44100, 22050, /fromRate/],
      [44100.5, 22050, /fromRate/],
      [Number.NaN, 22050, /fromRate/],
      [44100, 2e7, /toRate .* up to 10000000/],
      [10_000_000, 1, /resample through an intermediate rate/],
    ] as const) {
      expect(() => resample(x, from, to)).toThrow(DspError);
      expect(() => resample(x, from, to)).toThrow(re);
      expect(() => new StreamResampler(from, to)).toThrow(re);
    }
    expect(() => resample(x, 44100, 22050, { rolloff: 1.2 })).toThrow(/rolloff must be in \(0.5, 1\)/);
    expect(() => resample(x, 44100, 22050, { attenuationDb: 500 })).toThrow(/attenuationDb/);
    expect(() => resample(x, 44100, 22050, { precision: "f16" as "f32" })).toThrow(/precision must be/);
    expect(() => resample(x, 44100, 22050, { method: "fast" as "fft" })).toThrow(/method must be/);
    expect(() => resample(x, 32000, 22050, { method: "fft" })).toThrow(/integer decimation ratio/);
    expect(() => resample(x, 16000, 22050, { method: "fft" })).toThrow(/integer decimation ratio/);
    expect(() => resample(x, 44100, 22050, { stopband: 2 })).toThrow(/stopband must be in \[1, 2\)/);
    expect(() => resample(x, 44100, 22050, { stopband: 1.5, rolloff: 0 })).toThrow(
      /rolloff must be in \(0, 1\)/,
    );
    expect(() => resample(x, 44100, 22050, { method: "fft", precision: "f64" })).toThrow(/runs in f32/);
  });
});
