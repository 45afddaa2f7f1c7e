import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DspError, decodeAudio, encodeWav, resample } from "../src/index.js";
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
    [44100, 22051], // 22051 phases: too many for a polyphase bank, uses the interpolated table
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
      for (const frac of [0.01, 0.1, 0.37, 0.6, 0.8, 0.93]) {
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
