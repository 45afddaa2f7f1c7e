import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  clampTopDbInPlace,
  DspError,
  decodeAudio,
  logMelSpectrogram,
  type MelConfig,
  MelStream,
} from "../src/index.js";
import { DATA, HAVE_DATA, rng, SKIP_DATA_MSG } from "./helpers.js";

/** Pushes x in chunks of random sizes and reassembles the frames in (m, t) layout. */
function streamAll(x: Float32Array, cfg: Partial<MelConfig>, seed: number, maxChunk: number) {
  const s = new MelStream(cfg);
  const r = rng(seed);
  const parts: { data: Float32Array; nFrames: number; startFrame: number }[] = [];
  let expectFrame = 0;
  for (let i = 0; i < x.length; ) {
    const len = Math.min(x.length - i, 1 + Math.floor(r() * maxChunk));
    const f = s.push(x.subarray(i, i + len));
    i += len;
    expect(f.startFrame).toBe(expectFrame);
    expectFrame += f.nFrames;
    parts.push(f);
  }
  const last = s.end();
  expect(last.startFrame).toBe(expectFrame);
  parts.push(last);
  const nFrames = parts.reduce((a, p) => a + p.nFrames, 0);
  const nMels = s.nMels;
  const data = new Float32Array(nMels * nFrames);
  for (const p of parts)
    for (let m = 0; m < nMels; m++)
      for (let t = 0; t < p.nFrames; t++) data[m * nFrames + p.startFrame + t] = p.data[m * p.nFrames + t]!;
  return { data, nFrames, nMels };
}

function noise(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * (0.2 + 0.8 * r() ** 4));
}

describe("MelStream", () => {
  const cases: [string, Partial<MelConfig>][] = [
    ["defaults", {}],
    ["constant padding", { padMode: "constant" }],
    ["no centring", { center: false, nFft: 1024, hopLength: 300 }],
    ["odd hop and small FFT", { nFft: 256, hopLength: 97, nMels: 40 }],
    ["non-power-of-two FFT (float64 path)", { nFft: 400, hopLength: 160, nMels: 40, sampleRate: 16000 }],
  ];
  for (const [name, cfg] of cases)
    it(`frames are bit-identical to the whole clip (${name})`, () => {
      for (const [n, maxChunk] of [
        [50_000, 3000],
        [22_050, 700],
        [4_000, 9000],
      ] as const) {
        const x = noise(n, n);
        const whole = logMelSpectrogram(x, { ...cfg, topDb: null });
        const s = streamAll(x, cfg, n + 1, maxChunk);
        expect(s.nFrames).toBe(whole.nFrames);
        expect(s.data).toEqual(whole.data);
      }
    });

  it("equals the whole-clip path over clips of several kernel blocks (30 s)", () => {
    const x = noise(22_050 * 30, 31);
    const whole = logMelSpectrogram(x);
    expect(whole.nFrames).toBeGreaterThan(1000);
    const s = streamAll(x, {}, 8, 200_000);
    clampTopDbInPlace(s.data, 80);
    expect(s.data).toEqual(whole.data);
  });

  it("MelStream.into writes the same frames into one array (kernel and float64 paths)", () => {
    for (const cfg of [
      {},
      { nFft: 400, hopLength: 160, nMels: 40, sampleRate: 16000 },
      { padMode: "constant" as const },
    ]) {
      const x = noise(40_000, 3);
      const whole = logMelSpectrogram(x, { ...cfg, topDb: null });
      const data = new Float32Array(whole.data.length);
      const s = MelStream.into(cfg, data, whole.nFrames);
      const r = rng(9);
      for (let i = 0; i < x.length; ) {
        const len = Math.min(x.length - i, 1 + Math.floor(r() * 5000));
        expect(s.push(x.subarray(i, i + len)).data.length).toBe(0);
        i += len;
      }
      s.end();
      expect(data).toEqual(whole.data);
    }
    expect(() => MelStream.into({}, new Float32Array(5), 3)).toThrow(/nMels x 3/);
  });

  it("reproduces the whole-clip clamp for a topDb that float32 cannot hold", () => {
    const x = noise(60_000, 12);
    const s = streamAll(x, {}, 4, 5000);
    clampTopDbInPlace(s.data, 60.3);
    expect(s.data).toEqual(logMelSpectrogram(x, { topDb: 60.3 }).data);
  });

  it("reproduces the topDb-clamped whole-clip result with one clampTopDbInPlace at the end", () => {
    const x = noise(30_000, 77);
    const s = streamAll(x, {}, 5, 2048);
    clampTopDbInPlace(s.data, 80);
    expect(s.data).toEqual(logMelSpectrogram(x).data);
  });

  it("handles clips shorter than half a frame, single samples and empty streams", () => {
    for (const n of [1, 5, 1000, 1024, 1025]) {
      const x = noise(n, n);
      const whole = logMelSpectrogram(x, { topDb: null });
      const s = streamAll(x, {}, 3, 7);
      expect(s.data).toEqual(whole.data);
    }
    const empty = new MelStream();
    expect(empty.end().nFrames).toBe(0);
  });

  it("emits frames as soon as they are final and holds bounded memory", () => {
    const s = new MelStream();
    expect(s.push(new Float32Array(1024)).nFrames).toBe(0); // needs nFft/2 + 1 samples for the reflection
    expect(s.push(new Float32Array(1)).nFrames).toBe(1);
    let frames = 1;
    for (let i = 0; i < 100; i++) frames += s.push(new Float32Array(22050)).nFrames;
    // all frames whose window lies inside the data are out; the last nFft/2 / hop need end()
    expect(frames).toBe(Math.floor((1025 + 100 * 22050 - 1024) / 512) + 1);
    expect((s as unknown as { buf: Float32Array }).buf.length).toBeLessThan(200_000);
    expect(s.end().nFrames).toBe(1 + Math.floor((1025 + 100 * 22050) / 512) - frames);
  });

  it("rejects NaN/Inf and use after end with typed errors", () => {
    const s = new MelStream();
    const x = new Float32Array(10);
    x[3] = Number.NaN;
    s.push(new Float32Array(100));
    expect(() => s.push(x)).toThrow(/sample 103 is NaN/);
    s.end();
    expect(() => s.push(new Float32Array(1))).toThrow(DspError);
  });

  it.skipIf(!HAVE_DATA)("streams a real clip in 100 ms chunks identically", () => {
    const file = join(DATA, "gtzan-mini", "jazz", "jazz.00002.wav");
    const x = decodeAudio(readFileSync(file), file).channels[0]!;
    const whole = logMelSpectrogram(x, { topDb: null });
    const s = new MelStream();
    const got: Float32Array[] = [];
    let frames = 0;
    for (let i = 0; i < x.length; i += 2205) {
      const f = s.push(x.subarray(i, i + 2205));
      got.push(f.data);
      frames += f.nFrames;
      for (let t = 0; t < f.nFrames; t++)
        for (const m of [0, 37, 127])
          expect(f.data[m * f.nFrames + t]).toBe(whole.data[m * whole.nFrames + f.startFrame + t]);
    }
    frames += s.end().nFrames;
    expect(frames).toBe(whole.nFrames);
  });
  if (!HAVE_DATA) it.skip(SKIP_DATA_MSG, () => {});
});
